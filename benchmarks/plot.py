"""Time against N: ours and the floor, with and without the large-stack recipe (a small PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .run import Measured

SHOWN = (("up", "up (adopt)"), ("preview", "no-op preview"), ("refresh", "refresh"))
# (kind, recipe) -> line style; the recipe is PULUMI_SKIP_CHECKPOINTS=true (README "Large stacks").
STYLES = {
    ("ours", False): ("-", "ours"),
    ("floor", False): ("--", "floor"),
    ("ours", True): (":", "ours, recipe"),
    ("floor", True): ("-.", "floor, recipe"),
}


def plot(
    results: list[Measured], out: Path, meta: dict[str, Any], recipe: Sequence[Measured] = ()
) -> None:
    """One panel per operation; ``recipe`` holds runs made with ``--skip-checkpoints``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SHOWN), figsize=(11, 3.8), dpi=80, sharey=True)
    for ax, (op, title) in zip(axes, SHOWN, strict=True):
        for (kind, skip), (style, label) in STYLES.items():
            runs = [m for m in (recipe if skip else results) if m.median(kind, op) is not None]
            if not runs:
                continue
            color = "C0" if kind == "ours" else "C1"
            ys = [m.median(kind, op) for m in runs]
            ax.plot([m.n for m in runs], ys, style, marker="o", ms=3, color=color, label=label)
        ax.set_title(title, fontsize=9)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("policies (N)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("seconds (median)")
    machine = meta.get("machine", {})
    fig.suptitle(
        f"{meta.get('latency_ms')} ms per API call, --parallel {meta.get('parallel')}, "
        f"{machine.get('nproc')} cores, {meta.get('launcher', 'official')} launcher",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    # A palette of 64 colours keeps the committed PNG small.
    from PIL import Image

    with Image.open(out) as image:
        image.convert("RGB").quantize(colors=64).save(out, optimize=True)
