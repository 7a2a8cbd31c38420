"""D2, the paper's: diffusion reaches a stationary point where both features are learned, with
signal/noise ratio Θ(n·SNR²).

Read from the synthetic study (sims.studies.synthetic): the denoiser's final ratio over the n·SNR²
sweep (mean of the seeds) against the predicted stationary ratio, its log-log slope, the gains over
initialisation, and the same slope for other widths m and dimensions d. Figure (f), the stationary
ratio for several m and d.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps

from sims.studies import synthetic
from sims.studies.claims.base import (
    IN_PART,
    LEARNED_GAIN,
    OTHERWISE,
    PAPER,
    PART_SLOPE,
    THETA_SLOPE,
    Entry,
    Figure,
    Spec,
    between,
    g,
    span,
    verdict as judge,
)
from sims.studies.figures import figure
from sims.studies.synthetic import DENOISER, RatioRow, Synthetic

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
                    "converged_grad_norm": r.converged_grad_norm,
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
        f"stationary ratio at every n·SNR²."
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
    with figure(path, 1, 2, figsize=(11, 4.8)) as (fig, axes):
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
