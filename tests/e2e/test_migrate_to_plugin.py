"""End to end: README's move of a Python stack from the dynamic resource to the provider plugin
(*Large stacks*), step by step on the real CLI and emulator.

The program changes its import and registers the README's transform, which gives every policy
the alias of its old type; the engine then moves each policy in state, to the new type and
provider, without a create or a delete: no request reaches the service, and ``preAdoption``
comes along, so ``restore_on_delete`` still puts back what the policy had before adoption.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.emulator import REPO, Emulator
from harness.project import PROGRAM, PulumiProject
from tests.e2e.test_lifecycle import declared

pytestmark = pytest.mark.e2e

RESOURCE = "applivery:index:AppleDevicePolicy"
DYNAMIC_IMPORT = "from applivery_pulumi import AppleDevicePolicy"
NATIVE_IMPORT = "from applivery_pulumi.native import AppleDevicePolicy"

# What README tells a program to add for the move, verbatim (the test checks README holds it).
MOVE = """\
def moved(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    if args.type_ != "applivery:index:AppleDevicePolicy":
        return None
    old = pulumi.Alias(type_="pulumi-python:dynamic/applivery:AppleDevicePolicy")
    more = pulumi.ResourceOptions(aliases=[old])
    return pulumi.ResourceTransformResult(args.props, pulumi.ResourceOptions.merge(args.opts, more))


pulumi.runtime.register_resource_transform(moved)
"""

# The harness's program with an explicit provider: an account of its own, from stack config.
EXPLICIT = """
from applivery_pulumi.native import Provider
config = pulumi.Config("applivery")
account = Provider(
    "account",
    api_token=config.require_secret("apiToken"),
    base_url=config.require("baseUrl"),
    organization_id=config.require("organizationId"),
)
"""


def native_program(*, move: bool, explicit: bool) -> str:
    """The harness's program on the plugin: README's edits to a program of dynamic policies."""
    program = PROGRAM.replace(DYNAMIC_IMPORT, NATIVE_IMPORT)
    head, body = program.split("spec = ")
    if explicit:
        head += EXPLICIT
        body = body.replace("import_=", "provider=account, import_=")
    return head + (MOVE if move else "") + "\nspec = " + body


def policy_requests(emu: Emulator) -> dict[str, int]:
    return {k: n for k, n in emu.counters()["requests"].items() if " /v1/" in k}


def policy_steps(preview_json: str) -> dict[str, str]:
    """Each policy's step in a ``pulumi preview --json``: its name and the operation."""
    steps = json.loads(preview_json)["steps"]
    return {
        s["urn"].rsplit("::", 1)[1]: s["op"] for s in steps if s["urn"].split("::")[2] == RESOURCE
    }


def test_readme_shows_the_tested_move() -> None:
    # README's step 3, a list item, indents its code block by three spaces.
    assert textwrap.indent(MOVE, "   ") in (REPO / "README.md").read_text()


@pytest.mark.parametrize("provider", ["default", "explicit"])
def test_a_stack_of_dynamic_policies_moves_to_the_plugin_without_a_request(
    tmp_path: Path, emu: Emulator, provider: str
) -> None:
    policies = [emu.create_policy(name=f"Draft {i}") for i in range(5)]
    declarations: list[dict[str, Any]] = [
        {"name": f"fleet-{i}", "args": declared(p["id"], name=f"Fleet {i}")}
        for i, p in enumerate(policies)
    ]
    declarations[0]["args"]["restoreOnDelete"] = True
    project = PulumiProject(tmp_path / "project", emu)
    project.declare(declarations)
    project.run("up", "--yes", "--skip-preview")
    # README step 1: a converged stack, so that the move is all the next `up` does.
    project.run("preview", "--expect-no-changes")
    documents = {p["id"]: emu.get_policy(p["id"]) for p in policies}
    pre_adoption = project.resource_outputs("fleet-0")["preAdoption"]
    assert pre_adoption["name"] == "Draft 0"

    emu.reset_counters()
    explicit = provider == "explicit"
    project.set_program(native_program(move=True, explicit=explicit))
    preview = project.run("preview", "--json", "--show-sames")
    assert set(policy_steps(preview.stdout).values()) == {"same"}, preview.stdout[-4000:]
    assert len(policy_steps(preview.stdout)) == 5
    project.run("up", "--yes")
    assert policy_requests(emu) == {}, "the move neither writes nor reads a policy"
    assert {p["id"]: emu.get_policy(p["id"]) for p in policies} == documents

    resources = project.state()["deployment"]["resources"]
    moved = {r["urn"].rsplit("::", 1)[1]: r for r in resources if r["type"] == RESOURCE}
    assert sorted(moved) == [f"fleet-{i}" for i in range(5)]
    assert not any("pulumi-python" in r["type"] for r in resources), "the dynamic provider left"
    assert moved["fleet-0"]["outputs"]["preAdoption"] == pre_adoption
    owner = "pulumi:providers:applivery::" + ("account" if explicit else "default")
    assert all(owner in r["provider"] for r in moved.values())
    project.run("preview", "--expect-no-changes")

    # README's last step: once moved, the transform can go.
    project.set_program(native_program(move=False, explicit=explicit))
    project.run("preview", "--expect-no-changes")
    assert policy_requests(emu) == {}

    # The moved pre-adoption record is the original one: destroy restores the draft's name.
    project.run("destroy", "--yes", "--skip-preview")
    assert emu.get_policy(policies[0]["id"])["name"] == "Draft 0"
    assert emu.get_policy(policies[1]["id"])["name"] == "Fleet 1"
