"""What a user of the official Pulumi CLI sees, on the SDK's host (``python -m pulumi.dynamic``).

Drift shown on the field after a refresh, onboarding by reading (``import_existing`` and the
``import_`` resource option), read-only lookups (``AppleDevicePolicy.get``) and errors that end
with one sentence.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from harness.emulator import Emulator
from harness.project import PulumiProject, assert_short_error
from tests.e2e.test_lifecycle import declared, project_for

pytestmark = pytest.mark.e2e


def puts(emu: Emulator) -> int:
    return sum(n for k, n in emu.counters()["requests"].items() if k.startswith("PUT"))


def gets(emu: Emulator) -> int:
    return sum(n for k, n in emu.counters()["requests"].items() if k.startswith("GET"))


def test_refresh_then_preview_diff_shows_the_drifted_field(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    project = project_for(tmp_path, emu)
    project.declare([{"name": "corp", "args": declared(policy["id"], name="Corporate")}])
    project.run("up", "--yes")

    emu.edit_policy(
        policy["id"],
        name="Renamed in dashboard",
        agentConfiguration={
            "allowLocation": False,
            "appBlacklist": [{"bundleId": "com.example.games", "action": "block"}],
            "allowPackageTime": True,  # undeclared: the service's business, never shown
        },
    )
    emu.reset_counters()
    project.run("refresh", "--yes", "--skip-preview")
    assert gets(emu) == 1 and puts(emu) == 0

    preview = project.run("preview", "--diff")
    assert re.search(r'~ name\s*: "Renamed in dashboard" => "Corporate"', preview.output), (
        preview.output
    )
    assert re.search(r"~ allowLocation\s*: false => true", preview.output), preview.output
    assert "allowPackageTime" not in preview.output
    assert "1 to update" in preview.output

    project.run("up", "--yes")
    stored = emu.get_policy(policy["id"])
    assert stored["name"] == "Corporate"
    assert stored["agentConfiguration"]["allowLocation"] is True
    project.run("refresh", "--yes", "--expect-no-changes")
    project.run("preview", "--expect-no-changes")


def test_refresh_without_drift_changes_nothing(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    project = project_for(tmp_path, emu)
    # segmentId as the reference's own example spells it: a string.
    project.declare([{"name": "corp", "args": declared(policy["id"], segmentId="1")}])
    project.run("up", "--yes")

    def policy_inputs() -> list[dict[str, Any]]:
        resources = project.state()["deployment"]["resources"]
        return [r["inputs"] for r in resources if r["type"].endswith("AppleDevicePolicy")]

    checked = policy_inputs()
    project.run("refresh", "--yes", "--expect-no-changes")
    project.run("refresh", "--yes", "--expect-no-changes")
    # The checked declaration stays the inputs, exactly: no stored default crept in.
    assert policy_inputs() == checked
    assert checked and "allowPackageTime" not in str(checked)
    emu.reset_counters()
    project.run("preview", "--diff", "--expect-no-changes")
    assert emu.counters()["total"] == 0


def test_import_mark_onboards_by_reading_and_writes_nothing(tmp_path: Path, emu: Emulator) -> None:
    body = declared("0" * 24)
    body.pop("policyId")
    same = emu.create_policy(**body)
    project = project_for(tmp_path, emu)
    project.declare([{"name": "onboarded", "args": declared(same["id"], importExisting=True)}])
    emu.reset_counters()
    project.run("up", "--yes")
    assert puts(emu) == 0 and gets(emu) == 1
    assert emu.get_policy(same["id"])["version"] == same["version"]
    emu.reset_counters()
    project.run("preview", "--expect-no-changes")
    assert emu.counters()["total"] == 0

    # Once adopted, the declaration is applied as usual (the mark only governs adoption).
    project.declare(
        [{"name": "onboarded", "args": declared(same["id"], importExisting=True, name="v2")}]
    )
    project.run("up", "--yes")
    assert emu.get_policy(same["id"])["name"] == "v2"


def test_import_mark_refuses_a_policy_that_differs(tmp_path: Path, emu: Emulator) -> None:
    body = declared("0" * 24)
    body.pop("policyId")
    body["name"] = "Renamed in dashboard"
    other = emu.create_policy(**body)
    project = project_for(tmp_path, emu)
    project.declare([{"name": "onboarded", "args": declared(other["id"], importExisting=True)}])
    emu.reset_counters()
    result = project.run("up", "--yes", check=False)
    assert result.returncode != 0
    assert puts(emu) == 0
    assert 'name: stored "Renamed in dashboard", declared "Corporate iOS"' in result.output
    assert_short_error(result.output, "is marked for import")
    # Nothing entered the stack: fixing the declaration converges.
    project.declare(
        [
            {
                "name": "onboarded",
                "args": declared(other["id"], importExisting=True, name="Renamed in dashboard"),
            }
        ]
    )
    emu.reset_counters()
    project.run("up", "--yes")
    assert puts(emu) == 0
    project.run("preview", "--expect-no-changes")


def test_import_option_onboards_by_reading_and_writes_nothing(
    tmp_path: Path, emu: Emulator
) -> None:
    body = declared("0" * 24)
    body.pop("policyId")
    same = emu.create_policy(**body)
    project = project_for(tmp_path, emu)
    # No policy_id declared: the import id names the policy (and its organization).
    project.declare([{"name": "imported", "args": body, "import": f"{emu.org}/{same['id']}"}])
    emu.reset_counters()
    project.run("up", "--yes")
    assert puts(emu) == 0 and gets(emu) == 1
    assert emu.get_policy(same["id"])["version"] == same["version"]
    outputs = project.resource_outputs("imported")
    assert (outputs["policyId"], outputs["organizationId"]) == (same["id"], emu.org)
    assert outputs["name"] == "Corporate iOS" and outputs["version"] == same["version"]
    emu.reset_counters()
    project.run("preview", "--expect-no-changes")
    project.run("up", "--yes", "--expect-no-changes")
    assert emu.counters()["total"] == 0


def test_import_option_refuses_a_policy_that_differs(tmp_path: Path, emu: Emulator) -> None:
    body = declared("0" * 24)
    body.pop("policyId")
    body["name"] = "Renamed in dashboard"
    body["exposeToChildren"] = False
    other = emu.create_policy(**body)
    project = project_for(tmp_path, emu)
    project.declare([{"name": "imported", "args": declared(other["id"]), "import": other["id"]}])
    emu.reset_counters()
    result = project.run("up", "--yes", check=False)
    assert result.returncode != 0
    assert puts(emu) == 0
    assert "__provider" not in result.output
    assert 'name: stored "Renamed in dashboard", declared "Corporate iOS"' in result.output
    assert "exposeToChildren: stored false, declared true" in result.output
    assert_short_error(result.output, "is marked for import")
    # Nothing entered the stack: with the stored values declared, the next run converges.
    fixed = declared(other["id"], name="Renamed in dashboard", exposeToChildren=False)
    project.declare([{"name": "imported", "args": fixed, "import": other["id"]}])
    emu.reset_counters()
    project.run("up", "--yes")
    assert puts(emu) == 0 and gets(emu) == 1
    project.run("preview", "--expect-no-changes")


LOOKUP_PROGRAM = """
import pulumi

