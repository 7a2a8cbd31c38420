"""D2, the paper's: diffusion reaches a stationary point where both features are learned, with
signal/noise ratio Θ(n·SNR²).

Read from the synthetic study (sims.studies.synthetic): the denoiser's final ratio over the n·SNR²
sweep (mean of the seeds) against the predicted stationary ratio, its log-log slope, the gains over
initialisation, and the same slope for other widths m and dimensions d. Figure (f), the stationary
ratio for several m and d.

Its domain (DOMAIN, sims.studies.d2domain). The verdict above reads one sweep at one noise group;
the stationary-ratio law (theory.law) says what decides it: the signal group G_s = (alpha/beta)^2
n_j ||mu||^2 / n sets the local slope (Θ(n·SNR²) while G_s is below a boundary of order one, the
law's G_s* at which its slope falls to THETA_SLOPE[0]), the noise group G_n = (alpha/beta)^2
||xi||^2 / n the level. The domain map measures the local slope between neighbouring n·SNR² of each
row of the plane (n·SNR², G_n), widths 1, 4, 16, from the exact reduced flow (theory.predict) on
data with the law's premises, and rules, fixed with this text before the map's numbers were seen:
- a slope cell (two neighbouring points of a row) **holds** where both stationary points were found,
  both features are learned at both (gains over initialisation > LEARNED_GAIN) and the measured
  slope is in THETA_SLOPE; it **saturates** where they are learned and the slope is below
  THETA_SLOPE[0]; it is **steeper** where the slope is above THETA_SLOPE[1]; **not learned** where a
  gain is at most LEARNED_GAIN at an end; **no point** where the flow found none at an end. Cells
  with an end on an asymmetric branch are classed alike and flagged (the law covers the symmetric
  one);
- the law **predicts** a cell whose ends are both on the symmetric branch when its slope over the
  same interval is within SLOPE_AGREEMENT of the measured one; the map **confirms the law** where it
  predicts at least LAW_AGREEMENT of those cells;
- gradient descent checks the flow at the grid's check cells (to ||grad L|| < 1e-9): the relative
  gap of the ratios is reported, in no rule;
- the domain's regions are the classes above, each with the range of G_s, G_n and m its cells span;
  the headline says where D2 holds and where it does not, from the measured classes, beside the
  law's boundary for each m at the smallest G_n.
Seen before these rules were written: the law and its local slopes (theory.law, from the reduced
loss alone), and, while timing the map's cells, 27 points of the full grid (n = 8, d = 60, m in {1,
4, 16}, G_n in {0.01, 1, 100}, n·SNR² in {0.01, 1, 100}): every symmetric one equal to the law to
1e-9; asymmetric branches at m = 4 and 16 in the corners (G_n = 0.01 with n·SNR² = 0.01, G_n = 1
with n·SNR² = 100, G_n = 100 with n·SNR² = 0.01); one point without a stationary point (m = 16, G_n
= 100, n·SNR² = 100).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import colormaps

from sims import io
from sims.studies import d2domain, presets, synthetic
from sims.studies.claims.base import (
    DOES_NOT,
    HOLDS,
    IN_PART,
    LEARNED_GAIN,
    OTHERWISE,
    PAPER,
    PART_SLOPE,
    THETA_SLOPE,
    DomainMap,
    Entry,
    Figure,
    Region,
    Spec,
    between,
    domain_record,
    g,
    span,
    verdict as judge,
)
from sims.studies.figures import figure, study_settings
from sims.studies.synthetic import DENOISER, RatioRow, Synthetic
from theory.law import linear_boundary

SLOPE_AGREEMENT = 0.05  # the law predicts a slope cell within this of the measured slope
LAW_AGREEMENT = 0.9  # ... the map confirms the law where it predicts at least this share of cells
HOLDS_CELL, SATURATES, STEEPER, NOT_LEARNED, NO_POINT = (
    "holds",
    "saturates",
    "steeper",
    "not learned",
    "no point",
)
CELL_STATES = (HOLDS_CELL, SATURATES, STEEPER, NOT_LEARNED, NO_POINT)

SPEC = Spec(
    id="D2",
    claim="Diffusion, end: gradient descent reaches a stationary point where both are learned, "
    "with "
    "signal/noise ratio Θ(n·SNR²).",
    short="diffusion's stationary point: both learned, ratio Θ(n·SNR²)",
    rule=(
        f"holds if the log-log slope of the measured stationary ratio against n·SNR² is in "
        f"[{THETA_SLOPE[0]:g}, {THETA_SLOPE[1]:g}] and both signal and noise are learned (each "
        f"final "
        f"alignment > {LEARNED_GAIN:g}x its initial value) in every setting; '{IN_PART}' if both "
        f"are "
        f"learned and the slope is in [{PART_SLOPE[0]:g}, {THETA_SLOPE[0]:g}) or "
        f"({THETA_SLOPE[1]:g}, "
        f"{PART_SLOPE[1]:g}] (the ratio grows with n·SNR², but not linearly); {OTHERWISE}"
    ),
    origin=PAPER,
)
STUDY = synthetic.STUDY
DOMAIN_RULE = (
    f" Where it holds (the domain map, rule added with the map before its numbers): a slope "
    f"cell of the map (n·SNR², G_n) holds where both features are learned at both ends (gains > "
    f"{LEARNED_GAIN:g}) and its local slope is in [{THETA_SLOPE[0]:g}, {THETA_SLOPE[1]:g}], "
    f"saturates below, is steeper above, is not learned where a gain is at most {LEARNED_GAIN:g}; "
    f"the law predicts a symmetric-branch cell when its slope is within {SLOPE_AGREEMENT:g} of the "
    f"measured one, and the map confirms the law where it predicts at least {LAW_AGREEMENT:.0%} of "
    f"them. The regions are read in the law's own coordinate G_s/G_s*(G_n, m), G_s* the law's "
    f"boundary (its slope {THETA_SLOPE[0]:g}) at the cell's noise group and width."
)


def judged(rows: list[RatioRow], gains: list, slope: float, other_slopes: dict) -> Entry:
    """The rule on the denoiser's rows of the ratio table, its (signal, noise) gains over
    initialisation per row, the stationary ratio's log-log slope, and the same slope for other m and
    d."""
    learned = all(g_s > LEARNED_GAIN and g_z > LEARNED_GAIN for g_s, g_z in gains)
    part = PART_SLOPE[0] <= slope < THETA_SLOPE[0] or THETA_SLOPE[1] < slope <= PART_SLOPE[1]
    theory_gap = max(
        abs(r.final_ratio / r.predicted.stationary_ratio - 1)
        for r in rows
        if r.predicted.stationary_ratio
    )
    return SPEC.entry(
        judge(learned and between(slope, THETA_SLOPE), learned and part),
        {
            "stationary_ratio_slope": slope,
            "both_learned_everywhere": learned,
            "smallest_gain_over_initialisation": {
                "signal": min(g[0] for g in gains),
                "noise": min(g[1] for g in gains),
            },
            "largest_relative_gap_to_predicted_stationary_ratio": theory_gap,
            "slope_for_other_m_and_d": other_slopes,
            "ratio_range": [min(r.final_ratio for r in rows), max(r.final_ratio for r in rows)],
            "per_nsnr2": [
                {
                    "nsnr2": r.nsnr2,
                    "final_ratio": r.final_ratio,
                    "predicted_stationary_ratio": r.predicted.stationary_ratio,
                    "final_signal": r.final_signal,
                    "final_noise": r.final_noise,
                    "converged_grad_norm": io.resolved(r.converged_grad_norm, io.GRAD_RESOLUTION),
                }
                for r in rows
            ],
        },
    )


def verdict(s: Synthetic) -> Entry:
    other = {
        f"{axis}={v}": series["slope"]
        for axis, by_value in s.dependence.items()
        for v, series in by_value.items()
    }
    return judged(s.rows[DENOISER.name], s.gains, s.slopes["diffusion_final"], other)


def paragraph(e: dict) -> str:
    m = e["measured"]
    x = [r["nsnr2"] for r in m["per_nsnr2"]]
    return (
        f"The diffusion **stationary** ratio is {span(m['ratio_range'])} over n·SNR² = {span(x)}, "
        f"log-log slope {g(m['stationary_ratio_slope'])} (Θ(n·SNR²) would be {THETA_SLOPE[0]:g} to "
        f"{THETA_SLOPE[1]:g}), and within "
        f"{m['largest_relative_gap_to_predicted_stationary_ratio']:.2%} of the reduced theory's "
        f"stationary ratio at every n·SNR²." + domain_paragraph(e.get("domain"))
    )


def domain_paragraph(domain: dict | None) -> str:
    """What the domain map adds: where this sweep lies, the classes of the map's cells, the law."""
    if not domain:
        return ""
    m = domain["measured"]
    place, law_ = m["this_verdicts_sweep"], m["law"]
    counts = ", ".join(f"{k} {v}" for k, v in m["cells"].items() if v)
    slopes = place["law_slope"]
    side = (
        "beyond the law's boundary"
        if max(slopes) < THETA_SLOPE[0]
        else "within the law's boundary"
        if min(slopes) >= THETA_SLOPE[0]
        else "across the law's boundary"
    )
    return (
        f" This sweep lies at the noise group G_n = {g(place['G_n'])} with the signal group G_s "
        f"from {g(place['G_s'][0])} to {g(place['G_s'][1])}, where the law's local slope is "
        f"{g(slopes[0])} to {g(slopes[1])}: {side}. Over the domain map's slope cells ({counts}) "
        f"the law predicts the measured slope within {law_['predicted_within']:g} in "
        f"{law_['predicted_share']:.0%} of the {law_['symmetric_cells']} cells on the symmetric "
        f"branch."
    )


