"""200 policies at --parallel 32: no error, no lost update, and a provider whose memory stays flat.

Issue 7, item 4.  The RSS of the dynamic-provider process (the CLI's child running
``pulumi.dynamic``) is sampled during each `up`, together with the emulator's PUT count,
so the first quarter of the writes (≤ 50 policies) compares with the last (≥ 150).

Issue 26: the same through the provider plugin (a YAML program; the RSS is the plugin's), with
README's large-stack recipe (``PULUMI_SKIP_CHECKPOINTS=true``, ``--skip-preview``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from harness.emulator import Emulator
from harness.project import PulumiProject
from tests.reliability.plugin import project_of
from tests.reliability.support import (
    RssSampler,
    assert_all_stored_as_declared,
    assert_no_traceback,
    background,
    declaration,
    record,
)

pytestmark = pytest.mark.reliability

POLICIES = 200
PARALLEL = "32"
MIB = 1024 * 1024
# Generous: a provider that kept something per policy (documents, clients, threads) would grow
# by far more than this over 150 policies; CPython's allocator noise stays well under it.
MAX_GROWTH_MIB = 40
MAX_RSS_MIB = 400
# README "Large stacks": the state written once, at the end; no preview.
LARGE_STACK_ENV = {"PULUMI_SKIP_CHECKPOINTS": "true"}
LARGE_STACK_ARGS = ("--skip-preview",)


def _up_sampled(
    emu: Emulator, project: PulumiProject, *extra: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    emu.reset_counters()
    with background(project, "up", "--yes", "--parallel", PARALLEL, *extra, env=env) as run:
        sampler = RssSampler(run, emu, interval=0.2)
        sampler.start()
        try:
            exit_code = run.wait(600)
        finally:
            samples = sampler.stop()
        result = run.result()
    assert exit_code == 0, result.output[-5000:]
    assert_no_traceback(result)
    counts = Counter()
    for key, n in emu.counters()["requests"].items():
        counts[key.split(" ", 1)[0]] += n

    # The provider process that did the writes (a preview phase may have its own).
    writers = Counter(s["pid"] for s in samples if s["puts"] > 0)
    assert writers, "no RSS sample taken while policies were written"
    pid = writers.most_common(1)[0][0]
    mine = [s for s in samples if s["pid"] == pid]
    first = [s["rss"] for s in mine if 0 < s["puts"] <= POLICIES // 4]
    last = [s["rss"] for s in mine if s["puts"] >= 3 * POLICIES // 4]
    assert first and last, f"samples: {[(s['puts'], s['rss']) for s in mine]}"
    figures = {
        "exit": exit_code,
        "requests": dict(counts),
        "provider_pids_seen": len({s["pid"] for s in samples}),
        "samples": len(mine),
        "rss_start_mib": round(mine[0]["rss"] / MIB, 1),
        "rss_first_quarter_max_mib": round(max(first) / MIB, 1),
        "rss_last_quarter_max_mib": round(max(last) / MIB, 1),
        "rss_peak_mib": round(max(s["rss"] for s in mine) / MIB, 1),
        "growth_first_to_last_quarter_mib": round((max(last) - max(first)) / MIB, 1),
        "seconds": round(mine[-1]["t"], 1),
    }
    assert figures["growth_first_to_last_quarter_mib"] <= MAX_GROWTH_MIB, figures
    assert figures["rss_peak_mib"] <= MAX_RSS_MIB, figures
    return figures


@pytest.mark.parametrize("kind", ["dynamic", "yaml"])
def test_200_policies_at_parallel_32_no_lost_update_flat_memory(
    kind: str, emu: Emulator, make_project: Callable[..., PulumiProject]
) -> None:
    ids = [emu.create_policy(name=f"Draft {i}")["id"] for i in range(POLICIES)]
    names = {pid: f"policy-{i:03d}" for i, pid in enumerate(ids)}
    project = project_of(kind, make_project, emu)
    recipe: tuple[str, ...] = () if kind == "dynamic" else LARGE_STACK_ARGS
    env = None if kind == "dynamic" else LARGE_STACK_ENV

    created = {pid: declaration(i, pid, variant="a") for i, pid in enumerate(ids)}
    project.declare([{"name": names[pid], "args": args} for pid, args in created.items()])
    create = _up_sampled(emu, project, *recipe, env=env)
    assert create["requests"] == {"PUT": POLICIES}, "one adoption (one PUT) each"
    docs = assert_all_stored_as_declared(emu, created)
    assert Counter(d["version"] for d in docs.values() if d["id"] in created) == {1: POLICIES}

    # Every policy changes again, concurrently: each is stored as declared, version + 1 each.
    updated = {pid: declaration(i, pid, variant="b") for i, pid in enumerate(ids)}
    project.declare([{"name": names[pid], "args": args} for pid, args in updated.items()])
    update = _up_sampled(emu, project, *recipe, env=env)
    assert update["requests"] == {"PUT": POLICIES}, "one write per changed policy, no read"
    docs = assert_all_stored_as_declared(emu, updated)
    assert Counter(d["version"] for d in docs.values() if d["id"] in updated) == {2: POLICIES}

    project.run("preview", "--expect-no-changes")
    record(
        "load_200_parallel_32" + ("" if kind == "dynamic" else f"_plugin_{kind}"),
        {
            "program": kind,
            "large_stack_recipe": bool(recipe),
            "policies": POLICIES,
            "parallel": int(PARALLEL),
            "create": create,
            "update": update,
            "stored_as_declared": POLICIES,
            "versions_after_update": 2,
            "bounds": {"growth_mib": MAX_GROWTH_MIB, "rss_mib": MAX_RSS_MIB},
        },
    )
