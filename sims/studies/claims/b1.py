"""B1, the project's: the paper's contrast survives correlated signals, cos(μ₊₁, μ₋₁) = C ≠ 0.

The abstract claims that diffusion models learn "more balanced and comprehensive representations"
while classifiers "prioritize easy-to-learn components"; the paper tests it on one orthogonal signal
pair. The rules B1-B5 test it beyond Definition 2.1, fixed (and committed) before their numbers were
seen. Read from the correlated study (sims.studies.correlated): in each cell, whether diffusion
learns both features and the classifier the one n·SNR² decides. Figure: both ratios against C,
simulation and theory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.models import PAPER_PAIR
from sims.studies import correlated
from sims.studies.claims.base import (
    BOTH_LEARNED_RATIO,
    IN_PART,
    LEARNED_GAIN,
    OTHERWISE,
    PROJECT,
    Entry,
    Figure,
    Spec,
    learned,
    span,
    tested,
    verdict as judge,
)
from sims.studies.correlated import CorrelatedRow
from sims.studies.figures import figure
from sims.studies.measures import GROWTH_FRACTION, WINNER_RATIO
from sims.studies.presets import E1_NSNR2, SIGNAL_COS
from sims.studies.synthetic import CLASSIFIER, DENOISER

LOW, HIGH = (f"{v:g}" for v in E1_NSNR2)
BOTH = (
    f"diffusion learns both (stationary ratio in ({BOTH_LEARNED_RATIO[0]:g}, "
    f"{BOTH_LEARNED_RATIO[1]:g}), signal and noise gains > {LEARNED_GAIN:g})"
)
ONE = (
    f"classification learns the noise at n·SNR² = {LOW} (ratio < {WINNER_RATIO:g}) and the signal "
    f"at "
    f"{HIGH} (ratio > {WINNER_RATIO:g})"
)

SPEC = Spec(
    id="B1",
    claim="Correlated signals: the paper's contrast survives cos(μ₊₁, μ₋₁) = C ≠ 0 — diffusion "
    "learns both "
    "signal and noise, classification learns one, as n·SNR² decides.",
    short="correlated signals: the contrast survives cos(μ₊₁, μ₋₁) ≠ 0",
    rule=(
        f"in every tested cell (C in {list(SIGNAL_COS)}, n·SNR² in {{{LOW}, {HIGH}}}), {BOTH}, and "
        f"{ONE}. Holds if every cell passes; '{IN_PART}' if at least one cell passes, or one of "
        f"the two "
        f"models passes in every cell; {OTHERWISE}"
    ),
    origin=PROJECT,
)
STUDY = correlated.STUDY


def diffusion_learns_both(ratio: float, signal_gain: float, noise_gain: float) -> bool:
    return (
        BOTH_LEARNED_RATIO[0] < ratio < BOTH_LEARNED_RATIO[1]
        and learned(signal_gain)
        and learned(noise_gain)
    )


def classification_as_claimed(nsnr2: float, ratio: float) -> bool:
    """Noise wins at the paper's low n·SNR², signal at its high one (no expectation elsewhere)."""
    if nsnr2 == E1_NSNR2[0]:
        return bool(ratio < WINNER_RATIO)
    if nsnr2 == E1_NSNR2[1]:
        return bool(ratio > WINNER_RATIO)
    return True


def judged(cells: list[dict]) -> Entry:
    """The rule on cells {"C", "nsnr2", "diffusion_ratio", "diffusion_signal_gain",
    "diffusion_noise_gain", "classification_ratio"}, one per tested (C, n·SNR²)."""
    diff = [
        diffusion_learns_both(
            c["diffusion_ratio"], c["diffusion_signal_gain"], c["diffusion_noise_gain"]
        )
        for c in cells
    ]
    cls = [classification_as_claimed(c["nsnr2"], c["classification_ratio"]) for c in cells]
    both = [a and b for a, b in zip(diff, cls)]
    return SPEC.entry(
        judge(bool(cells) and all(both), any(both) or (bool(cells) and (all(diff) or all(cls)))),
        {
            "cells_passing": f"{sum(both)}/{len(cells)}",
            "per_cell": [
                {**c, "diffusion_ok": a, "classification_ok": b}
                for c, a, b in zip(cells, diff, cls)
            ],
        },
    )


