"""Rules of the studies beyond Definition 2.1 (issue 14), fixed before their numbers were seen.

The abstract claims that diffusion models learn "more balanced and comprehensive representations" while
classifiers "prioritize easy-to-learn components". The paper tests it on one orthogonal signal pair; these
rules test it on correlated signals (B1, B2), imbalanced classes (B3), a weak or rare second feature (B4)
and a linear probe of the learned features (B5). As in `sims.studies.claims`, every threshold is a named
constant (shared ones are imported from there), the rule text is formatted from the constants, and each
function maps measured numbers to {"id", "verdict", "measured", "claim", "rule"}.

Measures (computed in the sections' modules, defined here so that the rules say what they read):
- gain of an alignment: its final value over its initial magnitude, both averaged over seeds;
  diffusion max_r <w_r, z> (final) over max_r |<w_r, z>| (initial); classification max_r |<w_{j,r}, z>|
  over the same at initialisation, own-class filters j of the class of z. For a feature k (B4) the value is
  the mean over the two classes (sims.models `per_feature`); for a class (B3) that class's own signal.
- learned: gain > LEARNED_GAIN.
- learned-from n·SNR² (B4): the smallest tested n·SNR² from which on the feature is learned at every larger
  tested value; infinite if it is not learned at the largest.
- probe (B5, `sims.studies.probe`): logistic regression with a bias on the features <w, x^(p)>^2 of every
  filter w and both patches p, scaled by one number (their root mean square on the training set), with the
  penalty PROBE_L2 / 2 * ||v||^2 (bias free) on the mean logistic loss; fit on the training set, scored on
  PROBE_TEST fresh samples of the training law (in distribution) and PROBE_TEST fresh samples whose signal
  patch is always the weak or rare feature (out of distribution).
"""

from __future__ import annotations

import math

import numpy as np

from sims.studies.claims import (
    BOTH_LEARNED_RATIO,
    D1_RATE_FACTOR,
    DOES_NOT,
    HOLDS,
    IN_PART,
    LEARNED_GAIN,
)
from sims.studies.measures import WINNER_RATIO
from sims.studies.plan import E1_NSNR2

SIGNAL_COS = (-0.5, 0.0, 0.5, 0.9)  # B1, B2: cos(mu_+1, mu_-1)
BALANCE = (0.5, 0.8, 0.95)  # B3: fraction of +1 labels (class -1 is the minority)
WEAK = {
    "strengths": (1.0, 0.3),
    "freqs": (0.5, 0.5),
}  # B4, B5: a strong common feature and a weak one
RARE = {"strengths": (1.0, 1.0), "freqs": (0.9, 0.1)}  # ... and a rare one
SCENARIOS = {"weak": WEAK, "rare": RARE}
FEATURE_NSNR2 = (
    0.1,
    0.3,
    1.0,
    3.0,
    10.0,
    30.0,
    100.0,
)  # B4, B5: the n·SNR² sweep (of ||mu||, the strong feature)
STATIONARY_GAP = (
    0.05  # B2: |final / predicted stationary ratio - 1| at most this (same seed, same data)
)
PROBE_L2 = 1e-2  # B5: L2 penalty of the probe (on scaled features)
PROBE_TEST = 2000  # B5: fresh samples per probe test set
PROBE_MARGIN = 0.05  # B5: an out-of-distribution accuracy this much higher counts as better

_LOW, _HIGH = (f"{v:g}" for v in E1_NSNR2)
_BOTH = (
    f"diffusion learns both (stationary ratio in ({BOTH_LEARNED_RATIO[0]:g}, {BOTH_LEARNED_RATIO[1]:g}), "
    f"signal and noise gains > {LEARNED_GAIN:g})"
)
_CLS = (
    f"classification learns the noise at n·SNR² = {_LOW} (ratio < {WINNER_RATIO:g}) and the signal at "
    f"{_HIGH} (ratio > {WINNER_RATIO:g})"
)
_ELSE = f"otherwise '{DOES_NOT}'."

CLAIMS = {
    "B1": "Correlated signals: the paper's contrast survives cos(μ₊₁, μ₋₁) = C ≠ 0 — diffusion learns both signal "
    "and noise, classification learns one, as n·SNR² decides.",
    "B2": "Correlated signals: the exact theory needs no orthogonality — diffusion's growth-phase ratio follows the "
    "initial rate ratio from the gradient, and its stationary ratio the reduced ODE's stationary point.",
    "B3": "Imbalanced classes: diffusion learns the minority class's signal; the classifier, even where it learns the "
    "majority's signal, can leave the minority's unlearned.",
    "B4": "Weak and rare features: diffusion learns a weak (s = 0.3) or rare (p = 0.1) second feature at a lower "
    "n·SNR² than the classifier ('comprehensive' against 'easy-to-learn components').",
    "B5": "Downstream: a linear probe on the diffusion model's learned features classifies samples that carry only "
    "the weak or rare feature better than a probe on the classifier's features.",
}

