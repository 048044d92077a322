"""A failing service: retries that converge without a request storm, and writes not lost.

Issue 7, items 1 and 2: the emulator fails ~30% of requests (500/503, 429 with Retry-After,
dropped connections, latency), seeded so a failure replays; retries exhausted end in one clear
sentence; a PUT the service accepts but does not store never passes for success.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from harness.emulator import Emulator
from harness.project import PulumiProject
from tests.reliability.plugin import project_of
from tests.reliability.support import (
    CLEAR_FAILURES,
    assert_all_stored_as_declared,
    assert_no_traceback,
    by_operation,
    declaration,
    error_lines,
    record,
    request_log,
    requests_in_log,
    wait_until,
)

pytestmark = pytest.mark.reliability

MAX_ATTEMPTS = 6  # client.py: AppliveryClient(max_attempts=6)
FAULT_SEED = 20261123
FAULTS: dict[str, Any] = {
    # Per request, in the emulator's order: drop 10%, else 5xx 13%, else 429 12% → ~31% faulted.
    "drop_rate": 0.10,
    "error_rate": 0.13,
    "error_statuses": [500, 503],
    "throttle_rate": 0.12,
    "retry_after": 1,
    "latency_ms": 5,
    "jitter_ms": 40,
    "fault_seed": FAULT_SEED,
}


def _policies(
    emu: Emulator, make_project: Callable[..., PulumiProject], n: int
) -> tuple[PulumiProject, dict[str, dict[str, Any]]]:
    ids = [emu.create_policy(name=f"Draft {i}")["id"] for i in range(n)]
    declared = {pid: declaration(i, pid) for i, pid in enumerate(ids)}
    project = make_project(emu)
    project.declare(
        [{"name": f"policy-{i:03d}", "args": declared[pid]} for i, pid in enumerate(ids)]
    )
    return project, declared


def _logged(emu: Emulator, log_start: int, total: int) -> list[Any]:
    """The requests of the log from ``log_start`` on, once all ``total`` are written."""
    found: list[Any] = []

    def complete() -> bool:
        found[:] = requests_in_log(request_log(emu)[log_start:])
        return len(found) >= total

    wait_until(complete, timeout=10)
    return found


def _gaps_after(groups: dict[Any, list[Any]], statuses: set[str]) -> list[float]:
    """Seconds between a faulted answer and the client's next attempt of the same request."""
    gaps = []
    for attempts in groups.values():
        for before, after in itertools.pairwise(attempts):
            if before.status in statuses:
                gaps.append(after.start - before.end)
    return gaps


