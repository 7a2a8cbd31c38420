"""Each claim's rule, from constructed measurements: every verdict, and each threshold at and just past its
boundary. The numbers are written out here (not read from sims.studies.claims), so a changed threshold or a
flipped comparison fails a test."""

import math

import pytest

from sims.studies import claims
from sims.studies.claims import DOES_NOT, HOLDS, IN_PART


def lin(diffusion=1.1, classification=2.6):
    return {"diffusion": {"index": diffusion}, "classification": {"index": classification}}


# ------------------------------------------------------------------------------------------------ D1
def d1_rows(factors=(1.0, 1.0, 1.0)):
    return [
        {"nsnr2": x, "growth_ratio": f * 0.5 * x, "predicted_growth_ratio": 0.5 * x}
        for x, f in zip((0.1, 1.0, 10.0), factors)
    ]


@pytest.mark.parametrize(
    "factors, slope, index, verdict",
    [
        ((1.0, 1.0, 1.0), 1.0, lin(), HOLDS),
        ((0.5, 1.0, 2.0), 1.0, lin(), HOLDS),  # within a factor 2, ends included
        ((0.49, 1.0, 1.0), 1.0, lin(), IN_PART),  # (i) fails
        ((1.0, 1.0, 2.01), 1.0, lin(), IN_PART),
        ((1.0, 1.0, 1.0), 0.8, lin(), HOLDS),  # slope in [0.8, 1.2], ends included
        ((1.0, 1.0, 1.0), 1.2, lin(), HOLDS),
        ((1.0, 1.0, 1.0), 0.79, lin(), DOES_NOT),  # (ii) fails: nothing holds
        ((1.0, 1.0, 1.0), 1.21, lin(), DOES_NOT),
        ((5.0, 5.0, 5.0), 1.21, lin(), DOES_NOT),
        ((1.0, 1.0, 1.0), math.nan, lin(), DOES_NOT),
        ((1.0, 1.0, 1.0), 1.0, lin(diffusion=1.49), HOLDS),  # near-linear: index < 1.5
        ((1.0, 1.0, 1.0), 1.0, lin(diffusion=1.5), IN_PART),
        (
            (1.0, 1.0, 1.0),
            1.0,
            lin(diffusion=1.2, classification=1.2),
            IN_PART,
        ),  # classification not larger
    ],
)
def test_d1(factors, slope, index, verdict):
    entry = claims.d1(d1_rows(factors), slope, index)
    assert entry["verdict"] == verdict and entry["id"] == "D1"
    assert entry["measured"]["measured_over_predicted_growth_ratio"]["min"] == pytest.approx(
        min(factors)
    )


def test_d1_without_predictions_is_at_most_in_part():
    rows = [dict(r, predicted_growth_ratio=None) for r in d1_rows()]
    assert claims.d1(rows, 1.0, lin())["verdict"] == IN_PART


# ------------------------------------------------------------------------------------------------ D2
def d2_rows():
    return [
        {
            "nsnr2": x,
            "final_ratio": r,
            "predicted_stationary_ratio": p,
            "final_signal": 1.0,
            "final_noise": 1.0,
            "converged_grad_norm": 1e-6,
        }
        for x, r, p in ((0.1, 0.5, 0.5), (1.0, 0.9, 1.0), (10.0, 1.2, 1.0))
    ]


