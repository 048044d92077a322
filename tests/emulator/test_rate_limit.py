"""The emulator's real rate limit (issue 16): a token bucket per API token, 429 with Retry-After."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from applivery_emulator.ratelimit import RateLimit, parse_rate
from harness.emulator import Emulator, start_emulator


def test_started_with_a_limit_the_bucket_empties_then_answers_429_with_retry_after(
    tmp_path: Path,
) -> None:
    with start_emulator(tmp_path / "emu", args=["--rate-limit", "2/s", "--rate-burst", "3"]) as emu:
        assert emu.rate_limit()["requestsPerSecond"] == 2.0
        statuses = [emu.api_list_policies().status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = emu.api_list_policies()
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.json() == {
            "status": False,
            "error": {"code": 429, "message": "Too Many Requests"},
        }
        time.sleep(0.6)  # half a second refills one slot at 2/s
        assert emu.api_list_policies().status_code == 200
        state = emu.rate_limit()
        assert (state["allowed"], state["limited"]) == (4, 1)
        assert emu.counters()["statuses"]["429"] == 1
        assert emu.token not in str(state)  # counted per token, shown by a digest


def test_retry_after_is_the_wait_for_the_next_slot_rounded_up(emu: Emulator) -> None:
    emu.set_rate_limit(0.25, burst=1)  # a slot every 4 s
    assert emu.api_list_policies().status_code == 200
    limited = emu.api_list_policies()
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "4"


def test_the_limit_changes_at_run_time_and_turns_off(emu: Emulator) -> None:
    assert emu.rate_limit()["requestsPerSecond"] is None
    emu.set_rate_limit(1, burst=1)
    assert [emu.api_list_policies().status_code for _ in range(2)] == [200, 429]
    state = emu.set_rate_limit(None)
    assert state["requestsPerSecond"] is None
    assert all(emu.api_list_policies().status_code == 200 for _ in range(10))
    assert emu.rate_limit()["limited"] == 1
    assert emu.admin("POST", "/_emulator/rate-limit/counts/reset")["limited"] == 0


def test_refused_requests_spend_nothing(emu: Emulator) -> None:
    emu.set_rate_limit(1, burst=1)
    with emu.client(headers={"Authorization": "Bearer not-the-token"}) as stranger:
        for _ in range(5):
            assert stranger.get(emu.policies_path()).status_code == 401
    assert emu.api_list_policies().status_code == 200


def test_admin_calls_are_never_limited(emu: Emulator) -> None:
    emu.set_rate_limit(1, burst=1)
    for _ in range(5):
        emu.counters()
    assert emu.api_list_policies().status_code == 200


@pytest.mark.parametrize(
    "body", [{"requestsPerSecond": 0}, {"requestsPerSecond": -1}, {"burst": 0}, {"rate": 5}]
)
def test_a_bad_setting_is_refused_with_the_envelope(emu: Emulator, body: dict[str, object]) -> None:
    r = emu.http.put("/_emulator/rate-limit", json=body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == 4000


def test_a_bad_rate_on_the_command_line_stops_the_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "applivery_emulator", "--token", "t", "--rate-limit", "fast"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--rate-limit" in done.stderr


def test_each_token_has_its_own_bucket() -> None:
    limit = RateLimit(1.0, 1.0)
    assert limit.take("a") is None
    assert limit.take("a") == 1
    assert limit.take("b") is None
    assert limit.snapshot()["limited"] == 1


@pytest.mark.parametrize(("text", "rate"), [("20/s", 20.0), ("20", 20.0), ("600/min", 10.0)])
def test_rates_read_per_second_or_per_minute(text: str, rate: float) -> None:
    assert parse_rate(text) == rate
