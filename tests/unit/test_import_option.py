"""The ``import_`` resource option becomes ``importExisting``: never an import the engine serves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from applivery_pulumi import AppleDevicePolicy
from applivery_pulumi.dynamic.import_option import as_import_existing

from .unit_support import ORG, PID


def test_no_import_option_changes_nothing() -> None:
    opts = pulumi.ResourceOptions(protect=True)
    props, rest, problems = as_import_existing({"policyId": PID}, opts)
    assert (props, rest, problems) == ({"policyId": PID}, opts, [])
    assert as_import_existing({"policyId": PID}, None) == ({"policyId": PID}, None, [])


def test_the_option_becomes_the_import_mark_and_leaves_the_options() -> None:
    opts = pulumi.ResourceOptions(import_=PID, protect=True)
    props, rest, problems = as_import_existing({"policyId": PID, "name": "Kiosk"}, opts)
    assert problems == []
    assert props == {"policyId": PID, "name": "Kiosk", "importExisting": True}
    assert rest is not None and rest.import_ is None and rest.protect is True
    assert opts.import_ == PID, "the caller's options are not changed"


def test_an_undeclared_policy_and_organization_come_from_the_import_id() -> None:
    opts = pulumi.ResourceOptions(import_=f"{ORG}/{PID}")
    props, _, problems = as_import_existing({"policyId": None, "name": "Kiosk"}, opts)
    assert problems == []
    assert props == {
        "policyId": PID,
        "organizationId": ORG,
        "name": "Kiosk",
        "importExisting": True,
    }


def test_the_same_policy_in_other_case_agrees() -> None:
    opts = pulumi.ResourceOptions(import_=f"{ORG}/{PID.upper()}")
    props, _, problems = as_import_existing({"policyId": PID, "organizationId": ORG}, opts)
    assert problems == [] and props["policyId"] == PID


@pytest.mark.parametrize(
    ("declared", "import_id", "expected"),
    [
        (
            {"policyId": "a" * 24},
            PID,
            f"imports policy_id {PID}, but the declaration has policy_id {'a' * 24}",
        ),
        (
            {"policyId": PID, "organizationId": "other-org"},
            f"{ORG}/{PID}",
            f"imports organization_id {ORG}, but the declaration has organization_id other-org",
        ),
        (
            {"policyId": pulumi.Output.from_input(PID)},
            PID,
            "policy_id is not known when the program runs",
        ),
        ({"policyId": PID, "importExisting": False}, PID, "leave import_existing out"),
    ],
)
def test_a_declaration_that_disagrees_with_the_option_is_a_problem(
    declared: dict[str, Any], import_id: str, expected: str
) -> None:
    _, rest, problems = as_import_existing(declared, pulumi.ResourceOptions(import_=import_id))
    assert [path for path, _ in problems] == ["import_"]
    assert expected in problems[0][1]
    assert rest is not None and rest.import_ is None


@pytest.mark.parametrize(
    ("import_id", "expected"),
    [
        ("not-a-policy", "its policy id must be a 24-character hexadecimal id"),
        (f"{ORG}/{PID}/x", "its policy id must be"),
        (f"ab/{PID}", "its organization id must be a 24-character hexadecimal id or a slug"),
        (f"a b/{PID[:5]}", "policy id must be a 24-character hexadecimal id; its organization id"),
    ],
)
def test_an_import_id_of_neither_form_is_a_problem_naming_both_forms(
    import_id: str, expected: str
) -> None:
    _, _, problems = as_import_existing(
        {"policyId": PID}, pulumi.ResourceOptions(import_=import_id)
    )
    [(path, reason)] = problems
    assert path == "import_"
    assert "is not <policyId> or <organizationId>/<policyId>" in reason
    assert expected in reason


def test_an_import_id_that_is_not_text_is_a_problem() -> None:
    opts = pulumi.ResourceOptions(import_=pulumi.Output.from_input(PID))  # type: ignore[arg-type]
    _, _, problems = as_import_existing({"policyId": PID}, opts)
    assert problems == [
        ("import_", "must be the text <policyId> or <organizationId>/<policyId> (got Output)")
    ]


# -- through the resource, under Pulumi's mocks ---------------------------------------------------


class Engine(pulumi.runtime.Mocks):
    """Records each registration: the import id the engine would get, and the inputs."""

    def __init__(self) -> None:
        self.registered: dict[str, tuple[str | None, dict[str, Any]]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered[args.name] = (args.resource_id, dict(args.inputs))
        return args.inputs["policyId"], dict(args.inputs)

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


def test_the_engine_gets_no_import_but_the_import_mark(engine: Engine) -> None:
    @pulumi.runtime.test
    def program() -> Any:
        opts = pulumi.ResourceOptions(import_=f"{ORG}/{PID}")
        return AppleDevicePolicy("kiosk", {"name": "Kiosk"}, opts).policy_id

    program()
    import_id, inputs = engine.registered["kiosk"]
    assert not import_id
    assert inputs["importExisting"] is True
    assert (inputs["policyId"], inputs["organizationId"]) == (PID, ORG)


def test_a_problem_of_the_option_fails_the_resource_before_anything_is_sent(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    @pulumi.runtime.test
    def program() -> None:
        opts = pulumi.ResourceOptions(import_=f"other-org/{PID}")
        AppleDevicePolicy("kiosk", {"policyId": PID, "organizationId": ORG}, opts)

    with pytest.raises(pulumi.RunError, match=r"invalid inputs \('kiosk'\)"):
        program()
    assert "kiosk" not in engine.registered
    assert (
        "AppleDevicePolicy 'kiosk': import_: imports organization_id other-org, but the "
        f"declaration has organization_id {ORG}"
    ) in caplog.text