def verdict(rows: list[CorrelatedRow]) -> Entry:
    d, c = DENOISER.name, CLASSIFIER.name
    cells = [
        {
            "C": r.C,
            "nsnr2": r.nsnr2,
            f"{d}_ratio": r.models[d].ratio,
            f"{d}_signal_gain": r.models[d].signal_gain,
            f"{d}_noise_gain": r.models[d].noise_gain,
            f"{c}_ratio": r.models[c].ratio,
        }
        for r in rows
    ]
    entry = judged(cells)
    entry.measured["rows"] = [r.to_dict() for r in rows]
    return entry


def paragraph(e: dict) -> str:
    rows, d, c = e["measured"]["rows"], DENOISER.name, CLASSIFIER.name
    at = {x: [r[f"{c}_ratio"] for r in rows if r["nsnr2"] == x] for x in E1_NSNR2}
    cls = f"; {c}'s ratio " + "; ".join(f"{span(v)} at n·SNR² = {x:g}" for x, v in at.items() if v)
    return (
        f"{e['measured']['cells_passing']} cells pass. Over {tested(rows, 'C', 'nsnr2')}, {d}'s "
        f"final signal/noise ratio is {span(r[f'{d}_ratio'] for r in rows)} (signal gain "
        f"{span(r[f'{d}_signal_gain'] for r in rows)}, noise gain "
        f"{span(r[f'{d}_noise_gain'] for r in rows)}){cls}."
    )


def figures(rows: list[CorrelatedRow], out: Path) -> list[Figure]:
    return [fig_correlated(rows, out)]


def fig_correlated(rows: list[CorrelatedRow], out: Path) -> Figure:
    """Growth-phase and final signal/noise ratios against C: simulation as markers, theory as
    lines."""
    path = out / "fig_correlated.png"
    colors = dict(zip(sorted({r.nsnr2 for r in rows}), ("tab:blue", "tab:red", "tab:green")))
    panels = (
        (
            "growth_ratio",
            "growth_ratio",
            f"growth phase ({GROWTH_FRACTION:.0%} of the way to the end)",
        ),
        ("ratio", "stationary_ratio", "end of training (diffusion: stationary)"),
    )
    with figure(path, 1, 2, figsize=(11, 4.5)) as (fig, axes):
        for ax, (kind, theory, title) in zip(axes, panels):
            for nsnr2, color in colors.items():
                sel = sorted((r for r in rows if r.nsnr2 == nsnr2), key=lambda r: r.C)
                C = [r.C for r in sel]
                for model in PAPER_PAIR:
                    ax.plot(
                        C,
                        [getattr(r.models[model.name], kind) for r in sel],
                        model.look.marker,
                        color=color,
                        mfc="none",
                        ms=8,
                        label=f"{model.name}, n·SNR² = {nsnr2:g}: simulation",
                    )
                predicted = [getattr(r.models[DENOISER.name].predicted, theory) for r in sel]
                pred = [np.nan if v is None else v for v in predicted]
                ax.plot(
                    C,
                    pred,
                    "x-",
                    color=color,
                    label=f"{DENOISER.name}, n·SNR² = {nsnr2:g}: theory",
                )
            ax.axhline(1.0, color="k", lw=0.5)
            ax.set_yscale("log")
            ax.set_xlabel("C = cos(μ₊₁, μ₋₁)")
            ax.set_ylabel("signal learning / noise learning")
            ax.set_title(f"Correlated signals: {title}", fontsize=9)
            ax.legend(fontsize=6)
    d, c = DENOISER.name, CLASSIFIER.name
    return Figure(
        path.name,
        "; ".join(
            f"C={r.C:g}, n·SNR²={r.nsnr2:g}: {d} ratio {r.models[d].ratio:.3g} "
            f"(growth {r.models[d].growth_ratio:.3g}), {c} {r.models[c].ratio:.3g}"
            for r in rows
        ),
    )
