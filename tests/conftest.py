"""Shared fixtures. Keep this file small: put the logic in helper modules beside it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.emulator import Emulator, start_emulator

# Seconds per tier and the slowest tests, printed at the end of every run.
pytest_plugins = ["tests.tiers"]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Parallel workers (scripts/test): each test goes to the next free worker, except the live
    suite's, which all go to one (its scenarios share the listed policies and one stack)."""
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerForLive(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "live" if nodeid.startswith("tests/live/") else nodeid

    return OneWorkerForLive(config, log)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    """A fresh emulator process: random port and token, its own SQLite file, org `acme-corp`."""
    with start_emulator(tmp_path / "emulator") as emu:
        yield emu
