"""O2, the project's: does x0-prediction behave like the classifier (winner-take-all, with the
classifier's winner)?

Read from the objectives study (sims.studies.objectives; its design and amendments:
sims.studies.claims.o1): the x0 objective's stationary points at the single time against the plain
classifier's runs on the same data. Its figure is O1's.
"""

from __future__ import annotations

from pathlib import Path

from sims.studies import objectives
from sims.studies.claims.base import (
    AGREEMENT,
    DOES_NOT,
    HOLDS,
    IN_PART,
    LEARNED_GAIN,
    OTHERWISE,
    PROJECT,
    Entry,
    Figure,
    Spec,
    outcome,
    span,
)
from sims.studies.measures import WINNER_RATIO
from sims.studies.objectives import Objectives

WTA = (
    f"winner-take-all (exactly one feature learned, i.e. grown > {LEARNED_GAIN:g}x, the other not; "
    f"the "
    f"classifier's winner is the signal when its ratio > {WINNER_RATIO:g}, else the noise)"
)

SPEC = Spec(
    id="O2",
    claim="x0-prediction (the default single time) behaves like the classifier: winner-take-all, "
    "with "
    "the classifier's winner.",
    short="x0-prediction behaves like the classifier",
    rule=(
        f"holds if x0-prediction is {WTA} at >= {AGREEMENT:.0%} of the sweep's n·SNR² values and "
        f"its "
        f"winner is the classifier's at >= {AGREEMENT:.0%} of them; '{IN_PART}' if it is "
        f"winner-take-all at one n·SNR² or more; {OTHERWISE}"
    ),
    origin=PROJECT,
)
STUDY = objectives.STUDY


def classifier_winner(ratio: float) -> str:
    return "signal" if ratio > WINNER_RATIO else "noise"


def judged(x0_rows: list, classifier_rows: list) -> Entry:
    """The rule on the x0-prediction rows and the plain classifier's rows at the same n·SNR² values
    (each with nsnr2, ratio, signal_gain, noise_gain)."""
    cls = {r.nsnr2: classifier_winner(r.ratio) for r in classifier_rows}
    per = [
        {"nsnr2": r.nsnr2, "outcome": outcome(r), "ratio": r.ratio, "classifier": cls.get(r.nsnr2)}
        for r in x0_rows
    ]
    wta = [p for p in per if p["outcome"] in ("signal", "noise")]
    agree = [p for p in wta if p["outcome"] == p["classifier"]]
    n = len(per)
    holds = n > 0 and len(wta) >= AGREEMENT * n and len(agree) >= AGREEMENT * n
    return SPEC.entry(
        HOLDS if holds else IN_PART if wta else DOES_NOT,
        {
            "winner_take_all": len(wta),
            "agrees_with_classifier": len(agree),
            "settings": n,
            "per_nsnr2": per,
        },
    )


def verdict(m: Objectives) -> Entry:
    entry = judged(m.series[("x0", "single")], m.classifier)
    return SPEC.entry(entry.verdict, entry.measured, note=m.note)


def paragraph(e: dict) -> str:
    m = e["measured"]
    per = m["per_nsnr2"]
    wta = [p for p in per if p["outcome"] in ("signal", "noise")]
    both = [p for p in per if p["outcome"] == "both"]
    return (
        f"x0-prediction is winner-take-all at {m['winner_take_all']} of {m['settings']} n·SNR² "
        f"values "
        f"(n·SNR² = {span(p['nsnr2'] for p in wta)}, ratio {span(p['ratio'] for p in wta)}), with "
        f"the "
        f"classifier's winner at {m['agrees_with_classifier']}; it learns both features at n·SNR² "
        f"= "
        f"{span(p['nsnr2'] for p in both)} (ratio {span(p['ratio'] for p in both)})."
    )


def figures(m: Objectives, out: Path) -> list[Figure]:
    return []  # O1's figure shows x0 beside the classifier