@pytest.mark.parametrize(
    "gain, slope, verdict",
    [
        (10.0, 1.0, HOLDS),
        (10.0, 0.7, HOLDS),
        (10.0, 1.3, HOLDS),  # [0.7, 1.3], ends included
        (10.0, 0.69, IN_PART),
        (10.0, 1.31, IN_PART),
        (10.0, 0.2, IN_PART),
        (10.0, 2.0, IN_PART),  # [0.2, 0.7) or (1.3, 2]
        (10.0, 0.19, DOES_NOT),
        (10.0, 2.01, DOES_NOT),
        (10.0, 0.0, DOES_NOT),
        (10.0, math.nan, DOES_NOT),
        (2.01, 1.0, HOLDS),  # learned: grown more than 2x
        (2.0, 1.0, DOES_NOT),
        (2.0, 0.5, DOES_NOT),  # not learned: neither verdict
    ],
)
@pytest.mark.parametrize("which", ["signal", "noise"])
def test_d2(gain, slope, verdict, which):
    gains = [(gain, 10.0) if which == "signal" else (10.0, gain)] + [(10.0, 10.0)] * 2
    entry = claims.d2(d2_rows(), gains, slope, {"m=1": 0.0})
    assert entry["verdict"] == verdict
    m = entry["measured"]
    assert m["both_learned_everywhere"] == (gain > 2.0)
    assert m["ratio_range"] == [0.5, 1.2]
    assert m["largest_relative_gap_to_predicted_stationary_ratio"] == pytest.approx(0.2)


# ------------------------------------------------------------------------------------------------ C1
def c1_rows(boundary=1.0, low=(0.1, 0.4), high=(3.0, 0.05), middle=(0.5, 0.5), middle_nsnr2=3.99):
    """Rows at the two ends of the sweep (n SNR^2 = boundary / 4 and 4 x boundary, exactly) and one inside
    (by default just below 4 x boundary, with numbers that would fail there)."""
    rows = [
        {"nsnr2": boundary / 4, "final_ratio": low[0], "test_error": low[1]},
        {"nsnr2": middle_nsnr2 * boundary, "final_ratio": middle[0], "test_error": middle[1]},
        {"nsnr2": 4 * boundary, "final_ratio": high[0], "test_error": high[1]},
    ]
    for r in rows:
        r.update(
            predicted_winner="signal" if r["nsnr2"] > boundary else "noise",
            predicted_boundary_nsnr2=boundary,
        )
    return rows


@pytest.mark.parametrize(
    "rows, agreement, index, verdict",
    [
        (c1_rows(), (8, 10), lin(), HOLDS),
        (c1_rows(), (7, 10), lin(), IN_PART),  # agreement below 80%
        (c1_rows(), (0, 0), lin(), IN_PART),
        (c1_rows(), (8, 10), lin(classification=2.0), IN_PART),  # exponential: index > 2
        (c1_rows(), (8, 10), lin(classification=2.01), HOLDS),
        (
            c1_rows(),
            (8, 10),
            lin(diffusion=3.0, classification=2.5),
            IN_PART,
        ),  # and larger than diffusion's
        (c1_rows(high=(3.0, 0.1)), (8, 10), lin(), DOES_NOT),  # signal wins with test error < 0.1
        (c1_rows(high=(3.0, 0.099)), (8, 10), lin(), HOLDS),
        (c1_rows(high=(1.0, 0.05)), (8, 10), lin(), DOES_NOT),  # ... and ratio > 1
        (c1_rows(low=(0.1, 0.25)), (8, 10), lin(), DOES_NOT),  # noise wins with test error > 0.25
        (c1_rows(low=(1.0, 0.4)), (8, 10), lin(), DOES_NOT),  # ... and ratio < 1
        (
            c1_rows(middle_nsnr2=4.0),
            (8, 10),
            lin(),
            DOES_NOT,
        ),  # at 4 x boundary the row counts as an end
        (
            c1_rows(middle=(3.0, 0.05), middle_nsnr2=0.25),
            (8, 10),
            lin(),
            DOES_NOT,
        ),  # at boundary / 4 too
        (
            c1_rows(middle=(3.0, 0.05), middle_nsnr2=0.2501),
            (8, 10),
            lin(),
            HOLDS,
        ),  # inside: not judged
    ],
)
def test_c1(rows, agreement, index, verdict):
    entry = claims.c1(rows, {"agree": agreement[0], "cells": agreement[1]}, index)
    assert entry["verdict"] == verdict
    assert entry["measured"]["predicted_boundary_nsnr2"] == 1.0


