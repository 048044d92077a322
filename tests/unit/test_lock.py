"""requirements/dev.txt: the hashed lock that scripts/setup, CI and the README's commands install.

The package's own dependencies stay ranges (pyproject.toml); the lock pins each of them, and
every package they pull in, to one version and its hashes, for every platform and Python the
project supports (scripts/lock writes it with `uv pip compile --universal`).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements" / "dev.txt"
SETUP = REPO / "scripts" / "setup"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SELF = canonicalize_name(PYPROJECT["project"]["name"])

# Where the lock must hold: the platforms users and CI run on, each Python requires-python allows.
PLATFORMS = [("linux", "Linux", "posix"), ("darwin", "Darwin", "posix"), ("win32", "Windows", "nt")]
PYTHONS = ["3.11.7", "3.12.4", "3.13.1", "3.14.0"]


def _environments() -> list[dict[str, str]]:
    envs = []
    for (sys_platform, system, os_name), full in itertools.product(PLATFORMS, PYTHONS):
        env = dict(default_environment())
        env.update(
            sys_platform=sys_platform,
            platform_system=system,
            os_name=os_name,
            python_full_version=full,
            python_version=".".join(full.split(".")[:2]),
            implementation_name="cpython",
            platform_python_implementation="CPython",
        )
        envs.append(env)
    return envs


def _lock_entries() -> list[tuple[Requirement, list[str]]]:
    """Each requirement of the lock with its hashes (comments dropped, continuations joined)."""
    text = re.sub(r"\\\n", " ", LOCK.read_text())
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *options = re.split(r"\s+(?=--)", line)
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=")]
        assert len(hashes) == len(options), f"lock line {line!r}: options other than --hash"
        entries.append((Requirement(spec), hashes))
    return entries


def _declared() -> list[Requirement]:
    """The project's dependencies, all extras (a self-reference expands its extras), and the
    build backend: everything scripts/setup installs besides the project itself."""
    project = PYPROJECT["project"]
    extras = project["optional-dependencies"]
    declared = [Requirement(r) for r in project["dependencies"]]
    declared += [Requirement(r) for group in extras.values() for r in group]
    declared += [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    return [r for r in declared if canonicalize_name(r.name) != SELF]


def _pinned(entry: Requirement) -> str:
    (spec,) = entry.specifier
    assert spec.operator == "==", f"lock entry {entry}: not pinned with =="
    return spec.version


def test_every_locked_package_is_pinned_to_one_version_with_sha256_hashes() -> None:
    entries = _lock_entries()
    assert len(entries) > 50, "the lock should hold the whole dependency tree"
    for req, hashes in entries:
        _pinned(req)
        assert hashes, f"lock entry {req}: no --hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), (req, hashes)


@pytest.mark.parametrize(
    "env", _environments(), ids=lambda e: f"{e['sys_platform']}-py{e['python_version']}"
)
def test_each_declared_dependency_is_locked_within_its_range(env: dict[str, str]) -> None:
    # One platform and Python at a time, as pip sees the lock there: at most one pin per
    # package, one for every dependency that applies there, inside its declared range, and
    # none for a dependency whose marker excludes it (uvloop on Windows).
    applying: dict[str, Requirement] = {}
    for req, _ in _lock_entries():
        if req.marker is None or req.marker.evaluate(env):
            name = canonicalize_name(req.name)
            assert name not in applying, f"{name}: two pins apply on {env['sys_platform']}"
            applying[name] = req
    for dep in _declared():
        name = canonicalize_name(dep.name)
        wanted = dep.marker is None or dep.marker.evaluate({**env, "extra": ""})
        if not wanted:
            assert name not in applying, f"{dep}: locked for an environment its marker excludes"
            continue
        assert name in applying, f"{dep} (pyproject.toml) is not in {LOCK.name}: run scripts/lock"
        version = _pinned(applying[name])
        assert dep.specifier.contains(version, prereleases=True), (
            f"{name}=={version} in {LOCK.name} is outside {dep} from pyproject.toml: "
            "run scripts/lock"
        )


def test_the_virtualenv_holds_exactly_the_locked_versions() -> None:
    # Drift between the lock and .venv (a lock changed without scripts/setup after it).
    env = dict(default_environment())
    wrong = []
    for req, _ in _lock_entries():
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            installed = "nothing"
        if installed != _pinned(req):
            wrong.append(f"{req.name}: {installed} installed, {_pinned(req)} locked")
    assert not wrong, "run scripts/setup; " + "; ".join(wrong)


def test_setup_installs_only_from_the_lock_and_reinstalls_when_it_changes() -> None:
    text = re.sub(r"\\\n", " ", SETUP.read_text())
    assert "lock=requirements/dev.txt" in text
    installs = [
        ln for ln in text.splitlines() if "pip install" in ln and not ln.lstrip().startswith("#")
    ]
    assert installs
    for line in installs:
        hashed = '--require-hashes -r "$lock"' in line
        alone = "--no-deps" in line and "--no-build-isolation" in line
        assert hashed or alone, f"scripts/setup installs outside the lock: {line.strip()}"
    (stamp,) = [ln for ln in text.splitlines() if ln.startswith("want=")]
    assert '"$lock"' in stamp and "pyproject.toml" in stamp, stamp


def test_setup_stops_on_a_package_whose_hash_differs_from_the_lock(tmp_path: Path) -> None:
    # A copy of scripts/setup in a project whose lock names a local file with a wrong hash:
    # pip refuses it, the set-up fails saying so, and no stamp marks the virtualenv as done.
    (tmp_path / "scripts").mkdir()
    shutil.copy(SETUP, tmp_path / "scripts" / "setup")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    wheel = tmp_path / "tiny-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not what the lock hashed")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "dev.txt").write_text(
        f"tiny @ {wheel.as_uri()} \\\n    --hash=sha256:{'0' * 64}\n"
    )
    env = {**os.environ, "PYTHON": sys._base_executable, "PIP_NO_INDEX": "1"}
    run = subprocess.run(
        ["bash", "scripts/setup"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0
    assert "DO NOT MATCH THE HASHES" in run.stderr, run.stderr
    assert not (tmp_path / ".venv" / ".applivery-install").exists()
