"""The reference's own examples: its request body passes check and round-trips with no diff."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from applivery_pulumi.policy.normalize import document_to_state

from .unit_support import (
    BASE,
    ORG,
    PID,
    checked,
    engine_props,
    envelope,
    make_provider,
    mocked,
    policy_path,
    walk,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
RESPONSE: dict[str, Any] = json.loads((FIXTURES / "spec_response_example.json").read_text())
URL = f"{BASE}{policy_path()}"


def request_example(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return body


def adapted(request: dict[str, Any], *, echo_flags: bool) -> dict[str, Any]:
    """The reference's response example, storing what ``request`` sent (as the service would).

    Its profiles become objects with the requested ids (the example's say ``"string"``), in
    reverse order; the agent configuration takes the requested values; GET drops
    ``managementFlags`` as the reference's GET example does.
    """
    doc = copy.deepcopy(RESPONSE["data"])
    template = doc["profiles"][0]
    doc["profiles"] = [template | {"id": p} for p in reversed(request["profiles"])]
    doc["agentConfiguration"] |= copy.deepcopy(request["agentConfiguration"])
    if not echo_flags:
        for app in doc["applications"]:
            app.pop("managementFlags", None)
    return doc


EXAMPLES = ["spec_request_example.json", "spec_request_example_full.json"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_reference_request_passes_check(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = checked(make_provider(), engine_props({"policyId": PID, **request_example(name)}))
    assert inputs["organizationId"] == ORG
    assert "actionStatus" not in inputs["applications"][0]
    assert "actionStatus is read-only" in capsys.readouterr().err


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_reference_request_round_trips_without_a_diff(name: str) -> None:
    request = request_example(name)
    provider = make_provider()
    inputs = checked(provider, engine_props({"policyId": PID, **request}))
    with mocked() as router:
        router.get(URL).respond(200, json=envelope(adapted(request, echo_flags=False)))
        put = router.put(URL).respond(200, json=envelope(adapted(request, echo_flags=True)))
        outs = provider.create(inputs).outs
        sent = json.loads(put.calls.last.request.content)

    expected = copy.deepcopy(request)
    del expected["applications"][0]["actionStatus"]
    expected["segmentId"] = 1  # "1" in the example; the schema says number
    assert sent == expected

    diff = provider.diff(PID, engine_props(outs), engine_props(inputs))
    assert (diff.changes, diff.paths) == (False, [])
    assert outs["version"] == 3
    assert outs["createdAt"] == "2026-02-13T10: 00:00Z"  # kept as the service's text

    with mocked() as router:
        router.get(URL).respond(200, json=envelope(adapted(request, echo_flags=False)))
        read = provider.read(PID, engine_props(outs))
    assert read.outs["applications"][0]["managementFlags"] == 5  # carried over: GET omits it
    diff = provider.diff(PID, engine_props(read.outs), engine_props(inputs))
    assert (diff.changes, diff.paths) == (False, [])
    assert "certificates" not in set(walk(read.outs))


def test_the_reference_response_normalises_to_the_declared_shape() -> None:
    state = document_to_state(RESPONSE["data"])
    assert state["profiles"] == ["string"]  # ids only
    assert state["segmentId"] == 1
    assert "actionStatus" not in state["applications"][0]
    assert state.keys() == {
        "name",
        "profiles",
        "applications",
        "books",
        "scripts",
        "bookmarks",
        "assets",
        "agentConfiguration",
        "segmentId",
        "exposeToChildren",
    }


def test_the_reference_response_shows_the_drift_from_the_short_request() -> None:
    # The short request sends an empty appBlacklist; the response example has one entry.
    request = request_example("spec_request_example.json")
    provider = make_provider()
    inputs = checked(provider, engine_props({"policyId": PID, **request}))
    raw = copy.deepcopy(RESPONSE["data"])
    raw["profiles"] = [raw["profiles"][0] | {"id": p} for p in request["profiles"]]
    with mocked() as router:
        router.get(URL).mock(return_value=httpx.Response(200, json=envelope(raw)))
        read = provider.read(PID, engine_props(inputs))
    diff = provider.diff(PID, engine_props(read.outs), engine_props(inputs))
    assert diff.paths == ["agentConfiguration.appBlacklist"]
