"""Fixtures of the emulator's own tests: one server for the session, reset before each test.

Tests that restart, kill or reconfigure the process use the function-scoped ``emulator``
fixture from tests/conftest.py instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.emulator import Emulator, start_emulator


@pytest.fixture(scope="session")
def _shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with start_emulator(tmp_path_factory.mktemp("shared-emulator")) as emu:
        yield emu


@pytest.fixture
def emu(_shared_emulator: Emulator) -> Emulator:
    """The session's emulator with no data but the `acme-corp` organization, no faults and
    zeroed counters."""
    _shared_emulator.clear_faults()
    _shared_emulator.clear_rate_limit()
    _shared_emulator.reset()
    return _shared_emulator
