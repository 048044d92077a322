"""The ids README gives in what a user copies exist in the emulator's installed example seed.

Copied as written against `applivery-emulator --seed-example`, an id that the seed lacks gives
`3001 not found` (a policy) or a refused write (a profile); the end-to-end run of the
walk-through (`tests/e2e/test_readme_walkthrough.py`) covers its own commands, this the
examples around it.
"""

from __future__ import annotations

import re

import pytest

from applivery_emulator.seed import example_seed_path
from harness.emulator import REPO

OBJECT_ID = re.compile(r"\b[0-9a-f]{24}\b")
SECTIONS = (
    "Declaring a policy",
    "Use it in your own Pulumi project",
    "Policies as data",
    "The emulator",
)


def section(title: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


@pytest.mark.parametrize("title", SECTIONS)
def test_the_ids_of_the_section_are_the_example_seed_s(title: str) -> None:
    seeded = set(OBJECT_ID.findall(example_seed_path().read_text(encoding="utf-8")))
    shown = set(OBJECT_ID.findall(section(title)))
    assert shown <= seeded, f"{title}: not in the example seed: {sorted(shown - seeded)}"


def test_readme_starts_the_emulator_with_the_installed_seed_not_a_file_of_a_checkout() -> None:
    for title in SECTIONS:
        assert "examples/seed.yaml" not in section(title), title
    assert "applivery-emulator --seed-example" in section("Use it in your own Pulumi project")
