"""Adoption by reading (``importExisting``), the inputs a refresh returns, and short errors.

These are what make the product behave the same on the SDK's own dynamic-provider host, which
sends no detailed diff, serves no import and prints the traceback of whatever it catches.
"""

from __future__ import annotations

import copy
import sys
import traceback
from typing import Any

import pytest

from applivery_pulumi.api import errors

from .test_lifecycle import BEFORE, DECLARED, HEX_A, URL, created, inputs
from .unit_support import ORG, PID, TOKEN, FakeApplivery, error_envelope, make_provider, mocked


def stored_as_declared(seed: int) -> FakeApplivery:
    """A service whose policy already holds the declaration (stored its own way)."""
    server = FakeApplivery(BEFORE, seed=seed)
    server.accept({k: copy.deepcopy(v) for k, v in DECLARED.items() if k != "policyId"})
    return server


# -- importExisting -------------------------------------------------------------------------------


@pytest.mark.parametrize("restore", [False, True])
def test_import_mark_adopts_a_matching_policy_with_one_get_and_no_write(restore: bool) -> None:
    server = stored_as_declared(seed=11)
    with mocked() as router:
        server.install(router)
        result = make_provider().create(inputs(importExisting=True, restoreOnDelete=restore))
        methods = [call.request.method for call in router.calls]
    assert methods == ["GET"]
    assert server.puts == []
    assert result.id == PID
    outs = result.outs
    assert outs["name"] == "Corporate" and outs["segmentId"] == 1
    assert outs["importExisting"] is True
    assert outs["version"] == server.version
    # What the policy had before adoption is what it has now: kept only when restore needs it.
    assert ("preAdoption" in outs) is restore


def test_import_mark_refuses_a_differing_policy_naming_every_field_with_both_values() -> None:
    server = stored_as_declared(seed=12)
    server.stored["name"] = "Renamed in dashboard"
    server.stored["agentConfiguration"]["allowLocation"] = False
    with mocked() as router:
        server.install(router)
        with pytest.raises(errors.ImportMismatchError) as caught:
            make_provider().create(inputs(importExisting=True))
    assert server.puts == [], "nothing is written when the stored policy differs"
    message = str(caught.value)
    assert PID in message and ORG in message
    assert 'name: stored "Renamed in dashboard", declared "Corporate"' in message
    assert "agentConfiguration.allowLocation: stored false, declared true" in message
    assert "profiles" not in message, "fields that match are not named"


def test_import_mark_is_not_a_change_and_later_updates_write() -> None:
    provider = make_provider()
    server = stored_as_declared(seed=13)
    with mocked() as router:
        server.install(router)
        outs = provider.create(inputs(importExisting=True)).outs
    dropped = inputs()  # the mark removed from the policy file
    assert not provider.diff(PID, outs, dropped).changes
    renamed = inputs(importExisting=True, name="Corporate v2")
    result = provider.diff(PID, outs, renamed)
    assert result.changes and result.paths == ["name"]


def test_import_mark_of_a_missing_policy_names_it() -> None:
    with mocked() as router:
        router.get(URL).respond(404, json=error_envelope(3001, "Entity not found"))
        put = router.put(URL)
        with pytest.raises(errors.NotFoundError) as caught:
            make_provider().create(inputs(importExisting=True))
    assert put.call_count == 0
    assert PID in str(caught.value)


# -- read: the inputs the engine keeps -----------------------------------------------------------


def test_refresh_without_drift_leaves_the_checked_inputs_to_the_engine() -> None:
    server = FakeApplivery(BEFORE, seed=14)
    checked_inputs = inputs(restoreOnDelete=True)
    with mocked() as router:
        server.install(router)
        provider = make_provider()
        outs = provider.create(checked_inputs).outs
        result = provider.read(PID, outs)
    # None: the engine keeps the inputs it has, the checked declaration.
    assert result.inputs is None
    assert result.outs == outs


def test_refresh_after_one_field_drifted_keeps_every_other_field_as_declared() -> None:
    server = FakeApplivery(BEFORE, seed=16)
    checked_inputs = inputs(restoreOnDelete=True)
    with mocked() as router:
        server.install(router)
        provider = make_provider()
        outs = provider.create(checked_inputs).outs
        server.stored["name"] = "Renamed in dashboard"
        result = provider.read(PID, outs)
    expected = {k: v for k, v in checked_inputs.items() if k != "__provider"}
    assert result.inputs == expected | {"name": "Renamed in dashboard"}


