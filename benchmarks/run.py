"""``python -m benchmarks``: our stack against the engine's floor, from 1 to 1,000 policies.

For each N: an emulator with N seeded policies (and ``--latency-ms`` added to every API call),
then, for our stack and for the floor stack (N do-nothing dynamic resources with the same inputs,
``benchmarks/floor.py``), ``--runs`` times: ``up`` (adopt all), no-op ``preview``, no-op ``up``,
``refresh``, ``up`` changing 10% of the policies, ``destroy``.  Every operation is timed (wall
clock, and CPU seconds of the CLI's process tree by role), the emulator's request counters are
read after it, and the provider host's peak RSS is sampled.  See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from applivery_pulumi.api.paths import POLICY_TEMPLATE
from harness.emulator import REPO, Emulator

from .stacks import Stack, declaration, seed_document

RESULTS = Path(__file__).resolve().parent / "results"
ORG = "acme-corp"
GET = f"GET {POLICY_TEMPLATE}"
PUT = f"PUT {POLICY_TEMPLATE}"

# (name, pulumi arguments); "change" rewrites the declaration before it runs.
OPERATIONS: list[tuple[str, list[str]]] = [
    ("up", ["up", "--yes", "--skip-preview"]),
    ("preview", ["preview", "--expect-no-changes"]),
    ("up-noop", ["up", "--yes", "--skip-preview", "--expect-no-changes"]),
    ("refresh", ["refresh", "--yes", "--skip-preview", "--expect-no-changes"]),
    ("up-10%", ["up", "--yes", "--skip-preview"]),
    ("destroy", ["destroy", "--yes", "--skip-preview"]),
]
KINDS = ("ours", "floor")


def changed_count(n: int) -> int:
    return max(1, round(n / 10))


def expected_requests(op: str, n: int) -> dict[str, int]:
    """What our stack must send, by design (the floor sends nothing)."""
    k = changed_count(n)
    return {
        # create adopts: one PUT writes the declaration (the GET that keeps pre_adoption is made
        # only with restore_on_delete, which the benchmark does not set)
        "up": {"PUT": n},
        "preview": {},
        "up-noop": {},
        "refresh": {"GET": n},
        # update sends only the changed top-level fields, and no GET
        "up-10%": {"PUT": k},
        "destroy": {},  # release: restore_on_delete is off
    }[op]


def by_method(counters: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for route, count in counters.get("requests", {}).items():
        method = route.split(" ", 1)[0]
        if route not in (GET, PUT):
            method = route  # anything else is unexpected: keep its full name
        out[method] = out.get(method, 0) + int(count)
    return out


# -- machine -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "nproc": int(nproc or os.cpu_count() or 0),
        "cpu_model": model or platform.processor(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def git_commit() -> str:
    proc = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return proc.stdout.strip()


def pulumi_version(stack: Stack) -> str:
    return stack.run("version").stdout.strip()


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Sample:
    op: str
    kind: str
    run: int
    seconds: float
    cpu_seconds: float
    cpu_by_role: dict[str, float]
    emulator_cpu_seconds: float
    requests: dict[str, int]
    provider_rss_peak_mib: float

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Measured:
    n: int
    samples: list[Sample] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    floor_request: bool = False

    def of(self, kind: str, op: str) -> list[Sample]:
        return [s for s in self.samples if s.kind == kind and s.op == op]

    def median(self, kind: str, op: str) -> float | None:
        found = [s.seconds for s in self.of(kind, op)]
        return statistics.median(found) if found else None

    def ratio(self, op: str) -> float | None:
        ours, floor = self.median("ours", op), self.median("floor", op)
        return ours / floor if ours is not None and floor else None

    def cpu_median(self, kind: str, op: str) -> float | None:
        """Median CPU seconds of every process of the CLI's tree (the emulator apart)."""
        found = [s.cpu_seconds for s in self.of(kind, op)]
        return statistics.median(found) if found else None

    def cpu_ratio(self, op: str) -> float | None:
        ours, floor = self.cpu_median("ours", op), self.cpu_median("floor", op)
        return ours / floor if ours is not None and floor else None

    def noop_requests(self) -> int:
        return max(
            (
                sum(s.requests.values())
                for op in ("preview", "up-noop")
                for s in self.of("ours", op)
            ),
            default=0,
        )

    def mismatches(self) -> list[str]:
        out = []
        for s in self.samples:
            if s.kind == "ours":
                want = expected_requests(s.op, self.n)
            elif self.floor_request:
                # one GET wherever ours reads or writes a policy
                count = sum(expected_requests(s.op, self.n).values())
                want = {"GET": count} if count else {}
            else:
                want = {}
            if s.requests != want:
                out.append(
                    f"N={self.n} {s.kind} {s.op} run {s.run}: sent {s.requests}, want {want}"
                )
        return out


