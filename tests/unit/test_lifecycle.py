"""create / update / read / delete against a respx-mocked service."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from pulumi.runtime import rpc

from applivery_pulumi import lifecycle
from applivery_pulumi.api import errors

from .unit_support import (
    BASE,
    ORG,
    PASSWORD,
    PID,
    TOKEN,
    FakeApplivery,
    checked,
    engine,
    engine_props,
    envelope,
    error_envelope,
    make_provider,
    mocked,
    policy_path,
    walk,
)

HEX_A = "698f42e5457fafa13d088794"
HEX_B = "698f42e5457fafa13d088795"
HEX_C = "698f42e5457fafa13d088796"
URL = f"{BASE}{policy_path()}"

# What the policy looked like before Pulumi adopted it.
BEFORE: dict[str, Any] = {
    "name": "Legacy",
    "profiles": [HEX_C],
    "applications": [{"admApplication": HEX_C, "managed": True, "action": "available"}],
    "books": [{"type": "asset", "id": "old"}],
    "scripts": [{"id": "old", "type": "once", "arguments": "-v"}],
    "bookmarks": [{"title": "Old"}],
    "assets": [{"mdmAssetId": HEX_C, "location": "/old", "scope": "user"}],
    "agentConfiguration": {"allowLocation": False, "appBlacklist": [{"bundleId": "com.old"}]},
    "segmentId": 3,
    "exposeToChildren": True,
}

DECLARED: dict[str, Any] = {
    "policyId": PID,
    "name": "Corporate",
    "profiles": [HEX_A, HEX_B],
    "applications": [
        {"admApplication": HEX_A, "managed": True, "action": "available"},
        {"admApplication": HEX_B, "managed": False, "managementFlags": 4, "configuration": {}},
    ],
    "books": [{"type": "store", "id": "b1"}, {"type": "asset", "id": "b2"}],
    "scripts": [{"id": "s1", "type": "loop", "loopTime": 3600, "arguments": "--check"}],
    "bookmarks": [{"title": "Portal", "url": "https://portal"}],
    "assets": [{"mdmAssetId": HEX_A, "location": "/etc/a", "scope": "system"}],
    "agentConfiguration": {
        "allowLocation": True,
        "appBlacklist": [{"bundleId": "com.x", "action": "block"}, {"bundleId": "com.y"}],
        "policyFeatures": {"ios": {"defaultViewFeature": "applications"}},
    },
    "segmentId": "1",
    "exposeToChildren": False,
}


def inputs(**changes: Any) -> dict[str, Any]:
    provider = make_provider()
    return checked(provider, engine_props({**copy.deepcopy(DECLARED), **changes}))


def created(server: FakeApplivery, **changes: Any) -> dict[str, Any]:
    with mocked() as router:
        server.install(router)
        result = make_provider().create(inputs(**changes))
    assert result.id == PID
    return result.outs


def body_of(outs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in outs.items() if k not in IDENTITY_AND_META}


IDENTITY_AND_META = {
    "organizationId",
    "policyId",
    "restoreOnDelete",
    "version",
    "createdAt",
    "updatedAt",
    "preAdoption",
}


def expected_state() -> dict[str, Any]:
    out = {k: v for k, v in copy.deepcopy(DECLARED).items() if k != "policyId"}
    out["segmentId"] = 1
    return out


# -- create ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("restore", "requests"), [(False, ["PUT"]), (True, ["GET", "PUT"])])
def test_create_writes_exactly_the_declared_fields(restore: bool, requests: list[str]) -> None:
    # The GET (the pre-adoption record) is made only when destroy will restore it.
    server = FakeApplivery(BEFORE, seed=1)
    with mocked() as router:
        server.install(router)
        outs = make_provider().create(inputs(restoreOnDelete=restore)).outs
        methods = [call.request.method for call in router.calls]
        auth = {call.request.headers["authorization"] for call in router.calls}
    assert methods == requests
    assert auth == {f"Bearer {TOKEN}"}
    (body,) = server.puts
    assert body == {**expected_state()}
    assert ("preAdoption" in outs) is restore


def test_create_outputs_are_the_declared_shape_with_metadata() -> None:
    server = FakeApplivery(BEFORE, seed=2)
    outs = created(server, restoreOnDelete=True)
    assert body_of(outs) == expected_state()
    assert outs["organizationId"] == ORG and outs["policyId"] == PID
    assert outs["restoreOnDelete"] is True
    assert outs["version"] == server.version
    assert outs["createdAt"] == "2026-02-13T10: 00:00Z"
    assert outs["updatedAt"].startswith("2026-02-13T14: 30:")
    # Nothing the user did not declare: no enrichments, no server defaults, no derived values.
    assert not {"applicationsInfo", "attachedProfile", "booksInfo", "id"} & outs.keys()
    assert "actionStatus" not in outs["applications"][0]
    assert "managementFlags" not in outs["applications"][0]  # server added 5: not declared
    assert outs["agentConfiguration"].keys() == DECLARED["agentConfiguration"].keys()


def test_create_keeps_the_pre_adoption_configuration() -> None:
    server = FakeApplivery(BEFORE, seed=3)
    outs = created(server, restoreOnDelete=True)
    pre = outs["preAdoption"]
    assert pre["name"] == "Legacy"
    assert pre["profiles"] == [HEX_C]  # ids, not the service's profile objects
    assert pre["segmentId"] == 3
    assert pre["applications"][0]["admApplication"] == HEX_C
    assert "actionStatus" not in pre["applications"][0]
    assert not {"applicationsInfo", "booksInfo", "version", "createdAt", "id"} & pre.keys()
    assert PASSWORD not in set(walk(outs))
    assert "certificates" not in set(walk(outs))


@pytest.mark.parametrize("restore", [False, True])
def test_create_of_a_missing_policy_names_it(restore: bool) -> None:
    with mocked() as router:
        get = router.get(URL).respond(404, json=error_envelope(3001, "Entity not found"))
        put = router.put(URL).respond(404, json=error_envelope(3001, "Entity not found"))
        with pytest.raises(errors.NotFoundError) as caught:
            make_provider().create(inputs(restoreOnDelete=restore))
    assert (get.call_count, put.call_count) == ((1, 0) if restore else (0, 1))
    assert PID in str(caught.value) and ORG in str(caught.value)


@pytest.mark.parametrize(
    ("damage", "field"),
    [
        (lambda d: d["bookmarks"][0].pop("url"), "bookmarks[0].url"),
        (lambda d: d.pop("books"), "books"),
        (lambda d: d.update(name="Trimmed"), "name"),
        (
            lambda d: next(a for a in d["applications"] if a["admApplication"] == HEX_B).update(
                managementFlags=5
            ),
            "applications[1].managementFlags",
        ),
        (
            lambda d: d["agentConfiguration"].update(allowLocation=False),
            "agentConfiguration.allowLocation",
        ),
        (lambda d: d.update(profiles=d["profiles"][:1]), "profiles"),
    ],
)
def test_create_verifies_the_stored_document(damage: Any, field: str) -> None:
    server = FakeApplivery(BEFORE, seed=4)

    def put(request: httpx.Request) -> httpx.Response:
        answer = server.on_put(request)
        doc = json.loads(answer.content)["data"]
        damage(doc)
        return httpx.Response(200, json=envelope(doc))

    with mocked() as router:
        server.install(router)
        router.put(URL).mock(side_effect=put)
        with pytest.raises(errors.NotStoredError) as caught:
            make_provider().create(inputs())
    message = str(caught.value)
    assert field in message
    assert PID in message and ORG in message


# -- update ---------------------------------------------------------------------------------------


def update(
    server: FakeApplivery, olds: dict[str, Any], news: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    before, gets = len(server.puts), server.gets
    with mocked() as router:
        server.install(router)
        result = make_provider().update(PID, engine_props(olds), engine_props(news))
    assert server.gets == gets  # update trusts state: no read first
    return result.outs, len(server.puts) - before


def test_update_puts_only_the_top_level_fields_that_differ() -> None:
    server = FakeApplivery(BEFORE, seed=5)
    olds = created(server, restoreOnDelete=True)
    news = inputs(name="Renamed", restoreOnDelete=True)
    news["agentConfiguration"]["appBlacklist"][1]["action"] = "remove"
    outs, puts = update(server, olds, news)
    assert puts == 1
    assert server.puts[-1] == {"name": "Renamed", "agentConfiguration": news["agentConfiguration"]}
    assert outs["name"] == "Renamed"
    assert outs["agentConfiguration"]["appBlacklist"][1] == {
        "bundleId": "com.y",
        "action": "remove",
    }
    assert outs["preAdoption"] == olds["preAdoption"]
    assert outs["version"] == server.version


def test_update_with_nothing_to_send_makes_no_request() -> None:
    server = FakeApplivery(BEFORE, seed=6)
    olds = created(server, restoreOnDelete=True)
    news = inputs(restoreOnDelete=False)
    # Order of an unordered list and the spelling of segmentId are not changes either.
    news["profiles"].reverse()
    news["segmentId"] = 1
    outs, puts = update(server, olds, news)
    assert puts == 0
    assert outs["restoreOnDelete"] is False
    assert body_of(outs) == body_of(olds)
    # Kept while restore is off, so turning it back on still restores the original.
    assert outs["preAdoption"] == olds["preAdoption"]
    assert outs["version"] == olds["version"]
    again, puts = update(server, outs, inputs(restoreOnDelete=True))
    assert puts == 0 and again["preAdoption"] == olds["preAdoption"]


def test_restore_on_delete_turned_on_after_adoption_is_refused_at_preview() -> None:
    server = FakeApplivery(BEFORE, seed=6)
    olds = created(server)  # adopted without restore_on_delete: nothing recorded
    assert "preAdoption" not in olds
    news = inputs(restoreOnDelete=True)
    with mocked() as router:
        server.install(router)
        with pytest.raises(errors.NothingToRestoreError) as at_preview:
            make_provider().diff(PID, engine_props(olds), engine_props(news))
        # the same at update, for a value that was unknown at preview
        with pytest.raises(errors.NothingToRestoreError) as at_update:
            make_provider().update(PID, engine_props(olds), engine_props(news))
        assert not router.calls
    for caught in (at_preview, at_update):
        message = str(caught.value)
        assert PID in message and "restore_on_delete" in message and "remove" in message
        assert "\n" not in message


def test_update_verifies_the_stored_document() -> None:
    server = FakeApplivery(BEFORE, seed=7)
    olds = created(server)
    with mocked() as router:
        router.put(URL).respond(200, json=envelope(server.document(echo_flags=True)))
        with pytest.raises(errors.NotStoredError) as caught:
            make_provider().update(PID, engine_props(olds), engine_props(inputs(name="New")))
    assert "name" in str(caught.value)


def test_update_of_a_policy_deleted_meanwhile_names_it() -> None:
    server = FakeApplivery(BEFORE, seed=8)
    olds = created(server)
    server.exists = False
    with pytest.raises(errors.NotFoundError) as caught:
        update(server, olds, inputs(name="New"))
    assert PID in str(caught.value) and ORG in str(caught.value)


# -- read -----------------------------------------------------------------------------------------


def read(server: FakeApplivery, id_: str, props: dict[str, Any], **config: Any) -> Any:
    with mocked() as router:
        server.install(router)
        return make_provider(**config).read(id_, engine_props(props) if props else {})


def test_read_returns_the_declared_shape() -> None:
    server = FakeApplivery(BEFORE, seed=9)
    olds = created(server, restoreOnDelete=True)
    result = read(server, PID, olds)
    assert result.id == PID
    assert body_of(result.outs) == expected_state()
    assert result.outs["preAdoption"] == olds["preAdoption"]
    assert PASSWORD not in set(walk(result.outs))


def test_read_keeps_management_flags_the_get_leaves_out() -> None:
    server = FakeApplivery(BEFORE, seed=10)
    olds = created(server)
    assert "managementFlags" not in json.dumps(server.document(echo_flags=False))
    result = read(server, PID, olds)
    flags = {a["admApplication"]: a.get("managementFlags") for a in result.outs["applications"]}
    assert flags == {HEX_A: None, HEX_B: 4}
    diff = make_provider().diff(PID, engine_props(result.outs), engine_props(inputs()))
    assert not diff.changes, diff.paths


def test_read_reports_drift_of_a_declared_value() -> None:
    server = FakeApplivery(BEFORE, seed=11)
    olds = created(server)
    server.stored["assets"][0]["scope"] = "user"  # changed in the dashboard
    server.stored["bookmarks"].append({"title": "Added in the dashboard"})
    result = read(server, PID, olds)
    diff = make_provider().diff(PID, engine_props(result.outs), engine_props(inputs()))
    assert diff.changes
    assert set(diff.paths) == {"assets[0].scope", "bookmarks"}


def test_read_of_a_deleted_policy_is_empty() -> None:
    server = FakeApplivery(BEFORE)
    olds = created(server)
    server.exists = False
    result = read(server, PID, olds)
    assert (result.id, result.outs) == ("", {})


@pytest.mark.parametrize(
    ("id_", "props", "config", "org"),
    [
        pytest.param(PID, {}, {}, ORG, id="policy id, organization from settings"),
        pytest.param(
            PID,
            {"organizationId": "acme-corp"},
            {"organizationId": None},
            "acme-corp",
            id="policy id, organization from props",
        ),
        pytest.param(
            f"acme-corp/{PID}", {}, {"organizationId": None}, "acme-corp", id="org/policy"
        ),
        pytest.param(f"acme-corp/{PID}", {}, {}, "acme-corp", id="org/policy beats settings"),
    ],
)
def test_import_ids(id_: str, props: dict[str, Any], config: dict[str, Any], org: str) -> None:
    server = FakeApplivery(BEFORE, org=org, seed=12)
    result = read(server, id_, props, **config)
    assert result.id == PID
    assert result.outs["organizationId"] == org
    assert result.outs["policyId"] == PID
    assert server.gets == 1
    # An import adopts without writing: the current configuration is the pre-adoption one.
    assert result.outs["preAdoption"]["name"] == "Legacy"
    assert result.outs["preAdoption"]["profiles"] == [HEX_C]
    # Nothing is declared yet: state and inputs take the whole policy, in the declared shape.
    assert result.outs["name"] == "Legacy" and result.outs["segmentId"] == 3
    assert result.inputs is not None
    assert result.inputs["organizationId"] == org and result.inputs["policyId"] == PID
    assert {k: v for k, v in result.inputs.items() if k not in IDENTITY_AND_META} == (
        result.outs["preAdoption"]
    )
    for value in (result.outs, result.inputs):
        assert PASSWORD not in set(walk(value))
        assert "certificates" not in set(walk(value))
        assert "applicationsInfo" not in value and "actionStatus" not in set(walk(value))


def test_read_with_a_declaration_keeps_its_shape() -> None:
    server = FakeApplivery(BEFORE, seed=13)
    with mocked() as router:
        server.install(router)
        router.put(URL)  # never called: reading does not write
        provider = make_provider()
        result = provider.read(PID, engine_props(inputs(name="Legacy", profiles=[HEX_C])))
    assert result.outs["name"] == "Legacy"
    assert result.outs["profiles"] == [HEX_C]
    assert server.puts == []


def test_import_without_any_organization_is_a_clear_error() -> None:
    with mocked() as router:
        with pytest.raises(errors.ConfigurationError) as caught:
            make_provider(organizationId=None).read(PID, {})
        assert router.calls.call_count == 0
    assert "applivery:organizationId" in str(caught.value)
    assert "<organizationId>/<policyId>" in str(caught.value)


def _plain_types(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_types(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_types(v) for v in value)
    return isinstance(value, str | int | float | bool)  # None is not among them


def test_read_outputs_survive_the_engine_serialisation() -> None:
    server = FakeApplivery(BEFORE, seed=14, float_numbers=True)
    olds = created(server)
    for props in (olds, {}):
        result = read(server, PID, props)
        assert _plain_types(result.outs)
        struct = asyncio.run(rpc.serialize_properties(result.outs, {}))
        back = rpc.deserialize_properties(struct)
        assert back == engine(result.outs)


# -- delete ---------------------------------------------------------------------------------------


def test_delete_releases_by_default_without_a_request() -> None:
    server = FakeApplivery(BEFORE)
    olds = created(server)
    with mocked() as router:
        anything = router.route()
        make_provider().delete(PID, engine_props(olds))
    assert not anything.called


def test_delete_with_restore_puts_the_pre_adoption_configuration_back() -> None:
    server = FakeApplivery(BEFORE, seed=15)
    pre_adoption_doc = server.document(echo_flags=False)
    olds = created(server, restoreOnDelete=True)
    with mocked() as router:
        server.install(router)
        make_provider().delete(PID, engine_props(olds))
    restored = server.puts[-1]
    assert restored == olds["preAdoption"]
    assert restored["name"] == "Legacy" and restored["segmentId"] == 3
    assert restored["profiles"] == [HEX_C]
    assert "applicationsInfo" not in restored and "version" not in restored
    assert {a["admApplication"] for a in restored["applications"]} == {HEX_C}
    assert server.stored["name"] == pre_adoption_doc["name"]


def test_delete_with_restore_of_a_policy_gone_meanwhile_is_fine() -> None:
    server = FakeApplivery(BEFORE)
    olds = created(server, restoreOnDelete=True)
    with mocked() as router:
        put = router.put(URL).respond(404, json=error_envelope(3001, "Entity not found"))
        make_provider().delete(PID, engine_props(olds))
    assert put.call_count == 1


def test_delete_with_restore_reports_other_failures() -> None:
    server = FakeApplivery(BEFORE)
    olds = created(server, restoreOnDelete=True)
    with mocked() as router:
        router.put(URL).respond(401, json=error_envelope(4004, "Invalid Token"))
        with pytest.raises(errors.AuthenticationError):
            make_provider().delete(PID, engine_props(olds))


def test_delete_with_restore_but_no_snapshot_warns_and_writes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    olds = {"organizationId": ORG, "policyId": PID, "restoreOnDelete": True, "name": "x"}
    with mocked() as router:
        anything = router.route()
        make_provider().delete(PID, engine_props(olds))
    assert not anything.called
    assert "no pre-adoption configuration" in capsys.readouterr().err


def test_the_deletes_of_a_process_say_once_that_nothing_is_deleted_in_applivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Fresh for this test: the process's first delete takes it for good.
    monkeypatch.setattr(lifecycle, "_RELEASE_TOLD", threading.Lock())
    said: list[str] = []
    olds = {"organizationId": ORG, "policyId": PID, "name": "x"}
    providers = [make_provider(said.append) for _ in range(2)]  # the SDK's host rebuilds one
    with mocked(), ThreadPoolExecutor(4) as pool:  # the plugin deletes on threads
        list(pool.map(lambda i: providers[i % 2].delete(PID, engine_props(olds)), range(8)))
    assert said == [lifecycle.RELEASED]
    assert "nothing is deleted in Applivery" in said[0]


def test_the_restore_warning_escapes_what_the_service_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A terminal would take the name for a command (retitle) and show the rest reordered.
    hostile = "\x1b]0;pwned\x07 \u202eevil\u202c \x9b31m\x7f"
    before = copy.deepcopy(BEFORE)
    before["applications"] = [{"admApplication": hostile, "managed": True}]
    created(FakeApplivery(before), restoreOnDelete=True)
    err = capsys.readouterr().err
    assert "cannot restore the managementFlags" in err
    assert r"\x1b]0;pwned\x07 \u202eevil\u202c \x9b31m\x7f" in err
    assert not {"\x1b", "\x07", "\u202e", "\u202c", "\x9b", "\x7f"} & set(err)