RULES = {
    "B1": (
        f"in every tested cell (C in {list(SIGNAL_COS)}, n·SNR² in {{{_LOW}, {_HIGH}}}), {_BOTH}, and {_CLS}. "
        f"Holds if every cell passes; '{IN_PART}' if at least one cell passes, or one of the two models passes "
        f"in every cell; {_ELSE}"
    ),
    "B2": (
        f"in every tested cell, diffusion's measured growth-phase ratio is within a factor {D1_RATE_FACTOR:g} of "
        f"the predicted initial rate ratio, and the final ratio of the seed-0 run is within {STATIONARY_GAP:.0%} "
        f"of the predicted stationary ratio for the same data. Holds if both parts pass in every cell; "
        f"'{IN_PART}' if one part passes in every cell; {_ELSE}"
    ),
    "B3": (
        f"over the tested cells (P = fraction of +1 labels in {list(BALANCE)}, n·SNR² in {{{_LOW}, {_HIGH}}}; "
        f"class -1 is the minority), (a) diffusion's minority-signal gain is > {LEARNED_GAIN:g} in every cell, "
        f"and (b) in at least one cell where the classifier's majority-signal gain is > {LEARNED_GAIN:g}, its "
        f"minority-signal gain is <= {LEARNED_GAIN:g}. Holds if (a) and (b); '{IN_PART}' if exactly one of "
        f"them; {_ELSE}"
    ),
    "B4": (
        f"for each scenario (weak: strengths {WEAK['strengths']}, frequencies {WEAK['freqs']}; rare: strengths "
        f"{RARE['strengths']}, frequencies {RARE['freqs']}; n·SNR² in {list(FEATURE_NSNR2)}, exact shares with "
        f"balanced labels) and model, the learned-from n·SNR² of the second "
        f"feature (gain > {LEARNED_GAIN:g} from there on; infinite if not learned at the largest tested "
        f"n·SNR²). Holds if diffusion's is strictly lower than the classifier's in both scenarios; "
        f"'{IN_PART}' if in one; {_ELSE}"
    ),
    "B5": (
        f"in each tested cell (scenario, n·SNR²), diffusion's probe is better if its accuracy on the "
        f"weak/rare-only test set exceeds the classifier probe's by more than {PROBE_MARGIN:g}, worse if it "
        f"falls short by more than {PROBE_MARGIN:g} (probe: L2 penalty {PROBE_L2:g}, {PROBE_TEST} test "
        f"samples). Holds if better in more than half the cells and worse in none; '{IN_PART}' if better in "
        f"at least one; {_ELSE}"
    ),
}


def _verdict(holds: bool, in_part: bool) -> str:
    return HOLDS if holds else IN_PART if in_part else DOES_NOT


def _entry(claim: str, verdict: str, measured: dict) -> dict:
    return {
        "id": claim,
        "verdict": verdict,
        "measured": measured,
        "claim": CLAIMS[claim],
        "rule": RULES[claim],
    }


def learned(gain: float) -> bool:
    return bool(gain > LEARNED_GAIN)  # nan (no finished run) is not learned


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


def b1(cells: list[dict]) -> dict:
    """cells: {"C", "nsnr2", "diffusion_ratio", "diffusion_signal_gain", "diffusion_noise_gain",
    "classification_ratio"} per tested (C, n·SNR²)."""
    diff = [
        diffusion_learns_both(
            c["diffusion_ratio"], c["diffusion_signal_gain"], c["diffusion_noise_gain"]
        )
        for c in cells
    ]
    cls = [classification_as_claimed(c["nsnr2"], c["classification_ratio"]) for c in cells]
    both = [a and b for a, b in zip(diff, cls)]
    verdict = _verdict(
        bool(cells) and all(both), any(both) or (bool(cells) and (all(diff) or all(cls)))
    )
    return _entry(
        "B1",
        verdict,
        {
            "cells_passing": f"{sum(both)}/{len(cells)}",
            "per_cell": [
                {**c, "diffusion_ok": a, "classification_ok": b}
                for c, a, b in zip(cells, diff, cls)
            ],
        },
    )


