"""Shared fixtures. Keep this file small: put the logic in helper modules beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.emulator import Emulator, start_emulator

# Seconds per tier and the slowest tests, printed at the end of every run.
pytest_plugins = ["tests.tiers"]


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    """A fresh emulator process: random port and token, its own SQLite file, org `acme-corp`."""
    with start_emulator(tmp_path / "emulator") as emu:
        yield emu