def emulator_cpu(emu: Emulator) -> float:
    try:
        times = psutil.Process(emu.pid).cpu_times()
    except (psutil.Error, TypeError):
        return 0.0
    return times.user + times.system


def one(stack: Stack, emu: Emulator, op: str, args: list[str], run: int, **kw: Any) -> Sample:
    emu.reset_counters()
    before = emulator_cpu(emu)
    timed = stack.timed(*args, **kw)
    after = emulator_cpu(emu)
    return Sample(
        op=op,
        kind=stack.kind,
        run=run,
        seconds=round(timed.seconds, 3),
        cpu_seconds=round(timed.cpu_seconds, 3),
        cpu_by_role=timed.cpu_by_role,
        emulator_cpu_seconds=round(after - before, 3),
        requests=by_method(emu.counters()),
        provider_rss_peak_mib=round(timed.provider_rss_peak / 2**20, 1),
    )


def cycle(stack: Stack, emu: Emulator, n: int, run: int, log: Any) -> list[Sample]:
    """The six operations once, leaving the stack empty."""
    out = []
    stack.declare(declaration(n))
    for op, args in OPERATIONS:
        if op == "up-10%":
            stack.declare(declaration(n, changed_count(n), version=run + 2))  # run -1: warm-up
        sample = one(stack, emu, op, args, run)
        out.append(sample)
        log(
            f"  N={n:<5} run {run + 1} {stack.kind:<5} {op:<8} {sample.seconds:7.2f} s  "
            f"requests {sample.requests or 0}"
        )
    return out


def measure_n(
    n: int,
    *,
    runs: int,
    latency_ms: float,
    parallel: int,
    workdir: Path,
    log: Any,
    floor_rtt: bool = False,
    floor_request: bool = False,
    warmup: bool = True,
    skip_checkpoints: bool = False,
    provider: str = "dynamic",
) -> Measured:
    measured = Measured(n)
    args = ["--latency-ms", str(latency_ms), "--log-level", "warning"]
    emu = Emulator(workdir / f"emulator-{n}", seed=seed_document(n), args=args)
    start = time.perf_counter()
    emu.start()
    measured.extras["emulator_start_seconds"] = round(time.perf_counter() - start, 2)
    try:
        # --floor-rtt: the floor's provider waits one round trip per policy read or changed
        rtt = {"BENCH_FLOOR_RTT_MS": str(latency_ms)} if floor_rtt else {}
        if floor_request:
            # --floor-request: a real GET of the policy instead of the wait
            rtt = {"BENCH_FLOOR_URL": emu.base_url, "BENCH_FLOOR_TOKEN": emu.token}
        measured.floor_request = floor_request
        # The engine's environment comes from engine_env, which drops inherited PULUMI_*
        # variables: the recipe is set here, for both stacks alike.
        both = {"PULUMI_SKIP_CHECKPOINTS": "true"} if skip_checkpoints else {}
        stacks = {
            k: Stack(
                k,
                workdir / f"{k}-{n}",
                emu,
                parallel=parallel,
                env={**both, **(rtt if k == "floor" else {})},
                program="ours-plugin" if k == "ours" and provider == "plugin" else None,
            )
            for k in KINDS
        }
        measured.extras["pulumi_version"] = pulumi_version(stacks["ours"])
        if warmup:
            # one cycle each, not recorded: the first run of a stack pays one-time costs (the
            # CLI's plugin discovery, bytecode caches, the emulator's first connections)
            for kind in KINDS:
                cycle(stacks[kind], emu, n, -1, lambda text: log(text + "  (warm-up)"))
        for run in range(runs):
            # interleaved, so that a change of machine load hits both stacks alike
            for kind in KINDS if run % 2 == 0 else reversed(KINDS):
                measured.samples += cycle(stacks[kind], emu, n, run, log)
    finally:
        emu.stop()
    return measured


