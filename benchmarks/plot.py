"""Time against N for both stacks (matplotlib, a small PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .run import Measured

SHOWN = (("up", "up (adopt)"), ("preview", "no-op preview"), ("refresh", "refresh"))
SHOWN_MORE = (("up-10%", "up, 10% changed"), ("destroy", "destroy"))


def plot(results: list[Measured], out: Path, meta: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), dpi=80, sharey=True)
    ns = [m.n for m in results]
    for ax, shown in zip(axes, (SHOWN, SHOWN_MORE), strict=True):
        for i, (op, label) in enumerate(shown):
            color = f"C{i}"
            for kind, style in (("ours", "-"), ("floor", "--")):
                ys = [m.median(kind, op) for m in results]
                ax.plot(ns, ys, style, marker="o", ms=3, color=color, label=f"{label}, {kind}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("policies (N)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("seconds (median)")
    machine = meta.get("machine", {})
    fig.suptitle(
        f"ours (solid) vs floor (dashed): {meta.get('latency_ms')} ms latency, "
        f"--parallel {meta.get('parallel')}, {machine.get('nproc')} cores",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    # A palette of 64 colours keeps the committed PNG small.
    from PIL import Image

    with Image.open(out) as image:
        image.convert("RGB").quantize(colors=64).save(out, optimize=True)
