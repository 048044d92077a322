"""A provider process ends once the engine that started it is gone: behind a launcher that does not
``exec`` python (the SDK's dynamic-provider host) or started directly (the provider plugin)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil


def _spawn(tmp_path: Path, launcher: str) -> tuple[subprocess.Popen[str], int]:
    """An "engine" (a shell) that starts a host through ``launcher`` and then is killed."""
    script = tmp_path / "host.py"
    script.write_text(
        "import threading\n"
        "from applivery_pulumi.orphan import watch\n"
        "watch(lambda: 0)\n"
        "print('ready', flush=True)\n"
        "threading.Event().wait()\n"
    )
    exec_word = "exec " if launcher == "exec" else ""
    # engine (sh) -> launcher (sh, as the SDK's: no exec) -> python
    inner = f'{exec_word}"{sys.executable}" "{script}"'
    engine = subprocess.Popen(
        ["sh", "-c", f"sh -c '{inner}' & echo $! ; wait"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert engine.stdout is not None
    engine.stdout.readline()  # the launcher's pid
    assert engine.stdout.readline().strip() == "ready"  # the host watches from here on
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        hosts = [
            p
            for p in psutil.Process(engine.pid).children(recursive=True)
            if str(script) in " ".join(p.cmdline())
        ]
        if hosts:
            return engine, hosts[0].pid
        time.sleep(0.05)
    raise AssertionError("the host did not start")


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_host_behind_a_launcher_that_does_not_exec_exits_when_the_engine_is_killed(
    tmp_path: Path,
) -> None:
    engine, host = _spawn(tmp_path, "sh")
    assert not _gone(host, 1.5), "alive while the engine is"
    os.kill(engine.pid, signal.SIGKILL)
    engine.wait()
    assert _gone(host, 10), "the host outlived its engine"


def test_host_started_directly_exits_when_the_engine_is_killed(tmp_path: Path) -> None:
    engine, host = _spawn(tmp_path, "exec")
    os.kill(engine.pid, signal.SIGKILL)
    engine.wait()
    assert _gone(host, 10)


def test_only_a_provider_host_watches_its_engine() -> None:
    from applivery_pulumi.orphan import serving_as_host

    assert not serving_as_host()  # pytest is not a provider host
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from applivery_pulumi.orphan import serving_as_host as s; print(s())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
