"""The paper's claims, each with one rule: a function from measured numbers to a verdict.

Every threshold is a named constant below, and the rule printed into report.json and REPORT.md is formatted
from the same constants, so each rule is stated once. A verdict is "holds", "holds in part" or "does not
hold in the tested range"; each function returns {"id", "verdict", "measured", "claim", "rule"}, where
"measured" holds the numbers the rule read (and a few more for context).
"""

from __future__ import annotations

import numpy as np

from sims.studies.measures import WINNER_RATIO
from sims.studies.plan import E1_NSNR2, MODELS

HOLDS, IN_PART, DOES_NOT = "holds", "holds in part", "does not hold in the tested range"
VERDICTS = (HOLDS, IN_PART, DOES_NOT)

LEARNED_GAIN = (
    2.0  # a feature counts as learned once its alignment has grown more than this many times
)
BOTH_LEARNED_RATIO = (
    0.1,
    10.0,
)  # "both features learned": final signal / noise strictly between these
D1_RATE_FACTOR = 2.0  # growth-phase ratio within this factor of the predicted initial rate ratio
D1_SLOPE = (0.8, 1.2)  # log-log slope of the growth-phase ratio read as Θ(n SNR^2)
LINEAR_INDEX = 1.5  # linearity index below this: near-linear growth
D2_SLOPE = (0.7, 1.3)  # log-log slope of the stationary ratio read as Θ(n SNR^2)
D2_PART_SLOPE = (0.2, 2.0)  # ... read as growing with n SNR^2, but not linearly (outside D2_SLOPE)
EXPONENTIAL_INDEX = 2.0  # linearity index above this: exponential growth
C1_END_FACTOR = (
    4.0  # the ends of the sweep: n SNR^2 >= this x the predicted boundary, <= boundary / this
)
C1_HIGH_TEST_ERROR = 0.1  # the signal wins with a test error below this
C1_LOW_TEST_ERROR = 0.25  # the noise wins with a test error above this
C1_AGREEMENT = 0.8  # share of phase-diagram cells where the predicted winner must be right
E2_LOW_ACCURACY = 0.75  # Noisy-MNIST, low n SNR^2: the classifier's test accuracy below this
E2_HIGH_ACCURACY = 0.9  # high n SNR^2: above this

_ELSE = f"otherwise '{DOES_NOT}'."
_BOTH = f"ratio between {BOTH_LEARNED_RATIO[0]:g} and {BOTH_LEARNED_RATIO[1]:g}"
_LOW, _HIGH = (f"{v:g}" for v in E1_NSNR2)

CLAIMS = {
    "D1": "Diffusion, early phase: signal and noise learning grow roughly linearly, at rates whose ratio is Θ(n·SNR²).",
    "D2": "Diffusion, end: gradient descent reaches a stationary point where both are learned, with signal/noise ratio Θ(n·SNR²).",
    "C1": "Classification: exponential growth and a phase transition in n·SNR² (large: signal learned, small test error; small: noise memorised, high test error).",
    "E1": f"Synthetic figure at n·SNR² = {_LOW} and {_HIGH}: diffusion learns both; classification learns one (noise at {_LOW}, signal at {_HIGH}).",
    "E2": "Noisy-MNIST: diffusion learns both signal and noise; classification learns the signal at high n·SNR² and memorises noise at low.",
}

