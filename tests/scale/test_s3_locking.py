"""Locking across jobs on an S3 backend (issue 16, item 2): real CLI, real moto, real emulator.

The engine's lock on an S3 bucket is an object under ``.pulumi/locks/<project>/<stack>/``,
taken by list → write → list again: a second job that sees another's lock backs off with
"the stack is currently locked by 1 lock(s)".  Two jobs that write in the very same instant may
both see the other and both back off; never may both apply.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from harness.emulator import Emulator
from harness.project import PulumiProject
from harness.s3 import S3Server
from tests.reliability.support import (
    assert_all_stored_as_declared,
    assert_no_traceback,
    background,
    declaration,
    put_count,
    record,
    start,
    wait_until,
)

pytestmark = [pytest.mark.scale, pytest.mark.timeout(600)]

LOCKED = "the stack is currently locked by 1 lock(s)"
LOCKS = ".pulumi/locks/"


def _declare(
    emu: Emulator, project: PulumiProject, count: int, **extra: Any
) -> dict[str, dict[str, Any]]:
    ids = [emu.create_policy(name=f"Draft {i}")["id"] for i in range(count)]
    declared = {pid: declaration(i, pid) | extra for i, pid in enumerate(ids)}
    project.declare(
        [{"name": f"policy-{i:03d}", "args": declared[pid]} for i, pid in enumerate(ids)]
    )
    return declared


def _pending(project: PulumiProject) -> list[Any]:
    return list(project.state()["deployment"].get("pending_operations") or [])


def test_two_ups_of_one_stack_started_together_one_applies_the_other_meets_the_lock(
    emu: Emulator, s3: S3Server, make_project: Callable[..., PulumiProject]
) -> None:
    project = make_project(emu)
    declared = _declare(emu, project, 20)
    # Slow enough that the first job still holds the lock when the second looks for it.
    emu.set_faults(latency_ms=150)
    emu.reset_counters()
    runs = [start(project, "up", "--yes", "--parallel", "4") for _ in range(2)]
    try:
        codes = [run.wait(300) for run in runs]
    finally:
        for run in runs:
            run.reap()
    outputs = [run.output() for run in runs]
    emu.clear_faults()

    applied = [i for i, code in enumerate(codes) if code == 0]
    backed_off = [i for i, code in enumerate(codes) if code != 0]
    assert len(applied) <= 1, "two jobs applied one stack at once"
    # The job that met the lock sent nothing to the service: the PUTs are the other's alone.
    for i in backed_off:
        assert LOCKED in outputs[i], outputs[i][-3000:]
        assert "Traceback" not in outputs[i]
    assert put_count(emu) == (len(declared) if applied else 0)
    assert not s3.objects(LOCKS), "every lock is released"
    record(
        "scale_two_ups_one_stack",
        {"applied": len(applied), "backed_off": len(backed_off), "exit_codes": codes},
    )

    if not applied:  # both wrote their lock in the same instant and both backed off
        project.run("up", "--yes")
    docs = assert_all_stored_as_declared(emu, declared)
    assert {doc["version"] for doc in docs.values()} == {1}, "each policy written once"
    assert not _pending(project)

    emu.reset_counters()
    again = project.run("up", "--yes")
    assert_no_traceback(again)
    assert emu.counters()["total"] == 0, "the next up converges with zero requests"


def test_a_job_killed_mid_up_recovers_with_the_readme_steps(
    emu: Emulator, s3: S3Server, make_project: Callable[..., PulumiProject]
) -> None:
    project = make_project(emu)
    declared = _declare(emu, project, 30, restoreOnDelete=True)
    emu.set_faults(latency_ms=300)
    emu.reset_counters()
    with background(project, "up", "--yes", "--parallel", "4") as run:

        def some_written() -> bool:
            run.descendants()  # remembered: a killed CLI no longer lists its children
            return put_count(emu) >= 8

        assert wait_until(some_written, timeout=180, interval=0.02), run.output()[-3000:]
        run.proc.send_signal(signal.SIGKILL)
        assert run.wait(60) == -signal.SIGKILL
        # The provider ends with its engine (it notices it is orphaned).
        assert wait_until(lambda: not run.providers(), timeout=30)
    emu.clear_faults()
    written = put_count(emu)
    assert 0 < written < len(declared), "killed half-way"
    assert s3.objects(LOCKS), "the killed job's lock stays in the bucket"

    locked = project.run("up", "--yes", check=False)
    assert locked.returncode != 0 and LOCKED in locked.output

    # README.md, "After an interrupted run": these commands, in this order, nothing else.
    project.run("cancel", "--yes", "--stack", project.stack)
    assert not s3.objects(LOCKS)
    project.run("refresh", "--yes", "--clear-pending-creates")
    assert not _pending(project)
    started = time.monotonic()
    up = project.run("up", "--yes")
    assert_no_traceback(up)
    assert time.monotonic() - started < 300
    docs = assert_all_stored_as_declared(emu, declared)
    assert {doc["version"] for doc in docs.values()} == {1}
    project.run("preview", "--expect-no-changes")
    assert not s3.objects(LOCKS)
