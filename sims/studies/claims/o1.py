"""O1, the project's: does any diffusion objective or schedule make the stationary ratio Θ(n·SNR²)?

The paper leaves the objective open; these questions (O1, O2, A1) were phrased as claims and given
rules before their numbers were seen. Design, fixed with the rules:
- O1, O2: objectives eps, x0, v, velocity x schedules single, ddpm-linear, cosine (T = 10 times,
  sims.schedules.DEFAULT_NUM_TIMES); the single time is the default alpha = beta = 1/sqrt 2, and
  alpha = beta = 1/2 for velocity (the point of its linear path with the same alpha/beta). The
  preset's n, d, m, sigma0, n·SNR² sweep and seeds. The stationary point of each run is that of the
  alignment ODE (theory.ode: the exact gradient flow of the exact loss in exact reduced coordinates)
  run to ||grad L|| < 1e-10 or tau = 1e7 eta, as theory.predict does; gradient descent is checked
  against it on one cell per objective. The early rate ratio (the exact d/dtau at tau = 0 of the two
  summaries) is reported beside it, in no rule. O2 compares with the plain classifier's rows of the
  same sweep.
- A1 (sims.studies.claims.a1): the augmented classifier beside the plain one.
Amended after the rules, before the studies ran (found while timing single cells; commit "Research
rules: magnitudes, ..."): (1) every series reads magnitudes, signal = mean_j max_r |<w_r, mu_j>| and
noise = mean_i max_r |<w_r, xi_i>|: v and velocity learn negative alignments (their targets' x0
coefficient is -beta or -1) and the patches that x0, v and velocity memorise have alignments of
either sign, which the signed summary of sims.models reads as not learned (for eps every stationary
alignment is positive). (2) The full preset of these studies uses the quick preset's model (n = 20,
d = 2000, m = 4, sigma0 = 0.01), its n·SNR² sweep (15 values from 0.05 to 50) and 3 seeds, and every
row (all objectives, the plain and the augmented classifier) of one n·SNR² and seed shares its data
and initial weights; the plain classifier's rows of O2 and A1 are these paired runs (the paper's
study uses a larger model in its full preset). Reason: cost, the 10-time schedules cost 10 single
times per gradient. (3) The gradient-descent check runs to ||grad L|| < 1e-8 (at most 200 000 steps)
at n·SNR² = 0.75, one seed, single time, each objective. Seen before these rules were written: in
checking the step size, the x0 objective's stationary point at the default setting (seed 0) at
n·SNR² = 0.75 (ratio 0.0011, signal not learned) and 7.5 (both learned); nothing else of these
studies.

Inputs are rows aggregated over seeds (research.Mean), one per n·SNR² of the sweep: the final
signal/noise ratio and the signal and noise gains (final summary alignment over its value at
initialisation), geometric means over seeds. A feature is learned when its gain exceeds
LEARNED_GAIN; a row's `outcome` is "both", "signal", "noise" or "neither" (which are learned).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.studies import objectives
from sims.studies.claims.base import (
    BOTH_LEARNED_RATIO,
    DOES_NOT,
    HOLDS,
    IN_PART,
    LEARNED_GAIN,
    OTHERWISE,
    PART_SLOPE,
    PROJECT,
    THETA_SLOPE,
    Entry,
    Figure,
    Spec,
    both_learned,
    g,
    largest,
    outcome,
    span,
)
from sims.studies.figures import figure
from sims.studies.measures import loglog_slope
from sims.studies.objectives import Objectives

COLORS = {"eps": "tab:green", "x0": "tab:purple", "v": "tab:orange", "velocity": "tab:brown"}
STYLES = {"single": "-", "ddpm-linear": "--", "cosine": ":"}
BOTH = (
    f"both features learned (each final alignment > {LEARNED_GAIN:g}x its initial value, ratio "
    f"between "
    f"{BOTH_LEARNED_RATIO[0]:g} and {BOTH_LEARNED_RATIO[1]:g})"
)

SPEC = Spec(
    id="O1",
    claim="Some diffusion objective (eps, x0, v, velocity) or schedule (single time, DDPM linear, "
    "cosine) "
    "makes the stationary signal/noise ratio Θ(n·SNR²), with both features learned.",
    short="another diffusion objective or schedule makes the stationary ratio Θ(n·SNR²)",
    rule=(
        f"for each objective and schedule, the log-log slope of the stationary ratio against "
        f"n·SNR² over "
        f"the sweep; holds if some series has its slope in [{THETA_SLOPE[0]:g}, "
        f"{THETA_SLOPE[1]:g}] and "
        f"{BOTH} at every n·SNR²; '{IN_PART}' if some series has both features learned (as above) "
        f"at "
        f"every n·SNR² and its slope in [{PART_SLOPE[0]:g}, {THETA_SLOPE[0]:g}) or "
        f"({THETA_SLOPE[1]:g}, "
        f"{PART_SLOPE[1]:g}]; {OTHERWISE}"
    ),
    origin=PROJECT,
)
STUDY = objectives.STUDY


def judged(series: dict) -> Entry:
    """The rule on series = {(objective, schedule): [row per n·SNR² (nsnr2, ratio, signal_gain,
    noise_gain)]}."""
    measured = {}
    for (objective, schedule), rows in series.items():
        measured[f"{objective}/{schedule}"] = {
            "slope": loglog_slope([r.nsnr2 for r in rows], [r.ratio for r in rows]),
            "both_learned_everywhere": all(both_learned(r) for r in rows),
            "ratio_range": [min(r.ratio for r in rows), max(r.ratio for r in rows)],
            "outcomes": {r.nsnr2: outcome(r) for r in rows},
        }
    theta = [
        k
        for k, v in measured.items()
        if v["both_learned_everywhere"] and THETA_SLOPE[0] <= v["slope"] <= THETA_SLOPE[1]
    ]
    part = [
        k
        for k, v in measured.items()
        if v["both_learned_everywhere"]
        and k not in theta
        and PART_SLOPE[0] <= v["slope"] <= PART_SLOPE[1]
    ]
    verdict = HOLDS if theta else IN_PART if part else DOES_NOT
    return SPEC.entry(
        verdict, {"theta_series": theta, "growing_series": part, "per_series": measured}
    )


def verdict(m: Objectives) -> Entry:
    entry = judged(m.series)
    entry.measured["early_rate_ratio"] = {
        f"{o}/{s}": {
            "slope": loglog_slope(
                [r.nsnr2 for r in rows], [r.value("initial_rate_ratio") for r in rows]
            ),
            "values": {r.nsnr2: r.value("initial_rate_ratio") for r in rows},
        }
        for (o, s), rows in m.series.items()
    }
    entry.measured["descent_check"] = m.check
    return SPEC.entry(entry.verdict, entry.measured, note=m.note)


def _learned_from(outcomes: dict):
    """(largest n·SNR² with one feature only, smallest n·SNR² from which both are learned at every
    larger one)."""
    points = sorted((float(x), o) for x, o in outcomes.items())
    alone = [x for x, o in points if o in ("signal", "noise")]
    both = [x for i, (x, _) in enumerate(points) if all(o == "both" for _, o in points[i:])]
    return (max(alone) if alone else None), (min(both) if both else None)


def paragraph(e: dict) -> str:
    m = e["measured"]
    groups: dict = {}
    for name, v in m["per_series"].items():
        objective, schedule = name.split("/")
        groups.setdefault(objective, []).append((schedule, v))
    parts = []
    for objective, series in groups.items():
        slopes = ", ".join(f"{s} {g(v['slope'])}" for s, v in series)
        ratios = span(x for _, v in series for x in v["ratio_range"])
        if all(v["both_learned_everywhere"] for _, v in series):
            parts.append(
                f"{objective}: slopes {slopes}, both features learned everywhere, ratio {ratios}"
            )
        else:
            edges = [_learned_from(v["outcomes"]) for _, v in series]
            parts.append(
                f"{objective}: slopes {slopes}, one feature alone up to n·SNR² = "
                f"{span(a for a, _ in edges)} and both from {span(b for _, b in edges)}, ratio "
                f"{ratios}"
            )
    gaps = [c["relative_gap"] for c in m["descent_check"].values() if "relative_gap" in c]
    early = ", ".join(
        f"{k.split('/')[1]} {g(v['slope'])}"
        for k, v in m["early_rate_ratio"].items()
        if k.startswith("eps/")
    )
    return (
        "Log-log slope of the stationary ratio against n·SNR²: "
        + "; ".join(parts)
        + f". Gradient descent ends at the ODE's stationary point (relative gap in the ratio "
        f"{largest(gaps)} for every objective). eps keeps D1's early rate ratio (log-log "
        f"slope "
        f"{early})."
    )


def figures(m: Objectives, out: Path) -> list[Figure]:
    return [fig_objectives(m, out)]


def fig_objectives(m: Objectives, out: Path) -> Figure:
    """(a) stationary ratio against n·SNR² per objective and schedule (ODE: lines, and a dot at the
    check's setting; gradient descent there: circles), with the plain classifier; (b) signal and
    noise gains of the single-time series; (c) early rate ratio."""
    path = out / "fig_objectives.png"
    size, series, classifier, check = m.size, m.series, m.classifier, m.check
    with figure(path, 1, 3, figsize=(16, 4.8)) as (fig, axes):
        ax = axes[0]
        for (o, s), rows in series.items():
            ax.plot(
                [r.nsnr2 for r in rows],
                [r.ratio for r in rows],
                STYLES[s],
                color=COLORS[o],
                label=f"{o}, {s} (stationary point)",
            )
        x = [r.nsnr2 for r in classifier]
        ax.plot(
            x,
            [r.ratio for r in classifier],
            "s",
            color="gray",
            mfc="none",
            label="classifier (descent)",
        )
        for o, c in check.items():
            if "stationary_ratio" in c:
                ax.plot([size.check_nsnr2], [c["stationary_ratio"]], ".", color=COLORS[o])
            if "descent_ratio" in c:
                ax.plot(
                    [size.check_nsnr2], [c["descent_ratio"]], "o", color=COLORS[o], mfc="none", ms=9
                )
        ref = np.array([min(x), max(x)])
        ax.plot(ref, ref, color="lightgray", lw=1, label="slope 1 (Θ(n·SNR²))")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="n·SNR²",
            ylabel="signal / noise (magnitudes)",
            title="(a) stationary ratio; circles: gradient descent",
        )
        ax.legend(fontsize=6)
        ax = axes[1]
        for o in size.objectives:
            rows = series[(o, "single")]
            xs = [r.nsnr2 for r in rows]
            ax.plot(xs, [r.signal_gain for r in rows], "-", color=COLORS[o], label=f"{o}: signal")
            ax.plot(xs, [r.noise_gain for r in rows], "--", color=COLORS[o], label=f"{o}: noise")
        ax.axhline(LEARNED_GAIN, color="gray", lw=1, ls=":", label="learned threshold")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="n·SNR²",
            ylabel="final / initial alignment",
            title="(b) gains at the stationary point (single time)",
        )
        ax.legend(fontsize=6)
        ax = axes[2]
        for (o, s), rows in series.items():
            ax.plot(
                [r.nsnr2 for r in rows],
                [r.value("initial_rate_ratio") for r in rows],
                STYLES[s],
                color=COLORS[o],
                label=f"{o}, {s}",
            )
        ax.set_yscale("symlog", linthresh=0.01)
        ax.set(
            xscale="log",
            xlabel="n·SNR²",
            ylabel="d signal / d noise at τ = 0 (signed summaries, as D1)",
            title="(c) early rate ratio",
        )
        ax.legend(fontsize=6)
    slopes = {
        f"{o}/{s}": loglog_slope([r.nsnr2 for r in rows], [r.ratio for r in rows])
        for (o, s), rows in series.items()
    }
    return Figure(
        path.name,
        "stationary-ratio slopes: " + ", ".join(f"{k} {v:.2f}" for k, v in slopes.items()),
    )
