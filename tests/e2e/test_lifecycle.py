"""End to end: the real Pulumi CLI runs the provider against a real emulator process.

Each test has its own emulator (random port, own SQLite file), its own file backend and stack.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from applivery_pulumi.lifecycle import RELEASED
from harness.emulator import Emulator
from harness.project import PulumiProject, assert_short_error

pytestmark = pytest.mark.e2e

PROFILE_A = "698f42e5457fafa13d088794"
PROFILE_B = "698f42e5457fafa13d088795"
APP = "698f42e5457fafa13d0887b1"


def declared(policy_id: str, **over: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "policyId": policy_id,
        "name": "Corporate iOS",
        "profiles": [PROFILE_A, PROFILE_B],
        "applications": [
            {"admApplication": APP, "managed": True, "action": "available", "iOSApp": True}
        ],
        "agentConfiguration": {
            "allowLocation": True,
            "appBlacklist": [{"bundleId": "com.example.games", "action": "block"}],
        },
        "scripts": [{"type": "loop", "loopTime": 3600, "name": "Compliance", "runner": "bash"}],
        "segmentId": 1,
        "exposeToChildren": True,
    }
    args.update(over)
    return args


def seed_catalogue(emu: Emulator) -> None:
    emu.create_profile(id=PROFILE_A, name="Wi-Fi")
    emu.create_profile(id=PROFILE_B, name="Passcode")


def project_for(tmp_path: Path, emu: Emulator, **kwargs: Any) -> PulumiProject:
    return PulumiProject(tmp_path / "project", emu, **kwargs)


def test_up_then_preview_and_refresh_report_no_changes(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    project = project_for(tmp_path, emu)
    project.declare([{"name": "corp", "args": declared(policy["id"])}])

    project.run("up", "--yes")
    stored = emu.get_policy(policy["id"])
    assert stored["name"] == "Corporate iOS"
    assert {p["id"] for p in stored["profiles"]} == {PROFILE_A, PROFILE_B}

    emu.reset_counters()
    project.run("preview", "--expect-no-changes")
    project.run("up", "--yes", "--expect-no-changes")
    assert emu.counters()["total"] == 0, "a no-op preview and up send no request"

    project.run("refresh", "--yes", "--expect-no-changes")
    outputs = project.resource_outputs("corp")
    assert outputs["profiles"] == [PROFILE_A, PROFILE_B]
    assert "password" not in json.dumps(outputs)


def test_out_of_band_edit_is_drift_and_up_restores_it(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    project = project_for(tmp_path, emu)
    project.declare([{"name": "corp", "args": declared(policy["id"])}])
    project.run("up", "--yes")

    emu.edit_policy(policy["id"], name="Renamed in the dashboard")
    drift = project.run("preview", "--refresh", "--diff", "--expect-no-changes", check=False)
    assert drift.returncode != 0
    assert "Renamed in the dashboard" in drift.output

    project.run("up", "--refresh", "--yes")
    assert emu.get_policy(policy["id"])["name"] == "Corporate iOS"
    project.run("preview", "--refresh", "--expect-no-changes")


def test_preview_diff_names_the_changed_nested_field(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    project = project_for(tmp_path, emu)
    project.declare([{"name": "corp", "args": declared(policy["id"])}])
    project.run("up", "--yes")

    changed = declared(policy["id"])
    changed["agentConfiguration"] = copy.deepcopy(changed["agentConfiguration"])
    changed["agentConfiguration"]["allowLocation"] = False
    project.declare([{"name": "corp", "args": changed}])
    preview = project.run("preview", "--diff")
    assert "allowLocation" in preview.output
    assert "~ pulumi-python:dynamic/applivery:AppleDevicePolicy" in preview.output
    before = emu.get_policy(policy["id"])["version"]

    emu.reset_counters()
    project.run("up", "--yes")
    counts = emu.counters()["requests"]
    assert sum(n for k, n in counts.items() if k.startswith("PUT")) == 1
    after = emu.get_policy(policy["id"])
    assert after["agentConfiguration"]["allowLocation"] is False
    assert after["version"] == before + 1
    project.run("preview", "--expect-no-changes")


def test_invalid_input_fails_at_preview_naming_the_field(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    project = project_for(tmp_path, emu)
    bad = declared(policy["id"])
    bad["applications"] = [{"admApplication": APP, "managementFlags": 3}]
    project.declare([{"name": "corp", "args": bad}])
    emu.reset_counters()
    result = project.run("preview", check=False)
    assert result.returncode != 0
    assert "applications[0].managementFlags" in result.output
    assert "0, 1, 4 or 5" in result.output
    assert emu.counters()["total"] == 0


def test_wrong_token_fails_with_token_advice(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    project = project_for(tmp_path, emu, token="not-the-token")
    project.declare([{"name": "corp", "args": declared(policy["id"])}])
    result = project.run("up", "--yes", check=False)
    assert result.returncode != 0
    assert "4004" in result.output
    assert "applivery:apiToken" in result.output
    assert_short_error(result.output, "4004")
    assert emu.get_policy(policy["id"])["name"] == "Draft"


def test_destroy_says_once_that_nothing_was_deleted_in_applivery(
    tmp_path: Path, emu: Emulator
) -> None:
    ids = [emu.create_policy(name=f"Draft {i}")["id"] for i in range(3)]
    project = project_for(tmp_path, emu)
    project.declare(
        [
            {"name": f"p{i}", "args": {"policyId": pid, "name": f"Managed {i}"}}
            for i, pid in enumerate(ids)
        ]
    )
    project.run("up", "--yes", "--skip-preview")

    destroyed = project.run("destroy", "--yes", "--skip-preview", "--json")
    assert [m.strip() for m in destroyed.diagnostics if RELEASED in m] == [f"warning: {RELEASED}"]
    assert [emu.get_policy(pid)["name"] for pid in ids] == [f"Managed {i}" for i in range(3)]


def test_destroy_releases_or_restores(tmp_path: Path, emu: Emulator) -> None:
    kept = emu.create_policy(name="Kept draft")
    restored = emu.create_policy(name="Restored draft", exposeToChildren=False)
    project = project_for(tmp_path, emu)
    project.declare(
        [
            {"name": "kept", "args": declared(kept["id"], name="Managed A")},
            {
                "name": "restored",
                "args": declared(restored["id"], name="Managed B", restoreOnDelete=True),
            },
        ]
    )
    project.run("up", "--yes")
    assert emu.get_policy(restored["id"])["name"] == "Managed B"

    # Turned on after adoption: nothing was recorded to restore, and preview says so.
    late = [
        {"name": "kept", "args": declared(kept["id"], name="Managed A", restoreOnDelete=True)},
        {"name": "restored", "args": declared(restored["id"], name="Managed B")},
    ]
    project.declare(late)
    emu.reset_counters()
    refused = project.run("preview", check=False)
    assert refused.returncode != 0
    assert f"policy {kept['id']}: restore_on_delete can only be set when" in refused.output
    assert_short_error(refused.output, "restore_on_delete can only be set when")
    assert emu.counters()["total"] == 0
    # Turning it off keeps the record: destroy still restores once it is back on.
    project.declare(
        [
            {"name": "kept", "args": declared(kept["id"], name="Managed A")},
            {"name": "restored", "args": declared(restored["id"], name="Managed B")},
        ]
    )
    project.run("up", "--yes")
    project.declare(
        [
            {"name": "kept", "args": declared(kept["id"], name="Managed A")},
            {
                "name": "restored",
                "args": declared(restored["id"], name="Managed B", restoreOnDelete=True),
            },
        ]
    )
    project.run("up", "--yes")

    project.run("destroy", "--yes")
    released = emu.get_policy(kept["id"])
    assert released["name"] == "Managed A", "release leaves the policy as it is"
    back = emu.get_policy(restored["id"])
    assert back["name"] == "Restored draft"
    assert back["exposeToChildren"] is False


def _assert_marker_absent(project: PulumiProject, emu: Emulator, outputs: list[Any]) -> None:
    marker = emu.token
    exported = project.run("stack", "export").stdout
    state_files = "".join(
        p.read_text(errors="replace") for p in (project.dir / "state").rglob("*") if p.is_file()
    )
    assert marker not in exported
    assert marker not in state_files
    for result in outputs:
        assert marker not in result.output
    assert marker not in emu.log_text()
    # The pickled provider carries no token either (decode it from the exported state).
    for res in json.loads(exported)["deployment"].get("resources", []):
        pickled = res.get("outputs", {}).get("__provider")
        if isinstance(pickled, str):
            assert marker.encode() not in base64.b64decode(pickled)


def test_token_from_stack_config_appears_nowhere(tmp_path: Path, emu: Emulator) -> None:
    policy = emu.create_policy(name="Draft")
    project = project_for(tmp_path, emu)
    project.declare([{"name": "corp", "args": declared(policy["id"])}])
    outputs = [
        project.run("up", "--yes"),
        project.run("refresh", "--yes"),
        project.run("preview", "--diff"),
    ]
    _assert_marker_absent(project, emu, outputs)
    outputs.append(project.run("destroy", "--yes"))
    _assert_marker_absent(project, emu, outputs)


def test_token_from_environment_stays_out_of_verbose_engine_logs(
    tmp_path: Path, emu: Emulator
) -> None:
    # At -v=9 the engine logs every provider's configuration, secrets included; a token given
    # through APPLIVERY_API_TOKEN never reaches the engine, so debug logs stay clean.
    policy = emu.create_policy(name="Draft")
    project = project_for(tmp_path, emu, token="", env={"APPLIVERY_API_TOKEN": emu.token})
    project.declare([{"name": "corp", "args": declared(policy["id"])}])
    outputs = [
        project.run("up", "--yes", "-v=9", "--logtostderr"),
        project.run("refresh", "--yes", "-v=9", "--logtostderr"),
    ]
    assert emu.get_policy(policy["id"])["name"] == "Corporate iOS"
    outputs.append(project.run("destroy", "--yes", "-v=9", "--logtostderr"))
    _assert_marker_absent(project, emu, outputs)


COMPOSED_PROGRAM = """
import pulumi

