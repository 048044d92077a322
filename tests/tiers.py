"""A pytest plugin: at the end of every run, the seconds each tier took and the ten slowest tests.

A tier is the folder under ``tests/`` (unit, emulator, e2e, ...).  Seconds are the sum of each
test's set-up, call and tear-down as pytest measures them, so a regression shows in every run
(``scripts/test`` prints it); with parallel workers the sum exceeds the wall time, which is
printed beside it.  Timing targets live in the benchmarks, never in assertions.
"""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

_tests: defaultdict[str, float] = defaultdict(float)
_started = time.monotonic()


def _tier(nodeid: str) -> str:
    parts = nodeid.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else parts[0].split("::")[0]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _tests[report.nodeid] += report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _tests:
        return
    tiers: defaultdict[str, list[float]] = defaultdict(list)
    for nodeid, seconds in _tests.items():
        tiers[_tier(nodeid)].append(seconds)
    write = terminalreporter.write_line
    terminalreporter.section("time per tier")
    for tier, seconds in sorted(tiers.items(), key=lambda kv: -sum(kv[1])):
        write(f"{tier:<12} {len(seconds):>5} tests {sum(seconds):>8.1f} s")
    total = sum(_tests.values())
    write(
        f"{'all':<12} {len(_tests):>5} tests {total:>8.1f} s of tests, "
        f"{time.monotonic() - _started:.1f} s wall"
    )
    terminalreporter.section("ten slowest tests")
    for nodeid, seconds in sorted(_tests.items(), key=lambda kv: -kv[1])[:10]:
        write(f"{seconds:>7.1f} s  {nodeid}")