# -- reporting -----------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.2f}"
    return f"{med:.2f} ({min(values):.2f}-{max(values):.2f})"


def table(results: list[Measured]) -> str:
    head = (
        f"| {'N':>5} | {'operation':<8} | {'ours s median (min-max)':<24} | "
        f"{'floor s median (min-max)':<24} | {'ours/floor':>10} | {'CPU s ours / floor':<18} | "
        f"{'CPU ratio':>9} | {'requests (ours)':<20} |"
    )
    rule = "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"
    lines = [head, rule]
    for m in results:
        for op, _ in OPERATIONS:
            ours = [s.seconds for s in m.of("ours", op)]
            floor = [s.seconds for s in m.of("floor", op)]
            ratio = m.ratio(op)
            reqs = m.of("ours", op)
            sent = reqs[0].requests if reqs else {}
            shown = ", ".join(f"{v} {k}" for k, v in sorted(sent.items())) or "0"
            cpu = (m.cpu_median("ours", op), m.cpu_median("floor", op))
            cpus = f"{cpu[0]:.1f} / {cpu[1]:.1f}" if None not in cpu else "-"
            cpu_ratio = m.cpu_ratio(op)
            lines.append(
                f"| {m.n:>5} | {op:<8} | {spread(ours):<24} | {spread(floor):<24} | "
                f"{(f'{ratio:.2f}' if ratio else '-'):>10} | {cpus:<18} | "
                f"{(f'{cpu_ratio:.2f}' if cpu_ratio else '-'):>9} | {shown:<20} |"
            )
    return "\n".join(lines)


