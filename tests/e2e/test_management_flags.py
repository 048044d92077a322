"""The change a preview did not show (issue 23, point 4), as a new user meets it.

Export a policy holding a managed app whose ``managementFlags`` is 1 (the export cannot know
it: the API's GET leaves it out), adopt it by reading, then edit another app's ``vpp``.  The
PUT of that edit carries ``applications`` whole, so the managed app goes back to 5: the preview
of the edit names that app in one sentence, and a no-op preview says nothing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from harness.emulator import Emulator, new_object_id
from harness.project import PulumiProject
from tests.e2e.test_stacks import FLEET_PROGRAM, export_command

pytestmark = pytest.mark.e2e


def sentence(policy_id: str, app: str) -> str:
    return (
        f"policy {policy_id}: applications[0] ({app}) is managed and declares no "
        "managementFlags: this update sends it without them, and Applivery sets them to 5 — "
        "declare managementFlags to keep another value"
    )


def test_an_exported_policy_edited_once_names_the_managed_app_at_preview(
    tmp_path: Path, emu: Emulator
) -> None:
    mail, browser = new_object_id(), new_object_id()
    policy = emu.create_policy(
        name="Mail",
        applications=[
            {"admApplication": mail, "managed": True, "managementFlags": 1, "action": "available"},
            {"admApplication": browser, "managed": False, "vpp": False},
        ],
    )["id"]
    out = tmp_path / "policies"
    subprocess.run(
        export_command(emu, out),
        env={"APPLIVERY_API_TOKEN": emu.token, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    (path,) = out.glob("*.yaml")
    assert "# managementFlags: not returned by Applivery's API" in path.read_text()
    project = PulumiProject(
        tmp_path / "fleet",
        emu,
        program=FLEET_PROGRAM,
        name="fleet",
        config={"fleet:policyDir": str(out)},
    )
    warned = sentence(policy, mail)

    adopted = project.run("up", "--yes")  # by reading: nothing written, nothing to say
    assert warned not in adopted.output and "managementFlags" not in adopted.output
    quiet = project.run("preview", "--expect-no-changes")
    assert "managementFlags" not in quiet.output, quiet.output

    # One edit, to the other app.
    head, tail = path.read_text().split(f"admApplication: {browser}\n")
    path.write_text(
        f"{head}admApplication: {browser}\n" + tail.replace("vpp: false", "vpp: true", 1)
    )
    preview = project.run("preview", "--diff")
    assert (
        "1 to update" in preview.output
        and len(re.findall(r"~ vpp\s*: false => true", preview.output)) == 1
    )
    assert warned in preview.output, preview.output[-4000:]
    assert preview.output.count(warned) == 1

    # What it warned of: the update resets the flags the export could not see.
    assert emu.stored_policy(policy)["stored"]["applications"][0]["managementFlags"] == 1
    project.run("up", "--yes")
    assert emu.stored_policy(policy)["stored"]["applications"][0]["managementFlags"] == 5
