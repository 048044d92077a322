"""An `up` of 50 policies interrupted (SIGINT, then SIGKILL) recovers without editing state.

Issue 7, item 3, and issue 26 for the provider plugin (a YAML program): the same recovery, and
no plugin process outlives its engine.  The engine starts each plugin in a process group of its
own, so a terminal's Ctrl-C reaches the CLI alone; a CI runner or a container stop signals
every process.  On the plugin, SIGINT goes to every process of the run; SIGKILL to the CLI alone
(its plugin must notice), and with skipped checkpoints to every process.  The recovery is
exactly the one README.md's "After an interrupted run" gives:

* SIGINT (Ctrl-C): the CLI lets the operations in flight finish, records them and releases the
  lock: `pulumi up` again converges.
* SIGKILL: the file backend keeps the stack's lock and the state keeps the creates that were in
  flight as pending operations: `pulumi cancel --yes`, `pulumi refresh --yes
  --clear-pending-creates`, `pulumi up --yes`.  A policy the killed run had already written but
  not recorded is simply adopted again (create adopts by PUT) and ends as declared.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from typing import Any

import psutil
import pytest

from harness.emulator import Emulator
from harness.project import PulumiProject
from tests.reliability.plugin import project_of
from tests.reliability.support import (
    assert_all_stored_as_declared,
    assert_no_traceback,
    background,
    declaration,
    put_count,
    record,
    request_log,
    requests_in_log,
    wait_until,
)

pytestmark = pytest.mark.reliability

POLICIES = 50
# Per request: one create (GET + PUT) takes ~0.8 s, the whole up ~10 s at --parallel 4.  The
# CLI is signalled within a few ms of the 10th PUT's arrival, while that PUT is still in flight.
LATENCY_MS = 400
PARALLEL = "4"
KINDS = pytest.mark.parametrize("kind", ["dynamic", "yaml"])


def _setup(
    emu: Emulator,
    make_project: Callable[..., PulumiProject],
    *,
    kind: str = "dynamic",
    restore: bool = False,
    env: dict[str, str] | None = None,
) -> tuple[PulumiProject, dict[str, dict[str, Any]], dict[str, str]]:
    ids = [emu.create_policy(name=f"Draft {i}")["id"] for i in range(POLICIES)]
    # restore_on_delete: each create reads the policy (pre_adoption) before it writes.
    extra = {"restoreOnDelete": True} if restore else {}
    declared = {pid: declaration(i, pid) | extra for i, pid in enumerate(ids)}
    names = {pid: f"policy-{i:03d}" for i, pid in enumerate(ids)}
    project = project_of(kind, make_project, emu, env=env)
    project.declare([{"name": names[pid], "args": declared[pid]} for pid in ids])
    return project, declared, names


def _locks(project: PulumiProject) -> list[str]:
    return sorted(p.name for p in (project.dir / "state").rglob("locks/**/*.json"))


def _recorded(project: PulumiProject) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """Policies in state (policy id → outputs) and the pending operations."""
    deployment = project.state()["deployment"]
    recorded = {
        res["outputs"]["policyId"]: res["outputs"]
        for res in deployment.get("resources", [])
        if "AppleDevicePolicy" in res["type"] and "policyId" in res.get("outputs", {})
    }
    return recorded, list(deployment.get("pending_operations") or [])


def _interrupt(
    emu: Emulator, project: PulumiProject, sig: signal.Signals, *, everyone: bool = False
) -> dict[str, Any]:
    """Start `up`, send ``sig`` to the CLI (``everyone``: and to every process under it, the
    plugins included) once some but not all policies are written."""
    emu.set_faults(latency_ms=LATENCY_MS)
    emu.reset_counters()
    log_start = len(request_log(emu))
    with background(project, "up", "--yes", "--parallel", PARALLEL) as run:

        def half_way() -> bool:
            run.descendants()  # remember the CLI's children: a killed CLI no longer lists them
            return put_count(emu) >= 10

        assert wait_until(half_way, timeout=120, interval=0.02), run.output()[-3000:]
        seconds_at_signal = time.monotonic() - run.started
        providers_at_signal = len(run.providers())
        run.proc.send_signal(sig)
        for process in run.descendants() if everyone else []:
            with contextlib.suppress(psutil.Error):
                process.send_signal(sig)
        puts_at_signal = put_count(emu)
        exit_code = run.wait(90)
        exited = time.monotonic()
        # The provider host ends with the engine (after SIGKILL: when it sees itself orphaned).
        providers_gone = wait_until(lambda: not run.providers(), timeout=20)
        providers_gone_after = time.monotonic() - exited
        left_behind = sorted(" ".join(p.cmdline()[1:3]) for p in run.descendants())
        output = run.output()
    emu.clear_faults()
    puts = requests_in_log(request_log(emu)[log_start:])
    written = {r.path.rsplit("/", 1)[1] for r in puts if r.method == "PUT" and r.status == "200"}
    assert providers_gone, "a provider process outlived the CLI"
    assert "Traceback" not in output
    return {
        "signal": sig.name,
        "puts_at_signal": puts_at_signal,
        "seconds_at_signal": round(seconds_at_signal, 1),
        "cli_exit": exit_code,
        "written_by_interrupted_run": written,
        "providers_at_signal": providers_at_signal,
        "provider_exited_seconds_after_cli": round(providers_gone_after, 1),
        "other_processes_left_behind": left_behind,
    }


def _converged(
    emu: Emulator, project: PulumiProject, declared: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    docs = assert_all_stored_as_declared(emu, declared)
    assert {docs[pid]["version"] for pid in declared} == {1}, "each policy changed once"
    project.run("preview", "--expect-no-changes")
    recorded, pending = _recorded(project)
    assert set(recorded) == set(declared) and not pending
    return recorded


@KINDS
def test_sigint_mid_up_then_up_converges(
    kind: str, emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    project, declared, _ = _setup(emu, make_project, kind=kind)
    figures = _interrupt(emu, project, signal.SIGINT, everyone=kind != "dynamic")
    written = figures.pop("written_by_interrupted_run")
    recorded, pending = _recorded(project)

    assert figures["cli_exit"] != 0
    assert 0 < len(written) < len(declared), "interrupted half-way"
    assert not _locks(project), "a graceful cancel releases the lock"
    assert not pending, "a graceful cancel waits for the operations in flight"
    assert written <= set(recorded), "every policy written is recorded"

    up = project.run("up", "--yes")  # the whole recovery
    assert_no_traceback(up)
    _converged(emu, project, declared)
    record(
        "interruption_sigint" + ("" if kind == "dynamic" else f"_plugin_{kind}"),
        figures
        | {
            "policies": len(declared),
            "written_before_stop": len(written),
            "recorded_in_state": len(recorded),
            "recovery": ["pulumi up --yes"],
        },
    )


@KINDS
def test_sigkill_mid_up_then_cancel_refresh_up_converges(
    kind: str, emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    # The CLI alone is killed: its plugin (or provider host) must see that and end.
    project, declared, names = _setup(emu, make_project, kind=kind, restore=True)
    figures = _interrupt(emu, project, signal.SIGKILL)
    written = figures.pop("written_by_interrupted_run")
    recorded, pending = _recorded(project)
    unrecorded = written - set(recorded)

    assert figures["cli_exit"] == -signal.SIGKILL
    assert 0 < len(written) < len(declared), "killed half-way"
    assert _locks(project), "the killed run's lock stays behind"
    assert pending, "the creates in flight stay pending in state"
    assert unrecorded, "some policies were written by the killed run but not recorded"

    locked = project.run("up", "--yes", check=False)
    assert locked.returncode != 0 and "locked" in locked.output

    # README.md, "After an interrupted run": the commands, in this order, nothing else.
    project.run("cancel", "--yes", "--stack", project.stack)
    assert not _locks(project)
    project.run("refresh", "--yes", "--clear-pending-creates")
    assert not _recorded(project)[1], "no pending operation left"
    up = project.run("up", "--yes")
    assert_no_traceback(up)
    final = _converged(emu, project, declared)

    # The policies the killed run wrote without recording them were adopted again: they end as
    # declared (checked above) and are now in state.  Their pre-adoption snapshot is what the
    # killed run had written (the original configuration was overwritten before it was kept).
    re_adopted = {pid: final[pid] for pid in unrecorded}
    snapshot_is_declared = sum(
        1
        for pid, outs in re_adopted.items()
        if outs["preAdoption"]["name"] == declared[pid]["name"]
    )
    record(
        "interruption_sigkill" + ("" if kind == "dynamic" else f"_plugin_{kind}"),
        figures
        | {
            "policies": len(declared),
            "written_before_kill": len(written),
            "recorded_in_state_after_kill": len(recorded),
            "pending_operations_after_kill": len(pending),
            "written_but_unrecorded": sorted(names[pid] for pid in unrecorded),
            "re_adopted_and_as_declared": len(re_adopted),
            "re_adopted_whose_pre_adoption_is_the_declared_config": snapshot_is_declared,
            "recovery": [
                "pulumi cancel --yes",
                "pulumi refresh --yes --clear-pending-creates",
                "pulumi up --yes",
            ],
        },
    )


@KINDS
def test_sigkill_mid_up_with_skipped_checkpoints_then_cancel_up_converges(
    kind: str, emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    # The large-stack recipe (README, "Large stacks"): the engine writes the state once, at the
    # end.  A killed run then leaves nothing of itself in the state but its lock; adoption is a
    # PUT of the declaration and release writes nothing, so doing it all again is safe.  On the
    # plugin every process of the run is killed, plugins included (a CI job's timeout).
    env = {"PULUMI_SKIP_CHECKPOINTS": "true"}
    project, declared, _ = _setup(emu, make_project, kind=kind, env=env)
    figures = _interrupt(emu, project, signal.SIGKILL, everyone=kind != "dynamic")
    written = figures.pop("written_by_interrupted_run")
    recorded, pending = _recorded(project)

    assert 0 < len(written) < len(declared), "killed half-way"
    assert not recorded and not pending, "nothing of the killed run reached the state"
    assert _locks(project), "the killed run's lock stays behind"

    # README.md, "After an interrupted run": the same commands.
    project.run("cancel", "--yes", "--stack", project.stack)
    project.run("refresh", "--yes", "--clear-pending-creates")
    up = project.run("up", "--yes")
    assert_no_traceback(up)
    _converged(emu, project, declared)
    record(
        "interruption_sigkill_skip_checkpoints"
        + ("" if kind == "dynamic" else f"_everyone_plugin_{kind}"),
        figures | {"policies": len(declared), "written_before_kill": len(written)},
    )