def per_policy_table(results: list[Measured]) -> str:
    """Milliseconds per policy (median seconds / N): flat when the cost grows linearly."""
    ops = [op for op, _ in OPERATIONS]
    lines = [
        "| N | " + " | ".join(f"{op} ours/floor" for op in ops) + " |",
        "|---|" + "---|" * len(ops),
    ]
    for m in results:
        cells = []
        for op in ops:
            o, f = m.median("ours", op), m.median("floor", op)
            cells.append(
                f"{o / m.n * 1000:.0f} / {f / m.n * 1000:.0f}" if o is not None and f else "-"
            )
        lines.append(f"| {m.n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


ROLES = ("engine", "langhost", "program", "provider")


def cpu_per_policy_table(results: list[Measured]) -> str:
    """CPU ms per policy by process, ours / floor: flat where the cost is linear in N."""
    ops = ("up", "preview", "refresh")
    roles = ("provider", "program", "engine")
    lines = [
        "| N | " + " | ".join(f"{op}: {role}" for op in ops for role in roles) + " |",
        "|---|" + "---|" * (len(ops) * len(roles)),
    ]
    for m in results:
        cells = []
        for op in ops:
            for role in roles:
                pair = []
                for kind in KINDS:
                    values = [s.cpu_by_role.get(role, 0.0) for s in m.of(kind, op)]
                    pair.append(statistics.median(values) / m.n * 1000 if values else 0.0)
                cells.append("-" if not any(pair) else f"{pair[0]:.1f} / {pair[1]:.1f}")
        lines.append(f"| {m.n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_table(m: Measured) -> str:
    """Median CPU seconds by process (and the emulator's), ours / floor: where the gap is."""
    lines = [
        "| operation | " + " | ".join(ROLES) + " | emulator | total |",
        "|---|" + "---|" * (len(ROLES) + 2),
    ]
    for op, _ in OPERATIONS:
        cells = []
        totals = []
        for role in (*ROLES, "emulator"):
            pair = []
            for kind in KINDS:
                samples = m.of(kind, op)
                if role == "emulator":
                    values = [s.emulator_cpu_seconds for s in samples]
                else:
                    values = [s.cpu_by_role.get(role, 0.0) for s in samples]
                pair.append(statistics.median(values) if values else 0.0)
            cells.append(f"{pair[0]:.2f} / {pair[1]:.2f}")
            totals.append(pair)
        ours = sum(p[0] for p in totals)
        floor = sum(p[1] for p in totals)
        lines.append(f"| {op} | " + " | ".join(cells) + f" | {ours:.2f} / {floor:.2f} |")
    return "\n".join(lines)


def last_line(results: list[Measured]) -> str:
    m = min(results, key=lambda r: (abs(r.n - 100), -r.n))

    def r(value: float | None) -> str:
        return f"{value:.2f}" if value is not None else "nan"

    noop = max(x.noop_requests() for x in results)
    ops = ("up", "preview", "refresh")
    wall = ", ".join(f"{op} {r(m.ratio(op))}" for op in ops)
    cpu = ", ".join(f"{op} {r(m.cpu_ratio(op))}" for op in ops)
    return f"ours/floor at N={m.n}: {wall}; cpu {cpu}; no-op requests: {noop}"


def save(m: Measured, meta: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = meta["started"].replace(":", "").replace("-", "")[:15]
    path = out / f"{stamp}-N{m.n}.json"
    summary = {
        op: {
            "ours_median_s": m.median("ours", op),
            "floor_median_s": m.median("floor", op),
            "ratio": round(r, 3) if (r := m.ratio(op)) is not None else None,
            "ours_cpu_median_s": m.cpu_median("ours", op),
            "floor_cpu_median_s": m.cpu_median("floor", op),
            "cpu_ratio": round(c, 3) if (c := m.cpu_ratio(op)) is not None else None,
        }
        for op, _ in OPERATIONS
    }
    rss = [s.provider_rss_peak_mib for s in m.samples if s.kind == "ours"]
    body = {
        **meta,
        "policies": m.n,
        "summary": summary,
        "expected_requests": {op: expected_requests(op, m.n) for op, _ in OPERATIONS},
        "mismatches": m.mismatches(),
        "ours_provider_rss_peak_mib": max(rss, default=None),
        "extras": m.extras,
        "samples": [s.as_json() for s in m.samples],
    }
    path.write_text(json.dumps(body, indent=1) + "\n")
    return path


# -- main ----------------------------------------------------------------------------------------


def parse_policies(values: list[str] | None, quick: bool) -> list[int]:
    if quick:
        return [100]
    found: list[int] = []
    for value in values or ["1,10,100,1000"]:
        found += [int(v) for v in value.replace(",", " ").split()]
    return sorted(set(found))


def print_tables(results: list[Measured], cpu_at: tuple[int, ...]) -> None:
    """The result tables, and the CPU-by-process table for each N in ``cpu_at``."""
    print()
    print(table(results))
    print()
    print("ms per policy (median / N), ours / floor:")
    print(per_policy_table(results))
    print()
    print("CPU ms per policy by process (median / N), ours / floor:")
    print(cpu_per_policy_table(results))
    for m in results:
        if m.n in cpu_at:
            print()
            print(f"CPU seconds by process at N={m.n} (median), ours / floor:")
            print(cpu_table(m))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--policies",
        action="append",
        metavar="N",
        help="policy counts, repeatable or a list (1,10,100,1000; the default)",
    )
    parser.add_argument("--quick", action="store_true", help="N=100 only")
    parser.add_argument(
        "--skip-checkpoints",
        action="store_true",
        help="PULUMI_SKIP_CHECKPOINTS=true for both stacks: the engine writes the state once, at "
        "the end, not after every step (the recipe for large stacks in README)",
    )
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added to every API call")
    parser.add_argument(
        "--runs", type=int, default=7, help="repetitions of each operation, interleaved"
    )
    parser.add_argument(
        "--large-runs",
        type=int,
        default=1,
        help="repetitions for N >= 1000 (default 1: one cycle there takes minutes)",
    )
    parser.add_argument("--parallel", type=int, default=8, help="pulumi --parallel (both stacks)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    parser.add_argument(
        "--no-extras", action="store_true", help="skip import times and the pickled provider"
    )
    parser.add_argument(
        "--no-floor-rtt",
        dest="floor_rtt",
        action="store_false",
        help="a floor that does nothing at all (by default it waits --latency-ms once per policy "
        "read or changed, the round trip the operation needs)",
    )
    parser.add_argument(
        "--floor-request",
        action="store_true",
        help="the floor's provider GETs each policy it reads or changes from the emulator "
        "through httpx instead of waiting: ours/floor is then what our code adds beyond the "
        "request itself",
    )
    parser.add_argument(
        "--no-warmup",
        action="store_true",
        help="skip the unrecorded first cycle of each stack (always skipped at N >= 1000)",
    )
    parser.add_argument(
        "--provider",
        choices=("dynamic", "plugin"),
        default="dynamic",
        help="our stack's resources: the dynamic resource, or the provider plugin's "
        "(applivery_pulumi.native, pulumi-resource-applivery); the floor stays the engine's",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)

    sizes = parse_policies(args.policies, args.quick)
    meta: dict[str, Any] = {
        "started": dt.datetime.now().strftime("%Y-%m-%dT%H:%M:%S"),
        "git_commit": git_commit(),
        "machine": machine(),
        "load_before": load(),
        "latency_ms": args.latency_ms,
        "parallel": args.parallel,
        "runs": args.runs,
        "large_runs": args.large_runs,
        "provider_threads": os.environ.get("APPLIVERY_PULUMI_PROVIDER_THREADS", "default (64)"),
        "floor_waits_round_trip_ms": args.latency_ms
        if args.floor_rtt and not args.floor_request
        else 0,
        "floor_request": args.floor_request,
        "warmup_cycle": not args.no_warmup,
        "skip_checkpoints": args.skip_checkpoints,
        "provider": args.provider,
    }

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    log(
        f"benchmarks: N={sizes}, latency {args.latency_ms} ms, --parallel {args.parallel}, "
        f"provider {args.provider}"
    )
    log(f"machine: {meta['machine']}, load {meta['load_before']}")
    if not args.no_extras:
        from .micro import import_ms, pickled_provider

        meta["import_ms"] = {
            "applivery_pulumi.lifecycle": import_ms("applivery_pulumi.lifecycle"),
            "applivery_pulumi.lifecycle after pulumi.dynamic": import_ms(
                "applivery_pulumi.lifecycle", after="pulumi.dynamic"
            ),
        }
        meta["pickled_provider"] = pickled_provider(max(sizes))
    workdir = Path(tempfile.mkdtemp(prefix="applivery-bench-"))
    results: list[Measured] = []
    written: list[Path] = []
    try:
        for n in sizes:
            runs = args.runs if n < 1000 else args.large_runs
            measured = measure_n(
                n,
                runs=runs,
                latency_ms=args.latency_ms,
                parallel=args.parallel,
                workdir=workdir,
                log=log,
                floor_rtt=args.floor_rtt,
                floor_request=args.floor_request,
                warmup=not args.no_warmup and n < 1000,
                skip_checkpoints=args.skip_checkpoints,
                provider=args.provider,
            )
            results.append(measured)
            meta_n = {**meta, "load_after": load(), "runs": runs}
            written.append(save(measured, meta_n, args.out))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"work directory kept: {workdir}")

    print(
        f"machine: {meta['machine']['nproc']} cores, {meta['machine']['cpu_model']}; "
        f"load before {meta['load_before']}, after {load()}"
    )
    print(
        f"latency {args.latency_ms} ms per API call, --parallel {args.parallel}, "
        f"provider {args.provider}, runs {args.runs}"
        + (f" ({args.large_runs} at N>=1000)" if args.large_runs else "")
    )
    print_tables(results, cpu_at=(100,))
    if "import_ms" in meta:
        print()
        print("import ms: " + ", ".join(f"{k} {v}" for k, v in meta["import_ms"].items()))
        pickled = meta["pickled_provider"]
        print(
            "pickled provider: ours {} bytes (base64), floor {}; serialized {} times: ours "
            "{} ms, floor {} ms".format(
                pickled["ours"]["bytes_base64"],
                pickled["floor"]["bytes_base64"],
                pickled["ours"]["calls"],
                pickled["ours"]["ms_total"],
                pickled["floor"]["ms_total"],
            )
        )
    rss = {
        m.n: max((s.provider_rss_peak_mib for s in m.of("ours", "up")), default=0) for m in results
    }
    print(
        "provider host peak RSS (MiB, ours, at up): "
        + ", ".join(f"N={k}: {v}" for k, v in rss.items())
    )
    problems = [p for m in results for p in m.mismatches()]
    for p in problems:
        print(f"REQUESTS MISMATCH: {p}")
    if not problems:
        print("requests: as designed (no-op preview/up 0, refresh N GET, change k PUT, up N PUT)")
    print("results: " + ", ".join(str(p) for p in written))
    if args.floor_request:
        print("floor: one GET (httpx) of each policy read or changed")
    elif args.floor_rtt:
        print(f"floor: waits {args.latency_ms} ms (one round trip) per policy read or changed")
    print(last_line(results))
    return 1 if problems else 0
