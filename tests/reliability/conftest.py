"""Fixtures of the reliability suite: a real emulator with the profile catalogue, projects."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.emulator import Emulator, new_object_id, start_emulator
from harness.project import PulumiProject
from tests.reliability.support import seed_catalogue


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """A fresh emulator (own port, SQLite file and marker-like random token) with profiles."""
    with start_emulator(tmp_path / "emulator", token="rel-" + new_object_id()) as e:
        seed_catalogue(e)
        yield e


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., PulumiProject]:
    """``make_project(emu, factory=PulumiProject, **its kwargs)``: a project with its own file
    backend (``factory``: a ``PulumiProject`` class, e.g. ``plugin.YamlProject``)."""
    made = 0

    def make(
        emu: Emulator | None, factory: Callable[..., PulumiProject] = PulumiProject, **kwargs: Any
    ) -> PulumiProject:
        nonlocal made
        made += 1
        return factory(tmp_path / f"project{made}", emu, **kwargs)

    return make
