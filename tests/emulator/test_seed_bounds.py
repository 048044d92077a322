"""``applivery-emulator --seed`` reads a seed file within bounds (issue 23, point 8).

A seed file is not trusted more than a policy file: the process refuses, on one line naming
the file and with exit status 2, what would otherwise take its memory or its time.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.emulator import EMULATOR_SRC

# Nine lists of nine aliases of the one before: 342 bytes standing for 9**9 strings.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)
# Under this address space the refusal fits easily; a loader expanding the bomb fails in it
# instead of taking the machine's memory.
ADDRESS_SPACE = 768 * 2**20
KILL_AFTER = 30.0


@dataclass
class Exit:
    status: int
    stderr: str
    seconds: float
    peak_rss: int  # bytes


def start(seed: Path, tmp_path: Path) -> Exit:
    """Start the emulator on ``seed``; how it ended, how long it took and its peak memory."""
    env = {k: v for k, v in os.environ.items() if k != "APPLIVERY_EMULATOR_TOKEN"}
    env["PYTHONPATH"] = str(EMULATOR_SRC)

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    argv = ["--token", "t", "--port", "0", "--db", str(tmp_path / "x.db"), "--seed", str(seed)]
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "applivery_emulator", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=bounded,
    )
    timer = threading.Timer(KILL_AFTER, process.kill)  # one that starts serving is stopped
    timer.start()
    try:
        assert process.stderr is not None
        stderr = process.stderr.read().decode("utf-8", "replace")
        # wait4, not wait: the peak memory of this child alone.
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    return Exit(process.returncode, stderr, time.monotonic() - started, usage.ru_maxrss * 1024)


def refused(result: Exit, seed: Path, *said: str) -> None:
    assert result.status == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"applivery-emulator: seed file {seed}")
    for words in said:
        assert words in lines[0]


def test_an_alias_bomb_is_refused_at_once_in_bounded_memory(tmp_path: Path) -> None:
    seed = tmp_path / "bomb.yaml"
    seed.write_text(BOMB)
    assert len(BOMB) < 400
    result = start(seed, tmp_path)
    refused(result, seed, "(line 2, column", "aliases (*name) are not allowed")
    # Generous for a loaded machine: expanding the bomb takes minutes and gigabytes.
    assert result.seconds < 15
    assert result.peak_rss < 200 * 2**20


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_seed_over_the_size_limit_is_refused_before_it_is_parsed(
    tmp_path: Path, suffix: str
) -> None:
    seed = tmp_path / f"big{suffix}"
    # Valid otherwise: a seed with nothing in it, padded past 1 MiB.
    seed.write_text("{}" + " " * 1024 * 1024)
    refused(start(seed, tmp_path), seed, "larger than 1024 KiB")


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("deep.yaml", "[" * 65 + "]" * 65, "nested deeper than 64 levels"),
        ("deep.json", "[" * 200_000 + "]" * 200_000, "is not valid YAML/JSON"),
        ("binary.yaml", "organizations: []\n\x00", "is not valid YAML"),
    ],
)
def test_nesting_and_junk_are_refused_on_one_line(
    tmp_path: Path, name: str, text: str, said: str
) -> None:
    seed = tmp_path / name
    seed.write_text(text)
    refused(start(seed, tmp_path), seed, said)
