"""``applivery-pulumi export`` of the organization, then a stack of the listed policies' files
that adopts them by reading (``import: true``): no write, a refusal naming the field when the
stored policy differs, and an empty preview after."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from applivery_pulumi.api.settings import KEYS
from harness.emulator import REPO
from tests.live.conftest import Live

pytestmark = pytest.mark.live

PROGRAM = """
from pathlib import Path

from applivery_pulumi.dynamic.components import PolicySet

PolicySet("exported", Path(__file__).parent / "policies")
"""
EXPORT = REPO / ".venv" / "bin" / "applivery-pulumi"


def export(live: Live, out: Path) -> dict[str, Path]:
    """Run the export through the guard; the file of each listed policy, by id."""
    argv = [str(EXPORT), "export", "--organization", live.target.organization, "--out", str(out)]
    argv += ["--base-url", live.proxy.base_url]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env[KEYS["api_token"].env] = live.target.token
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    # 1: some policy of the organization could not be exported (reported by id), not ours
    assert done.returncode in (0, 1), done.stderr
    assert live.target.token not in done.stdout + done.stderr
    files = {yaml.safe_load(p.read_text())["policyId"]: p for p in out.glob("*.yaml")}
    assert set(live.target.policies) <= files.keys(), done.stderr
    return {pid: files[pid] for pid in live.target.policies}


def test_export_then_adopt_by_reading_refuses_a_difference_then_shows_no_change(
    live: Live,
) -> None:
    window = live.proxy.window()
    files = export(live, live.workdir / "exported")
    assert window.writes() == 0
    project = live.project("live-import", PROGRAM)
    folder = project.dir / "policies"
    folder.mkdir()
    for path in files.values():
        shutil.copy(path, folder / path.name)
    versions = {pid: live.stored(pid)["version"] for pid in files}

    # The declaration differs from what is stored: nothing written, the field named.
    changed = folder / files[live.target.second].name
    data = yaml.safe_load(changed.read_text())
    data["name"] = f"Not what is stored {live.run_id}"
    changed.write_text(yaml.safe_dump(data))
    window = live.proxy.window()
    refused = project.run("up", "--yes", "--skip-preview", check=False)
    assert refused.returncode != 0
    # The stored name as the error quotes it (escaped) is the service's: only its place is checked.
    assert re.search(
        rf'name: stored ".*", declared "Not what is stored {live.run_id}"', refused.output
    ), refused.output
    assert window.writes() == 0

    shutil.copy(files[live.target.second], changed)
    window = live.proxy.window()
    project.run("up", "--yes", "--skip-preview")
    assert window.writes() == 0, "adoption by reading writes nothing"
    assert window.count("GET", live.target.second) == 1
    project.run("preview", "--expect-no-changes")
    assert {pid: live.stored(pid)["version"] for pid in files} == versions
