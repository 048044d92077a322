"""What the CI example's read-only state keys rest on (issue 23, point 3): on the S3 backend, a
preview and the drift check (`refresh --preview-only`) only read the bucket, GET and HEAD
(s3:GetObject, s3:ListBucket): no lock, no checkpoint, no history.  `up` writes (PUT, DELETE).

Real CLI, real moto, real emulator; the requests are moto's own access log.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.emulator import Emulator
from harness.project import PulumiProject
from harness.s3 import S3Server
from tests.e2e.test_refresh_and_drift import DRIFT_CHECK

pytestmark = [pytest.mark.scale, pytest.mark.timeout(600)]

READS = ("GET ", "HEAD ")


def _sent(s3: S3Server, project: PulumiProject, *args: str, fails: bool = False) -> list[str]:
    start = s3.log_size()
    result = project.run(*args, check=False)
    assert (result.returncode != 0) is fails, result.output
    sent = s3.requests_since(start)
    assert any(request.startswith("GET ") for request in sent), "the log shows no request"
    return sent


def test_preview_and_the_drift_check_only_read_the_state_up_writes_it(
    emu: Emulator, s3: S3Server, make_project: Callable[..., PulumiProject]
) -> None:
    project = make_project(emu)
    ids = [emu.create_policy(name=f"Draft {n}")["id"] for n in (1, 2)]
    declared = {"alpha": {"policyId": ids[0], "name": "Alpha"}}
    declared["beta"] = {"policyId": ids[1], "name": "Beta"}

    def declare() -> None:
        project.declare([{"name": name, "args": args} for name, args in declared.items()])

    declare()
    up = _sent(s3, project, "up", "--yes")
    # The log does show writes when there are: the lock, the checkpoint, its history.
    assert any(request.startswith(("PUT ", "DELETE ")) for request in up), up

    # A pull request's preview, with a change to show.
    declared["alpha"]["name"] = "Alpha, changed in a pull request"
    declare()
    preview = _sent(s3, project, "preview", "--diff")
    assert [r for r in preview if not r.startswith(READS)] == [], preview

    # The drift check, with and without drift.
    drift = _sent(s3, project, *DRIFT_CHECK)
    assert [r for r in drift if not r.startswith(READS)] == [], drift
    emu.edit_policy(ids[1], name="Renamed in the dashboard")
    drift = _sent(s3, project, *DRIFT_CHECK, fails=True)
    assert [r for r in drift if not r.startswith(READS)] == [], drift