from applivery_pulumi import AppleDevicePolicy, AppleDevicePolicyArgs

config = pulumi.Config()
base = AppleDevicePolicy("base", {"policyId": config.require("base"), "name": "Base policy"})
derived = AppleDevicePolicy(
    "derived",
    AppleDevicePolicyArgs(
        policy_id=config.require("derived"),
        name=base.name.apply(lambda name: f"{name} (derived)"),
        segment_id=base.version,
    ),
)
pulumi.export("derived", derived.name)
"""


def test_unknown_value_passes_preview_and_resolves_at_up(tmp_path: Path, emu: Emulator) -> None:
    base = emu.create_policy(name="Draft base")
    derived = emu.create_policy(name="Draft derived")
    project = project_for(
        tmp_path,
        emu,
        program=COMPOSED_PROGRAM,
        config={"e2e:base": base["id"], "e2e:derived": derived["id"]},
    )
    preview = project.run("preview", "--diff")
    assert "error" not in preview.output.lower()
    assert "output<string>" in preview.output or "[unknown]" in preview.output
    project.run("up", "--yes")
    stored = emu.get_policy(derived["id"])
    assert stored["name"] == "Base policy (derived)"
    assert stored["segmentId"] == str(emu.get_policy(base["id"])["version"])
    project.run("preview", "--expect-no-changes")
