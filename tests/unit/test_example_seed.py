"""The emulator's example seed is package data: an install from a wheel or from git has it.

README's walk-through starts the emulator with `applivery-emulator --seed-example`, in a folder
that is no checkout of this repository; this holds that the file travels with the package.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from applivery_emulator.seed import EXAMPLE_SEED, example_seed_path, load_seed
from harness.emulator import REPO

# What a wheel is built from (pyproject.toml's packages.find and package-data).
SOURCES = ("pyproject.toml", "README.md", "provider", "emulator")


def test_the_wheel_holds_the_example_seed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(REPO / name, src / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, src / name)
    build = ["wheel", str(src), "--no-deps", "--no-build-isolation", "--quiet"]
    subprocess.run(
        [sys.executable, "-m", "pip", *build, "--wheel-dir", str(tmp_path / "dist")],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("applivery_pulumi-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read(f"applivery_emulator/{EXAMPLE_SEED}")
    assert shipped == example_seed_path().read_bytes()


def test_the_installed_example_seed_is_valid_and_names_the_walk_through_organization() -> None:
    seed = load_seed(example_seed_path())
    (org,) = seed["organizations"]
    assert org["id"] == "acme-corp"
    assert len(org["policies"]) == 5