RULES = {
    "D1": (
        f"holds if (i) the measured growth-phase ratio is within a factor {D1_RATE_FACTOR:g} of the predicted "
        f"initial rate ratio in every setting, (ii) its log-log slope against n·SNR² is in "
        f"[{D1_SLOPE[0]:g}, {D1_SLOPE[1]:g}] (Θ(n·SNR²)), and (iii) the diffusion growth is near-linear "
        f"(linearity index < {LINEAR_INDEX:g}) while classification's is larger; '{IN_PART}' if (ii) holds but "
        f"(i) or (iii) fails; {_ELSE}"
    ),
    "D2": (
        f"holds if the log-log slope of the measured stationary ratio against n·SNR² is in "
        f"[{D2_SLOPE[0]:g}, {D2_SLOPE[1]:g}] and both signal and noise are learned (each final alignment > "
        f"{LEARNED_GAIN:g}x its initial value) in every setting; '{IN_PART}' if both are learned and the slope "
        f"is in [{D2_PART_SLOPE[0]:g}, {D2_SLOPE[0]:g}) or ({D2_SLOPE[1]:g}, {D2_PART_SLOPE[1]:g}] (the ratio "
        f"grows with n·SNR², but not linearly); {_ELSE}"
    ),
    "C1": (
        f"holds if classification's early growth is exponential (linearity index > {EXPONENTIAL_INDEX:g} and "
        f"larger than diffusion's), the signal wins (ratio > {WINNER_RATIO:g}, test error < "
        f"{C1_HIGH_TEST_ERROR:g}) at every n·SNR² >= {C1_END_FACTOR:g} x the predicted boundary, noise wins "
        f"(ratio < {WINNER_RATIO:g}, test error > {C1_LOW_TEST_ERROR:g}) at every n·SNR² <= boundary / "
        f"{C1_END_FACTOR:g}, and the predicted winner agrees with simulation in >= {C1_AGREEMENT:.0%} of the "
        f"phase-diagram cells; '{IN_PART}' if the two ends are right but another condition fails; {_ELSE}"
    ),
    "E1": (
        f"holds if at n·SNR² = {_LOW} and {_HIGH} diffusion learns both features ({_BOTH}) while "
        f"classification learns noise at {_LOW} (ratio < {WINNER_RATIO:g}) and signal at {_HIGH} (ratio > "
        f"{WINNER_RATIO:g}); '{IN_PART}' if only one model behaves as claimed; {_ELSE}"
    ),
    "E2": (
        f"holds if on Noisy-MNIST (the study's 'low' and 'high' n·SNR²) diffusion learns both features at both "
        f"({_BOTH}, signal and noise each grown > {LEARNED_GAIN:g}x from initialisation) while the classifier "
        f"memorises noise at the low one (ratio < {WINNER_RATIO:g}, test accuracy < {E2_LOW_ACCURACY:g}) and "
        f"learns the signal at the high one (ratio > {WINNER_RATIO:g}, test accuracy > {E2_HIGH_ACCURACY:g}); "
        f"'{IN_PART}' if only one model behaves as claimed; {_ELSE}"
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


def _between(value: float, bounds: tuple) -> bool:
    return bounds[0] <= value <= bounds[1]


def d1(rows: list[dict], slope: float, linearity: dict) -> dict:
    """rows: the diffusion rows of the ratio table (nsnr2, growth_ratio, predicted_growth_ratio); slope: the
    growth-phase ratio's log-log slope; linearity: per model, the linearity index ("index")."""
    factors = [
        r["growth_ratio"] / r["predicted_growth_ratio"]
        for r in rows
        if r["predicted_growth_ratio"] and np.isfinite(r["growth_ratio"])
    ]
    within = bool(factors) and all(1 / D1_RATE_FACTOR <= f <= D1_RATE_FACTOR for f in factors)
    lin_d, lin_c = linearity["diffusion"]["index"], linearity["classification"]["index"]
    slope_ok = _between(slope, D1_SLOPE)
    linear = lin_d < LINEAR_INDEX and lin_c > lin_d
    return _entry(
        "D1",
        _verdict(within and slope_ok and linear, slope_ok),
        {
            "growth_ratio_slope": slope,
            "measured_over_predicted_growth_ratio": {
                "min": min(factors, default=float("nan")),
                "max": max(factors, default=float("nan")),
            },
            "linearity_index": linearity,
            "per_nsnr2": [
                {k: r[k] for k in ("nsnr2", "growth_ratio", "predicted_growth_ratio")} for r in rows
            ],
        },
    )


def d2(
    rows: list[dict], gains: list[tuple[float, float]], slope: float, other_slopes: dict
) -> dict:
    """rows: the diffusion rows of the ratio table; gains: (signal, noise) final over initial alignment per
    row; slope: the stationary ratio's log-log slope; other_slopes: the same slope for other m and d."""
    learned = all(g_s > LEARNED_GAIN and g_z > LEARNED_GAIN for g_s, g_z in gains)
    part = D2_PART_SLOPE[0] <= slope < D2_SLOPE[0] or D2_SLOPE[1] < slope <= D2_PART_SLOPE[1]
    theory_gap = max(
        abs(r["final_ratio"] / r["predicted_stationary_ratio"] - 1)
        for r in rows
        if r["predicted_stationary_ratio"]
    )
    return _entry(
        "D2",
        _verdict(learned and _between(slope, D2_SLOPE), learned and part),
        {
            "stationary_ratio_slope": slope,
            "both_learned_everywhere": learned,
            "smallest_gain_over_initialisation": {
                "signal": min(g[0] for g in gains),
                "noise": min(g[1] for g in gains),
            },
            "largest_relative_gap_to_predicted_stationary_ratio": theory_gap,
            "slope_for_other_m_and_d": other_slopes,
            "ratio_range": [
                min(r["final_ratio"] for r in rows),
                max(r["final_ratio"] for r in rows),
            ],
            "per_nsnr2": [
                {
                    k: r[k]
                    for k in (
                        "nsnr2",
                        "final_ratio",
                        "predicted_stationary_ratio",
                        "final_signal",
                        "final_noise",
                        "converged_grad_norm",
                    )
                }
                for r in rows
            ],
        },
    )


def c1(rows: list[dict], agreement: dict, linearity: dict) -> dict:
    """rows: the classification rows of the ratio table (nsnr2, final_ratio, test_error, predicted_winner,
    predicted_boundary_nsnr2); agreement: {"agree", "cells"} of the phase diagram; linearity as in d1."""
    b = rows[0].get("predicted_boundary_nsnr2")
    high = [r for r in rows if b is not None and r["nsnr2"] >= C1_END_FACTOR * b]
    low = [r for r in rows if b is not None and r["nsnr2"] <= b / C1_END_FACTOR]
    ends = (
        bool(high)
        and bool(low)
        and all(
            r["final_ratio"] > WINNER_RATIO and r["test_error"] < C1_HIGH_TEST_ERROR for r in high
        )
        and all(
            r["final_ratio"] < WINNER_RATIO and r["test_error"] > C1_LOW_TEST_ERROR for r in low
        )
    )
    agree_ok = agreement["cells"] > 0 and agreement["agree"] >= C1_AGREEMENT * agreement["cells"]
    lin_d, lin_c = linearity["diffusion"]["index"], linearity["classification"]["index"]
    expo = lin_c > EXPONENTIAL_INDEX and lin_c > lin_d
    return _entry(
        "C1",
        _verdict(ends and agree_ok and expo, ends),
        {
            "predicted_boundary_nsnr2": b,
            "linearity_index": linearity["classification"],
            "phase_agreement": agreement,
            "per_nsnr2": [
                {k: r[k] for k in ("nsnr2", "final_ratio", "test_error", "predicted_winner")}
                for r in rows
            ],
        },
    )


def e1(rows: dict) -> dict:
    """rows: the ratio table (per model, rows with nsnr2, final_ratio, final_signal, final_noise and, for
    classification, test_error), including the paper's two settings E1_NSNR2."""
    at = {(m, r["nsnr2"]): r for m in MODELS for r in rows[m] if r["nsnr2"] in E1_NSNR2}
    diff_ok = all(
        BOTH_LEARNED_RATIO[0] < at[("diffusion", v)]["final_ratio"] < BOTH_LEARNED_RATIO[1]
        for v in E1_NSNR2
    )
    cls_ok = (
        at[("classification", E1_NSNR2[0])]["final_ratio"]
        < WINNER_RATIO
        < at[("classification", E1_NSNR2[1])]["final_ratio"]
    )
    return _entry(
        "E1",
        _verdict(diff_ok and cls_ok, diff_ok or cls_ok),
        {
            f"{m}_{v}": {
                "ratio": at[(m, v)]["final_ratio"],
                "signal": at[(m, v)]["final_signal"],
                "noise": at[(m, v)]["final_noise"],
                **({"test_error": at[(m, v)]["test_error"]} if m == "classification" else {}),
            }
            for m in MODELS
            for v in E1_NSNR2
        },
    )


def e2(mnist: dict) -> dict:
    """mnist: the Noisy-MNIST result (mnist.json); reads its "comparison" rows at the levels "low" and "high"."""
    rows = {r["level"]: r for r in mnist["comparison"] if r["level"] in ("low", "high")}
    lo, hi = rows["low"], rows["high"]
    diff_ok = all(
        BOTH_LEARNED_RATIO[0] < r["diffusion_ratio"] < BOTH_LEARNED_RATIO[1]
        and r["diffusion_signal_gain"] > LEARNED_GAIN
        and r["diffusion_noise_gain"] > LEARNED_GAIN
        for r in (lo, hi)
    )
    cls_ok = (
        lo["classification_ratio"] < WINNER_RATIO < hi["classification_ratio"]
        and lo["classification_test_accuracy"] < E2_LOW_ACCURACY
        and hi["classification_test_accuracy"] > E2_HIGH_ACCURACY
    )
    keys = (
        "nsnr2",
        "diffusion_ratio",
        "diffusion_signal_gain",
        "diffusion_noise_gain",
        "classification_ratio",
        "classification_signal_gain",
        "classification_noise_gain",
        "classification_test_accuracy",
    )
    return _entry(
        "E2",
        _verdict(diff_ok and cls_ok, diff_ok or cls_ok),
        {
            "settings": {
                k: mnist.get("settings", {}).get(k)
                for k in ("digits", "n", "m", "sigma0", "steps", "repeats")
            },
            "data": mnist.get("data", {}).get(
                "credit", "MNIST (Y. LeCun, C. Cortes; CC BY-SA 3.0)"
            ),
            **{
                r["level"] + f" (n·SNR² = {r['nsnr2']})": {k: r[k] for k in keys}
                for r in mnist["comparison"]
            },
        },
    )
