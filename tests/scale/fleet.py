"""Many stacks at once under one account's rate limit (issue 16, item 5).

``run_fleet`` starts a real moto S3 server and a real emulator limited to ``rate`` requests per
second (a token bucket for the account's one token), gives each of ``stacks`` stacks its own
organization of ``policies`` policies (state of all of them in one bucket, as CI jobs share
one), runs every stack's ``pulumi up`` at the same time and returns what happened: requests
sent, 429s, the most attempts one request took, wall time, and whether the emulator holds
exactly what was declared.

``python -m tests.scale.fleet`` measures the issue's setting (ten stacks of 100 policies at
20 requests/s, and one stack of 1,000) with and without client pacing; README's "Running from
CI at scale" gives the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.emulator import Emulator, new_object_id, start_emulator
from harness.project import PulumiProject
from harness.s3 import start_s3
from tests.reliability.support import mismatches, request_log, requests_in_log

# The client's attempt limit for one request (AppliveryClient's max_attempts).
MAX_ATTEMPTS = 6


def declaration(org: str, i: int, policy_id: str) -> dict[str, Any]:
    return {
        "policyId": policy_id,
        "name": f"{org} policy {i:04d}",
        "agentConfiguration": {"allowLocation": i % 2 == 0},
        "segmentId": 1 + i % 5,
    }


def _stack(
    workdir: Path, emu: Emulator, env: dict[str, str], org: str, count: int, pace: float | None
) -> tuple[PulumiProject, dict[str, dict[str, Any]]]:
    emu.create_org(org)
    ids = [emu.create_policy(org, name=f"Draft {i}")["id"] for i in range(count)]
    declared = {pid: declaration(org, i, pid) for i, pid in enumerate(ids)}
    config = {"applivery:organizationId": org}
    if pace is not None:
        config["applivery:maxRequestsPerSecond"] = f"{pace:g}"
    project = PulumiProject(workdir / org, emu, stack=org, env=env, config=config)
    project.declare([{"name": f"p{i:04d}", "args": declared[pid]} for i, pid in enumerate(ids)])
    return project, declared


def run_fleet(
    workdir: Path,
    *,
    stacks: int,
    policies: int,
    rate: float,
    paced: bool,
    parallel: int = 8,
    timeout: float = 1800,
) -> dict[str, Any]:
    """One measured run; ``paced``: each stack's provider gets ``rate / stacks`` requests/s."""
    pace = rate / stacks if paced else None
    args = ["--rate-limit", f"{rate:g}/s", "--rate-burst", f"{rate:g}"]
    token = "fleet-" + new_object_id()
    with (
        start_s3(workdir / "s3") as s3,
        start_emulator(workdir / "emu", token=token, args=args) as emu,
    ):
        env = s3.engine_env()
        orgs = [f"org-{k:02d}" for k in range(stacks)]
        with ThreadPoolExecutor(4) as pool:
            made = list(pool.map(lambda org: _stack(workdir, emu, env, org, policies, pace), orgs))
        emu.reset_counters()
        emu.admin("POST", "/_emulator/rate-limit/counts/reset")
        log_start = len(request_log(emu))
        started = time.monotonic()
        procs = []
        for project, _ in made:
            out = (project.dir / "up.log").open("wb")
            cmd = ["pulumi", "up", "--yes", "--non-interactive", "--stack", project.stack]
            procs.append(
                subprocess.Popen(
                    [*cmd, "--parallel", str(parallel)],
                    cwd=project.dir,
                    env=project.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
            out.close()
        codes: list[int | None] = []
        for proc in procs:
            try:
                codes.append(proc.wait(max(1.0, timeout - (time.monotonic() - started))))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)
                codes.append(None)
        wall = time.monotonic() - started
        counters = emu.counters()
        limited = emu.rate_limit()["limited"]
        requests = requests_in_log(request_log(emu)[log_start:])
        attempts = Counter((r.method, r.path) for r in requests)
        # A key answered 200 more than once was asked for more than once (not a retry).
        served = Counter((r.method, r.path) for r in requests if r.status == "200")
        retries = {key: n - max(1, served[key]) for key, n in attempts.items()}
        differing = 0
        for (_project, declared), org in zip(made, orgs, strict=True):
            docs = {doc["id"]: doc for doc in emu.list_policies(org)}
            for pid, args in declared.items():
                body = {k: v for k, v in args.items() if k != "policyId"}
                if pid not in docs or mismatches(body, docs[pid]):
                    differing += 1
            if len(docs) != len(declared):
                differing += abs(len(docs) - len(declared))
        failures = [
            made[i][0].dir.joinpath("up.log").read_text(errors="replace")[-1500:]
            for i, code in enumerate(codes)
            if code != 0
        ]
        return {
            "stacks": stacks,
            "policies_per_stack": policies,
            "rate_limit_per_second": rate,
            "pace_per_stack": pace,
            "parallel": parallel,
            "exit_codes": codes,
            "wall_seconds": round(wall, 1),
            "requests_sent": counters["total"],
            "answered_429": limited,
            "most_attempts_for_one_request": max(attempts.values(), default=0),
            "most_retries_of_one_request": max(retries.values(), default=0),
            "policies_not_as_declared": differing,
            "failures": failures,
        }


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tests.scale.fleet",
        description="Measure stacks run together under one rate limit; without arguments, the "
        "issue's four runs (10 x 100 and 1 x 1,000 at 20/s, paced and not).",
    )
    parser.add_argument("--stacks", type=int)
    parser.add_argument("--policies", type=int)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--paced", choices=("yes", "no", "both"), default="both")
    parser.add_argument("--out", default=".state/scale/fleet.json")
    args = parser.parse_args(argv)
    shapes = [(10, 100), (1, 1000)] if args.stacks is None else [(args.stacks, args.policies)]
    pacings = {"yes": [True], "no": [False], "both": [True, False]}[args.paced]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = []
    for stacks, policies in shapes:
        for paced in pacings:
            with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
                figures = run_fleet(
                    Path(tmp),
                    stacks=stacks,
                    policies=policies,
                    rate=args.rate,
                    paced=paced,
                    parallel=args.parallel,
                )
            failures = figures.pop("failures")
            print(json.dumps(figures), flush=True)
            for text in failures[:2]:
                print(text, file=sys.stderr)
            results.append(figures)
    out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
