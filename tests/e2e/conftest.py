"""Every end-to-end test runs twice: through the SDK's own dynamic-provider launcher (what every
user of the official Pulumi CLI runs) and through this project's (``applivery_pulumi.host``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import project as pulumi_harness
from harness.emulator import Emulator, new_object_id, start_emulator


@pytest.fixture(autouse=True, params=sorted(pulumi_harness.LAUNCHERS))
def launcher(request: pytest.FixtureRequest) -> Iterator[str]:
    """The launcher of this run; every ``PulumiProject`` of the test uses it."""
    yield from pulumi_harness.use_launcher(request.param)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """A fresh emulator with a marker-like random token and the catalogue's two profiles."""
    from tests.e2e.test_lifecycle import seed_catalogue

    with start_emulator(tmp_path / "emulator", token="marker-" + new_object_id()) as e:
        seed_catalogue(e)
        yield e