def figures(s: Synthetic, out: Path) -> list[Figure]:
    return [fig_stationary(s, out)]


def fig_stationary(s: Synthetic, out: Path) -> Figure:
    """(f) how the diffusion stationary ratio depends on the width m and the dimension d."""
    path = out / "fig_stationary.png"
    dep = s.dependence
    cmap = colormaps["viridis"]
    notes = []
    p = s.preset
    with figure(
        path,
        1,
        2,
        figsize=(11, 5.1),
        settings=study_settings(s.preset),
    ) as (fig, axes):
        for ax, axis in zip(axes, ("m", "d")):
            default = p.m if axis == "m" else p.d
            items = sorted(dep[axis].items())
            for i, (value, series) in enumerate(items):
                color = cmap(i / max(1, len(items) - 1))
                x = [r.nsnr2 for r in series["rows"]]
                seeds = f"mean of {p.replicates} seeds" if value == default else "one seed"
                ax.plot(x, [r.predicted for r in series["rows"]], "-", color=color)
                ax.plot(
                    x,
                    [r.simulated for r in series["rows"]],
                    "o",
                    mfc="none",
                    color=color,
                    label=f"{axis} = {value}: {seeds}; one fit over the sweep: slope "
                    f"{series['slope']:.2f}",
                )
                notes.append(f"{axis}={value} slope {series['slope']:.2f}")
            ys = np.array(
                [
                    v
                    for _, series in items
                    for r in series["rows"]
                    for v in (r.predicted, r.simulated)
                    if v is not None
                ],
                dtype=float,
            )
            ys = ys[np.isfinite(ys) & (ys > 0)]
            xs = np.array([r.nsnr2 for _, series in items for r in series["rows"]], dtype=float)
            if ys.size:
                lo, hi = ys.min() / 1.5, ys.max() * 1.5
                # the slope-1 guide from the lowest data point, clipped to the data's range
                x0 = xs.min()
                x1 = min(xs.max(), x0 * hi / ys.min())
                guide = np.geomspace(x0, x1, 20)
                ax.plot(
                    guide,
                    ys.min() * guide / x0,
                    ":",
                    color="gray",
                    label="Θ(n·SNR²) reference, slope 1 (clipped to the data's range)",
                )
                ax.set_ylim(lo, hi)
            ax.plot([], [], "o", mfc="none", color="k", label="markers: gradient descent")
            ax.plot([], [], "-", color="k", label="lines: predicted stationary ratio (theory)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("n·SNR² (log scale)")
            ax.set_ylabel("stationary signal / noise learning\n(diffusion, log scale)")
            fixed = f"d = {p.d}" if axis == "m" else f"m = {p.m}"
            ax.set_title(
                f"diffusion stationary ratio for several {axis} ({fixed}, n = {p.n})", fontsize=9
            )
            ax.legend(fontsize=6, loc="lower right")
    return Figure(path.name, ", ".join(notes))


# ---------------------------------------------------------------------------------- the domain
def check_row(c: d2domain.CheckRow) -> dict:
    """A descent check as report.json holds it: its relative gap to the flow and its final ||grad
    L|| stated as the bounds they prove where they are at rounding level (io.resolved)."""
    return {
        **c._asdict(),
        "relative_gap": io.resolved(c.relative_gap, io.GAP_RESOLUTION),
        "grad_norm": io.resolved(c.grad_norm, d2domain.CHECK_TOL),
    }


def cell_state(cell) -> str:
    """A slope cell's class (module docstring)."""
    if not all(p.found for p in cell.ends):
        return NO_POINT
    if not all(p.signal_gain > LEARNED_GAIN and p.noise_gain > LEARNED_GAIN for p in cell.ends):
        return NOT_LEARNED
    if cell.slope < THETA_SLOPE[0]:
        return SATURATES
    return STEEPER if cell.slope > THETA_SLOPE[1] else HOLDS_CELL


def symmetric(cell) -> bool:
    return all(p.found and p.branch == "symmetric" for p in cell.ends)


def _bounds(cells, key) -> list:
    values = [getattr(c, key) for c in cells]
    return [min(values), max(values)] if values else []


def sweep_place(preset, nsnr2: list) -> dict:
    """Where this verdict's own sweep (the synthetic study) lies in the plane: its noise group
    (sigma_xi = 1, alpha = beta, projected noise: ||xi||^2 ~ d - 2), the range of its signal group,
    and the law's local slope at both ends (its width m)."""
    from theory import law

    G_n = (preset.d - 2) / preset.n
    G_s = [G_n * min(nsnr2) / 2, G_n * max(nsnr2) / 2]
    return {
        "G_n": G_n,
        "G_s": G_s,
        "m": preset.m,
        "law_slope": [law.local_slope(v, G_n, preset.m) for v in G_s],
    }


def relative_signal(dm, cell) -> float:
    """G_s / G_s*(G_n, m): the cell's signal group over the law's boundary at its noise group and
    width (log-log interpolation of the map's boundary; 0 where the law's slope stays in its
    band)."""
    pairs = [(gn, gs) for gn, gs in dm.boundary[cell.m] if np.isfinite(gs)]
    if not pairs:
        return 0.0
    gn, gs = np.log(np.array(pairs)).T
    return float(cell.G_s / np.exp(np.interp(math.log(cell.noise_group), gn, gs)))


def domain(dm) -> dict:
    """D2's domain from the map (module docstring and DOMAIN_RULE): the regions in the law's own
    coordinate G_s/G_s*, the law's agreement and boundary, the other cells' classes, and where this
    verdict's own sweep lies."""
    states = {c: cell_state(c) for c in dm.slopes}
    sym = [c for c in dm.slopes if symmetric(c) and np.isfinite(c.law_slope)]
    predicted = [c for c in sym if abs(c.slope - c.law_slope) <= SLOPE_AGREEMENT]
    h = {c: relative_signal(dm, c) for c in dm.slopes}
    holds = [c for c in dm.slopes if states[c] == HOLDS_CELL]
    beyond = [c for c in dm.slopes if states[c] in (SATURATES, STEEPER)]
    regions = []
    if holds:
        regions.append(Region(HOLDS, {"G_s/G_s*": (None, max(h[c] for c in holds))}))
    if beyond:
        regions.append(Region(DOES_NOT, {"G_s/G_s*": (min(h[c] for c in beyond), None)}))
    small = min(dm.grid.noise_groups)
    boundary = {m: pairs[0][1] for m, pairs in dm.boundary.items()}  # at the smallest G_n
    p = presets.get(dm.preset_name)
    place = sweep_place(p, p.sweep_nsnr2)
    grid = dm.grid
    lows = sorted(boundary.values())
    law_range = g(lows[0]) if g(lows[0]) == g(lows[-1]) else f"{g(lows[0])} to {g(lows[-1])}"
    counts = {state: sum(s == state for s in states.values()) for state in CELL_STATES}
    measured = {
        "over": (
            f"n = {grid.n}, d = {grid.d}, σ₀ = {grid.sigma0:g}, α = β, orthogonal noise patches of "
            f"one norm, balanced labels; m in {list(grid.widths)}; G_n in "
            f"{[float(f'{v:g}') for v in grid.noise_groups]}; n·SNR² in "
            f"{[float(f'{v:g}') for v in grid.nsnr2]}; the exact reduced flow (theory.predict)"
        ),
        "cells": counts,
        "asymmetric_cells": {
            st: sum(not symmetric(c) for c in dm.slopes if states[c] == st)
            for st in CELL_STATES
            if counts[st]
        },
        "holds_G_s": [
            min((c.G_s for c in holds), default=None),
            max((c.G_s for c in holds), default=None),
        ],
        "saturates_G_s": [
            min((c.G_s for c in beyond), default=None),
            max((c.G_s for c in beyond), default=None),
        ],
        "not_learned_G_s": [c.G_s for c in dm.slopes if states[c] == NOT_LEARNED],
        "law": {
            "symmetric_cells": len(sym),
            "predicted_within": SLOPE_AGREEMENT,
            "predicted_share": len(predicted) / len(sym) if sym else float("nan"),
            "confirmed": bool(sym) and len(predicted) >= LAW_AGREEMENT * len(sym),
            "boundary_at_smallest_noise_group": {str(m): v for m, v in boundary.items()},
            "first_order_boundary": {str(m): linear_boundary(m) for m in grid.widths},
        },
        "descent_check": [check_row(c) for c in dm.checks],
        "this_verdicts_sweep": place,
    }
    note = (
        f"[{dm.preset_name} preset: a {len(grid.noise_groups)} x {len(grid.nsnr2)} slice of the "
        f"map; the map is the full preset's] "
        if dm.preset_name != "full"
        else ""
    )
    short = (
        f"holds where G_s = (α/β)² n_j‖μ‖²/n is below the law's boundary G_s* ({law_range} for "
        f"m = {', '.join(map(str, boundary))} at G_n = {small:g}), not above it (the ratio "
        f"saturates); this sweep: G_n = {g(place['G_n'])}, G_s ≥ {g(place['G_s'][0])}"
    )
    return domain_record(d2domain.STUDY.name, GROUPS, regions, DOMAIN_RULE, measured, note, short)


GROUPS = {
    "G_s": "(α/β)² n_j‖μ‖²/n, the signal group: it sets the local slope",
    "G_n": "(α/β)² ‖ξ‖²/n, the noise group: it sets the level (G_s/G_n = n·SNR²/2)",
    "G_s/G_s*": "the signal group over the law's boundary at the cell's G_n and m (theory.law)",
}


def domain_figures(dm, out: Path) -> list[Figure]:
    return [fig_domain(dm, out)]


def _edges(values) -> np.ndarray:
    """Cell edges in log space around sorted grid values (geometric midpoints, half a step out)."""
    v = np.log(np.asarray(sorted(values), dtype=float))
    step = np.diff(v).mean() if len(v) > 1 else np.log(10.0)
    mid = (v[1:] + v[:-1]) / 2
    return np.exp(np.concatenate([[v[0] - step / 2], mid, [v[-1] + step / 2]]))


def fig_domain(dm, out: Path) -> Figure:
    """Top: the measured local slope of the stationary ratio against n·SNR² over the plane (n·SNR²,
    G_n), one panel per m, with the law's boundary (slope THETA_SLOPE[0]) drawn over it. Bottom: the
    stationary ratio against n·SNR² for each G_n, the law as lines, the flow as markers."""
    from matplotlib.patches import Rectangle

    path = out / "fig_d2_domain.png"
    grid = dm.grid
    widths = grid.widths
    cmap = colormaps["viridis"]
    norm_max = 1.5
    g_edges = _edges(grid.noise_groups)
    g_index = {g: i for i, g in enumerate(sorted(grid.noise_groups))}
    row_colors = {
        g: colormaps["plasma"](i / max(1, len(grid.noise_groups)))
        for i, g in enumerate(sorted(grid.noise_groups))
    }
    with figure(path, 2, len(widths), figsize=(5.2 * len(widths), 9.5), squeeze=False) as (
        fig,
        axes,
    ):
        for col, m in enumerate(widths):
            ax = axes[0, col]
            for c in (c for c in dm.slopes if c.m == m):
                a, b = c.ends[0].nsnr2, c.ends[1].nsnr2
                i = g_index[c.noise_group]
                lo, hi = g_edges[i], g_edges[i + 1]
                state = cell_state(c)
                color = (
                    "lightgray" if state == NO_POINT else cmap(min(c.slope, norm_max) / norm_max)
                )
                ax.add_patch(Rectangle((a, lo), b - a, hi - lo, facecolor=color, edgecolor="white"))
                label = "none" if state == NO_POINT else f"{c.slope:.2f}"
                if state == NOT_LEARNED:
                    label += "\nnot learned"
                if not symmetric(c) and state != NO_POINT:
                    label += "\nasym."
                x, y = math.sqrt(a * b), math.sqrt(lo * hi)
                ax.text(
                    x,
                    y,
                    label,
                    ha="center",
                    va="center",
                    fontsize=5.5,
                    color="white" if c.slope < 0.6 * norm_max else "black",
                )
            pairs = [(gn, gs) for gn, gs in dm.boundary[m] if np.isfinite(gs)]
            if pairs:
                gn, gs = np.array(pairs).T
                ax.plot(
                    2 * gs / gn,
                    gn,
                    "-",
                    color="red",
                    lw=2,
                    label=f"law: slope {THETA_SLOPE[0]:g} (G_s = G_s*(G_n))",
                )
            gn_line = np.geomspace(g_edges[0], g_edges[-1], 50)
            ax.plot(
                2 * linear_boundary(m) / gn_line,
                gn_line,
                "--",
                color="red",
                lw=1,
                label=f"first order: G_s = {linear_boundary(m):.2f}",
            )
            for chk in (c for c in dm.checks if c.m == m):
                ax.plot(chk.nsnr2, chk.noise_group, "o", mfc="none", mec="white", ms=10, mew=2)
            ax.plot([], [], "o", mfc="none", mec="k", label="gradient descent checks the flow")
            ax.set(
                xscale="log",
                yscale="log",
                xlim=(min(grid.nsnr2), max(grid.nsnr2)),
                ylim=(g_edges[0], g_edges[-1]),
                xlabel="n·SNR² (log)",
                ylabel="noise group G_n = (α/β)² ‖ξ‖²/n (log)",
            )
            ax.set_title(
                f"m = {m}: local slope of the stationary ratio vs n·SNR²\n"
                f"(Θ(n·SNR²): {THETA_SLOPE[0]:g} to {THETA_SLOPE[1]:g})",
                fontsize=9,
            )
            ax.legend(fontsize=6, loc="lower left")
            ax = axes[1, col]
            for gval in sorted(grid.noise_groups):
                pts = [dm.points[(m, gval, v)] for v in grid.nsnr2]
                x = [p.nsnr2 for p in pts]
                ax.plot(x, [p.law_ratio for p in pts], "-", color=row_colors[gval], lw=1)
                ax.plot(
                    x,
                    [p.ratio for p in pts],
                    "o",
                    mfc="none",
                    color=row_colors[gval],
                    label=f"G_n = {gval:g}",
                )
            x = np.array([min(grid.nsnr2), max(grid.nsnr2)])
            ax.plot(x, x / 2, ":", color="gray", label="G_s/G_n = n·SNR²/2 (the linear limit)")
            ax.set(
                xscale="log",
                yscale="log",
                xlabel="n·SNR² (log)",
                ylabel="stationary signal / noise (log)",
            )
            ax.set_title(f"m = {m}: the law (lines) and the reduced flow (markers)", fontsize=9)
            ax.legend(fontsize=6)
        fig.suptitle(
            f"D2's domain: n = {grid.n}, d = {grid.d}, σ₀ = {grid.sigma0:g}, α = β, orthogonal "
            f"noise "
            f"patches of one norm, balanced labels; two-point slopes between neighbouring n·SNR²",
            fontsize=9,
        )
    sym = [c for c in dm.slopes if symmetric(c) and np.isfinite(c.law_slope)]
    agree = sum(abs(c.slope - c.law_slope) <= SLOPE_AGREEMENT for c in sym)
    counts = {s: sum(cell_state(c) == s for c in dm.slopes) for s in CELL_STATES}
    return Figure(
        path.name,
        "slope cells: "
        + ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        + f"; the law predicts {agree} of {len(sym)} symmetric-branch cells",
    )


DOMAIN = DomainMap(d2domain.STUDY, domain, domain_figures)