def test_refresh_after_drift_returns_the_stored_value_of_each_drifted_field_only() -> None:
    server = FakeApplivery(BEFORE, seed=15)
    checked_inputs = inputs()
    with mocked() as router:
        server.install(router)
        provider = make_provider()
        outs = provider.create(checked_inputs).outs
        server.stored["name"] = "Renamed in dashboard"
        server.stored["agentConfiguration"]["allowLocation"] = False
        server.stored["assets"] = []  # an unrelated, declared list emptied
        server.stored["notDeclaredBySomeone"] = {"x": 1}
        result = provider.read(PID, outs)
    assert result.inputs is not None
    assert result.inputs["name"] == "Renamed in dashboard"
    assert result.inputs["agentConfiguration"]["allowLocation"] is False
    # Only declared keys: the service's defaults for undeclared flags never appear.
    assert result.inputs["agentConfiguration"].keys() == DECLARED["agentConfiguration"].keys()
    assert result.inputs["assets"] == []
    assert result.inputs["profiles"] == DECLARED["profiles"]  # unchanged: the declared order
    assert "notDeclaredBySomeone" not in result.inputs
    assert not {"version", "createdAt", "updatedAt", "preAdoption"} & result.inputs.keys()


def test_refresh_of_a_policy_deleted_outside_pulumi_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = FakeApplivery(BEFORE, seed=16)
    with mocked() as router:
        server.install(router)
        provider = make_provider()
        outs = provider.create(inputs()).outs
        server.exists = False
        result = provider.read(PID, outs)
    assert result.id == ""
    err = capsys.readouterr().err
    assert f"policy {PID} of organization {ORG} no longer exists" in err
    assert "3001" in err and "remove its declaration" in err


def test_lookup_reads_the_whole_policy_and_keeps_no_pre_adoption_record() -> None:
    server = stored_as_declared(seed=17)
    with mocked() as router:
        server.install(router)
        result = make_provider().read(f"{ORG}/{PID}", {"lookup": True, "name": None})
    assert server.puts == []
    assert result.id == PID
    assert result.outs["organizationId"] == ORG and result.outs["policyId"] == PID
    assert result.outs["name"] == "Corporate"
    assert "agentConfiguration" in result.outs and "preAdoption" not in result.outs


# -- restore_on_delete and managementFlags --------------------------------------------------------


def test_adoption_with_restore_warns_that_flags_of_managed_apps_cannot_be_restored(
    capsys: pytest.CaptureFixture[str],
) -> None:
    created(FakeApplivery(BEFORE, seed=18), restoreOnDelete=True)
    err = capsys.readouterr().err
    restore = "restore_on_delete cannot restore the managementFlags"
    assert restore in err and BEFORE["applications"][0]["admApplication"] in err
    created(FakeApplivery(BEFORE, seed=19), restoreOnDelete=False)
    assert restore not in capsys.readouterr().err


# -- errors: short on any host -------------------------------------------------------------------


def _as_a_host_prints_it(call: Any) -> str:
    """What the SDK's host sends the engine: ``traceback.format_exc()`` of what it caught."""
    try:
        call()
    except Exception:
        return traceback.format_exc()
    raise AssertionError("the call did not fail")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, error_envelope(4004, "Invalid Token")),
        (400, error_envelope(5227, "Segment inheritance update is blocked by existing references")),
        (404, error_envelope(3001, "Entity not found")),
        (503, {"status": False}),
    ],
)
def test_errors_leave_the_provider_with_one_frame_and_the_sentence_last(
    status: int, body: dict[str, Any]
) -> None:
    provider = make_provider(maxRetrySeconds="0.01")
    props = inputs()
    with mocked() as router:
        router.put(URL).respond(status, json=body)
        text = _as_a_host_prints_it(lambda: provider.create(props))
    frames = [line for line in text.splitlines() if line.startswith('  File "')]
    # The caller's frames (here the test's; in the SDK's host its two handler frames), then one.
    ours = [f for f in frames if "applivery_pulumi" in f]
    assert len(ours) == 1 and frames[-1] == ours[0], text
    assert not any(lib in text for lib in ("tenacity", "httpx", "concurrent")), text
    assert "During handling" not in text and "direct cause" not in text
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("applivery_pulumi.api.errors."), text
    assert PID in last or status == 401
    assert TOKEN not in text


def test_validation_failures_are_returned_not_raised() -> None:
    bad = copy.deepcopy(DECLARED)
    bad["applications"][0]["managementFlags"] = 3
    provider = make_provider()
    from .unit_support import engine_props

    result = provider.check({}, engine_props(bad))
    assert [f.property for f in result.failures] == ["applications[0].managementFlags"]
    assert sys.exc_info() == (None, None, None)


def test_segment_id_is_checked_into_the_number_the_service_stores() -> None:
    assert inputs(segmentId="7")["segmentId"] == 7
    assert inputs()["applications"][0]["admApplication"] == HEX_A
