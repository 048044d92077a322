"""The benchmark (benchmarks/, not collected by pytest) still runs: N=3, no latency, one run."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.emulator import REPO

pytestmark = pytest.mark.e2e

RATIO = r"(\d+\.\d\d)"
LAST_LINE = re.compile(
    rf"^ours/floor at N=(\d+): up {RATIO}, preview {RATIO}, refresh {RATIO}; "
    rf"cpu up {RATIO}, preview {RATIO}, refresh {RATIO}; no-op requests: (\d+)$"
)


@pytest.mark.timeout(180)
def test_the_benchmark_runs_and_a_no_op_sends_nothing(tmp_path: Path) -> None:
    flags = ["--policies", "3", "--latency-ms", "0", "--runs", "1", "--no-extras"]
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", *flags, "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    found = LAST_LINE.match(last)
    assert found, last
    assert found.group(1) == "3"
    assert found.group(8) == "0", "a no-op preview and a no-op up send no request"
    assert list(tmp_path.glob("*-N3.json")), "the results file is written"
    print(f"benchmark smoke: {elapsed:.0f} s")
