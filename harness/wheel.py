"""Build this project's wheel from a copy of its sources, as a user or a release would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from harness.emulator import REPO

# What a wheel is built from (pyproject.toml's packages.find and package-data).
SOURCES = ("pyproject.toml", "README.md", "provider", "emulator")


def build_wheel(workdir: Path) -> Path:
    """The wheel of the sources as they are, built in ``workdir`` (a copy: the checkout gets no
    ``build/`` folder), with the setuptools of the running virtualenv (no download)."""
    src = workdir / "src"
    src.mkdir(parents=True)
    for name in SOURCES:
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(REPO / name, src / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, src / name)
    build = ["wheel", str(src), "--no-deps", "--no-build-isolation", "--quiet"]
    subprocess.run(
        [sys.executable, "-m", "pip", *build, "--wheel-dir", str(workdir / "dist")],
        check=True,
        capture_output=True,
    )
    (wheel,) = (workdir / "dist").glob("applivery_pulumi-*.whl")
    return wheel
