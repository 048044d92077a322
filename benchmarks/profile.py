"""``python -m benchmarks.profile``: where the time of one operation goes, under pyinstrument.

Runs both stacks (``up``, no-op ``preview``, ``refresh``, ``up`` changing 10%, ``destroy``) on an
emulator without added latency (so the reports show CPU, not waiting), with the program and the
provider host profiled: ``OUT/<kind>-<op>-program.txt`` and ``OUT/<kind>-<op>-provider.txt``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from harness.emulator import Emulator

from .run import OPERATIONS, changed_count, one
from .stacks import Stack, declaration, seed_document


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--policies", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/.work/profile"))
    parser.add_argument("--kinds", default="ours,floor")
    parser.add_argument("--ops", default=",".join(op for op, _ in OPERATIONS))
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="applivery-profile-"))
    # A virtualenv whose python runs the provider host under the profiler and anything else (the
    # program) as the real one: the SDK's launcher runs $PULUMI_RUNTIME_VIRTUALENV/bin/python.
    venv = work / "venv"
    wrapper = venv / "bin" / "python"
    wrapper.parent.mkdir(parents=True)
    python = Path(sys.executable)
    wrapper.write_text(
        "#!/bin/sh\n"
        'case "$3" in pulumi.dynamic)\n'
        f'  exec "{python}" -m benchmarks.profile_host "$@" ;;\n'
        "esac\n"
        f'exec "{python}" "$@"\n'
    )
    wrapper.chmod(0o755)
    n = args.policies
    emu_args = ["--latency-ms", str(args.latency_ms), "--log-level", "warning"]
    with Emulator(work / "emulator", seed=seed_document(n), args=emu_args) as emu:
        for kind in args.kinds.split(","):
            stack = Stack(
                kind,
                work / kind,
                emu,
                parallel=args.parallel,
                virtualenv=venv,
            )
            stack.declare(declaration(n))
            for op, op_args in OPERATIONS:
                if op not in args.ops.split(","):
                    continue
                if op == "up-10%":
                    stack.declare(declaration(n, changed_count(n), version=1))
                env = {
                    "BENCH_PROFILE_OUT": str(out / f"{kind}-{op}-provider.txt"),
                    "BENCH_PROFILE_PROGRAM": str(out / f"{kind}-{op}-program.txt"),
                }
                sample = one(stack, emu, op, op_args, 0, extra_env=env)
                print(f"{kind:<5} {op:<8} {sample.seconds:6.2f} s  cpu {sample.cpu_by_role}")
    print(f"reports in {out}")


if __name__ == "__main__":
    main()
