"""C1, the paper's: classification grows exponentially, and a phase transition in n·SNR² decides the
winner (large: the signal is learned, small test error; small: the noise is memorised, high test
error).

Read from the synthetic study (sims.studies.synthetic): the classifier's final ratio and test error
at both ends of the n·SNR² sweep (relative to its predicted boundary), the predicted winner's
agreement with simulation over the (n, SNR) grid, and the linearity index of both models. Figure
(d), the phase diagram.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm, Normalize

from sims.studies import synthetic
from sims.studies.claims.base import (
    AGREEMENT,
    IN_PART,
    OTHERWISE,
    PAPER,
    Entry,
    Figure,
    Spec,
    g,
    verdict as judge,
)
from sims.studies.figures import figure, text_colour
from sims.studies.measures import WINNER_RATIO
from sims.studies.synthetic import CLASSIFIER, DENOISER, RatioRow, Synthetic

EXPONENTIAL_INDEX = 2.0  # linearity index above this: exponential growth
END_FACTOR = (
    4.0  # the ends of the sweep: n SNR^2 >= this x the predicted boundary, <= boundary / this
)
HIGH_TEST_ERROR = 0.1  # the signal wins with a test error below this
LOW_TEST_ERROR = 0.25  # the noise wins with a test error above this

SPEC = Spec(
    id="C1",
    claim="Classification: exponential growth and a phase transition in n·SNR² (large: signal "
    "learned, "
    "small test error; small: noise memorised, high test error).",
    short="classification: exponential growth, a phase transition in n·SNR²",
    rule=(
        f"holds if classification's early growth is exponential (linearity index > "
        f"{EXPONENTIAL_INDEX:g} and larger than diffusion's), the signal wins (ratio > "
        f"{WINNER_RATIO:g}, "
        f"test error < {HIGH_TEST_ERROR:g}) at every n·SNR² >= {END_FACTOR:g} x the predicted "
        f"boundary, "
        f"noise wins (ratio < {WINNER_RATIO:g}, test error > {LOW_TEST_ERROR:g}) at every n·SNR² "
        f"<= "
        f"boundary / {END_FACTOR:g}, and the predicted winner agrees with simulation in >= "
        f"{AGREEMENT:.0%} of the phase-diagram cells; '{IN_PART}' if the two ends are right but "
        f"another "
        f"condition fails; {OTHERWISE}"
    ),
    origin=PAPER,
)
STUDY = synthetic.STUDY


def judged(rows: list[RatioRow], agreement: dict, linearity: dict) -> Entry:
    """The rule on the classifier's rows of the ratio table, the phase diagram's agreement {"agree",
    "cells"} and each model's linearity index (model name -> Linearity)."""
    b = rows[0].predicted.boundary_nsnr2
    high = [r for r in rows if b is not None and r.nsnr2 >= END_FACTOR * b]
    low = [r for r in rows if b is not None and r.nsnr2 <= b / END_FACTOR]
    ends = (
        bool(high)
        and bool(low)
        and all(r.final_ratio > WINNER_RATIO and r.test_error < HIGH_TEST_ERROR for r in high)
        and all(r.final_ratio < WINNER_RATIO and r.test_error > LOW_TEST_ERROR for r in low)
    )
    agree_ok = agreement["cells"] > 0 and agreement["agree"] >= AGREEMENT * agreement["cells"]
    lin_d, lin_c = linearity[DENOISER.name].index, linearity[CLASSIFIER.name].index
    expo = lin_c > EXPONENTIAL_INDEX and lin_c > lin_d
    return SPEC.entry(
        judge(ends and agree_ok and expo, ends),
        {
            "predicted_boundary_nsnr2": b,
            "linearity_index": linearity[CLASSIFIER.name],
            "phase_agreement": agreement,
            "per_nsnr2": [
                {
                    "nsnr2": r.nsnr2,
                    "final_ratio": r.final_ratio,
                    "test_error": r.test_error,
                    "predicted_winner": r.predicted.winner,
                }
                for r in rows
            ],
        },
    )


def verdict(s: Synthetic) -> Entry:
    return judged(s.rows[CLASSIFIER.name], s.agreement, s.linearity)