def test_c1_without_a_predicted_boundary_has_no_ends():
    rows = [dict(r, predicted_boundary_nsnr2=None) for r in c1_rows()]
    assert claims.c1(rows, {"agree": 8, "cells": 10}, lin())["verdict"] == DOES_NOT


# ------------------------------------------------------------------------------------------------ E1
def e1_rows(diffusion=(0.9, 1.1), classification=(0.06, 3.0)):
    def row(x, ratio):
        return {
            "nsnr2": x,
            "final_ratio": ratio,
            "final_signal": ratio,
            "final_noise": 1.0,
            "test_error": 0.1,
        }

    return {
        "diffusion": [row(0.1, 50.0)] + [row(x, r) for x, r in zip((0.75, 6.75), diffusion)],
        "classification": [row(0.1, 50.0)]
        + [row(x, r) for x, r in zip((0.75, 6.75), classification)],
    }


@pytest.mark.parametrize(
    "diffusion, classification, verdict",
    [
        ((0.9, 1.1), (0.06, 3.0), HOLDS),
        ((0.11, 9.9), (0.99, 1.01), HOLDS),
        ((0.1, 1.1), (0.06, 3.0), IN_PART),  # diffusion: ratio strictly between 0.1 and 10
        ((0.9, 10.0), (0.06, 3.0), IN_PART),
        ((0.9, 1.1), (1.0, 3.0), IN_PART),  # classification: noise wins at 0.75 (ratio < 1) ...
        ((0.9, 1.1), (0.06, 1.0), IN_PART),  # ... and the signal at 6.75 (ratio > 1)
        ((0.9, 1.1), (3.0, 0.06), IN_PART),
        ((20.0, 1.1), (3.0, 0.06), DOES_NOT),
    ],
)
def test_e1(diffusion, classification, verdict):
    entry = claims.e1(e1_rows(diffusion, classification))
    assert entry["verdict"] == verdict
    assert set(entry["measured"]) == {
        "diffusion_0.75",
        "diffusion_6.75",
        "classification_0.75",
        "classification_6.75",
    }
    assert "test_error" in entry["measured"]["classification_0.75"]
    assert "test_error" not in entry["measured"]["diffusion_0.75"]


# ------------------------------------------------------------------------------------------------ E2
def mnist(low=None, high=None):
    def row(level, x, **changes):
        base = {
            "level": level,
            "nsnr2": x,
            "diffusion_ratio": 1.0,
            "diffusion_signal_gain": 10.0,
            "diffusion_noise_gain": 5.0,
            "classification_signal_gain": 3.0,
            "classification_noise_gain": 3.0,
        }
        base.update(
            {"classification_ratio": 0.05, "classification_test_accuracy": 0.6}
            if level == "low"
            else {"classification_ratio": 5.0, "classification_test_accuracy": 0.99}
            if level == "high"
            else {"classification_ratio": 0.5, "classification_test_accuracy": 0.5}
        )
        return {**base, **changes}

    return {
        "comparison": [
            row("low", 0.75, **(low or {})),
            row("extra", 2.25, diffusion_ratio=100.0),
            row("high", 6.75, **(high or {})),
        ],
        "settings": {"digits": [0, 1], "n": 20},
    }


