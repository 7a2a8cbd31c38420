"""R2, the project's: is the symmetric branch (one group of neurons, Morse index 0) where the exact
gradient flow ends, at every width m and n·SNR² of the map?

Its rule was fixed (and committed) before its numbers were seen. Read from the branch map
(sims.studies.branchmap): theory.predict's stationary record over the map (m in MAP_WIDTHS, n·SNR²
on MAP_NSNR2, n = 20, d = 2000, one seed per cell): its branch, surviving rank and Morse index, or
"none" when the flow reaches no stationary point. The quick and tiny presets run a small corner of
the map to exercise the code; the map is the full preset's. Figure: the states as a categorical map.

Where it holds (`DOMAIN`, the race map sims.studies.racemap). The branch map above fixes sigma0 =
0.01; the branch also depends on sigma0. Derived in theory.early: at leading order each neuron
blows up on its own clock, the neurons' blow-up times differing by a lag Delta ~ 1/sqrt(d) set by
the draw, and the first saturates sqrt(I0) / 3 before its own blow-up; sigma0 enters the branch only
through the race group B = sqrt(I0) / (3 Delta) (I0 = sigma0^2 d / G_rr*), small B leaving the last
neurons to a landscape the first ones have shaped. The crossover's value is not derived: the map
reads it. The domain rule (`DOMAIN_RULE`) and the map's design (presets.RaceGrid's full grid: n =
20, d = 2000, m = 4, n·SNR² in 0.1, 1, 10, two seeds each, sigma0 from 0.03 to 1e-6) were fixed and
committed before any cell of the map was run. Seen before, with theory.predict at m = 4, seed 0:
n·SNR² = 6.75: symmetric at sigma0 = 0.01, 1e-4, 1e-5 (ratio 1.058), asymmetric [3, 1] at 1e-6
(ratio 1.539; the neuron that splits off is the one with the largest lag, 3.0 % of the first's
blow-up time, against 0.4 % and 2.3 % for the others), unchanged with the flow's tolerances
(absolute 1e-10 to 1e-18, relative 1e-7 and 1e-10); n·SNR² = 0.001: asymmetric [3, 1] at sigma0 =
0.01, 1e-3, 1e-4 and no stationary point at 0.05 (I0 = 4.3); n·SNR² = 1, seed 5: sigma0 = 1e-7 runs
out of the flow's horizon (1e7 steps), so the grid stops at 1e-6 (leading-order blow-up at 1.2e6
to 3.2e6 steps); and I0 over the branch map's cells at sigma0 = 0.01 (0.13 to 0.17 at m = 4, 0.05
to 0.06 at m = 16).

Amendment 1 (in `DOMAIN_RULE`), made while writing the rule's tests, after the window map's and the
boundary map's numbers were seen and before the race map's: the test of "B decides the lower
transition" counted the cells up to B_b, which are by construction a non-symmetric run followed by
a symmetric one, so one threshold always split them (a test that could not fail); it counts the
cells below B_up instead.

Amendment 2, made after the race map's numbers were seen: the rule's pooled regions (all n·SNR²
together) came out empty. The lines' thresholds in B differ by orders of magnitude (n·SNR² = 1 is
symmetric down to the smallest B mapped, 2e-4; 0.1 turns between B = 0.11 and 0.26), and at n·SNR²
= 10 one seed's cell out of place ends the run of symmetric cells read up from the first one. The
regions are now given per n·SNR², the symmetric run read down from the upper end; the pooled ones
are kept in the measured numbers. Also fixed then: a threshold's share (`split`) was counted at
cuts between equal values (two seeds at one sigma0), which overstated the share for sigma0.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap

from sims.studies import branchmap, racemap
from sims.studies.branchmap import BranchMap
from sims.studies.claims.base import (
    AGREEMENT,
    DOES_NOT,
    HOLDS,
    IN_PART,
    PROJECT,
    DomainMap,
    Entry,
    Figure,
    Region,
    Spec,
    domain_record,
    g,
    reach,
)
from sims.studies.figures import figure, wrap

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
    grid = (
        f"grid: n = {m.grid.n}, d = {m.grid.d}, m = "
        f"{', '.join(map(str, widths))}, n·SNR² = {', '.join(f'{v:g}' for v in values)} "
        f"({len(widths)} × {len(values)} cells)"
    )
    size = (max(6.5, 1.0 * len(values) + 3), 0.7 * len(widths) + 2.8)
    with figure(path, 1, 1, figsize=size, settings=grid) as (fig, ax):
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
        drawn = [i for i in range(len(STATES)) if (codes == i).any()]  # legend: only these
        handles = [ax.plot([], [], "s", color=COLORS[i], ms=10)[0] for i in drawn]
        ax.legend(
            handles,
            [STATES[i] if STATES[i] != "none" else "no stationary point" for i in drawn],
            fontsize=7,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )


# ----------------------------------------------------------------------------- where R2 holds
DOMAIN_FIGURE = "fig_r2_domain.png"
GROUPS = {
    "B": "sqrt(I0) / (3 Δ), the race group: the first neuron's saturation lead over the last "
    "one's blow-up lag Δ, both at leading order in the first one's clock (theory.early)",
    "I0": "σ₀²d / G_rr*, the initial filters' squared norm over the stationary one of the law "
    "(theory.law)",
}
DOMAIN_RULE = (
    f"a cell of the race map is symmetric if the flow ends on the symmetric branch with Morse "
    f"index 0 (as in R2's rule); a cell whose flow ran out of time (no stationary point by the "
    f"horizon) is left out. Along each n·SNR² (its seeds together), in the order of B: B_lo is the "
    f"largest B up to which no cell is symmetric, [B_a, B_b] the run of symmetric cells from the "
    f"first symmetric one, B_up the smallest B from which no cell is symmetric. Regions, all "
    f"n·SNR² together: '{HOLDS}' where B_a <= B <= B_b for every n·SNR² (the largest B_a to the "
    f"smallest B_b), '{DOES_NOT}' where B <= the smallest B_lo and where B >= the largest B_up "
    f"(with its I0), '{IN_PART}' at the cells between (the B they span), and '{DOES_NOT}' at an "
    f"n·SNR² with no symmetric cell. B decides the lower transition if one threshold in B "
    f"puts >= {AGREEMENT:.0%} of the cells below B_up (all of them where there is none) on the "
    f"right side, for every n·SNR² with a symmetric cell; the same share for one threshold in σ₀ "
    f"is reported beside it. (Amendment 1, made before the race map's numbers were seen and "
    f"after the window and boundary maps' were: 'the cells below B_up' replaces 'the cells with "
    f"B <= B_b', which one threshold always splits.) Amendment 2, made after the race map's "
    f"numbers were seen: the pooled regions above were empty (the lines' thresholds differ by "
    f"orders of magnitude, and one out-of-place cell breaks the run read up from the first "
    f"symmetric cell), so the regions are given per n·SNR²: '{DOES_NOT}' up to its B_lo, "
    f"'{HOLDS}' on its run of symmetric cells read down from its upper end (from B_hold to "
    f"B_top), '{IN_PART}' at its cells between, '{DOES_NOT}' from its B_up; the pooled regions "
    f"are reported beside them; a threshold's share is counted between distinct values only."
)


def split(points: list) -> float:
    """The share of (x, symmetric) points that the best single threshold in x puts on the right
    side (symmetric above, not below); nan without points."""
    points = sorted(points)
    if not points:
        return float("nan")
    best = 0
    for k in range(len(points) + 1):  # the first k below the threshold, between distinct x only
        if 0 < k < len(points) and points[k - 1][0] == points[k][0]:
            continue
        right = sum(not s for _, s in points[:k]) + sum(s for _, s in points[k:])
        best = max(best, right)
    return best / len(points)


def line_bounds(cells: list) -> dict:
    """B_lo, B_a, B_b, B_up along one n·SNR² (cells: racemap.Racer that reached an end), and
    (amendment 2) B_hold to B_top, the run of symmetric cells read down from the upper end."""
    order = sorted(cells, key=lambda c: c.race_group)
    sym = [c.state == "symmetric" for c in order]
    B = [c.race_group for c in order]
    lo = reach(range(len(order)), lambda k: not sym[k])
    first = next((k for k, s in enumerate(sym) if s), None)
    out = {"B_lo": None if lo is None else B[lo], "B_a": None, "B_b": None, "B_up": None}
    out.update(I0_up=None, B_hold=None, B_top=None)
    if first is not None:
        last = reach(range(first, len(order)), lambda k: sym[k])
        up = reach(range(len(order) - 1, last, -1), lambda k: not sym[k])
        out.update(B_a=B[first], B_b=B[last], B_up=None if up is None else B[up])
        out["I0_up"] = None if up is None else order[up].init_ratio
        top = len(order) - 1 if up is None else up - 1
        hold = reach(range(top, -1, -1), lambda k: sym[k])
        out.update(B_hold=None if hold is None else B[hold], B_top=None if hold is None else B[top])
    # amendment 1: the cells below the upper end B_up (all of them without one), not those up to
    # B_b, which one threshold always splits
    below = [
        (c, s) for c, s in zip(order, sym) if out["B_up"] is None or c.race_group < out["B_up"]
    ]
    by_sigma0 = [(c.sigma0, s) for c, s in below]
    below = [(c.race_group, s) for c, s in below]
    out["threshold_share_B"] = split(below)
    out["threshold_share_sigma0"] = split(by_sigma0)
    return out


def line_regions(v: float, b: dict, cells: list) -> list[Region]:
    """Amendment 2: the regions along one n·SNR² = v (b: its line_bounds): not symmetric up to
    B_lo, symmetric from B_hold to B_top, the cells between in part, not symmetric from B_up."""
    at = {"n·SNR²": (v, v)}
    if b["B_hold"] is None:
        return [Region(DOES_NOT, at)]

    def spread(lo, hi):  # the B of this line's cells strictly between lo and hi
        inside = [c.race_group for c in cells if lo < c.race_group < hi]
        return (min(inside), max(inside)) if inside else None

    out = []
    if b["B_lo"] is not None:
        out.append(Region(DOES_NOT, {"B": (None, b["B_lo"]), **at}))
    low = b["B_lo"] if b["B_lo"] is not None else -math.inf
    if gap := spread(low, b["B_hold"]):
        out.append(Region(IN_PART, {"B": gap, **at}))
    out.append(Region(HOLDS, {"B": (b["B_hold"], b["B_top"]), **at}))
    if b["B_up"] is not None:
        out.append(Region(DOES_NOT, {"B": (b["B_up"], None), "I0": (b["I0_up"], None), **at}))
    return out


def domain_judged(cells: list, note: str = "") -> dict:
    """The domain rule on the race map's cells (racemap.Racer)."""
    reached = [c for c in cells if c.reached]
    values = sorted({c.nsnr2 for c in reached})
    lines = {v: line_bounds([c for c in reached if c.nsnr2 == v]) for v in values}
    found = {v: b for v, b in lines.items() if b["B_a"] is not None}  # lines with a symmetric cell

    def pick(key, f, among):
        got = [b[key] for b in among.values() if b[key] is not None]
        return f(got) if got and len(got) == len(among) else None

    b_a, b_b = pick("B_a", max, found), pick("B_b", min, found)
    b_lo, b_up = pick("B_lo", min, lines), pick("B_up", max, found)

    def spread(lo, hi):  # the B of the cells strictly between lo and hi
        inside = [c.race_group for c in reached if lo < c.race_group < hi]
        return (min(inside), max(inside)) if inside else None

    pooled = []  # the regions of the rule as first committed (all n·SNR² together)
    if b_lo is not None:
        pooled.append(Region(DOES_NOT, {"B": (None, b_lo)}))
    if b_lo is not None and b_a is not None and (gap := spread(b_lo, b_a)):
        pooled.append(Region(IN_PART, {"B": gap}))
    if b_a is not None and b_b is not None and b_a <= b_b:
        pooled.append(Region(HOLDS, {"B": (b_a, b_b)}))
    if b_b is not None and b_up is not None and (gap := spread(b_b, b_up)):
        pooled.append(Region(IN_PART, {"B": gap}))
    if b_up is not None:
        i0 = min(b["I0_up"] for b in found.values() if b.get("I0_up") is not None)
        pooled.append(Region(DOES_NOT, {"B": (b_up, None), "I0": (i0, None)}))
    for v in sorted(set(lines) - set(found)):
        pooled.append(Region(DOES_NOT, {"n·SNR²": (v, v)}))
    regions = [
        r
        for v, b in lines.items()
        for r in line_regions(v, b, [c for c in reached if c.nsnr2 == v])
    ]
    decides = bool(found) and all(b["threshold_share_B"] >= AGREEMENT for b in found.values())
    measured = {
        "per_nsnr2": {f"{v:g}": b for v, b in lines.items()},
        "pooled_regions_as_first_committed": [
            {"verdict": r.verdict, "bounds": {k: list(x) for k, x in r.bounds.items()}}
            for r in pooled
        ],
        "B_decides_lower_transition": decides,
        "left_out": [
            {"nsnr2": c.nsnr2, "rep": c.rep, "sigma0": c.sigma0, "reason": c.reason}
            for c in cells
            if not c.reached
        ],
        "cells": [
            {
                "nsnr2": c.nsnr2,
                "rep": c.rep,
                "sigma0": c.sigma0,
                "state": c.state,
                "groups": c.groups,
                "I0": c.init_ratio,
                "lag": c.lag,
                "B": c.race_group,
            }
            for c in cells
        ],
    }
    return domain_record(
        racemap.STUDY.name, GROUPS, regions, DOMAIN_RULE, measured, note, short_words(lines)
    )