from applivery_pulumi import AppleDevicePolicy

config = pulumi.Config()
by_path = AppleDevicePolicy.get("by-path", config.require("path"))
by_id = AppleDevicePolicy.get("by-id", config.require("policy"))
pulumi.export("name", by_path.name)
pulumi.export("profiles", by_path.profiles)
pulumi.export("version", by_id.version)
pulumi.export("organization", by_id.organization_id)
"""


def test_get_reads_a_policy_without_managing_it(tmp_path: Path, emu: Emulator) -> None:
    body = declared("0" * 24)
    body.pop("policyId")
    policy = emu.create_policy(**body)
    project = project_for(
        tmp_path,
        emu,
        program=LOOKUP_PROGRAM,
        config={"e2e:path": f"{emu.org}/{policy['id']}", "e2e:policy": policy["id"]},
    )
    emu.reset_counters()
    project.run("up", "--yes")
    assert puts(emu) == 0
    outputs = project.run("stack", "output", "--json").stdout
    assert '"name": "Corporate iOS"' in outputs
    assert policy["profiles"][0]["id"] in outputs
    assert f'"organization": "{emu.org}"' in outputs
    assert f'"version": {policy["version"]}' in outputs

    project.declare([])  # the program declares nothing else; destroy never writes a lookup
    emu.reset_counters()
    project.run("destroy", "--yes")
    assert puts(emu) == 0
    assert emu.get_policy(policy["id"])["version"] == policy["version"]


def test_errors_reach_the_cli_as_one_sentence_after_a_short_traceback(
    tmp_path: Path, emu: Emulator
) -> None:
    locked = emu.create_policy(name="Draft", segmentId=1)
    emu.lock_policy(locked["id"])
    project = project_for(tmp_path, emu)
    project.declare([{"name": "corp", "args": declared(locked["id"], segmentId=2)}])
    result = project.run("up", "--yes", check=False)
    assert result.returncode != 0
    assert "5227" in result.output
    assert_short_error(result.output, "5227")

    wrong = PulumiProject(tmp_path / "wrong-token", emu, token="not-the-token")
    wrong.declare([{"name": "corp", "args": declared(locked["id"])}])
    result = wrong.run("up", "--yes", check=False)
    assert result.returncode != 0
    assert "applivery:apiToken" in result.output
    assert_short_error(result.output, "4004")
    assert emu.token not in result.output


def test_refresh_names_a_policy_deleted_outside_pulumi(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    project = project_for(tmp_path, emu)
    project.declare([{"name": "corp", "args": declared(policy["id"])}])
    project.run("up", "--yes")
    emu.delete_policy(policy["id"])
    result = project.run("refresh", "--yes", "--skip-preview")
    assert f"policy {policy['id']} of organization {emu.org} no longer exists" in result.output
    assert "remove its declaration" in result.output
    urns = [r["urn"] for r in project.state()["deployment"].get("resources", [])]
    assert not [u for u in urns if u.endswith("::corp")], urns
    after = project.run("up", "--yes", check=False)
    assert after.returncode != 0 and policy["id"] in after.output
