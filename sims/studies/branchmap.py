"""Section "branch-map" of `fldm reproduce` (issue 10, item 2): the stationary state theory.predict finds over
widths m and n·SNR² (its branch, surviving rank and Morse index, or no stationary point), as a categorical
map, and where the symmetric branch ends along each m. Claim R2 of `sims.studies.d2_claims` (rule fixed
before the numbers). Settings: n = 20, d = 2000, sigma0 = 0.01, the defaults otherwise; one seed per cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap

from sims.config import TrainConfig
from sims.studies import d2_claims as dc
from sims.studies.figures import figure
from sims.studies.sweep import cell_seed

FIGURE = "fig_branch_map.png"
STATES = ("symmetric", "asymmetric", "symmetric saddle", "asymmetric saddle", "none")
COLORS = ("tab:green", "tab:orange", "palegreen", "navajowhite", "lightgray")
GRIDS = {  # (n, d, widths, n·SNR² values)
    "tiny": (8, 120, (1, 2), (0.1, 1.0, 10.0)),
    "quick": (20, 2000, (1, 2), (1e-3, 1.0, 1e3)),
    "full": (20, 2000, dc.MAP_WIDTHS, dc.MAP_NSNR2),
}


class BranchMap:
    name = "branch-map"

    def cells(self, preset_name: str, seed: int) -> dict:
        if preset_name not in GRIDS:
            return {}
        n, d, widths, values = GRIDS[preset_name]
        return {
            ("map", m, v): (
                "predict",
                TrainConfig(
                    model="diffusion",
                    n=n,
                    d=d,
                    m=m,
                    nsnr2=v,
                    sigma0=0.01,
                    seed=cell_seed(seed, "branch-map", m, v),
                ),
            )
            for m in widths
            for v in values
        }

    def report(self, preset_name: str, results: dict, out: Path) -> tuple[list, list]:
        n, d, widths, values = GRIDS[preset_name]
        records = {
            (m, v): results[("map", m, v)]["summary"]["stationary"] for m in widths for v in values
        }
        grid = {k: dc.state(r) for k, r in records.items()}
        entry = dc.branch_verdict(grid)
        entry["measured"]["cells"] = [
            {
                "m": m,
                "nsnr2": v,
                "state": grid[(m, v)],
                "groups": r.get("groups"),
                "surviving_rank": r.get("surviving_rank"),
                "morse_index": r.get("morse_index"),
                "signed_ratio": r.get("ratio"),
                "abs_ratio": (r.get("summary_abs") or {}).get("ratio"),
                "reason": r.get("reason") or None,
            }
            for (m, v), r in records.items()
        ]
        entry["measured"]["where_symmetric_ends"] = ends_text(entry["measured"]["per_m"])
        if preset_name != "full":
            entry["claim"] = (
                f"[{preset_name} preset: a {len(widths)} x {len(values)} corner of the map (n = {n}, "
                f"d = {d}) to exercise the code; the map is the full preset's] " + entry["claim"]
            )
        path = Path(out) / FIGURE
        fig_map(widths, values, records, grid, path)
        return [entry], [(FIGURE, entry["measured"]["where_symmetric_ends"])]


def ends_text(per_m: dict) -> str:
    """Where the symmetric branch is and ends, along each m, in words (from d2_claims.symmetric_range)."""
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


def fig_map(widths, values, records: dict, grid: dict, path: Path) -> None:
    """The states as coloured cells (rows m, columns n·SNR²), each labelled with its groups, surviving rank
    and Morse index."""
    codes = np.array([[STATES.index(grid[(m, v)]) for v in values] for m in widths])
    with figure(path, 1, 1, figsize=(1.0 * len(values) + 3, 0.7 * len(widths) + 2.5)) as (fig, ax):
        ax.imshow(
            codes, cmap=ListedColormap(COLORS), vmin=-0.5, vmax=len(STATES) - 0.5, aspect="auto"
        )
        for i, m in enumerate(widths):
            for j, v in enumerate(values):
                r = records[(m, v)]
                text = (
                    "none"
                    if not r.get("found")
                    else f"{'+'.join(map(str, r['groups']))}\nrank {r['surviving_rank']}\nindex {r['morse_index']}"
                )
                ax.text(j, i, text, ha="center", va="center", fontsize=6)
        ax.set_xticks(range(len(values)), [f"{v:g}" for v in values], fontsize=7)
        ax.set_yticks(range(len(widths)), [str(m) for m in widths])
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


SECTION = BranchMap()
