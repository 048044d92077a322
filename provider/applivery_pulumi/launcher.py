"""The dynamic-provider launcher that runs this package's host (``applivery_pulumi.host``).

The Pulumi CLI starts a Python dynamic provider through an executable named
``pulumi-resource-pulumi-python``: its own, shipped beside the CLI, runs ``python -m
pulumi.dynamic`` from the program's virtualenv.  This one is the same script with ``-m
applivery_pulumi.host``.  The CLI prefers such an executable found on ``PATH`` (and says so with a
warning), so ``applivery-pulumi install-launcher DIR`` and ``DIR`` first on ``PATH`` opt in; taking
``DIR`` off ``PATH`` (or deleting the file) opts out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

NAME: Final = "pulumi-resource-pulumi-python"
MARK: Final = "# Written by applivery-pulumi install-launcher."

SCRIPT: Final = f"""#!/bin/sh
{MARK}
# The dynamic-provider launcher of applivery-pulumi: as the Pulumi SDK's own launcher, with
# `-m applivery_pulumi.host` (more operations in flight, one-line errors, detailed diffs, the
# import_ option) in place of `-m pulumi.dynamic`.
if [ -n "${{PULUMI_RUNTIME_VIRTUALENV:-}}" ]; then
  case $PULUMI_RUNTIME_VIRTUALENV in
    /*) venv=${{PULUMI_RUNTIME_VIRTUALENV%/}} ;;
    *) venv=$PWD/${{PULUMI_RUNTIME_VIRTUALENV%/}} ;;
  esac
  if [ ! -x "$venv/bin/python" ]; then
    echo "{NAME}: no virtualenv at $venv (Pulumi.yaml runtime option virtualenv)" >&2
    exit 1
  fi
  PATH="$venv/bin:$PATH"
  export PATH
  unset PYTHONHOME
  exec "$venv/bin/python" -u -m applivery_pulumi.host "$@"
fi
exec "${{PULUMI_PYTHON_CMD:-python3}}" -u -m applivery_pulumi.host "$@"
"""


class LauncherError(Exception):
    """The launcher cannot be written where asked; the message says why and what to do."""


def install(directory: Path | str) -> Path:
    """Write the launcher into ``directory`` (created if missing); returns its path.

    Never through a symlink, and never over a file this command did not write.
    """
    folder = Path(directory)
    if folder.is_symlink():
        raise LauncherError(f"{folder} is a symbolic link: give the real folder")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / NAME
    if target.is_symlink():
        raise LauncherError(f"{target} is a symbolic link: not replacing it")
    if target.exists():
        try:
            ours = MARK in target.read_text(encoding="utf-8", errors="replace")[:512]
        except OSError as exc:
            raise LauncherError(f"{target}: cannot read it ({exc.strerror})") from None
        if not ours:
            raise LauncherError(
                f"{target} exists and was not written by applivery-pulumi (it may be the Pulumi "
                "CLI's own launcher): choose another folder, one that comes first on PATH"
            )
    temporary = folder / f".{NAME}.{os.getpid()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o755)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(SCRIPT)
        # Whatever the umask: an executable like the CLI's own, holding no secret.
        os.chmod(temporary, 0o755)  # noqa: S103
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