def paragraph(e: dict) -> str:
    m = e["measured"]
    agree = m["phase_agreement"]
    return (
        f"Classification's early growth has linearity index {g(m['linearity_index']['index'])} "
        f"(exponential above {EXPONENTIAL_INDEX:g}); its predicted boundary is n·SNR² = "
        f"{g(m['predicted_boundary_nsnr2'])}, and the predicted winner is right in "
        f"{agree['agree']} of "
        f"{agree['cells']} cells of the (n, SNR) grid."
    )


def figures(s: Synthetic, out: Path) -> list[Figure]:
    return [fig_phase(s, out)]


def fig_phase(s: Synthetic, out: Path) -> Figure:
    """(d) phase diagram over (n, SNR): classification ratio and test error, diffusion ratio. Both
    ratio panels share one logarithmic colour scale, centred on 1 and labelled in ratios (the
    numbers in the cells)."""
    path = out / "fig_phase.png"
    p, table = s.preset, s.phase
    ns, snrs = np.array(p.phase_n), np.array(p.phase_snr)
    b = np.array([np.nan if v is None else v for v in table.boundary_nsnr2], dtype=float)
    ratios = [table.ratio[m.name] for m in synthetic.PAPER_PAIR]
    finite = np.concatenate([r[np.isfinite(r) & (r > 0)] for r in ratios])
    lim = float(np.max(np.abs(np.log10(finite)))) if finite.size else 1.0
    lim = max(lim, 1e-3)
    ratio_norm = LogNorm(vmin=10.0**-lim, vmax=10.0**lim)
    panels = [
        (
            ratios[1],
            "classification: signal/noise",
            "RdBu_r",
            ratio_norm,
            "signal / noise (log colour scale)",
        ),
        (
            table.test_error[CLASSIFIER.name],
            "classification: test error",
            "viridis",
            Normalize(0.0, 0.5),
            "test error",
        ),
        (
            ratios[0],
            "diffusion: signal/noise (same colour scale as the left panel)",
            "RdBu_r",
            ratio_norm,
            "signal / noise (log colour scale)",
        ),
    ]
    with figure(path, 1, 3, figsize=(15, 4.8)) as (fig, axes):
        for ax, (vals, title, cmap, norm, unit) in zip(axes, panels):
            shown = (
                np.where(np.isfinite(vals) & (vals > 0), vals, np.nan)
                if isinstance(norm, LogNorm)
                else vals
            )
            im = ax.pcolormesh(
                np.arange(len(ns) + 1),
                np.arange(len(snrs) + 1),
                np.ma.masked_invalid(shown),
                cmap=cmap,
                norm=norm,
                shading="flat",
            )
            fig.colorbar(im, ax=ax, label=unit)
            for i in range(len(snrs)):
                for j in range(len(ns)):
                    if np.isfinite(vals[i, j]):
                        colour = text_colour(colormaps[cmap](norm(vals[i, j])))
                        ax.text(
                            j + 0.5,
                            i + 0.5,
                            f"{vals[i, j]:.2g}",
                            ha="center",
                            va="center",
                            fontsize=8,
                            color=colour,
                        )
            # predicted boundary SNR = sqrt(b(n) / n), drawn in grid coordinates (log-spaced SNR
            # axis)
            snr_b = np.sqrt(b / ns)
            yb = np.interp(np.log(snr_b), np.log(snrs), np.arange(len(snrs))) + 0.5
            ax.plot(np.arange(len(ns)) + 0.5, yb, "--", color="gold", lw=2.5)
            ax.plot(
                np.arange(len(ns)) + 0.5,
                yb,
                "k--",
                lw=1.2,
                label="predicted classification boundary",
            )
            ax.set_xticks(np.arange(len(ns)) + 0.5, [str(v) for v in ns])
            ax.set_yticks(np.arange(len(snrs)) + 0.5, [f"{v:.3g}" for v in snrs])
            ax.set_xlabel("n (training samples)")
            ax.set_ylabel("SNR (log-spaced)")
            ax.set_title(title, fontsize=9)
            ax.legend(fontsize=6, loc="upper left")
    agree = s.agreement
    return Figure(
        path.name,
        f"predicted winner agrees with simulation in {agree['agree']}/{agree['cells']} "
        "classification cells",
    )
