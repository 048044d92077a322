"""Where ``applivery-pulumi export`` writes: one file per policy in ``--out``, under a name no other
file holds, written whole, never through a symbolic link and never over a file that is not the
policy's own export."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Final

from applivery_pulumi.policy.fields import HEX24_RE
from applivery_pulumi.policy.files import SUFFIXES, PolicyYamlError, read_yaml

# Beyond the first candidate names, how many numbered ones to try before giving up.
_MAX_NUMBERED: Final = 100


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "policy"


def existing_ids(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The policy files of ``folder`` by ``policyId``, and notes on the files left unread.

    Symbolic links are never followed: a link claiming a policy could lead anywhere.
    """
    found: dict[str, Path] = {}
    notes: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.suffix not in SUFFIXES:
            continue
        if path.is_symlink():
            notes.append(f"{path}: a symbolic link: neither read nor written")
            continue
        if not path.is_file():
            continue
        try:
            data = read_yaml(path, folder)
        except PolicyYamlError as exc:
            notes.append(f"{exc}; left as it is")
            continue
        policy_id = data.get("policyId") if isinstance(data, dict) else None
        if isinstance(policy_id, str) and HEX24_RE.fullmatch(policy_id):
            found.setdefault(policy_id, path)
    return found, notes


def replace(path: Path, blob: bytes) -> None:
    """Write ``path`` whole: a temporary file beside it, renamed over it (links not followed)."""
    current = os.lstat(path)
    if not stat.S_ISREG(current.st_mode):
        raise OSError(errno.EINVAL, "no longer a regular file: left as it is", str(path))
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(blob)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, stat.S_IMODE(current.st_mode))
        # rename(2) replaces the directory entry itself: a link put there meanwhile is
        # replaced, its target never written.
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def create(folder: Path, stems: list[str], blob: bytes, taken: set[str]) -> Path | None:
    """Write a new file under the first free name of ``stems``; ``None`` if none is free."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for stem in stems:
        if {f"{stem}.yaml".lower(), f"{stem}.yml".lower()} & taken:
            continue
        path = folder / f"{stem}.yaml"
        try:
            # O_EXCL reserves the name: an entry created meanwhile (a link too) is not replaced.
            os.close(os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o666))
        except FileExistsError:
            taken.add(path.name.lower())
            continue
        taken.add(path.name.lower())
        try:
            replace(path, blob)
        except BaseException:
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        return path
    return None


def candidates(name: str, policy_id: str) -> list[str]:
    """A policy's file names by preference; the later ones, for a name taken by anything else,
    hold the whole id, so that two policies never share a file."""
    base = slug(name)
    numbered = [f"{base}-{policy_id}-{n}" for n in range(2, _MAX_NUMBERED + 2)]
    return [f"{base}-{policy_id[-6:]}", f"{base}-{policy_id}", *numbered]
