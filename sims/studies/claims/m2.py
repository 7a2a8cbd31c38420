"""M2, the project's (after Li et al., NeurIPS 2025, arXiv 2502.05743): the quality of a denoiser's
learned features peaks at an intermediate diffusion time, and the peak disappears once the model
memorises.

Read from the best-time study (sims.studies.besttime): single-time runs at the T times of the DDPM
linear schedule, the features of each run's final filters read by B5's linear probe (its accuracy
on fresh samples of the training law), per n·SNR², for the exact loss (its stationary point: the
limit of infinitely many draws, drawn as the theory) and for K fixed draws (descent: markers). Li et
al. read the features of one network at each noise level; here each time trains its own network, as
the project's single-time denoiser does. A series peaks at an intermediate time if its best
accuracy over the interior times exceeds the larger of its two end values by PEAK_MARGIN. The
memorised series is the fewest draws (K = 1), counted as memorised where its final draw gap is at
least MEM_GAP at every time.

What the theory says before any number (theory.law, sims.symmetric): on the symmetric branch, where
the exact flow ends (claim R2), every filter has the same alignment with each signal vector, and the
two alignments differ only through the class counts n_+1 != n_-1 and only where the signal group
G_s = (alpha/beta)^2 n_j ||mu||^2 / n is small (linear regime: alignment proportional to n_j;
saturated: equal). The squared responses to mu_+1 and mu_-1 then differ only there, so the probe
can do better than chance only at late times (small alpha/beta) or small n·SNR², and only as far as
the training labels are unbalanced (random labels, three seeds): the expectation is accuracy rising
towards late times, not a peak. Nothing of this study had been run when the rule was written
(timings only: the slowest cell, the last time at n·SNR² = 1, ran 38 000 steps for K = 16).

Amendment 2 (cost), after the first full runs: K = 16 fixed draws, which no rule reads, were left
out (presets.BEST_K). Seen in those runs (three seeds, probe accuracy from the earliest to the
latest time): at n·SNR² = 0.3, 0.565, 0.668, 0.517, 0.494, 0.506, 0.506; at 3, 0.509, 0.748, 0.975,
0.81, 0.719, 0.794; at 30, 0.562, 0.653, 0.855, 1, 1, 0.958: a best time in between where the exact
loss has none (partly memorised draws degrade the late times' features).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sims.studies import besttime
from sims.studies.besttime import BestTime
from sims.studies.claims.base import (
    DOES_NOT,
    HOLDS,
    IN_PART,
    PROJECT,
    Entry,
    Figure,
    Spec,
    described_record,
    g,
    slice_note,
    verdict as judge,
)
from sims.studies.figures import figure
from sims.studies.memorise import EXACT, MEM_GAP, departures, domain_sentence, ordered, seeds
from theory.predict import GTOL, HORIZON_STEPS

PEAK_MARGIN = 0.05  # an interior accuracy this much above both ends: a peak
FIGURE = "fig_best_time.png"
COLORS = {EXACT: "tab:purple"}

SPEC = Spec(
    id="M2",
    claim="A linear probe on the features a denoiser learns at one diffusion time is best at an "
    "intermediate time, and that best time disappears once the model memorises its noise draws "
    "(Li et al. 2025), for the tied denoiser at the times of the DDPM linear schedule.",
    short="features are best at an intermediate time, unless the draws are memorised",
    rule=(
        f"per n·SNR² and series (the exact loss; K fixed draws), the B5 probe's accuracy (mean "
        f"over seeds) at each time; a series peaks if its best interior accuracy exceeds the "
        f"larger of its two end values by {PEAK_MARGIN:g}; the fewest draws (K = 1) count as "
        f"memorised where their final draw gap is at least {MEM_GAP:g} at every time. Holds if "
        f"the exact loss peaks at every n·SNR² and the memorised series peaks at none; "
        f"'{IN_PART}' if the exact loss peaks at some n·SNR²; otherwise '{DOES_NOT}'."
    ),
    origin=PROJECT,
)
STUDY = besttime.STUDY


def peak(accuracies: list) -> dict:
    """The peak reading of accuracies in time order: the best interior value over the larger end."""
    if len(accuracies) < 3:
        return {"height": float("nan"), "peaks": False, "best": None}
    interior = max(accuracies[1:-1])
    height = interior - max(accuracies[0], accuracies[-1])
    best = max(range(len(accuracies)), key=accuracies.__getitem__)
    return {"height": float(height), "peaks": bool(height >= PEAK_MARGIN), "best": best}


def judged(series: dict, memorised_K: int = 1) -> Entry:
    """The rule on {nsnr2: {K: {"accuracy": [...], "draw_gap": [...]}}} (K = EXACT: the exact
    loss; lists in time order)."""
    per = {}
    for v, by_K in series.items():
        row = {K: peak(s["accuracy"]) for K, s in by_K.items()}
        mem = by_K.get(memorised_K)
        memorised = mem is not None and all(x >= MEM_GAP for x in mem["draw_gap"])
        per[v] = {"peaks": row, "memorised": memorised}
    exact = [p["peaks"][EXACT]["peaks"] for p in per.values() if EXACT in p["peaks"]]
    vanishes = [
        not p["peaks"][memorised_K]["peaks"]
        for p in per.values()
        if memorised_K in p["peaks"] and p["memorised"]
    ]
    verdict = judge(
        bool(exact) and all(exact) and len(vanishes) == len(per) and all(vanishes),
        any(exact),
    )
    return SPEC.entry(verdict, {"per_nsnr2": per, "series": series})


def table(m: BestTime) -> dict:
    Ks = (EXACT, *m.size.probe_draws)
    return {
        v: {
            K: {
                "alpha_over_beta": [r for _, r, _ in m.series(v, K)],
                "accuracy": [p.accuracy for _, _, p in m.series(v, K)],
                "train_accuracy": [p.train_accuracy for _, _, p in m.series(v, K)],
                "draw_gap": [p.draw_gap for _, _, p in m.series(v, K)],
            }
            for K in Ks
        }
        for v in m.size.nsnr2
    }


def note(m: BestTime) -> str:
    return slice_note(
        m.preset_name,
        f"times {', '.join(str(k + 1) for k in m.times)} of {m.size.times}, n·SNR² = "
        f"{', '.join(f'{v:g}' for v in m.size.nsnr2)}, K = "
        f"{', '.join(map(str, m.size.probe_draws))}",
    )


def verdict(m: BestTime) -> Entry:
    entry = judged(table(m), min(m.size.probe_draws))
    entry.measured["left_the_flow"] = m.left_the_flow
    entry.measured["unsettled_flows"] = m.unsettled_flows
    entry = SPEC.entry(entry.verdict, entry.measured, note=note(m))
    per = entry.measured["per_nsnr2"]
    ratios = [a / b for a, b in m.times.values()]
    peaks = [f"{v:g}" for v, p in per.items() if p["peaks"].get(EXACT, {}).get("peaks")]
    dom = {
        "headline": (
            f"the exact loss peaks at n·SNR² = {', '.join(peaks)}"
            if peaks
            else "the exact loss peaks at no n·SNR²"
        )
        + f" (alpha/beta = {g(max(ratios))} to {g(min(ratios))})",
        "groups": {
            "alpha/beta": "the diffusion time's signal-to-noise ratio",
            "n·SNR²": "n times the squared signal-to-noise ratio of the data (Definition 2.1)",
        },
        "regions": [
            {
                "where": f"n·SNR² = {v:g}",
                "verdict": HOLDS if p["peaks"].get(EXACT, {}).get("peaks") else DOES_NOT,
                "cells": len(m.times),
                "bounds": {"alpha/beta": [max(ratios), min(ratios)]},
            }
            for v, p in per.items()
        ],
        "measured_over": (
            f"T = {m.size.times} times of the DDPM linear schedule (those run: "
            f"{', '.join(str(k + 1) for k in m.times)}); n = {m.size.best_n}, d = {m.size.d}, "
            f"m = {m.size.m}, sigma_xi = 1, random labels, {seeds(m.size.probe_seeds)}"
        ),
    }
    return replace(entry, domain=described_record("besttime", dom, note=note(m)))


def paragraph(e: dict) -> str:
    m = e["measured"]
    parts = []
    for v, p in ordered(m["per_nsnr2"]):
        acc = "; ".join(
            f"{'exact' if str(K) == str(EXACT) else f'K = {K}'}: "
            f"{', '.join(g(a) for a in m['series'][v][K]['accuracy'])} (peak height "
            f"{g(pk['height'])})"
            for K, pk in ordered(p["peaks"])
        )
        parts.append(f"n·SNR² = {v}: {acc}; K = 1 memorised: {p['memorised']}")
    return (
        "Probe accuracy from the earliest to the latest time: "
        + ". ".join(parts)
        + f". {domain_sentence(e)} {departures(m.get('left_the_flow'))} "
        + (
            f"Exact flows that reached their time horizon ({HORIZON_STEPS:.0e} steps) before "
            f"||grad L|| < {GTOL:.0e}: "
            f"{'; '.join(m['unsettled_flows'])}."
            if m.get("unsettled_flows")
            else ""
        )
    )


def figures(m: BestTime, out: Path) -> list[Figure]:
    entry = verdict(m)
    path = Path(out) / FIGURE
    values = m.size.nsnr2
    title = (
        f"M2: B5's probe on the features trained at each time of the DDPM linear schedule "
        f"(T = {m.size.times}); tied denoiser, n = {m.size.best_n}, d = {m.size.d}, m = "
        f"{m.size.m}, σ0 = {m.size.sigma0:g}, σ_ξ = 1, random labels, "
        f"{seeds(m.size.probe_seeds)} (mean)"
    )
    with figure(
        path, 1, len(values), figsize=(5.5 * len(values), 4.5), squeeze=False, title=title
    ) as (
        fig,
        axes,
    ):
        for ax, v in zip(axes[0], values):
            for K in (EXACT, *m.size.probe_draws):
                rows = m.series(v, K)
                x, y = [r for _, r, _ in rows], [p.accuracy for _, _, p in rows]
                if K == EXACT:
                    ax.plot(
                        x,
                        y,
                        "-",
                        color=COLORS[EXACT],
                        label="exact loss: the end of its flow (theory)",
                    )
                else:
                    ax.plot(
                        x,
                        y,
                        "o" if K == min(m.size.probe_draws) else "s",
                        mfc="none",
                        ls="none",
                        label=f"K = {K} fixed draws (descent)",
                    )
            ax.axhline(0.5, color="k", lw=0.5)
            ax.set(
                xscale="log",
                xlabel="α_t / β_t of the training time (log; later times to the left)",
                ylabel="linear probe accuracy (fresh samples)",
                ylim=(0.4, 1.02),
                title=f"n·SNR² = {v:g}",
            )
            ax.legend(fontsize=7)
    summary = "; ".join(
        f"n·SNR²={v}: exact peak height {g(p['peaks'].get(EXACT, {}).get('height'))}"
        for v, p in entry.measured["per_nsnr2"].items()
    )
    return [Figure(FIGURE, summary)]
