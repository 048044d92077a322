"""Many stacks at once under one rate limit (issue 16, item 5), the suite's smaller version.

Four stacks of 25 policies (one organization each, state in one S3 bucket) run their ``up``
together against one emulator limited to 10 requests/s, each provider paced to its share
(2.5/s): all converge within the retry budget, no request is retried more than the client's
bound, and the emulator holds exactly the declared configuration.  ``python -m
tests.scale.fleet`` measures the issue's full setting (README, "Running from CI at scale").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.support import record
from tests.scale.fleet import MAX_ATTEMPTS, run_fleet

pytestmark = [pytest.mark.scale, pytest.mark.timeout(600)]


def test_four_paced_stacks_converge_under_one_rate_limit(tmp_path: Path) -> None:
    figures = run_fleet(tmp_path, stacks=4, policies=25, rate=10, paced=True, timeout=400)
    failures = figures.pop("failures")
    record("scale_four_stacks_paced", figures)
    assert figures["exit_codes"] == [0, 0, 0, 0], failures
    assert figures["policies_not_as_declared"] == 0
    assert figures["most_attempts_for_one_request"] <= MAX_ATTEMPTS
    # Paced to the limit, the account is (nearly) never refused: one create is one PUT.
    assert figures["requests_sent"] <= 100 + figures["answered_429"]
    assert figures["answered_429"] <= 10, figures
    # 100 requests at 10/s take 10 s at least; the engines' start-up adds the rest.
    assert figures["wall_seconds"] < 180
