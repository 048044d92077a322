"""``python -m benchmarks.report FILE...``: the tables and the last line again, from results JSON.

``--plot PNG`` also draws time against N for both stacks (see :mod:`benchmarks.plot`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .run import (
    Measured,
    Sample,
    last_line,
    print_tables,
)


def load(paths: list[Path]) -> tuple[list[Measured], list[dict[str, Any]]]:
    results: list[Measured] = []
    metas: list[dict[str, Any]] = []
    for path in paths:
        body = json.loads(path.read_text())
        m = Measured(int(body["policies"]), [Sample(**s) for s in body["samples"]])
        m.extras = body.get("extras", {})
        results.append(m)
        metas.append(body)
    order = sorted(range(len(results)), key=lambda i: results[i].n)
    return [results[i] for i in order], [metas[i] for i in order]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args(argv)
    results, metas = load(args.files)
    # Runs made with --skip-checkpoints (the large-stack recipe) are reported apart.
    plain = [
        (m, meta)
        for m, meta in zip(results, metas, strict=True)
        if not meta.get("skip_checkpoints")
    ]
    recipe = [
        (m, meta) for m, meta in zip(results, metas, strict=True) if meta.get("skip_checkpoints")
    ]
    for title, group in (("", plain), ("with PULUMI_SKIP_CHECKPOINTS=true (the recipe)", recipe)):
        if not group:
            continue
        runs, first = [m for m, _ in group], group[0][1]
        if title:
            print(f"\n== {title}")
        print(
            f"machine: {first['machine']['nproc']} cores, {first['machine']['cpu_model']}; "
            + "; ".join(
                f"N={m.n}: load {meta['load_before']} -> {meta.get('load_after')}, "
                f"runs {meta['runs']}, git {meta.get('git_commit')}"
                for m, meta in group
            )
        )
        print(f"latency {first['latency_ms']} ms per API call, --parallel {first['parallel']}")
        print_tables(runs, cpu_at=(100, max(r.n for r in runs)))
        print(last_line(runs))
    if args.plot is not None:
        from .plot import plot

        shown = plain or recipe
        plot([m for m, _ in plain], args.plot, shown[0][1], recipe=[m for m, _ in recipe])
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