@pytest.mark.parametrize(
    "low, high, verdict",
    [
        ({}, {}, HOLDS),
        (
            {"classification_test_accuracy": 0.75},
            {},
            IN_PART,
        ),  # memorises noise: test accuracy < 0.75
        ({"classification_test_accuracy": 0.749}, {}, HOLDS),
        (
            {},
            {"classification_test_accuracy": 0.9},
            IN_PART,
        ),  # learns the signal: test accuracy > 0.9
        ({}, {"classification_test_accuracy": 0.901}, HOLDS),
        ({"classification_ratio": 1.0}, {}, IN_PART),
        ({}, {"classification_ratio": 1.0}, IN_PART),
        ({"diffusion_ratio": 10.0}, {}, IN_PART),  # diffusion: ratio strictly between 0.1 and 10
        ({}, {"diffusion_ratio": 0.1}, IN_PART),
        ({"diffusion_signal_gain": 2.0}, {}, IN_PART),  # ... each feature grown more than 2x
        ({}, {"diffusion_noise_gain": 2.0}, IN_PART),
        ({}, {"diffusion_noise_gain": 2.01}, HOLDS),
        ({"diffusion_noise_gain": 2.0}, {"classification_ratio": 0.5}, DOES_NOT),
    ],
)
def test_e2(low, high, verdict):
    entry = claims.e2(mnist(low, high))
    assert entry["verdict"] == verdict
    assert "extra (n·SNR² = 2.25)" in entry["measured"]  # reported, not judged
    assert entry["measured"]["settings"]["n"] == 20


# --------------------------------------------------------------------------------------------- rules
RULE_CONSTANTS = {
    "D1": ["D1_RATE_FACTOR", "D1_SLOPE", "LINEAR_INDEX"],
    "D2": ["D2_SLOPE", "D2_PART_SLOPE", "LEARNED_GAIN"],
    "C1": [
        "EXPONENTIAL_INDEX",
        "WINNER_RATIO",
        "C1_HIGH_TEST_ERROR",
        "C1_LOW_TEST_ERROR",
        "C1_END_FACTOR",
    ],
    "E1": ["BOTH_LEARNED_RATIO", "WINNER_RATIO"],
    "E2": [
        "BOTH_LEARNED_RATIO",
        "LEARNED_GAIN",
        "WINNER_RATIO",
        "E2_LOW_ACCURACY",
        "E2_HIGH_ACCURACY",
    ],
}


@pytest.mark.parametrize("claim", sorted(RULE_CONSTANTS))
def test_rule_text_states_the_constants(claim):
    rule = claims.RULES[claim]
    for name in RULE_CONSTANTS[claim]:
        for value in (lambda v: v if isinstance(v, tuple) else (v,))(getattr(claims, name)):
            assert f"{value:g}" in rule, (claim, name, value)
    assert (
        rule.startswith(f"{HOLDS} if")
        and f"'{IN_PART}'" in rule
        and rule.endswith(f"'{DOES_NOT}'.")
    )


def test_rule_text_reads_as_before():
    """The formatted rules keep the wording of the hand-written ones (spot checks of each threshold)."""
    assert "within a factor 2 of" in claims.RULES["D1"] and "is in [0.8, 1.2]" in claims.RULES["D1"]
    assert "(linearity index < 1.5)" in claims.RULES["D1"]
    assert (
        "is in [0.7, 1.3]" in claims.RULES["D2"] and "> 2x its initial value" in claims.RULES["D2"]
    )
    assert "in [0.2, 0.7) or (1.3, 2]" in claims.RULES["D2"]
    assert (
        "(linearity index > 2 and" in claims.RULES["C1"] and ">= 80% of the" in claims.RULES["C1"]
    )
    assert (
        "(ratio > 1, test error < 0.1) at every n·SNR² >= 4 x the predicted boundary"
        in claims.RULES["C1"]
    )
    assert "(ratio < 1, test error > 0.25) at every n·SNR² <= boundary / 4" in claims.RULES["C1"]
    assert (
        "at n·SNR² = 0.75 and 6.75" in claims.RULES["E1"]
        and "(ratio between 0.1 and 10)" in claims.RULES["E1"]
    )
    assert (
        "test accuracy < 0.75" in claims.RULES["E2"] and "test accuracy > 0.9" in claims.RULES["E2"]
    )
    assert f"{claims.C1_AGREEMENT:.0%}" == "80%"
