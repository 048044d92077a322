"""check: every constraint of the reference, reported by field path, before any request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.output import Unknown

from applivery_pulumi.policy import validate
from applivery_pulumi.policy.values import UNKNOWN

from .unit_support import (
    BASE,
    ORG,
    PID,
    SERIALIZED_PROVIDER,
    FakeApplivery,
    checked,
    engine_props,
    failures,
    make_provider,
    mocked,
    secret,
)

HEX_A = "698f42e5457fafa13d088794"
HEX_B = "698f42e5457fafa13d088795"


def props(**body: Any) -> dict[str, Any]:
    return {"policyId": PID, **body}


def app(**fields: Any) -> dict[str, Any]:
    return {"admApplication": HEX_A, **fields}


def one_failure(body: dict[str, Any]) -> tuple[str, str]:
    found = failures(make_provider(), props(**body))
    assert len(found) == 1, found
    return found[0]


# (declared body, field path of the failure, words the reason must contain)
VIOLATIONS: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    ("name too long", {"name": "n" * 257}, "name", ("at most 256",)),
    ("profile id pattern", {"profiles": [HEX_A, "not-an-id"]}, "profiles[1]", ("24-character",)),
    (
        "admApplication pattern",
        {"applications": [app(admApplication="698f42e5457fafa13d08879")]},
        "applications[0].admApplication",
        ("24-character", "hexadecimal"),
    ),
    (
        "admApplication required",
        {"applications": [{"managed": True}]},
        "applications[0].admApplication",
        ("required",),
    ),
    (
        "managementFlags enum",
        {"applications": [app(managementFlags=2)]},
        "applications[0].managementFlags",
        ("0, 1, 4 or 5", "2"),
    ),
    (
        "managementFlags boolean",
        {"applications": [app(managementFlags=True)]},
        "applications[0].managementFlags",
        ("0, 1, 4 or 5", "boolean"),
    ),
    (
        "managementFlags string",
        {"applications": [app(managementFlags="5")]},
        "applications[0].managementFlags",
        ("0, 1, 4 or 5",),
    ),
    (
        "action enum",
        {"applications": [app(action="install")]},
        "applications[0].action",
        ("'forceInstall'", "'available'", "'requiredForSetup'", "install"),
    ),
    (
        "managed type",
        {"applications": [app(managed="yes")]},
        "applications[0].managed",
        ("boolean", "string"),
    ),
    (
        "configuration type",
        {"applications": [app(configuration=["a"])]},
        "applications[0].configuration",
        ("dictionary",),
    ),
    (
        "app scripts unknown field",
        {"applications": [app(scripts={"preinstall": "x"})]},
        "applications[0].scripts.preinstall",
        ("unknown field", "preInstall", "postInstall", "audit", "enforce", "runner"),
    ),
    (
        "books type enum",
        {"books": [{"type": "pdf", "id": "b1"}]},
        "books[0].type",
        ("'asset'", "'store'", "pdf"),
    ),
    ("books id length", {"books": [{"id": "b" * 129}]}, "books[0].id", ("at most 128",)),
    ("scripts id length", {"scripts": [{"id": "s" * 129}]}, "scripts[0].id", ("at most 128",)),
    (
        "scripts type enum",
        {"scripts": [{"type": "daily"}]},
        "scripts[0].type",
        ("'once'", "'loop'", "'onDemand'", "daily"),
    ),
    (
        "scripts scope enum",
        {"scripts": [{"scope": "root"}]},
        "scripts[0].scope",
        ("'user'", "'machine'"),
    ),
    (
        "loopTime negative",
        {"scripts": [{"loopTime": -1}]},
        "scripts[0].loopTime",
        ("greater than or equal to 0", "-1"),
    ),
    (
        "loopTime fractional",
        {"scripts": [{"loopTime": 1.5}]},
        "scripts[0].loopTime",
        ("integer",),
    ),
    (
        "resetDate not a date-time",
        # The reference's own timestamps have a space after the hour: not RFC 3339.
        {"scripts": [{"resetDate": "2026-02-13T14: 30:00Z"}]},
        "scripts[0].resetDate",
        ("RFC 3339", "2026-02-13T14:30:00Z"),
    ),
    ("scripts name", {"scripts": [{"name": "x" * 257}]}, "scripts[0].name", ("at most 256",)),
    (
        "scripts description",
        {"scripts": [{"description": "x" * 501}]},
        "scripts[0].description",
        ("at most 500",),
    ),
    ("scripts runner", {"scripts": [{"runner": "x" * 257}]}, "scripts[0].runner", ("at most 256",)),
    (
        "bookmark title",
        {"bookmarks": [{"title": "x" * 257}]},
        "bookmarks[0].title",
        ("at most 256",),
    ),
    (
        "bookmark description",
        {"bookmarks": [{}, {"description": "x" * 501}]},
        "bookmarks[1].description",
        ("at most 500",),
    ),
    ("bookmark url", {"bookmarks": [{"url": "x" * 501}]}, "bookmarks[0].url", ("at most 500",)),
    (
        "bookmark iconUrl",
        {"bookmarks": [{"iconUrl": "x" * 501}]},
        "bookmarks[0].iconUrl",
        ("at most 500",),
    ),
    (
        "asset id pattern",
        {"assets": [{"mdmAssetId": "g" * 24}]},
        "assets[0].mdmAssetId",
        ("24-character",),
    ),
    (
        "asset location",
        {"assets": [{"location": "x" * 257}]},
        "assets[0].location",
        ("at most 256",),
    ),
    (
        "asset name",
        {"assets": [{"assetName": "x" * 257}]},
        "assets[0].assetName",
        ("at most 256",),
    ),
    (
        "asset scope enum",
        {"assets": [{"scope": "everyone"}]},
        "assets[0].scope",
        ("'user'", "'system'", "'all-users'"),
    ),
    (
        "blacklist bundleId",
        {"agentConfiguration": {"appBlacklist": [{"bundleId": "x" * 257}]}},
        "agentConfiguration.appBlacklist[0].bundleId",
        ("at most 256",),
    ),
    (
        "blacklist action enum",
        {"agentConfiguration": {"appBlacklist": [{"bundleId": "a", "action": "delete"}]}},
        "agentConfiguration.appBlacklist[0].action",
        ("'block'", "'remove'", "delete"),
    ),
    (
        "agent flag type",
        {"agentConfiguration": {"allowLocation": "true"}},
        "agentConfiguration.allowLocation",
        ("boolean", "string"),
    ),
    (
        "policyFeatures unknown platform",
        {"agentConfiguration": {"policyFeatures": {"windows": {}}}},
        "agentConfiguration.policyFeatures.windows",
        ("unknown field", "ios", "macos"),
    ),
    (
        "policyFeatures ios type",
        {"agentConfiguration": {"policyFeatures": {"ios": "on"}}},
        "agentConfiguration.policyFeatures.ios",
        ("dictionary",),
    ),
    (
        "segmentId negative",
        {"segmentId": -1},
        "segmentId",
        ("greater than or equal to 0",),
    ),
    ("segmentId text", {"segmentId": "one"}, "segmentId", ("integer", "string")),
    ("segmentId fractional", {"segmentId": 1.5}, "segmentId", ("integer",)),
    ("exposeToChildren type", {"exposeToChildren": "yes"}, "exposeToChildren", ("boolean",)),
    (
        "unknown nested field",
        {"applications": [app(managementFlag=5)]},
        "applications[0].managementFlag",
        ("unknown field", "managementFlags", "admApplication", "updatePolicy"),
    ),
    (
        "unknown field in agentConfiguration",
        {"agentConfiguration": {"allowCamera": True}},
        "agentConfiguration.allowCamera",
        ("unknown field", "allowLocation", "appBlacklist", "policyFeatures"),
    ),
    (
        "null application",
        {"applications": [None]},
        "applications[0]",
        ("dictionary", "null"),
    ),
    ("null profile", {"profiles": [None]}, "profiles[0]", ("string", "null")),
    (
        "applications not a list",
        {"applications": {"admApplication": HEX_A}},
        "applications",
        ("list",),
    ),
    (
        "agentConfiguration not an object",
        {"agentConfiguration": [True]},
        "agentConfiguration",
        ("dictionary",),
    ),
    ("null book", {"books": [None]}, "books[0]", ("null",)),
    ("restoreOnDelete type", {"restoreOnDelete": "yes"}, "restoreOnDelete", ("boolean",)),
    ("policyId pattern", {"policyId": "policy-1"}, "policyId", ("24-character", "hexadecimal")),
    (
        "organizationId pattern",
        {"organizationId": "ab"},
        "organizationId",
        ("24-character", "slug", "3+"),
    ),
    (
        "organizationId with a space",
        {"organizationId": "acme corp"},
        "organizationId",
        ("slug",),
    ),
    (
        "organizationId type",
        {"organizationId": 12345},
        "organizationId",
        ("string",),
    ),
]


@pytest.mark.parametrize(
    ("body", "path", "words"),
    [pytest.param(b, p, w, id=i) for i, b, p, w in VIOLATIONS],
)
def test_each_constraint_fails_with_its_field_path_and_what_is_allowed(
    body: dict[str, Any], path: str, words: tuple[str, ...]
) -> None:
    found_path, reason = one_failure(body)
    assert found_path == path
    for word in words:
        assert word in reason, (word, reason)


def test_the_failures_of_one_declaration_are_all_reported_at_once() -> None:
    found = failures(
        make_provider(),
        props(
            name="n" * 300,
            applications=[app(managementFlags=3), app(admApplication=HEX_B, action="x")],
            scripts=[{"loopTime": -5}],
        ),
    )
    assert [p for p, _ in found] == [
        "name",
        "applications[0].managementFlags",
        "applications[1].action",
        "scripts[0].loopTime",
    ]


def test_unknown_top_level_property_names_the_allowed_ones() -> None:
    path, reason = one_failure({"policyName": "x"})
    assert path == "policyName"
    for name in ("name", "profiles", "applications", "organizationId", "restoreOnDelete"):
        assert name in reason
    # Outputs are not inputs: the list of allowed properties does not offer them.
    assert "preAdoption" not in reason and "version" not in reason


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"name": "n" * 256}, id="name 256"),
        pytest.param({"books": [{"type": "store", "id": "b" * 128}]}, id="book id 128"),
        pytest.param(
            {
                "scripts": [
                    {
                        "id": "s" * 128,
                        "name": "n" * 256,
                        "description": "d" * 500,
                        "runner": "r" * 256,
                        "loopTime": 0,
                        "resetDate": "2026-02-13T14:30:00Z",
                        "type": "onDemand",
                        "scope": "machine",
                    }
                ]
            },
            id="script limits",
        ),
        pytest.param(
            {
                "bookmarks": [
                    {"title": "t" * 256, "description": "d" * 500, "url": "u" * 500}
                    | {"iconUrl": "i" * 500, "iconBase64": "b" * 5000}
                ]
            },
            id="bookmark limits",
        ),
        pytest.param(
            {"assets": [{"location": "l" * 256, "assetName": "a" * 256, "scope": "all-users"}]},
            id="asset limits",
        ),
        pytest.param(
            {"agentConfiguration": {"appBlacklist": [{"bundleId": "b" * 256, "action": "remove"}]}},
            id="bundleId 256",
        ),
        pytest.param({"organizationId": "acme-corp"}, id="organization slug"),
        pytest.param({"organizationId": "ACME"}, id="organization slug caps"),
        pytest.param({"organizationId": "598F469D457FAFA13D088795"}, id="organization hex"),
        pytest.param({"segmentId": "1"}, id="segmentId as the reference sends it"),
        pytest.param({"segmentId": 0}, id="segmentId zero"),
    ]
    + [
        pytest.param({"applications": [app(managementFlags=f, admApplication=h)]}, id=f"flags {f}")
        for f, h in ((0, HEX_A), (1, HEX_B), (4, "A" * 24), (5, "f" * 24))
    ]
    + [
        pytest.param(
            {"applications": [app(action=a)]},
            id=f"action {a}",
        )
        for a in ("forceInstall", "available", "requiredForSetup")
    ]
    + [
        pytest.param({"books": [{"type": t, "id": "1"}]}, id=f"book {t}")
        for t in ("asset", "store")
    ]
    + [pytest.param({"scripts": [{"type": t}]}, id=f"script {t}") for t in ("once", "loop")],
)
def test_values_at_the_limits_pass(body: dict[str, Any]) -> None:
    assert failures(make_provider(), props(**body)) == []


# -- values not known yet -------------------------------------------------------------------------


@pytest.mark.parametrize("unknown", [Unknown, lambda: UNKNOWN], ids=["Unknown()", "rpc string"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda u: {"name": u()}, id="top-level scalar"),
        pytest.param(lambda u: {"applications": u()}, id="top-level list"),
        pytest.param(lambda u: {"agentConfiguration": u()}, id="top-level object"),
        pytest.param(lambda u: {"organizationId": u()}, id="organizationId"),
        pytest.param(lambda u: {"policyId": u()}, id="policyId"),
        pytest.param(lambda u: {"profiles": [HEX_A, u()]}, id="inside a list"),
        pytest.param(
            lambda u: {"applications": [app(managementFlags=u(), action=u())]}, id="nested"
        ),
        pytest.param(
            lambda u: {"applications": [{"admApplication": u()}, {"admApplication": u()}]},
            id="unknown identities are not duplicates",
        ),
        pytest.param(lambda u: {"applications": [u(), app()]}, id="list item"),
        pytest.param(
            lambda u: {"agentConfiguration": {"appBlacklist": [{"bundleId": u()}]}},
            id="deep",
        ),
        pytest.param(lambda u: {"scripts": [{"loopTime": u(), "resetDate": u()}]}, id="script"),
        pytest.param(lambda u: {"segmentId": secret(u())}, id="inside a secret"),
    ],
)
def test_values_not_known_yet_pass(body: Any, unknown: Any) -> None:
    provider = make_provider()
    news = props(**body(unknown))
    result = provider.check({}, news)
    assert [(f.property, f.reason) for f in result.failures] == []


def test_an_unknown_does_not_hide_a_real_problem_beside_it() -> None:
    found = failures(make_provider(), props(name=Unknown(), applications=[app(action="bad")]))
    assert [p for p, _ in found] == ["applications[0].action"]


# -- engine-shaped inputs -------------------------------------------------------------------------

ENGINE_SHAPED = {
    "name": "Corporate",
    "profiles": [HEX_A],
    "applications": [
        {"admApplication": HEX_A, "managed": True, "managementFlags": 5.0, "action": "available"},
        {"admApplication": HEX_B, "configuration": {"port": 8080.0, "ratio": 0.5}},
    ],
    "scripts": [{"type": "loop", "loopTime": 3600.0, "id": "s1"}],
    "segmentId": 1.0,
    "exposeToChildren": True,
}


def test_engine_shaped_inputs_pass_and_never_reach_the_put_body() -> None:
    provider = make_provider()
    news = {
        **ENGINE_SHAPED,
        "policyId": PID,
        "name": secret("Corporate"),
        "applications": [
            ENGINE_SHAPED["applications"][0],
            secret(ENGINE_SHAPED["applications"][1]),
        ],
        "agentConfiguration": {"allowLocation": secret(True), "appBlacklist": []},
        "__provider": SERIALIZED_PROVIDER,
    }
    result = provider.check({}, news)
    assert [(f.property, f.reason) for f in result.failures] == []
    assert "__provider" not in result.inputs
    with mocked() as router:
        server = FakeApplivery().install(router)
        provider.create(result.inputs)
    (body,) = server.puts
    assert body == {
        "name": "Corporate",
        "profiles": [HEX_A],
        "applications": [
            {"admApplication": HEX_A, "managed": True, "managementFlags": 5, "action": "available"},
            {"admApplication": HEX_B, "configuration": {"port": 8080, "ratio": 0.5}},
        ],
        "scripts": [{"type": "loop", "loopTime": 3600, "id": "s1"}],
        "agentConfiguration": {"allowLocation": True, "appBlacklist": []},
        "segmentId": 1,
        "exposeToChildren": True,
    }
    # JSON numbers, not 5.0 / 3600.0: the service's schema says integer.
    (raw,) = server.raw_puts
    assert "5.0" not in raw and "3600.0" not in raw and "1.0" not in raw
    assert "__provider" not in raw and "4dabf18193072939515e22adb298388d" not in raw


def test_action_status_is_accepted_with_a_warning_and_never_sent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    provider = make_provider()
    news = props(applications=[app(action="available", actionStatus="available-install")])
    result = provider.check({}, news)
    assert result.failures == []
    assert result.inputs["applications"] == [app(action="available")]
    assert "applications[0].actionStatus is read-only" in capsys.readouterr().err
    with mocked() as router:
        server = FakeApplivery().install(router)
        # Even a declaration that skipped check (an old state) never sends it.
        provider.create(props(organizationId=ORG, applications=[app(actionStatus="forceInstall")]))
    assert server.puts == [{"applications": [app()]}]


def test_action_status_even_an_invalid_one_is_not_a_failure() -> None:
    assert failures(make_provider(), props(applications=[app(actionStatus="whatever")])) == []


def test_check_does_not_change_the_engine_inputs_it_was_given() -> None:
    news = props(applications=[app(actionStatus="available")], __provider=SERIALIZED_PROVIDER)
    before = json.dumps(news, sort_keys=True)
    make_provider().check({}, news)
    assert json.dumps(news, sort_keys=True) == before


def test_inputs_unchanged_since_the_last_check_are_not_validated_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = make_provider(organizationId="acme-corp")
    news = engine_props(props(name="Kiosk", segmentId=2.0, applications=[app(managed=True)]))
    olds = provider.check({}, news).inputs  # what the engine keeps as the inputs in state
    validated: list[Any] = []
    monkeypatch.setattr(validate, "problems", lambda inputs: validated.append(inputs) or [])
    assert provider.check(olds, dict(news, __provider=SERIALIZED_PROVIDER)).inputs == olds
    assert validated == []  # a no-op preview or up loads no model
    provider.check(olds, engine_props(props(name="Renamed", segmentId=2)))
    provider.check({}, news)  # a new resource
    unknown = engine_props(props(name=UNKNOWN, segmentId=2, applications=[app(managed=True)]))
    provider.check(olds, unknown)
    assert len(validated) == 3


# -- organizationId -------------------------------------------------------------------------------


def test_organization_id_defaults_to_the_stack_config() -> None:
    inputs = checked(make_provider(organizationId="acme-corp"), props())
    assert inputs["organizationId"] == "acme-corp"


def test_a_declared_organization_id_wins_over_the_stack_config() -> None:
    inputs = checked(make_provider(organizationId="acme-corp"), props(organizationId=ORG))
    assert inputs["organizationId"] == ORG


def test_organization_id_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPLIVERY_ORGANIZATION_ID", "env-org")
    inputs = checked(make_provider(organizationId=None), props())
    assert inputs["organizationId"] == "env-org"


def test_no_organization_anywhere_is_a_clear_failure() -> None:
    found = failures(make_provider(organizationId=None), props())
    assert len(found) == 1
    path, reason = found[0]
    assert path == "organizationId"
    assert "organization_id" in reason and "applivery:organizationId" in reason
    assert "APPLIVERY_ORGANIZATION_ID" in reason


def test_a_missing_policy_id_is_a_failure() -> None:
    found = failures(make_provider(), {"name": "x"})
    assert found == [("policyId", "required field is missing")]


# -- duplicates in unordered lists ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"profiles": [HEX_A, HEX_B, HEX_A]}, "profiles[2]"),
        (
            {"applications": [app(managed=True), app(admApplication=HEX_B), app()]},
            "applications[2]",
        ),
        ({"books": [{"type": "store", "id": "1"}, {"type": "store", "id": "1"}]}, "books[1]"),
        (
            {
                "assets": [
                    {"mdmAssetId": HEX_A, "location": "/a"},
                    {"mdmAssetId": HEX_A, "location": "/a"},
                ]
            },
            "assets[1]",
        ),
        (
            {
                "agentConfiguration": {
                    "appBlacklist": [{"bundleId": "x"}, {"bundleId": "x", "action": "block"}]
                }
            },
            "agentConfiguration.appBlacklist[1]",
        ),
    ],
)
def test_duplicate_identities_in_unordered_lists_are_rejected(
    body: dict[str, Any], path: str
) -> None:
    found = failures(make_provider(), props(**body))
    assert len(found) == 1, found
    assert found[0][0] == path
    assert "duplicate of" in found[0][1] and "unique" in found[0][1]


@pytest.mark.parametrize(
    "body",
    [
        {"books": [{"type": "store", "id": "1"}, {"type": "asset", "id": "1"}]},
        {
            "assets": [
                {"mdmAssetId": HEX_A, "location": "/a"},
                {"mdmAssetId": HEX_A, "location": "/b"},
            ]
        },
        # Ordered lists may repeat an item: a script can run twice.
        {"scripts": [{"id": "s"}, {"id": "s"}]},
        {"bookmarks": [{"title": "t"}, {"title": "t"}]},
    ],
)
def test_distinct_identities_and_ordered_lists_may_look_alike(body: dict[str, Any]) -> None:
    assert failures(make_provider(), props(**body)) == []


# -- no requests ----------------------------------------------------------------------------------


def test_check_and_diff_make_no_request() -> None:
    provider = make_provider()
    declared = engine_props(props(name="x", applications=[app(managed=True)]))
    with mocked() as router:
        anything = router.route(url__startswith=BASE)
        inputs = provider.check({}, declared).inputs
        provider.check(inputs, engine_props({**inputs, "name": "y"}))
        provider.diff(PID, engine_props(inputs), engine_props({**inputs, "name": "y"}))
        provider.diff(PID, engine_props(inputs), engine_props({**inputs, "policyId": HEX_A}))
        failures(make_provider(), props(name="z" * 999))
    assert not anything.called
    assert router.calls.call_count == 0