def b2(cells: list[dict]) -> dict:
    """cells: {"C", "nsnr2", "growth_ratio", "predicted_growth_ratio", "stationary_ratio",
    "predicted_stationary_ratio"} (diffusion) per tested (C, n·SNR²)."""

    def within(measured, predicted, ok):
        return bool(
            predicted
            and np.isfinite(predicted)
            and np.isfinite(measured)
            and ok(measured / predicted)
        )

    growth = [
        within(
            c["growth_ratio"],
            c["predicted_growth_ratio"],
            lambda f: 1 / D1_RATE_FACTOR <= f <= D1_RATE_FACTOR,
        )
        for c in cells
    ]
    stat = [
        within(
            c["stationary_ratio"],
            c["predicted_stationary_ratio"],
            lambda f: abs(f - 1) <= STATIONARY_GAP,
        )
        for c in cells
    ]
    verdict = _verdict(
        bool(cells) and all(growth) and all(stat), bool(cells) and (all(growth) or all(stat))
    )
    # The largest relative gap, from the unrounded ratios (report.json keeps 6 digits of each ratio, too few
    # to recompute a gap of order 1e-10 from them).
    gaps = [
        abs(c["stationary_ratio"] / c["predicted_stationary_ratio"] - 1)
        for c in cells
        if c["predicted_stationary_ratio"] and np.isfinite(c["stationary_ratio"])
    ]
    return _entry(
        "B2",
        verdict,
        {
            "growth_within_factor": f"{sum(growth)}/{len(cells)}",
            "stationary_within_gap": f"{sum(stat)}/{len(cells)}",
            "largest_stationary_gap": max(gaps) if gaps else float("nan"),
            "per_cell": cells,
        },
    )


def b3(cells: list[dict]) -> dict:
    """cells: {"P", "nsnr2", "diffusion_minority_gain", "classification_minority_gain",
    "classification_majority_gain"} (and context) per tested (P, n·SNR²)."""
    a = bool(cells) and all(learned(c["diffusion_minority_gain"]) for c in cells)
    skipped = [
        c
        for c in cells
        if learned(c["classification_majority_gain"])
        and not learned(c["classification_minority_gain"])
    ]
    b = bool(skipped)
    return _entry(
        "B3",
        _verdict(a and b, a != b),
        {
            "diffusion_learns_minority_everywhere": a,
            "cells_where_classifier_learns_majority_not_minority": [
                (c["P"], c["nsnr2"]) for c in skipped
            ],
            "per_cell": cells,
        },
    )


def learned_from(rows: list[dict], key: str) -> float:
    """The smallest tested n·SNR² from which on rows[key] (a gain) is learned at every larger tested value;
    inf if not learned at the largest."""
    rows = sorted(rows, key=lambda r: r["nsnr2"])
    threshold = math.inf
    for r in reversed(rows):
        if not learned(r[key]):
            break
        threshold = r["nsnr2"]
    return threshold


def b4(scenarios: dict) -> dict:
    """scenarios: {name: rows {"nsnr2", "diffusion_gain", "classification_gain"} (the second feature's gains,
    and context)} for the names of SCENARIOS; a scenario left out is not one where diffusion is earlier."""
    thresholds = {
        name: {m: learned_from(rows, f"{m}_gain") for m in ("diffusion", "classification")}
        for name, rows in scenarios.items()
    }
    # "both scenarios": one that was not tested does not count as earlier
    earlier = [
        name in thresholds and thresholds[name]["diffusion"] < thresholds[name]["classification"]
        for name in SCENARIOS
    ]
    return _entry(
        "B4",
        _verdict(all(earlier), any(earlier)),
        {"learned_from_nsnr2": thresholds, "per_scenario": scenarios},
    )


def b5(cells: list[dict]) -> dict:
    """cells: {"scenario", "nsnr2", "diffusion_ood", "classification_ood"} (probe accuracies on the
    weak/rare-only test set, and context such as the in-distribution ones) per tested cell."""
    better = [c["diffusion_ood"] - c["classification_ood"] > PROBE_MARGIN for c in cells]
    worse = [c["classification_ood"] - c["diffusion_ood"] > PROBE_MARGIN for c in cells]
    verdict = _verdict(2 * sum(better) > len(cells) and not any(worse), any(better))
    return _entry(
        "B5",
        verdict,
        {
            "diffusion_better": f"{sum(better)}/{len(cells)}",
            "diffusion_worse": f"{sum(worse)}/{len(cells)}",
            "per_cell": cells,
        },
    )