def short_words(lines: dict) -> str:
    """The regions in a few words: per n·SNR², where the symmetric run starts and where the map
    stops finding a symmetric cell below it."""
    values = ", ".join(f"{v:g}" for v in lines)
    hold = ", ".join("none" if b.get("B_hold") is None else g(b["B_hold"]) for b in lines.values())
    lo = ", ".join("none" if b["B_lo"] is None else g(b["B_lo"]) for b in lines.values())
    return f"at n·SNR² = {values}: holds from B = {hold}; not up to B = {lo}"


def domain(rm) -> dict:
    g = rm.grid
    note = (
        ""
        if rm.preset_name == "full"
        else f"[{rm.preset_name} preset: {len(rm.cells)} cells of the race map (n = {g.n}, d = "
        f"{g.d}, m = {g.m}), to exercise its code; the map is the full preset's] "
    )
    return domain_judged(rm.cells, note)


def domain_figures(rm, out: Path) -> list[Figure]:
    """The state of every cell (markers, by colour) against its race group B (x) on one row per
    n·SNR² and seed, the regions of the domain rule as bands over their rows, and the derived scale
    B = 1 (a line)."""
    path = Path(out) / DOMAIN_FIGURE
    record = domain(rm)
    g = rm.grid
    rows = sorted({(c.nsnr2, c.rep) for c in rm.cells})
    colour = dict(zip(STATES, COLORS))
    band = {HOLDS: "tab:green", IN_PART: "tab:orange", DOES_NOT: "tab:red"}
    Bs = [c.race_group for c in rm.cells]
    left, right = min(Bs) / 3, max(Bs) * 3
    with figure(path, 1, 1, figsize=(10, 0.45 * len(rows) + 3)) as (fig, ax):
        for r in record["regions"]:
            v = r["bounds"]["n·SNR²"][0]
            ys = [k for k, (w, _) in enumerate(rows) if w == v]
            lo, hi = r["bounds"].get("B", (None, None))
            ax.fill_betweenx(
                [min(ys) - 0.4, max(ys) + 0.4],
                left if lo is None else lo,
                right if hi is None else hi,
                color=band[r["verdict"]],
                alpha=0.15,
                lw=0,
            )
        for c in rm.cells:
            y = rows.index((c.nsnr2, c.rep))
            ax.plot(
                c.race_group,
                y,
                "o" if c.reached else "x",
                color=colour[c.state],
                ms=9,
                mec="k",
                mew=0.5,
            )
            ax.annotate(
                f"{c.sigma0:g}",
                (c.race_group, y),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=5.5,
            )
        ax.axvline(
            1.0,
            color="k",
            ls="--",
            lw=1,
            label="B = 1: the first saturates as the last blows up (theory's scale)",
        )
        for s, col in colour.items():
            ax.plot([], [], "o", color=col, mec="k", mew=0.5, label=s)
        ax.plot([], [], "x", color="k", label="ran out of the flow's horizon (left out)")
        for v, col in band.items():
            ax.fill_between([], [], color=col, alpha=0.15, label=f"region: {v}")
        ax.set_yticks(range(len(rows)), [f"n·SNR² = {v:g}, seed {r}" for v, r in rows], fontsize=7)
        ax.set(
            xscale="log",
            xlim=(left, right),
            xlabel="race group B = sqrt(I0) / (3 Δ) (log); labels: σ₀",
            title=wrap(
                f"Where the exact flow ends (theory.predict, auto η), n = {g.n}, d = {g.d}, m = "
                f"{g.m}; a seed fixes the data and the standard normal draw of the initial "
                f"weights, σ₀ scales it. {record['short']}",
                100,
            ),
        )
        ax.title.set_fontsize(8)
        ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return [Figure(DOMAIN_FIGURE, record["text"])]


DOMAIN = DomainMap(racemap.STUDY, domain, domain_figures)
