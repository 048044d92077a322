"""End to end: stacks as users write them — policy files, PolicySet, StackReference, onboarding."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.emulator import Emulator, new_object_id, start_emulator
from harness.project import PulumiProject

pytestmark = pytest.mark.e2e

PROFILES = ["698f42e5457fafa13d088794", "698f42e5457fafa13d088795"]

FLEET_PROGRAM = """
import pulumi

from applivery_pulumi.dynamic.components import PolicySet

config = pulumi.Config()
values = {}
upstream = config.get("upstream")
if upstream:
    ref = pulumi.StackReference(upstream)
    values = {
        "segmentId": ref.require_output("segmentId"),
        "baselineProfileId": ref.require_output("baselineProfileId"),
    }
fleet = PolicySet("fleet", config.require("policyDir"), values=values)
pulumi.export("policies", fleet.summary)
"""

UPSTREAM_PROGRAM = """
import pulumi

config = pulumi.Config()
pulumi.export("segmentId", config.require_int("segmentId"))
pulumi.export("baselineProfileId", config.require("baselineProfileId"))
"""


@pytest.fixture
def emu(tmp_path: Path) -> Any:
    with start_emulator(tmp_path / "emulator") as e:
        for i, pid in enumerate(PROFILES):
            e.create_profile(id=pid, name=f"Profile {i}")
        yield e


def export_command(emu: Emulator, out: Path, *extra: str) -> list[str]:
    cli = [sys.executable, "-m", "applivery_pulumi.cli", "export"]
    return [*cli, "--organization", emu.org, "--out", str(out), "--base-url", emu.base_url, *extra]


def policy_file(policy_id: str, index: int) -> dict[str, Any]:
    return {
        "policyId": policy_id,
        "name": f"Fleet policy {index:02d}",
        "profiles": [PROFILES[1], "${baselineProfileId}"],
        "applications": [
            {"admApplication": new_object_id(), "managed": True, "action": "available"}
        ],
        "agentConfiguration": {"allowLocation": index % 2 == 0, "appBlacklist": []},
        "bookmarks": [{"title": "Portal", "url": f"https://portal.example.com/{index}"}],
        "segmentId": "${segmentId}",
        "exposeToChildren": index % 3 == 0,
    }


def test_policy_set_of_twenty_files_with_stack_reference(tmp_path: Path, emu: Emulator) -> None:
    upstream = PulumiProject(
        tmp_path / "upstream",
        None,
        program=UPSTREAM_PROGRAM,
        name="upstream",
        config={"upstream:segmentId": "7", "upstream:baselineProfileId": PROFILES[0]},
    )
    upstream.run("up", "--yes")

    folder = tmp_path / "policies"
    folder.mkdir()
    files: dict[str, Path] = {}
    for i in range(20):
        policy = emu.create_policy(name=f"Draft {i}", segmentId=1)
        path = folder / f"policy-{i:02d}.yaml"
        path.write_text(yaml.safe_dump(policy_file(policy["id"], i), sort_keys=False))
        files[policy["id"]] = path

    # Same backend for both projects: the reference resolves through the file backend.
    fleet = PulumiProject(
        tmp_path / "fleet",
        emu,
        program=FLEET_PROGRAM,
        name="fleet",
        env={"PULUMI_BACKEND_URL": upstream.env["PULUMI_BACKEND_URL"]},
        config={"fleet:policyDir": str(folder), "fleet:upstream": "organization/upstream/test"},
    )
    first = fleet.run("preview")
    creates = [
        ln for ln in first.output.splitlines() if "AppleDevicePolicy" in ln and "create" in ln
    ]
    assert len(creates) == 20
    assert "22 to create" in first.output  # the 20 policies, the PolicySet and the stack
    fleet.run("up", "--yes")
    for policy_id in files:
        stored = emu.get_policy(policy_id)
        assert stored["segmentId"] == "7", "segmentId comes from the upstream stack"
        assert {p["id"] for p in stored["profiles"]} == set(PROFILES)
    fleet.run("preview", "--expect-no-changes")

    # Editing one file changes exactly that policy.
    target_id, target = next(iter(files.items()))
    data = yaml.safe_load(target.read_text())
    data["name"] = "Renamed in review"
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    versions = {pid: emu.get_policy(pid)["version"] for pid in files}
    preview = fleet.run("preview", "--diff")
    assert "1 to update" in preview.output
    emu.reset_counters()
    fleet.run("up", "--yes")
    puts = {k: n for k, n in emu.counters()["requests"].items() if k.startswith("PUT")}
    assert sum(puts.values()) == 1
    for pid in files:
        expected = versions[pid] + (1 if pid == target_id else 0)
        assert emu.get_policy(pid)["version"] == expected
    assert emu.get_policy(target_id)["name"] == "Renamed in review"
    outputs = json.loads(fleet.run("stack", "output", "--json").stdout)
    assert outputs["policies"][target.stem]["name"] == "Renamed in review"
    fleet.run("preview", "--expect-no-changes")


def test_export_then_import_then_empty_preview(tmp_path: Path, emu: Emulator) -> None:
    ids = []
    for i in range(6):
        policy = emu.create_policy(
            # A name that reads like a placeholder must be imported as the text it is.
            name="${dashboard}" if i == 0 else f"Dashboard policy {i}",
            profiles=PROFILES[::-1],
            applications=[
                {"admApplication": new_object_id(), "managed": True, "action": "available"}
            ],
            scripts=[{"type": "loop", "loopTime": 60 * (i + 1), "arguments": "-v  --x"}],
            agentConfiguration={"allowLocation": True},
            segmentId=i,
        )
        stored = emu.get_policy(policy["id"])
        assert isinstance(stored["profiles"][0], dict), "the service returns profile objects"
        assert stored["segmentId"] == str(i), "and segmentId as a string"
        ids.append(policy["id"])

    out = tmp_path / "policies"
    export = subprocess.run(
        export_command(emu, out, "--page-size", "4"),
        env={"APPLIVERY_API_TOKEN": emu.token, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "page 2/2" in export.stderr, "all pages are listed, with progress"
    written = sorted(out.glob("*.yaml"))
    assert len(written) == 6
    for path in written:
        data = yaml.safe_load(path.read_text())
        assert data["import"] is True
        assert all(isinstance(p, str) for p in data["profiles"])
        assert "applicationsInfo" not in data and "version" not in data
        assert "password" not in path.read_text()
    versions = {pid: emu.get_policy(pid)["version"] for pid in ids}

    fleet = PulumiProject(
        tmp_path / "fleet",
        emu,
        program=FLEET_PROGRAM,
        name="fleet",
        config={"fleet:policyDir": str(out)},
    )
    emu.reset_counters()
    fleet.run("up", "--yes")
    assert not any(k.startswith("PUT") for k in emu.counters()["requests"]), "import never writes"
    assert {pid: emu.get_policy(pid)["version"] for pid in ids} == versions
    fleet.run("preview", "--expect-no-changes")
    fleet.run("refresh", "--yes", "--expect-no-changes")
    outputs = json.loads(fleet.run("stack", "output", "--json").stdout)
    assert "${dashboard}" in {p["name"] for p in outputs["policies"].values()}

    # A second export keeps the reviewed files (no overwrite without --force).
    again = subprocess.run(
        export_command(emu, out),
        env={"APPLIVERY_API_TOKEN": emu.token, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "kept 6 existing" in again.stdout


def test_export_names_the_problem_on_a_wrong_token(tmp_path: Path, emu: Emulator) -> None:
    result = subprocess.run(
        export_command(emu, tmp_path / "out"),
        env={"APPLIVERY_API_TOKEN": "wrong", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "4004" in result.stderr and "applivery:apiToken" in result.stderr
    assert "Traceback" not in result.stderr
