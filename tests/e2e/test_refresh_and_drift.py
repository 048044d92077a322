"""Requests of `pulumi refresh` (README, "Requests.") and the CI example's drift check.

Real CLI, real emulator: the emulator counts the requests it serves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from applivery_pulumi.api.paths import POLICY_TEMPLATE
from harness.emulator import Emulator
from harness.project import PulumiProject

pytestmark = pytest.mark.e2e

GET = f"GET {POLICY_TEMPLATE}"
# The drift job of examples/ci/github-actions.yml, less --stack/--non-interactive (run adds them)
DRIFT_CHECK = ("refresh", "--preview-only", "--expect-no-changes", "--diff")


def two_policies(tmp_path: Path, emulator: Emulator) -> tuple[PulumiProject, list[str]]:
    ids = [emulator.create_policy(name=f"Draft {n}")["id"] for n in (1, 2)]
    project = PulumiProject(tmp_path / "project", emulator)
    project.declare(
        [
            {"name": "alpha", "args": {"policyId": ids[0], "name": "Alpha"}},
            {"name": "beta", "args": {"policyId": ids[1], "name": "Beta"}},
        ]
    )
    project.run("up", "--yes")
    return project, ids


def requests_of(emulator: Emulator, project: PulumiProject, *args: str) -> dict[str, int]:
    emulator.reset_counters()
    project.run(*args)
    return dict(emulator.counters()["requests"])


def test_refresh_reads_every_policy_twice_unless_it_skips_its_preview(
    tmp_path: Path, emulator: Emulator
) -> None:
    project, _ = two_policies(tmp_path, emulator)
    assert requests_of(emulator, project, "refresh", "--yes") == {GET: 4}
    assert requests_of(emulator, project, "refresh", "--yes", "--skip-preview") == {GET: 2}
    assert requests_of(emulator, project, *DRIFT_CHECK) == {GET: 2}


def test_the_drift_check_fails_on_drift_only_and_up_refresh_repairs_it(
    tmp_path: Path, emulator: Emulator
) -> None:
    project, ids = two_policies(tmp_path, emulator)
    project.run(*DRIFT_CHECK)

    emulator.edit_policy(ids[0], name="Renamed in the dashboard")
    for _ in range(2):  # --preview-only writes nothing to the state: the drift stays reported
        drift = project.run(*DRIFT_CHECK, check=False)
        assert drift.returncode != 0, drift.output
        assert "alpha" in drift.output
        assert "no changes were expected" in drift.output

    project.run("up", "--refresh", "--yes")
    assert emulator.get_policy(ids[0])["name"] == "Alpha"
    project.run(*DRIFT_CHECK)
