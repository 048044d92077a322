"""End-to-end fixtures: dynamic resources run on the SDK's own dynamic-provider host, what every
user of the official Pulumi CLI runs (harness/project.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.emulator import Emulator, new_object_id, start_emulator


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """A fresh emulator with a marker-like random token and the catalogue's two profiles."""
    from tests.e2e.test_lifecycle import seed_catalogue

    with start_emulator(tmp_path / "emulator", token="marker-" + new_object_id()) as e:
        seed_catalogue(e)
        yield e


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[dict[str, Emulator]]:
    """Two Applivery accounts: separate services, tokens and organizations."""
    with (
        start_emulator(tmp_path / "acme", token="marker-" + new_object_id(), org="acme-corp") as a,
        start_emulator(tmp_path / "globex", token="marker-" + new_object_id(), org="globex") as b,
    ):
        yield {"acme": a, "globex": b}
