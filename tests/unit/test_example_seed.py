"""The emulator's example seed is package data: an install from a wheel or from git has it.

README's walk-through starts the emulator with `applivery-emulator --seed-example`, in a folder
that is no checkout of this repository; this holds that the file travels with the package.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from applivery_emulator.seed import EXAMPLE_SEED, example_seed_path, load_seed
from harness.wheel import build_wheel


def test_the_wheel_holds_the_example_seed(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read(f"applivery_emulator/{EXAMPLE_SEED}")
    assert shipped == example_seed_path().read_bytes()


def test_the_installed_example_seed_is_valid_and_names_the_walk_through_organization() -> None:
    seed = load_seed(example_seed_path())
    (org,) = seed["organizations"]
    assert org["id"] == "acme-corp"
    assert len(org["policies"]) == 5
