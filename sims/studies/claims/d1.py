"""D1, the paper's: diffusion's early growth is near-linear, at rates whose ratio is Θ(n·SNR²).

Read from the synthetic study (sims.studies.synthetic): the denoiser's growth-phase ratio against
the predicted initial rate ratio at every n·SNR² of the sweep, its log-log slope, and the linearity
index of both models' early growth. Figures (b), early growth against the predicted rates, and (c),
the ratio against n·SNR² with its local slopes.

Where it holds (`DOMAIN`, the window map sims.studies.earlymap). Derived in theory.early: at leading
order in sigma0 the early phase has one shape at every sigma0 (only its clock ~ 1/sigma0 changes); a
summary rises linearly until the neuron's own growth, driven by the sum of all patches, bends it,
and the linearity index over D1's window is 1 + O(Lambda^2) in the window group Lambda (~ sqrt(n /
d) at a typical draw), whatever sigma0; sigma0 enters through I0 = sigma0^2 d / G_rr*, when the
loss's higher-order terms bend the growth down. The domain rule (`DOMAIN_RULE`) and the map's design
(presets.EarlyGrid's full grid: n = 20, m = 4, n·SNR² = 0.75, d from 50 to 150 000, I0 from 1e-5 to
1; a second path at n·SNR² = 0.1, d from 50 to 50 000, I0 = 1e-4; WINDOW_STEPS and RUN_FACTOR of
earlymap) were fixed and committed before any cell of the map was run. Seen before: the linearity
index of descent at n = 20, d = 2000, m = 4, n·SNR² = 0.75, seed 1 (auto eta, logged every step):
sigma0 = 0.01 (I0 ~ 0.15): signal 1.26, noise 0.77; sigma0 = 1e-3: 1.43, 1.42; sigma0 = 1e-4:
1.42, 1.42 (the synthetic study's D1 cell, sigma0 = 1e-3 on another seed, reads 1.11 in the quick
preset and 1.18 in the full one); at sigma0 = 1e-4 the leading-order flow from the same start
gave 1.4255 and 1.4228 against descent's 1.4250 and 1.4223, its summaries within 1e-4 of descent's
at the window's end, and the closed form at s0 = 0 from the run's window groups (0.108, 0.119) gave
1.39. Also seen, to size the runs: the steps each cell of the grid would take (1000 to 21 419).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import matplotlib
import numpy as np
from scipy import optimize

from sims.models import Model
from sims.studies import earlymap, synthetic
from sims.studies.claims.base import (
    AGREEMENT,
    DOES_NOT,
    HOLDS,
    IN_PART,
    OTHERWISE,
    PAPER,
    RATE_FACTOR,
    DomainMap,
    Entry,
    Figure,
    Region,
    Spec,
    between,
    domain_record,
    g,
    reach,
    span,
    verdict as judge,
)
from sims.studies.figures import COLORS, GROWTH, figure, settings_of, study_settings, wrap
from sims.studies.measures import LINEAR_GROWTH, local_slopes, term
from sims.studies.presets import E1_NSNR2
from sims.studies.synthetic import (
    CLASSIFIER,
    DENOISER,
    Linear,
    LinearPredict,
    RatioRow,
    Synthetic,
)
from theory import early

SLOPE = (0.8, 1.2)  # log-log slope of the growth-phase ratio read as Θ(n SNR^2)
LINEAR_INDEX = 1.5  # linearity index below this: near-linear growth

SPEC = Spec(
    id="D1",
    claim="Diffusion, early phase: signal and noise learning grow roughly linearly, at rates whose "
    "ratio "
    "is Θ(n·SNR²).",
    short="diffusion's early growth: near-linear, rate ratio Θ(n·SNR²)",
    rule=(
        f"holds if (i) the measured growth-phase ratio is within a factor {RATE_FACTOR:g} of the "
        f"predicted initial rate ratio in every setting, (ii) its log-log slope against n·SNR² is "
        f"in "
        f"[{SLOPE[0]:g}, {SLOPE[1]:g}] (Θ(n·SNR²)), and (iii) the diffusion growth is near-linear "
        f"(linearity index < {LINEAR_INDEX:g}) while classification's is larger; '{IN_PART}' if "
        f"(ii) "
        f"holds but (i) or (iii) fails; {OTHERWISE}"
    ),
    origin=PAPER,
)
STUDY = synthetic.STUDY


def judged(rows: list[RatioRow], slope: float, linearity: dict) -> Entry:
    """The rule on the denoiser's rows of the ratio table, the growth-phase ratio's log-log slope,
    and each model's linearity index (model name -> Linearity)."""
    factors = [
        r.growth_ratio / r.predicted.growth_ratio
        for r in rows
        if r.predicted.growth_ratio and np.isfinite(r.growth_ratio)
    ]
    within = bool(factors) and all(1 / RATE_FACTOR <= f <= RATE_FACTOR for f in factors)
    lin_d, lin_c = linearity[DENOISER.name].index, linearity[CLASSIFIER.name].index
    slope_ok = between(slope, SLOPE)
    linear = lin_d < LINEAR_INDEX and lin_c > lin_d
    return SPEC.entry(
        judge(within and slope_ok and linear, slope_ok),
        {
            "growth_ratio_slope": slope,
            "measured_over_predicted_growth_ratio": {
                "min": min(factors, default=float("nan")),
                "max": max(factors, default=float("nan")),
            },
            "linearity_index": linearity,
            "per_nsnr2": [
                {
                    "nsnr2": r.nsnr2,
                    "growth_ratio": r.growth_ratio,
                    "predicted_growth_ratio": r.predicted.growth_ratio,
                }
                for r in rows
            ],
        },
    )


