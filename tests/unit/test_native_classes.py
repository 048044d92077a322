"""The Python classes over the plugin (``applivery_pulumi.native``), under Pulumi's own mocks:
typed lookups like the dynamic resource's ``get``, and inputs checked in the program."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime.settings import SETTINGS, set_root_resource

from applivery_pulumi.dynamic.resource import PolicyOutputs
from applivery_pulumi.native import (
    AppleDevicePolicy,
    Provider,
    get_apple_device_policy,
    get_apple_device_policy_output,
)
from applivery_pulumi.plugin.lookup import GetAppleDevicePolicyResult
from applivery_pulumi.plugin.tokens import LOOKUP_FUNCTION, RESOURCE

from .unit_support import ORG, PID

STORED: dict[str, Any] = {
    "organizationId": ORG,
    "policyId": PID,
    "name": "Kiosk",
    "agentConfiguration": {"allowLocation": True},
    "segmentId": 2,
    "version": 7,
    "createdAt": "c",
    "updatedAt": "u",
}


class Engine(pulumi.runtime.Mocks):
    """Records registrations, reads and calls; answers as the plugin would (``STORED``)."""

    def __init__(self) -> None:
        self.registered: dict[str, tuple[str, str | None, dict[str, Any]]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered[args.name] = (args.typ, args.resource_id, dict(args.inputs))
        if args.resource_id:  # a `get`: the state the plugin reads
            return args.resource_id, dict(STORED)
        return str(args.inputs.get("policyId", args.name)), dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append((args.token, dict(args.args)))
        return dict(STORED)


@pytest.fixture
def engine() -> Iterator[Engine]:
    try:
        previous: asyncio.AbstractEventLoop | None = (
            asyncio.get_event_loop_policy().get_event_loop()
        )
    except RuntimeError:
        previous = None
    loop = asyncio.new_event_loop()  # other tests may have closed the thread's loop
    asyncio.set_event_loop(loop)
    mocks = Engine()
    # A fresh stack resource on this loop: one left by a program that failed may never resolve.
    set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, project="unit", stack="unit", preview=False)
    yield mocks
    # What a failed program leaves behind is ended and collected here.  Collected later, in
    # the middle of an `ast.parse`, its "exception never retrieved" log would format a
    # traceback, which Python 3.11 does by parsing source: a nested parse that breaks the
    # interpreter's AST state for every later test.
    set_root_resource(None)  # type: ignore[arg-type]
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    asyncio.set_event_loop(previous)
    loop.close()
    gc.collect()


def _properties(cls: type) -> set[str]:
    return {
        name
        for klass in cls.__mro__
        for name, value in vars(klass).items()
        if isinstance(value, property)
    }


def test_the_lookup_result_has_the_outputs_of_get_but_the_options() -> None:
    options = {"restore_on_delete", "import_existing", "pre_adoption"}
    assert _properties(GetAppleDevicePolicyResult) == _properties(PolicyOutputs) - options


@pytest.mark.parametrize("by", ["output", "plain", "get"])
def test_lookups_answer_typed_snake_case_outputs(engine: Engine, by: str) -> None:
    @pulumi.runtime.test
    def program() -> Any:
        if by == "plain":
            found = get_apple_device_policy(PID, ORG)
            assert isinstance(found, GetAppleDevicePolicyResult)
            assert found.agent_configuration == {"allowLocation": True}
            assert (found.policy_id, found.segment_id, found.version) == (PID, 2, 7)
            assert found.books is None and found["name"] == "Kiosk"
            return None
        looked_up: Any
        if by == "output":
            looked_up = get_apple_device_policy_output(PID, ORG)
        else:
            looked_up = AppleDevicePolicy.get("seen", f"{ORG}/{PID}")

        def check(values: list[Any]) -> None:
            assert values == [{"allowLocation": True}, PID, ORG, 2, 7, "u", None]

        return pulumi.Output.all(
            looked_up.agent_configuration,
            looked_up.policy_id,
            looked_up.organization_id,
            looked_up.segment_id,
            looked_up.version,
            looked_up.updated_at,
            looked_up.books,
        ).apply(check)

    program()
    if by == "get":
        typ, resource_id, inputs = engine.registered["seen"]
        # A read of the plugin's own resource, which keeps no pre-adoption record of it.
        assert (typ, resource_id, inputs["lookup"]) == (RESOURCE, f"{ORG}/{PID}", True)
    else:
        assert engine.calls == [(LOOKUP_FUNCTION, {"policyId": PID, "organizationId": ORG})]


def test_every_problem_of_every_native_resource_is_named_before_any_registers(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    @pulumi.runtime.test
    def program() -> None:
        AppleDevicePolicy(
            "kiosk",
            {
                "policyId": PID,
                "organizationId": ORG,
                "applications": [{"admApplication": PID, "managementFlags": 3}],
                "scripts": [{"type": "sometimes"}],
            },
        )
        AppleDevicePolicy("desk", {"policyId": "not-an-id", "organizationId": ORG})

    with pytest.raises(pulumi.RunError, match=r"2 AppleDevicePolicy resource\(s\) have invalid"):
        program()
    assert "kiosk" not in engine.registered and "desk" not in engine.registered
    for message in (
        "AppleDevicePolicy 'kiosk': applications[0].managementFlags: Input should be 0, 1, 4 or 5",
        "AppleDevicePolicy 'kiosk': scripts[0].type: Input should be 'once', 'loop' or 'onDemand'",
        "AppleDevicePolicy 'desk': policyId: ",
    ):
        assert message in caplog.text, caplog.text


def test_the_organization_comes_from_an_explicit_provider(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    @pulumi.runtime.test
    def program() -> None:
        acme = Provider("acme", api_token="t", organization_id="acme-corp")
        anywhere = Provider("anywhere", api_token="t")  # the plugin's environment decides
        for provider in (acme, anywhere):
            opts = pulumi.ResourceOptions(provider=provider)
            AppleDevicePolicy(f"on-{provider._name}", {"policyId": PID, "name": "Kiosk"}, opts)

    program()
    assert {"on-acme", "on-anywhere"} <= set(engine.registered), caplog.text
    assert "organizationId" not in engine.registered["on-acme"][2], "sent as declared"


def test_an_explicit_providers_organization_is_validated(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    @pulumi.runtime.test
    def wrong() -> None:
        short = Provider("short", api_token="t", organization_id="x")
        AppleDevicePolicy("kiosk", {"policyId": PID}, pulumi.ResourceOptions(provider=short))

    with pytest.raises(pulumi.RunError, match="invalid inputs"):
        wrong()
    assert "AppleDevicePolicy 'kiosk': organizationId: " in caplog.text


def test_the_default_provider_needs_an_organization(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    @pulumi.runtime.test
    def program() -> None:
        AppleDevicePolicy("kiosk", {"policyId": PID, "name": "Kiosk"})

    with pytest.raises(pulumi.RunError, match="invalid inputs"):
        program()
    assert "AppleDevicePolicy 'kiosk': organizationId: required" in caplog.text
