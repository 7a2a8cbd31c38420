"""D1, the paper's: diffusion's early growth is near-linear, at rates whose ratio is Θ(n·SNR²).

Read from the synthetic study (sims.studies.synthetic): the denoiser's growth-phase ratio against
the predicted initial rate ratio at every n·SNR² of the sweep, its log-log slope, and the linearity
index of both models' early growth. Figures (b), early growth against the predicted rates, and (c),
the ratio against n·SNR² with its local slopes.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from sims.models import Model
from sims.studies import synthetic
from sims.studies.claims.base import (
    IN_PART,
    OTHERWISE,
    PAPER,
    RATE_FACTOR,
    Entry,
    Figure,
    Spec,
    between,
    g,
    span,
    verdict as judge,
)
from sims.studies.figures import COLORS, GROWTH, figure, wrap
from sims.studies.measures import local_slopes, term
from sims.studies.presets import E1_NSNR2
from sims.studies.synthetic import (
    CLASSIFIER,
    DENOISER,
    Linear,
    LinearPredict,
    RatioRow,
    Synthetic,
)

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
    with figure(path, 1, 2, figsize=(11, 4.8)) as (fig, axes):
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
            ax.legend(fontsize=7)
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
    with figure(path, 2, 1, figsize=(8, 8.5)) as (fig, (ax, ax_s)):
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
