"""R2, the project's: is the symmetric branch (one group of neurons, Morse index 0) where the exact
gradient flow ends, at every width m and n·SNR² of the map?

Its rule was fixed (and committed) before its numbers were seen. Read from the branch map
(sims.studies.branchmap): theory.predict's stationary record over the map (m in MAP_WIDTHS, n·SNR²
on MAP_NSNR2, n = 20, d = 2000, one seed per cell): its branch, surviving rank and Morse index, or
"none" when the flow reaches no stationary point. The quick and tiny presets run a small corner of
the map to exercise the code; the map is the full preset's. Figure: the states as a categorical map.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap

from sims.studies import branchmap
from sims.studies.branchmap import BranchMap
from sims.studies.claims.base import (
    DOES_NOT,
    HOLDS,
    IN_PART,
    PROJECT,
    Entry,
    Figure,
    Spec,
)
from sims.studies.figures import figure

SYMMETRIC_SHARE = 0.5  # R2 in part: the symmetric branch at at least this share of the map
FIGURE = "fig_branch_map.png"
STATES = ("symmetric", "asymmetric", "symmetric saddle", "asymmetric saddle", "none")
COLORS = ("tab:green", "tab:orange", "palegreen", "navajowhite", "lightgray")

SPEC = Spec(
    id="R2",
    claim="The symmetric branch (all neurons share their data-span part, Morse index 0) is where "
    "the exact "
    "gradient flow ends at every width m and n·SNR² of the map.",
    short="the symmetric branch is where the flow ends, at every m and n·SNR²",
    rule=(
        f"holds if every cell of the map has a stationary point on the symmetric branch with Morse "
        f"index "
        f"0; '{IN_PART}' if at least {SYMMETRIC_SHARE:.0%} of the cells do; otherwise '{DOES_NOT}'."
    ),
    origin=PROJECT,
)
STUDY = branchmap.STUDY


def symmetric_range(cells: list) -> dict:
    """Where the symmetric branch is, along one m: cells = [(nsnr2, state)]; the n·SNR² values with
    a stable symmetric state, their lowest and highest, and the nearest non-symmetric value on each
    side."""
    cells = sorted(cells)
    sym = [v for v, s in cells if s == "symmetric"]
    out = {
        "symmetric": sym,
        "lowest": min(sym) if sym else None,
        "highest": max(sym) if sym else None,
        "contiguous": bool(sym) and [v for v, _ in cells if sym[0] <= v <= sym[-1]] == sym,
    }
    out["ends_below"] = max(
        (v for v, s in cells if s != "symmetric" and sym and v < sym[0]), default=None
    )
    out["ends_above"] = min(
        (v for v, s in cells if s != "symmetric" and sym and v > sym[-1]), default=None
    )
    return out


def judged(grid: dict) -> Entry:
    """The rule on grid = {(m, nsnr2): state}."""
    widths = sorted({m for m, _ in grid})
    per_m = {m: symmetric_range([(v, s) for (mm, v), s in grid.items() if mm == m]) for m in widths}
    share = sum(s == "symmetric" for s in grid.values()) / len(grid) if grid else 0.0
    verdict = HOLDS if grid and share == 1.0 else IN_PART if share >= SYMMETRIC_SHARE else DOES_NOT
    counts = {s: sum(v == s for v in grid.values()) for s in sorted(set(grid.values()))}
    return SPEC.entry(verdict, {"symmetric_share": share, "states": counts, "per_m": per_m})


def verdict(m: BranchMap) -> Entry:
    grid = {k: b.state for k, b in m.cells.items()}
    entry = judged(grid)
    entry.measured["cells"] = [
        {
            "m": w,
            "nsnr2": v,
            "state": b.state,
            "groups": b.groups,
            "surviving_rank": b.surviving_rank,
            "morse_index": b.morse_index,
            "signed_ratio": b.signed_ratio,
            "abs_ratio": b.abs_ratio,
            "reason": b.reason,
        }
        for (w, v), b in m.cells.items()
    ]
    entry.measured["where_symmetric_ends"] = ends_text(entry.measured["per_m"])
    g = m.grid
    note = (
        ""
        if m.preset_name == "full"
        else f"[{m.preset_name} preset: a {len(g.widths)} x {len(g.nsnr2)} corner of the map "
        f"(n = {g.n}, d = {g.d}) to exercise the code; the map is the full preset's] "
    )
    return SPEC.entry(entry.verdict, entry.measured, note=note)


def ends_text(per_m: dict) -> str:
    """Where the symmetric branch is and ends, along each m, in words (from symmetric_range)."""
    parts = []
    for m, r in per_m.items():
        if not r["symmetric"]:
            parts.append(f"m = {m}: nowhere")
            continue
        ends = []
        if r["ends_below"] is not None:
            ends.append(f"not at {r['ends_below']:g} below")
        if r["ends_above"] is not None:
            ends.append(f"not at {r['ends_above']:g} above")
        gaps = "" if r["contiguous"] else " (with gaps)"
        parts.append(
            f"m = {m}: symmetric from n·SNR² = {r['lowest']:g} to {r['highest']:g}{gaps}"
            + (f", {' and '.join(ends)}" if ends else ", at every value of the map")
        )
    return "; ".join(parts)


def paragraph(e: dict) -> str:
    m = e["measured"]
    states = ", ".join(f"{k} {v}" for k, v in m["states"].items())
    return (
        f"The exact flow ends on the symmetric branch with Morse index 0 at "
        f"{m['symmetric_share']:.0%} "
        f"of the m × n·SNR² map ({states}); {m['where_symmetric_ends']}."
    )


def figures(m: BranchMap, out: Path) -> list[Figure]:
    fig_map(m, Path(out) / FIGURE)
    return [Figure(FIGURE, ends_text(verdict(m).measured["per_m"]))]


def fig_map(m: BranchMap, path: Path) -> None:
    """The states as coloured cells (rows m, columns n·SNR²), each labelled with its groups,
    surviving rank and Morse index."""
    widths, values = m.grid.widths, m.grid.nsnr2
    codes = np.array([[STATES.index(m.cells[(w, v)].state) for v in values] for w in widths])
    with figure(path, 1, 1, figsize=(1.0 * len(values) + 3, 0.7 * len(widths) + 2.5)) as (fig, ax):
        ax.imshow(
            codes, cmap=ListedColormap(COLORS), vmin=-0.5, vmax=len(STATES) - 0.5, aspect="auto"
        )
        for i, w in enumerate(widths):
            for j, v in enumerate(values):
                b = m.cells[(w, v)]
                text = (
                    "none"
                    if not b.found
                    else f"{'+'.join(map(str, b.groups))}\nrank {b.surviving_rank}\n"
                    f"index {b.morse_index}"
                )
                ax.text(j, i, text, ha="center", va="center", fontsize=6)
        ax.set_xticks(range(len(values)), [f"{v:g}" for v in values], fontsize=7)
        ax.set_yticks(range(len(widths)), [str(w) for w in widths])
        ax.set(
            xlabel="n·SNR² (log-spaced grid)",
            ylabel="width m",
            title="Stationary state of the exact gradient flow (theory.predict)\n"
            "cells: neuron group sizes, surviving rank of R Rᵀ, Morse index",
        )
        handles = [ax.plot([], [], "s", color=c, ms=10)[0] for c in COLORS]
        ax.legend(
            handles,
            [s if s != "none" else "no stationary point" for s in STATES],
            fontsize=7,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