def test_up_of_50_policies_through_30_percent_faults_converges_without_storm(
    emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    project, declared = _policies(emu, make_project, 50)
    emu.set_faults(**FAULTS)
    emu.reset_counters()
    log_start = len(request_log(emu))

    started = time.monotonic()
    faulty = project.run("up", "--yes", "--parallel", "10", check=False, timeout=420)
    faulty_seconds = time.monotonic() - started
    counters = emu.counters()
    requests = _logged(emu, log_start, counters["total"])
    emu.clear_faults()

    # Success, or a clear one-sentence failure: never a traceback.
    assert_no_traceback(faulty)
    if faulty.returncode != 0:
        about_service = [line for line in error_lines(faulty) if "Applivery" in line]
        assert about_service, faulty.output[-4000:]
        for line in about_service:
            assert any(phrase in line for phrase in CLEAR_FAILURES), line

    # No request storm: every logical request (method + path) is tried at most 6 times, so the
    # total is bounded by 6 times the operations; Retry-After is honoured, other retries back off.
    assert counters["total"] == len(requests)
    groups = by_operation(requests)
    operations = len(groups)
    attempts = Counter(len(a) for a in groups.values())
    assert max(attempts) <= MAX_ATTEMPTS, attempts
    assert counters["total"] <= MAX_ATTEMPTS * operations
    assert operations <= len(declared), "one PUT per adopted policy"
    statuses = Counter(r.status for r in requests)
    faulted = sum(n for s, n in statuses.items() if s != "200")
    after_429 = _gaps_after(groups, {"429"})
    after_other = _gaps_after(groups, {"500", "503", "dropped"})
    assert after_429, "the seeded faults include 429s"
    assert min(after_429) >= FAULTS["retry_after"] - 0.05, sorted(after_429)[:5]
    assert min(after_other) >= 0.45, sorted(after_other)[:5]  # backoff starts at 0.5 s
    survived = sum(1 for a in groups.values() if a[-1].status == "200")

    # Faults off: the next up converges and every policy holds exactly its declaration.
    emu.reset_counters()
    started = time.monotonic()
    project.run("up", "--yes", timeout=300)
    converge_seconds = time.monotonic() - started
    docs = assert_all_stored_as_declared(emu, declared)
    versions = Counter(docs[pid]["version"] for pid in declared)
    assert versions == Counter({1: len(declared)}), f"one stored change per policy: {versions}"
    project.run("preview", "--expect-no-changes")

    record(
        "faults_30_percent",
        {
            "policies": len(declared),
            "fault_settings": FAULTS,
            "faulty_up_exit": faulty.returncode,
            "faulty_up_seconds": round(faulty_seconds, 1),
            "requests_total": counters["total"],
            "logical_requests": operations,
            "faults_injected": faulted,
            "fault_share": round(faulted / counters["total"], 3),
            "answers": dict(statuses),
            "retries": counters["total"] - operations,
            "attempts_histogram": {str(k): v for k, v in sorted(attempts.items())},
            "logical_requests_answered_200": survived,
            "bound_total_le": MAX_ATTEMPTS * operations,
            "min_gap_after_429_s": round(min(after_429), 3),
            "min_gap_after_5xx_or_drop_s": round(min(after_other), 3),
            "converging_up_seconds": round(converge_seconds, 1),
            "converging_up_requests": emu.counters()["total"],
            "stored_as_declared": len(declared),
        },
    )


def test_exhausted_retries_fail_in_one_sentence_after_exactly_six_attempts(
    emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    project, declared = _policies(emu, make_project, 3)
    figures: dict[str, Any] = {"policies": len(declared)}
    scenarios = {
        # Retry-After: 1 on every answer: the client waits exactly that long, 5 times.
        "429": ({"throttle_rate": 1.0, "retry_after": 1}, "kept answering 429"),
        # 500 without Retry-After: exponential backoff with jitter, 0.5 s doubling.
        "500": ({"error_rate": 1.0, "error_statuses": [500]}, "answered 500"),
    }
    for label, (faults, phrase) in scenarios.items():
        emu.clear_faults()
        emu.set_faults(**faults, methods=["PUT"], fault_seed=FAULT_SEED)
        emu.reset_counters()
        log_start = len(request_log(emu))
        started = time.monotonic()
        failed = project.run("up", "--yes", "--continue-on-error", check=False, timeout=300)
        seconds = time.monotonic() - started
        requests = _logged(emu, log_start, emu.counters()["total"])
        groups = by_operation(requests)

        assert failed.returncode != 0
        assert_no_traceback(failed)
        for pid in declared:
            lines = [line for line in error_lines(failed) if pid in line]
            assert len(lines) == 1, (pid, error_lines(failed))
            assert phrase in lines[0] and f"policy {pid} of organization {emu.org}" in lines[0]
        assert {len(a) for a in groups.values()} == {MAX_ATTEMPTS}, "exactly 6 tries each"
        # Adoption without restore_on_delete is one PUT per policy: each tried 6 times.
        assert len(groups) == len(declared) and all(m == "PUT" for m, _ in groups)
        gaps = [
            [round(b.start - a.end, 2) for a, b in itertools.pairwise(tries)]
            for tries in groups.values()
        ]
        for series in gaps:
            if label == "429":
                assert all(0.95 <= g <= 2.0 for g in series), series
            else:
                for k, g in enumerate(series):
                    floor = min(0.5 * 2**k, 8.0)
                    assert floor - 0.05 <= g <= floor + 1.0 + 1.0, (k, series)  # jitter 1 s
        figures[f"exhausted_{label}"] = {
            "exit": failed.returncode,
            "seconds": round(seconds, 1),
            "requests": len(requests),
            "attempts_per_request": MAX_ATTEMPTS,
            "gaps_s": gaps,
            "message": next(line for line in error_lines(failed) if phrase in line),
        }

    emu.clear_faults()
    project.run("up", "--yes")
    assert_all_stored_as_declared(emu, declared)
    record("faults_exhausted_retries", figures)


def test_accepted_but_not_stored_never_passes_for_success(
    emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    project, declared = _policies(emu, make_project, 4)
    names = {pid: f"policy-{i:03d}" for i, pid in enumerate(declared)}
    figures: dict[str, Any] = {"policies": len(declared)}

    def assert_fails_naming_policy_and_field(result: Any) -> list[str]:
        assert result.returncode != 0
        assert_no_traceback(result)
        lines = error_lines(result)
        for pid, name in names.items():
            named = [line for line in lines if pid in line and "did not store name" in line]
            assert len(named) == 1, (pid, lines)
            assert not re.search(rf"{name} (created|updated)", result.output), result.output
        return [line for line in lines if "did not store" in line]

    def summary(lines: list[str]) -> dict[str, Any]:
        return {"errors": len(lines), "first": lines[0]}

    # --continue-on-error: every policy's operation runs, whichever fails first (without it the
    # engine starts no new step after the first failure, and how many had started is timing).
    # Create (adoption): the PUT answers 200 with the stored document, whose name is the old one.
    emu.set_faults(drop_field="name")
    created = project.run("up", "--yes", "--continue-on-error", check=False)
    figures["create"] = summary(assert_fails_naming_policy_and_field(created))
    in_state = [r["urn"] for r in project.state()["deployment"].get("resources", [])]
    assert not [u for u in in_state if "AppleDevicePolicy" in u], "a failed create is not state"

    emu.clear_faults()
    project.run("up", "--yes")
    assert_all_stored_as_declared(emu, declared)

    # Update: a renamed declaration, not stored again: the change stays pending until it is.
    renamed = {pid: {**args, "name": args["name"] + " renamed"} for pid, args in declared.items()}
    project.declare([{"name": names[pid], "args": args} for pid, args in renamed.items()])
    emu.set_faults(drop_field="name")
    updated = project.run("up", "--yes", "--continue-on-error", check=False)
    figures["update"] = summary(assert_fails_naming_policy_and_field(updated))
    emu.clear_faults()
    pending = project.run("preview", "--expect-no-changes", check=False)
    assert pending.returncode != 0, "the lost rename still shows as a change"
    project.run("up", "--yes")
    assert_all_stored_as_declared(emu, renamed)
    project.run("preview", "--expect-no-changes")
    figures["create_exit"], figures["update_exit"] = created.returncode, updated.returncode
    record("faults_accepted_not_stored", figures)


# -- the provider plugin ------------------------------------------------------------------------

# ~30% of answers faulted, of the kinds a busy service gives: dropped connections 10%, else 503
# 11%, else 429 with Retry-After 13% (0.10 + 0.90 x 0.11 + 0.80 x 0.13).
PLUGIN_FAULTS: dict[str, Any] = {
    "drop_rate": 0.10,
    "error_rate": 0.11,
    "error_statuses": [503],
    "throttle_rate": 0.13,
    "retry_after": 1,
    "latency_ms": 5,
    "jitter_ms": 40,
    "fault_seed": FAULT_SEED,
}
PLUGIN_PARALLEL = "32"


def _in_flight(requests: list[Any]) -> int:
    """The most requests the service was answering at once."""
    edges = sorted([(r.start, 1) for r in requests] + [(r.end, -1) for r in requests])
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


@pytest.mark.parametrize(("kind", "count"), [("yaml", 200), ("native", 60)])
def test_plugin_up_at_parallel_32_through_30_percent_faults_converges(
    kind: str, count: int, emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    ids = [emu.create_policy(name=f"Draft {i}")["id"] for i in range(count)]
    declared = {pid: declaration(i, pid) for i, pid in enumerate(ids)}
    project = project_of(kind, make_project, emu)
    project.declare(
        [{"name": f"policy-{i:03d}", "args": declared[pid]} for i, pid in enumerate(ids)]
    )
    emu.set_faults(**PLUGIN_FAULTS)

    # Under the faults throughout: a request refused 6 times in a row (0.3^6 of them: ~1 in 7
    # runs of 200) fails its policy in one sentence, and the next `up` converges.
    started = time.monotonic()
    ups, per_up = [], []
    for _ in range(2):
        emu.reset_counters()
        log_start = len(request_log(emu))
        up = project.run("up", "--yes", "--parallel", PLUGIN_PARALLEL, check=False, timeout=420)
        ups.append(up)
        per_up.append(_logged(emu, log_start, emu.counters()["total"]))
        assert "Traceback" not in up.output, up.output[-4000:]
        if up.returncode == 0:
            break
        about_service = [line for line in error_lines(up) if "Applivery" in line]
        assert about_service, up.output[-4000:]
        for line in about_service:
            assert any(phrase in line for phrase in CLEAR_FAILURES), line
    seconds = time.monotonic() - started
    assert ups[-1].returncode == 0, f"two ups under faults did not converge: {ups[-1].output}"
    emu.clear_faults()

    # Every request of each `up` within the budget: at most 6 attempts, Retry-After honoured,
    # backoff otherwise.
    requests = [r for found in per_up for r in found]
    groups = [by_operation(found) for found in per_up]
    tries = [attempts for of_up in groups for attempts in of_up.values()]
    attempts = Counter(len(a) for a in tries)
    assert max(attempts) <= MAX_ATTEMPTS, attempts
    assert {m for of_up in groups for m, _ in of_up} == {"PUT"}, "adoption: PUTs, nothing else"
    assert len({path for of_up in groups for _, path in of_up}) == count
    statuses = Counter(r.status for r in requests)
    after_429 = [gap for of_up in groups for gap in _gaps_after(of_up, {"429"})]
    after_other = [gap for of_up in groups for gap in _gaps_after(of_up, {"503", "dropped"})]
    assert after_429 and after_other, statuses
    assert min(after_429) >= PLUGIN_FAULTS["retry_after"] - 0.05, sorted(after_429)[:5]
    assert min(after_other) >= 0.45, sorted(after_other)[:5]
    # No policy written twice for its one change: one accepted PUT each, one stored version.
    accepted = Counter(r.path for r in requests if r.status == "200")
    assert set(accepted.values()) == {1} and len(accepted) == count, accepted.most_common(3)
    docs = assert_all_stored_as_declared(emu, declared)
    assert Counter(docs[pid]["version"] for pid in declared) == Counter({1: count})

    emu.reset_counters()
    project.run("preview", "--expect-no-changes")
    assert emu.counters()["total"] == 0, "a no-op preview on the plugin sends nothing"
    faulted = sum(n for s, n in statuses.items() if s != "200")
    record(
        f"plugin_faults_30_percent_{kind}",
        {
            "program": kind,
            "policies": count,
            "parallel": int(PLUGIN_PARALLEL),
            "fault_settings": PLUGIN_FAULTS,
            "ups_to_converge": len(ups),
            "up_exits": [u.returncode for u in ups],
            "seconds": round(seconds, 1),
            "requests_total": len(requests),
            "fault_share": round(faulted / len(requests), 3),
            "answers": dict(statuses),
            "attempts_per_request_mean": round(len(requests) / len(tries), 2),
            "attempts_histogram": {str(k): v for k, v in sorted(attempts.items())},
            "puts_accepted": sum(accepted.values()),
            "most_requests_in_flight": _in_flight(requests),
            "min_gap_after_429_s": round(min(after_429), 3),
            "min_gap_after_503_or_drop_s": round(min(after_other), 3),
        },
    )
