"""One Applivery account, two explicit providers of the plugin: how they pace its requests.

Issue 26, item 4.  The engine starts one plugin process per provider, and
``maxRequestsPerSecond`` paces the requests of one process: two providers with the same token
and rate each send up to that rate, twice it together (README "Provider plugin", "Configuration").
Given each the account's limit divided by the number of providers, 200 policies split across two
converge under the emulator's real rate limit with no request refused for good.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from harness.emulator import Emulator
from harness.project import PulumiProject
from tests.reliability.support import (
    assert_all_stored_as_declared,
    by_operation,
    declaration,
    record,
    request_log,
    requests_in_log,
    wait_until,
)

pytestmark = pytest.mark.reliability

ACCOUNTS = ("first", "second")  # PROGRAM's providers
LIMIT = 4.0  # the account's requests per second (the emulator's limit, burst one second's worth)
RECIPE_ENV = {"PULUMI_SKIP_CHECKPOINTS": "true"}
# Every policy in flight at once: the program registers one provider's policies as soon as that
# provider exists, before the other's, and with fewer slots than policies the second provider's
# would wait behind the first's (measured: one provider at a time for two thirds of the run).
RECIPE = ("--skip-preview", "--parallel", "256")


# Two explicit providers with the same settings (the stack's account), the policies of
# resources.json split between them as each item names.
PROGRAM = """
import json
from pathlib import Path

import pulumi

from applivery_pulumi.native import AppleDevicePolicy, Provider

account = pulumi.Config("applivery")
rate = float(pulumi.Config().require("rate"))
providers = {
    name: Provider(
        name,
        api_token=account.require_secret("apiToken"),
        base_url=account.require("baseUrl"),
        organization_id=account.require("organizationId"),
        max_requests_per_second=rate,
    )
    for name in ("first", "second")
}
for item in json.loads((Path(__file__).parent / "resources.json").read_text()):
    options = pulumi.ResourceOptions(provider=providers[item["provider"]])
    AppleDevicePolicy(item["name"], item["args"], options)
"""


def _two_providers(
    emu: Emulator, make_project: Callable[..., PulumiProject], count: int, rate: float
) -> tuple[PulumiProject, dict[str, dict[str, Any]]]:
    """``count`` policies, every other one on each of two providers of one account at ``rate``."""
    ids = [emu.create_policy(name=f"Draft {i}")["id"] for i in range(count)]
    declared = {pid: declaration(i, pid) for i, pid in enumerate(ids)}
    project = make_project(emu, program=PROGRAM, config={"rate": str(rate)})
    project.declare(
        [
            {"name": f"policy-{i:03d}", "args": declared[pid], "provider": ACCOUNTS[i % 2]}
            for i, pid in enumerate(ids)
        ]
    )
    return project, declared


def _up(emu: Emulator, project: PulumiProject) -> tuple[float, list[Any]]:
    emu.reset_counters()
    log_start = len(request_log(emu))
    started = time.monotonic()
    project.run("up", "--yes", *RECIPE, extra_env=RECIPE_ENV, timeout=420)
    seconds = time.monotonic() - started
    total = emu.counters()["total"]
    found: list[Any] = []

    def complete() -> bool:
        found[:] = requests_in_log(request_log(emu)[log_start:])
        return len(found) >= total

    wait_until(complete, timeout=10)
    return seconds, found


def _busiest_second(requests: list[Any]) -> int:
    """The most requests that started within one second."""
    starts = sorted(r.start for r in requests)
    return max(sum(1 for s in starts[i:] if s < t + 1.0) for i, t in enumerate(starts))


def _sent_per_second(requests: list[Any]) -> dict[str, float]:
    """Requests per second over each tenth of the run."""
    starts = sorted(r.start for r in requests)
    span = (starts[-1] - starts[0]) / 10 or 1.0
    tenths = Counter(min(9, int((s - starts[0]) / span)) for s in starts)
    return {f"{k * span:.0f}s": round(tenths[k] / span, 1) for k in range(10)}


def test_two_providers_of_one_account_pace_each_its_own_and_converge_at_its_share(
    emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    # Each at the account's rate: together they send more than it (each paces its own process).
    project, declared = _two_providers(emu, make_project, 40, LIMIT)
    unshared_seconds, unshared = _up(emu, project)
    assert_all_stored_as_declared(emu, declared)
    busiest = _busiest_second(unshared)
    # One process paced at 4/s starts at most 5 requests in a second (its one-slot burst, then 4).
    assert busiest > LIMIT + 1, f"two providers shared one pace: {busiest} in the busiest second"

    # Each at its share of the account's limit: 200 policies under the real limit, none refused.
    emu.set_rate_limit(LIMIT, burst=LIMIT)
    project, declared = _two_providers(emu, make_project, 200, LIMIT / len(ACCOUNTS))
    seconds, requests = _up(emu, project)
    limited = emu.rate_limit()
    emu.clear_rate_limit()
    groups = by_operation(requests)
    assert {m for m, _ in groups} == {"PUT"} and len(groups) == len(declared)
    refused_for_good = [key for key, tries in groups.items() if tries[-1].status != "200"]
    assert not refused_for_good, refused_for_good[:5]
    statuses = Counter(r.status for r in requests)
    docs = assert_all_stored_as_declared(emu, declared)
    assert Counter(docs[pid]["version"] for pid in declared) == Counter({1: len(declared)})
    emu.reset_counters()
    project.run("preview", "--expect-no-changes")
    assert emu.counters()["total"] == 0
    record(
        "plugin_two_providers_one_account",
        {
            "unshared": {
                "policies": 40,
                "max_requests_per_second_each": LIMIT,
                "busiest_second_requests": busiest,
                "seconds": round(unshared_seconds, 1),
            },
            "at_share": {
                "policies": len(declared),
                "account_limit_per_second": LIMIT,
                "max_requests_per_second_each": LIMIT / len(ACCOUNTS),
                "seconds": round(seconds, 1),
                "requests": len(requests),
                "answers": dict(statuses),
                "refused_by_limit": limited["limited"],
                "refused_after_retries": len(refused_for_good),
                "most_attempts": max(len(t) for t in groups.values()),
                "busiest_second_requests": _busiest_second(requests),
                "sent_per_second": _sent_per_second(requests),
            },
        },
    )
