"""What a program sees of an ``AppleDevicePolicy``: its outputs, under Pulumi's own mocks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from applivery_pulumi import AppleDevicePolicy

from .unit_support import ORG, PID


class Engine(pulumi.runtime.Mocks):
    """Records what each resource registers; answers as the provider would (state = inputs)."""

    def __init__(self) -> None:
        self.registered: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered[args.name] = dict(args.inputs)
        state = dict(args.inputs) | {"version": 3, "createdAt": "c", "updatedAt": "u"}
        if args.inputs.get("restoreOnDelete"):
            state["preAdoption"] = {"name": "Before"}
        return args.inputs["policyId"], state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


@pytest.fixture
def engine() -> Iterator[Engine]:
    loop = asyncio.new_event_loop()  # other tests may have closed the thread's loop
    asyncio.set_event_loop(loop)
    mocks = Engine()
    pulumi.runtime.set_mocks(mocks, project="unit", stack="unit", preview=False)
    yield mocks
    asyncio.set_event_loop(None)
    loop.close()


@pulumi.runtime.test
def test_outputs_are_the_declared_fields_and_metadata(engine: Engine) -> Any:
    policy = AppleDevicePolicy(
        "kiosk", policy_id=PID, organization_id=ORG, name="Kiosk", expose_to_children=False
    )

    def check(values: list[Any]) -> None:
        name, expose, books, version, pre_adoption, restore, dependent = values
        assert dependent == [True, True]
        assert (name, expose, version) == ("Kiosk", False, 3)
        assert books is None and pre_adoption is None and restore is None
        # Only what is declared goes to the engine, plus what the provider adds.
        assert set(engine.registered["kiosk"]) == {
            "policyId",
            "organizationId",
            "name",
            "exposeToChildren",
            "__provider",
        }

    # An undeclared field is None, and still depends on the policy like its other outputs.
    depends = pulumi.Output.from_input(asyncio.ensure_future(_dependents(policy)))
    return pulumi.Output.all(
        policy.name,
        policy.expose_to_children,
        policy.books,
        policy.version,
        policy.pre_adoption,
        policy.restore_on_delete,
        depends,
    ).apply(check)


@pulumi.runtime.test
def test_pre_adoption_is_an_output_with_restore_on_delete(engine: Engine) -> Any:
    policy = AppleDevicePolicy(
        "restored", policy_id=PID, organization_id=ORG, name="R", restore_on_delete=True
    )

    def check(values: list[Any]) -> None:
        pre_adoption, restore, created_at = values
        assert pre_adoption == {"name": "Before"} and restore is True and created_at == "c"

    return pulumi.Output.all(
        policy.pre_adoption, policy.restore_on_delete, policy.created_at
    ).apply(check)


async def _dependents(policy: AppleDevicePolicy) -> list[bool]:
    return [policy in await output.resources() for output in (policy.books, policy.pre_adoption)]