def verdict(s: Synthetic) -> Entry:
    return judged(s.rows[DENOISER.name], s.slopes["diffusion_growth"], s.linearity)


def paragraph(e: dict) -> str:
    m = e["measured"]
    lin, fac = m["linearity_index"], m["measured_over_predicted_growth_ratio"]
    return (
        f"Diffusion's growth-phase ratio over the predicted initial rate ratio n_j‖μ‖²/‖ξ_i‖² is "
        f"{span([fac['min'], fac['max']])}, with log-log slope {g(m['growth_ratio_slope'])} "
        f"against "
        f"n·SNR²; the linearity index of the early growth is {g(lin[DENOISER.name]['index'])} for "
        f"diffusion and {g(lin[CLASSIFIER.name]['index'])} for classification (near-linear below "
        f"{LINEAR_INDEX:g})."
    )


def figures(s: Synthetic, out: Path) -> list[Figure]:
    return [fig_early_growth(s, out), fig_ratio(s, out)]


def fig_early_growth(s: Synthetic, out: Path) -> Figure:
    """(b) early growth: near-linear (diffusion) against exponential (classification), with the
    predicted rates."""
    path = out / "fig_early_growth.png"
    lin = s.linearity
    steps = ", ".join(f"{m.name} {lin[m.name].window_step}" for m in synthetic.PAPER_PAIR)
    cfg = s.cells[Linear(synthetic.PAPER_PAIR[0].name)][1]
    settings = settings_of(cfg) + f"; steps drawn (the early window): {steps}"
    with figure(path, 1, 2, figsize=(11, 4.8), settings=settings) as (fig, axes):
        for ax, model in zip(axes, synthetic.PAPER_PAIR):
            res = s.results[Linear(model.name)]
            if not res.finished:
                continue
            reading = model.theory.read(s.results[LinearPredict(model.name)].summary)
            t, eta = res.trace, res.run.eta
            k = lin[model.name].window_step
            steps = t.steps[: k + 1]
            tau = eta * steps
            every = max(1, len(steps) // 40)
            curve, label = GROWTH[model.look.growth]
            for q in ("signal", "noise"):
                values = getattr(t, f"{q}_max")
                ax.plot(
                    steps[::every],
                    values[: k + 1][::every],
                    "o",
                    ms=4,
                    mfc="none",
                    color=COLORS[q],
                    label=f"{q} = {getattr(model.look, q)}: gradient descent",
                )
                rate = getattr(reading.early_rates, q)
                ax.plot(
                    steps,
                    curve(values[0], rate, tau),
                    "-",
                    color=COLORS[q],
                    label=f"{q}: " + label.format(rate=rate),
                )
            cfg = s.cells[Linear(model.name)][1]
            ax.set_title(
                f"{model.name}, n·SNR² = {E1_NSNR2[0]}, σ₀ = {cfg.sigma0:g}, seed 0: linearity "
                f"index "
                f"{lin[model.name].index:.2f}",
                fontsize=9,
            )
            ax.set_xlabel(f"iteration (τ = η·iteration, η = {eta:.3g})")
            ax.set_ylabel("alignment" + (" (log scale)" if model.look.log_axis else ""))
            if model.look.log_axis:
                ax.set_yscale("log")
            ax.legend(fontsize=7, loc="upper left")  # a fixed place: "best" moved between runs
        fig.suptitle(wrap("Linearity index: " + term("linearity index") + "."), fontsize=8)
    return Figure(
        path.name,
        "; ".join(
            f"{m.name}: linearity index {lin[m.name].index:.2f}" for m in synthetic.PAPER_PAIR
        ),
    )


CLAIM_SLOPES = {
    "diffusion_growth": "D1",
    "diffusion_final": "D2",
}  # the whole-sweep fits claims read


class _Series(NamedTuple):
    """One curve of fig_ratio: a model's measured ratio (a RatioRow field) and its prediction."""

    model: Model
    key: str  # the RatioRow field drawn
    predicted: str  # the field of the model's reading drawn as its theory
    color: str
    marker: str
    label: str
    detail: str  # after the label in the upper panel
    theory: str  # the theory line's label
    theory_style: str
    slope: str  # its key in Synthetic.slopes


def fig_ratio(s: Synthetic, out: Path) -> Figure:
    """(c) signal/noise ratio against n SNR^2 (diffusion growth phase and stationary, classification
    end) with the seeds' spread and the theory; below, the local log-log slopes (the claims read one
    fit over the sweep)."""
    path = out / "fig_ratio.png"
    rows, slopes, reps = s.rows, s.slopes, s.preset.replicates
    x = np.array([r.nsnr2 for r in rows[DENOISER.name]])
    series = [
        _Series(
            DENOISER,
            "growth_ratio",
            "growth_ratio",
            "tab:green",
            "s",
            f"{DENOISER.name}, growth phase",
            " (seed 0)",
            f"{DENOISER.name}: predicted initial rate ratio (seed 0)",
            "-",
            "diffusion_growth",
        ),
        _Series(
            DENOISER,
            "final_ratio",
            "stationary_ratio",
            DENOISER.look.color,
            "o",
            f"{DENOISER.name}, end",
            f" (mean of {reps} seeds, bars: min-max)",
            f"{DENOISER.name}: predicted stationary ratio (seed 0)",
            "-",
            "diffusion_final",
        ),
        _Series(
            CLASSIFIER,
            "final_ratio",
            "rate_ratio",
            CLASSIFIER.look.color,
            "^",
            f"{CLASSIFIER.name}, end",
            f" (mean of {reps} seeds, bars: min-max)",
            f"{CLASSIFIER.name}: predicted ratio of the exponential rates λ_s/λ_n, seed 0 (the "
            f"theory "
            "predicts the rates and the winner, not the final ratio)",
            "--",
            "classification_final",
        ),
    ]
    local = {}
    with figure(
        path,
        2,
        1,
        figsize=(8, 8.8),
        settings=study_settings(s.preset),
    ) as (fig, (ax, ax_s)):
        for c in series:
            model_rows = rows[c.model.name]
            y = np.array([getattr(r, c.key) for r in model_rows], dtype=float)
            label = c.label + c.detail
            if c.key == "final_ratio":
                lo = np.array([r.final_ratio_min for r in model_rows], dtype=float)
                hi = np.array([r.final_ratio_max for r in model_rows], dtype=float)
                ax.errorbar(
                    x,
                    y,
                    yerr=[y - lo, hi - y],
                    fmt=c.marker,
                    color=c.color,
                    mfc="none",
                    ms=7,
                    capsize=2,
                    label=label,
                )
            else:
                ax.plot(x, y, c.marker, color=c.color, mfc="none", ms=7, label=label)
            predicted = [getattr(r.predicted, c.predicted) for r in model_rows]
            yp = np.array([np.nan if v is None else v for v in predicted], dtype=float)
            ax.plot(x, yp, c.theory_style, color=c.color, lw=1.2, label=wrap(c.theory, 70))
            mid, sl = local_slopes(x, y)
            local[c.slope] = sl
            fit = (
                f" (one fit over the sweep: {slopes[c.slope]:.2f})"
                if c.slope in CLAIM_SLOPES
                else ""
            )
            ax_s.plot(
                mid, sl, c.marker + "-", color=c.color, mfc="none", ms=6, lw=1, label=c.label + fit
            )
        ref = x / x[0] * rows[DENOISER.name][0].growth_ratio
        ax.plot(x, ref, ":", color="gray", label="Θ(n·SNR²) reference, slope 1")
        b = rows[CLASSIFIER.name][0].predicted.boundary_nsnr2
        if b is not None and np.isfinite(b):
            for a in (ax, ax_s):
                a.axvline(
                    b,
                    color="tab:orange",
                    ls="-.",
                    lw=1,
                    label=f"predicted classification boundary n·SNR² = {b:.3g}"
                    if a is ax
                    else None,
                )
        ax.axhline(1.0, color="k", lw=0.5)
        ax.set_yscale("log")
        ax.set_ylabel("signal / noise learning (log scale)")
        p = s.preset
        ax.set_title(f"Signal/noise ratio (n={p.n}, d={p.d}, m={p.m})", fontsize=9)
        ax.legend(fontsize=6.5)
        ax_s.axhline(1.0, color="gray", ls=":", lw=1, label="slope 1: Θ(n·SNR²)")
        ax_s.axhline(0.0, color="k", lw=0.5)
        ax_s.set_ylabel("local log-log slope\n(between neighbouring points)")
        ax_s.set_title(
            "Local slope of each measured curve: one straight-line fit hides a curve that levels "
            "off",
            fontsize=9,
        )
        ax_s.legend(fontsize=6.5)
        for a in (ax, ax_s):
            a.set_xscale("log")
            a.set_xlabel("n·SNR² (log scale)")
    spans = ", ".join(
        f"{k} {np.nanmin(v):.2f} to {np.nanmax(v):.2f}" for k, v in local.items() if len(v)
    )
    fits = ", ".join(f"{k} slope {slopes[k]:.2f}" for k in CLAIM_SLOPES)
    return Figure(
        path.name,
        f"{fits} (one fit over the sweep, read by {', '.join(CLAIM_SLOPES.values())}); "
        f"local slopes: {spans}",
    )


# ----------------------------------------------------------------------------- where D1 holds
NEAR_LINEAR = (1 / LINEAR_INDEX, LINEAR_INDEX)  # the map's near-linear band of the linearity index
LEADING_I0 = 1e-3  # at and below this I0 the leading-order flow should decide each cell
DOMAIN_FIGURE = "fig_d1_domain.png"
GROUPS = {
    "Λ": "the window group a0 ‖Σ‖ / (‖w(0)‖ ⟨Σ, z⟩) of the faster headline feature (Σ the sum of "
    "all patches, theory.early), at a typical draw κ_m ((n + n·n·SNR²/2) / (d max(1, n·n·SNR²/4)))"
    "^(1/2), κ_m = E max of m standard normals",
    "I0": "σ₀²d / G_rr*, the initial filters' squared norm over the stationary one of the law "
    "(theory.law)",
}
DOMAIN_RULE = (
    f"a cell of the window map holds if a feature grows {LINEAR_GROWTH:g} times within the run, "
    f"the linearity index over that window is in [{NEAR_LINEAR[0]:g}, {NEAR_LINEAR[1]:g}] (D1's "
    f"near-linear threshold, on both sides: an index below its inverse is growth that bends down), "
    f"and signal's rise over noise's rise over the window is within a factor {RATE_FACTOR:g} of "
    f"the exact initial rate ratio. The derived bound Λ* is the typical Λ at which the closed-form "
    f"index (theory.early.linearity_index, s0 = 0) reaches {NEAR_LINEAR[1]:g}. Regions, in the "
    f"typical Λ of each d and the I0 of the grid, on the path that sweeps I0: I0_hold is the "
    f"largest I0 up to which every cell with Λ <= Λ* holds, Λ_hold the largest Λ up to which every "
    f"cell with I0 <= I0_hold holds ('{HOLDS}' where Λ <= Λ_hold and I0 <= I0_hold); Λ_fail the "
    f"smallest Λ from which every cell with I0 <= I0_hold fails, I0_fail the smallest I0 from "
    f"which every cell fails ('{DOES_NOT}' there); the grid values between are '{IN_PART}' "
    f"(mixed). A cell whose signal or noise summary starts at or below 0 is left out (its window "
    f"is not defined). The derivation agrees with the map if Λ_hold <= Λ* <= Λ_fail (where they "
    f"exist) and, at I0 <= {LEADING_I0:g}, the leading-order flow's index and descent's fall on "
    f"the same side of the band in >= {AGREEMENT:.0%} of the cells."
)


def near_linear(index: float) -> bool:
    return bool(NEAR_LINEAR[0] <= index <= NEAR_LINEAR[1])


def cell_holds(c) -> bool:
    """The domain rule on one cell (earlymap.Growth)."""
    ratio = c.rise_ratio / c.rate_ratio if c.rate_ratio else float("nan")
    return bool(c.reached and near_linear(c.index) and 1 / RATE_FACTOR <= ratio <= RATE_FACTOR)


def derived_bound(n: int, m: int, nsnr2: float) -> float:
    """Λ*: the typical window group at which the closed-form index reaches NEAR_LINEAR[1] (the
    typical groups of both features scale together as 1/sqrt(d))."""
    unit = early.typical_window_groups(n, 1, m, nsnr2)
    lams = np.array([unit.signal, unit.noise])

    def gap(log_u):
        return early.linearity_index(math.exp(log_u) * lams, LINEAR_GROWTH)[1] - NEAR_LINEAR[1]

    log_u = optimize.brentq(gap, math.log(1e-4 / lams.min()), math.log(1.0 / lams.min()))
    return float(math.exp(log_u) * lams.min())


def domain_judged(cells: list, main: float, n: int, m: int, note: str = "") -> dict:
    """The domain rule on the window map's cells (earlymap.Growth); `main` is the n·SNR² of the
    path that sweeps I0."""
    left_out = [c for c in cells if not c.starts_positive]
    cells = [c for c in cells if c.starts_positive]
    holds = {id(c): cell_holds(c) for c in cells}
    path = [c for c in cells if c.nsnr2 == main]
    lam_star = derived_bound(n, m, main)
    i0s = sorted({c.i0_target for c in path})
    lams = sorted({c.typical_group for c in path})

    def every(pick, want):
        chosen = [c for c in path if pick(c)]
        return bool(chosen) and all(holds[id(c)] == want for c in chosen)

    i0_hold = reach(
        i0s, lambda v: every(lambda c: c.i0_target <= v and c.typical_group <= lam_star, True)
    )
    cap = i0_hold if i0_hold is not None else -math.inf
    lam_hold = reach(
        lams, lambda v: every(lambda c: c.typical_group <= v and c.i0_target <= cap, True)
    )
    lam_fail = reach(
        lams[::-1], lambda v: every(lambda c: c.typical_group >= v and c.i0_target <= cap, False)
    )
    i0_fail = reach(i0s[::-1], lambda v: every(lambda c: c.i0_target >= v, False))
    regions = []
    if i0_hold is not None and lam_hold is not None:
        regions.append(Region(HOLDS, {"Λ": (None, lam_hold), "I0": (None, i0_hold)}))
    between = [
        v for v in lams if (lam_hold is None or v > lam_hold) and (lam_fail is None or v < lam_fail)
    ]
    if i0_hold is not None and between:
        regions.append(Region(IN_PART, {"Λ": (between[0], between[-1]), "I0": (None, i0_hold)}))
    if i0_hold is not None and lam_fail is not None:
        regions.append(Region(DOES_NOT, {"Λ": (lam_fail, None), "I0": (None, i0_hold)}))
    mixed = [
        v for v in i0s if (i0_hold is None or v > i0_hold) and (i0_fail is None or v < i0_fail)
    ]
    if mixed:
        regions.append(Region(IN_PART, {"I0": (mixed[0], mixed[-1])}))
    if i0_fail is not None:
        regions.append(Region(DOES_NOT, {"I0": (i0_fail, None)}))
    small = [c for c in cells if c.i0_target <= LEADING_I0 and np.isfinite(c.leading_index)]
    same = sum(near_linear(c.leading_index) == (c.reached and near_linear(c.index)) for c in small)
    others = sorted({c.nsnr2 for c in cells} - {main})
    other_paths = {}
    for v in others:
        bound = derived_bound(n, m, v)
        along = [c for c in cells if c.nsnr2 == v]
        other_paths[v] = {
            "derived_bound": bound,
            "agree": sum(holds[id(c)] == (c.typical_group <= bound) for c in along),
            "cells": len(along),
        }
    agrees = (
        (lam_hold is None or lam_hold <= lam_star)
        and (lam_fail is None or lam_fail >= lam_star)
        and bool(small)
        and same >= AGREEMENT * len(small)
    )
    measured = {
        "main_nsnr2": main,
        "derived_bound": lam_star,
        "bounds": {"Λ_hold": lam_hold, "Λ_fail": lam_fail, "I0_hold": i0_hold, "I0_fail": i0_fail},
        "leading_order_agreement": {"agree": int(same), "cells": len(small)},
        "other_paths": other_paths,
        "derivation_agrees": bool(agrees),
        "left_out": [{"nsnr2": c.nsnr2, "d": c.d, "I0": c.i0_target} for c in left_out],
        "cells": [
            {
                "nsnr2": c.nsnr2,
                "d": c.d,
                "I0": c.i0,
                "Λ": c.window_group,
                "Λ_typical": c.typical_group,
                "index": c.index,
                "leading_index": c.leading_index,
                "closed_index": c.closed_index,
                "rise_over_rate_ratio": c.rise_ratio / c.rate_ratio if c.rate_ratio else None,
                "reached": c.reached,
                "holds": holds[id(c)],
            }
            for c in cells
        ],
    }
    return domain_record(earlymap.STUDY.name, GROUPS, regions, DOMAIN_RULE, measured, note)


def domain(wm) -> dict:
    grid = wm.grid
    main = grid.paths[0][0]
    note = (
        ""
        if wm.preset_name == "full"
        else f"[{wm.preset_name} preset: {len(wm.cells)} cells of the window map, to exercise its "
        f"code; the map is the full preset's] "
    )
    return domain_judged(wm.cells, main, grid.n, grid.m, note)


def domain_figures(wm, out: Path) -> list[Figure]:
    """Left: the linearity index against the run's window group Λ (markers: descent, coloured by
    I0; lines: the closed form at s0 = 0 for each path's typical Λ_slow / Λ_fast). Right: the (Λ,
    I0) plane, each cell held or not, with the derived bound Λ* and the map's bounds."""
    path = Path(out) / DOMAIN_FIGURE
    record = domain(wm)
    b = record["measured"]["bounds"]
    lam_star = record["measured"]["derived_bound"]
    grid = wm.grid
    cmap = matplotlib.colormaps["viridis"]
    i0s = sorted({c.i0_target for c in wm.cells})
    colour = {v: cmap(i / max(len(i0s) - 1, 1)) for i, v in enumerate(i0s)}
    markers = {p[0]: mk for p, mk in zip(grid.paths, ("o", "s", "^", "D"))}
    with figure(path, 1, 2, figsize=(13, 5.2)) as (fig, (ax, ax2)):
        for nsnr2, _, _ in grid.paths:
            unit = early.typical_window_groups(grid.n, 1, grid.m, nsnr2)
            lams = np.array([unit.signal, unit.noise])
            us = np.geomspace(3e-3, 1.2, 80) / lams.min()
            index = [early.linearity_index(u * lams, LINEAR_GROWTH)[1] for u in us]
            ax.plot(
                us * lams.min(),
                index,
                "-",
                color="k" if nsnr2 == grid.paths[0][0] else "gray",
                lw=1.2,
                label=f"theory (leading order, closed form), n·SNR² = {nsnr2:g}",
            )
        for c in wm.cells:
            ax.plot(
                c.window_group,
                c.index,
                markers[c.nsnr2],
                color=colour[c.i0_target],
                mfc=colour[c.i0_target] if cell_holds(c) else "none",
                ms=6,
            )
        for v in i0s:
            ax.plot([], [], "o", color=colour[v], label=f"descent, I0 = {v:g}")
        if grid.paths[1:]:
            others = ", ".join(f"{p[0]:g}" for p in grid.paths[1:])
            ax.plot([], [], "s", color="gray", mfc="none", label=f"other path (n·SNR² = {others})")
        for y in NEAR_LINEAR:
            ax.axhline(y, color="gray", ls=":", lw=1)
        ax.axvline(
            lam_star, color="tab:red", ls="--", lw=1, label=f"derived bound Λ* = {lam_star:.3g}"
        )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="window group Λ of the run (log)",
            ylabel="linearity index (log); band: near-linear",
            title="Linearity index over D1's window: descent (markers; filled: the cell holds)\n"
            "and the leading-order closed form (lines)",
        )
        ax.legend(fontsize=6.5)
        main = [c for c in wm.cells if c.nsnr2 == grid.paths[0][0]]
        for c in main:
            ok = cell_holds(c)
            ax2.plot(
                c.typical_group,
                c.i0_target,
                "o" if ok else "x",
                color="tab:green" if ok else "tab:red",
                ms=8,
                mfc="none",
            )
        ax2.plot([], [], "o", color="tab:green", mfc="none", label="holds (descent)")
        ax2.plot([], [], "x", color="tab:red", label="does not hold (descent)")
        ax2.axvline(lam_star, color="tab:red", ls="--", lw=1, label="derived bound Λ* (theory)")
        if b["I0_hold"] is not None:
            ax2.axhline(
                b["I0_hold"], color="tab:green", ls=":", lw=1, label=f"I0_hold = {b['I0_hold']:g}"
            )
        if b["I0_fail"] is not None:
            ax2.axhline(
                b["I0_fail"], color="tab:red", ls=":", lw=1, label=f"I0_fail = {b['I0_fail']:g}"
            )
        ax2.set_ylim(min(i0s) / 3, max(i0s) * 3)  # one I0 (a slice) would give an empty range
        ax2.set(
            xscale="log",
            yscale="log",
            xlabel="typical window group Λ of the setting (log; d varies)",
            ylabel="I0 = σ₀²d / G_rr* (log; σ₀ varies)",
            title=wrap(f"Where D1 holds, n·SNR² = {grid.paths[0][0]:g}: " + record["short"], 62),
        )
        ax2.legend(fontsize=6.5)
        fig.suptitle(
            f"Diffusion's early growth, n = {grid.n}, m = {grid.m}, σ_ξ = 1, α = β = 1/√2, "
            f"default (projected) noise, one seed per (n·SNR², d); η puts "
            f"{earlymap.WINDOW_STEPS:g} steps in a typical window, {earlymap.RUN_FACTOR:g} windows "
            "per run; σ₀ from I0",
            fontsize=8,
        )
    return [Figure(DOMAIN_FIGURE, record["text"])]


DOMAIN = DomainMap(earlymap.STUDY, domain, domain_figures)
