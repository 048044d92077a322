"""The real ``applivery-pulumi export`` against the real emulator: a folder that loads back.

Policies as the dashboard may hold them: a name that reads like a placeholder, two policies
whose names slug alike and whose ids end alike, one with a value the model rejects, spread
over several pages.  The export writes one file per valid policy, reports the invalid one by
id, and ``load_policy_files`` takes the folder whole with the literal name intact.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from applivery_pulumi.dynamic.components import load_policy_files, substitute
from harness.emulator import Emulator
from harness.project import PulumiProject

pytestmark = pytest.mark.e2e

TWIN_A = "aaaaaaaaaaaaaaaaaa654321"
TWIN_B = "bbbbbbbbbbbbbbbbbb654321"


def run_export(emulator: Emulator, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "applivery_pulumi.cli", "export", "--organization", emulator.org]
    argv += ["--out", str(out), "--base-url", emulator.base_url, *extra]
    env = {"APPLIVERY_API_TOKEN": emulator.token, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_export_writes_a_folder_that_loads_with_literals_intact(
    tmp_path: Path, emulator: Emulator
) -> None:
    literal = emulator.create_policy(name="${x}")["id"]
    emulator.create_policy(id=TWIN_A, name="Front desk")
    emulator.create_policy(id=TWIN_B, name="FRONT DESK!")
    broken = emulator.create_policy(name="Broken")["id"]
    # Out of band, as no PUT would allow: an application id that is not one.
    emulator.edit_policy(
        broken, raw=True, applications=[{"admApplication": "not-an-id", "managed": True}]
    )
    fine = emulator.create_policy(name="Fine", segmentId=2)["id"]

    out = tmp_path / "policies"
    result = run_export(emulator, out, "--page-size", "2")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and emulator.token not in result.stderr
    assert "page 3/3" in result.stderr
    assert "wrote 4 policy file(s)" in result.stdout and "1 not exported" in result.stdout
    assert f"warning: policy {broken}: applications[0].admApplication:" in result.stderr

    loaded = {str(p.fields["policyId"]): p for p in load_policy_files(out)}
    assert sorted(loaded) == sorted([literal, TWIN_A, TWIN_B, fine])
    assert substitute(loaded[literal].fields, {})["name"] == "${x}"
    assert loaded[TWIN_A].path != loaded[TWIN_B].path
    assert len(list(out.iterdir())) == 4

    # Run again: every file is this policy's own, kept; nothing new, nothing lost.
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = run_export(emulator, out)
    assert "wrote 0 policy file(s)" in again.stdout and "kept 4 existing" in again.stdout
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# -- onboarding incrementally: export again, leaving out what the stack manages ----------------

ADOPTED_AND_FILES = """
import json
from pathlib import Path

from applivery_pulumi import AppleDevicePolicy
from applivery_pulumi.dynamic.components import PolicySet

for item in json.loads(Path("resources.json").read_text()):
    AppleDevicePolicy(item["name"], item["args"])
PolicySet("fleet", Path("policies"))
"""


def test_a_second_export_writes_only_the_policies_no_stack_manages(
    tmp_path: Path, emulator: Emulator
) -> None:
    ids = [emulator.create_policy(name=name)["id"] for name in ("Corp", "Kiosk", "Front desk")]
    project = PulumiProject(tmp_path / "project", emulator, program=ADOPTED_AND_FILES)
    (project.dir / "policies").mkdir()
    project.declare([{"name": n, "args": {"policyId": i}} for n, i in zip("ab", ids, strict=False)])
    project.run("up", "--yes", "--skip-preview")

    out = tmp_path / "exported"
    argv = [sys.executable, "-m", "applivery_pulumi.cli", "export", "--organization", emulator.org]
    argv += ["--out", str(out), "--base-url", emulator.base_url, "--skip-managed"]
    env = project.env | {"APPLIVERY_API_TOKEN": emulator.token}
    result = subprocess.run(
        argv, cwd=project.dir, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 1 policy file(s)" in result.stdout, result.stdout
    assert "left out 2 already managed" in result.stdout
    for name, policy_id in zip("ab", ids, strict=False):
        assert f"managed: policy {policy_id}: resource {name} of stack" in result.stderr
    [written] = out.iterdir()
    assert f"new: policy {ids[2]}: {written}: not managed" in result.stderr, result.stderr
    assert [str(p.fields["policyId"]) for p in load_policy_files(out)] == [ids[2]]

    shutil.copy(written, project.dir / "policies" / written.name)
    emulator.reset_counters()
    preview = project.run("preview")
    assert re.search(r"\b1 to create\b", preview.output), preview.output
    assert "to update" not in preview.output and "to delete" not in preview.output
    puts = [k for k in emulator.counters()["requests"] if k.startswith("PUT ")]
    assert not puts, "a preview writes nothing"
