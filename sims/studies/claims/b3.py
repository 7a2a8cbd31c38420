"""B3, the project's: with imbalanced classes, diffusion learns the minority class's signal; the
classifier, even where it learns the majority's signal, can leave the minority's unlearned.

Read from the imbalance study (sims.studies.imbalance): each class's signal gain per model. Figure:
the gains against P.
"""

from __future__ import annotations

from pathlib import Path

from sims.models import PAPER_PAIR
from sims.studies import imbalance
from sims.studies.claims.base import (
    IN_PART,
    LEARNED_GAIN,
    OTHERWISE,
    PROJECT,
    Entry,
    Figure,
    Spec,
    g,
    learned,
    span,
    tested,
    verdict as judge,
)
from sims.studies.figures import figure
from sims.studies.imbalance import ImbalanceRow
from sims.studies.presets import BALANCE, E1_NSNR2
from sims.studies.synthetic import CLASSIFIER, DENOISER

LOW, HIGH = (f"{v:g}" for v in E1_NSNR2)

SPEC = Spec(
    id="B3",
    claim="Imbalanced classes: diffusion learns the minority class's signal; the classifier, even "
    "where "
    "it learns the majority's signal, can leave the minority's unlearned.",
    short="imbalanced classes: diffusion learns the minority's signal, the classifier may not",
    rule=(
        f"over the tested cells (P = fraction of +1 labels in {list(BALANCE)}, n·SNR² in "
        f"{{{LOW}, {HIGH}}}; class -1 is the minority), (a) diffusion's minority-signal gain is > "
        f"{LEARNED_GAIN:g} in every cell, and (b) in at least one cell where the classifier's "
        f"majority-signal gain is > {LEARNED_GAIN:g}, its minority-signal gain is <= "
        f"{LEARNED_GAIN:g}. "
        f"Holds if (a) and (b); '{IN_PART}' if exactly one of them; {OTHERWISE}"
    ),
    origin=PROJECT,
)
STUDY = imbalance.STUDY
D, C = DENOISER.name, CLASSIFIER.name


def judged(cells: list[dict]) -> Entry:
    """The rule on cells {"P", "nsnr2", "diffusion_minority_gain", "classification_minority_gain",
    "classification_majority_gain"} (and context), one per tested (P, n·SNR²)."""
    a = bool(cells) and all(learned(c[f"{D}_minority_gain"]) for c in cells)
    skipped = [
        c
        for c in cells
        if learned(c[f"{C}_majority_gain"]) and not learned(c[f"{C}_minority_gain"])
    ]
    b = bool(skipped)
    return SPEC.entry(
        judge(a and b, a != b),
        {
            "diffusion_learns_minority_everywhere": a,
            "cells_where_classifier_learns_majority_not_minority": [
                (c["P"], c["nsnr2"]) for c in skipped
            ],
            "per_cell": cells,
        },
    )


def verdict(rows: list[ImbalanceRow]) -> Entry:
    return judged([r.to_dict() for r in rows])


def paragraph(e: dict) -> str:
    rows = e["measured"]["per_cell"]
    skipped = e["measured"]["cells_where_classifier_learns_majority_not_minority"]
    where = ", ".join(f"P = {g(p)} at n·SNR² = {g(x)}" for p, x in skipped) or "no cell"
    return (
        f"Over {tested(rows, 'P', 'nsnr2')}, {D}'s minority-signal gain is "
        f"{span(r[f'{D}_minority_gain'] for r in rows)}; the classifier's is "
        f"{span(r[f'{C}_minority_gain'] for r in rows)} (majority "
        f"{span(r[f'{C}_majority_gain'] for r in rows)}, test error on the minority class "
        f"{span(r.get(f'{C}_test_error_minority') for r in rows)}). The classifier learns the "
        f"majority's signal but not the minority's in: {where}."
    )


def figures(rows: list[ImbalanceRow], out: Path) -> list[Figure]:
    return [fig_imbalance(rows, out)]


def fig_imbalance(rows: list[ImbalanceRow], out: Path) -> Figure:
    """Each class's signal gain against P, per model: minority filled, majority open."""
    path = out / "fig_imbalance.png"
    colors = dict(zip(sorted({r.nsnr2 for r in rows}), ("tab:blue", "tab:red")))
    with figure(path, 1, 2, figsize=(11, 4.5)) as (fig, axes):
        for ax, model in zip(axes, PAPER_PAIR):
            for nsnr2, color in colors.items():
                sel = sorted((r for r in rows if r.nsnr2 == nsnr2), key=lambda r: r.P)
                P = [r.P for r in sel]
                ax.plot(
                    P,
                    [r.models[model.name].minority_gain for r in sel],
                    "o-",
                    color=color,
                    label=f"minority (y = -1), n·SNR² = {nsnr2:g}",
                )
                ax.plot(
                    P,
                    [r.models[model.name].majority_gain for r in sel],
                    "s--",
                    mfc="none",
                    color=color,
                    label=f"majority (y = +1), n·SNR² = {nsnr2:g}",
                )
            ax.axhline(
                LEARNED_GAIN, color="k", lw=0.8, ls=":", label=f"learned: gain > {LEARNED_GAIN:g}"
            )
            ax.set_yscale("log")
            ax.set_xlabel("P = fraction of +1 labels")
            ax.set_ylabel("signal alignment gain over initialisation")
            ax.set_title(f"{model.name}: is each class's signal learned?", fontsize=9)
            ax.legend(fontsize=6)
    return Figure(
        path.name,
        "; ".join(
            f"P={r.P:g}, n·SNR²={r.nsnr2:g}: minority gain {D} {r.models[D].minority_gain:.3g}, "
            f"{C} {r.models[C].minority_gain:.3g}"
            for r in rows
        ),
    )
