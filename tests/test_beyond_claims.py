"""The rules of the studies beyond Definition 2.1 (B1-B5), from constructed measurements: every verdict, and
each threshold at and just past its boundary. Thresholds are written out as numbers here (not read from the
module), so a changed threshold or a flipped comparison fails a test."""

import math

import pytest

from sims.studies import beyond_claims as bc
from sims.studies.claims import DOES_NOT, HOLDS, IN_PART

LOW, HIGH = 0.75, 6.75


def test_rule_text_states_the_constants():
    assert "factor 2" in bc.RULES["B2"] and "5%" in bc.RULES["B2"]
    assert "gains > 2" in bc.RULES["B1"] and "(0.1, 10)" in bc.RULES["B1"]
    assert "0.05" in bc.RULES["B5"] and "0.01" in bc.RULES["B5"] and "2000" in bc.RULES["B5"]
    assert "(1.0, 0.3)" in bc.RULES["B4"] and "(0.9, 0.1)" in bc.RULES["B4"]
    assert set(bc.RULES) == set(bc.CLAIMS) == {"B1", "B2", "B3", "B4", "B5"}


# ------------------------------------------------------------------------------------------------ B1
def b1_cell(C=0.5, nsnr2=LOW, ratio=1.0, sg=10.0, ng=10.0, cls=None):
    cls = (0.5 if nsnr2 == LOW else 2.0) if cls is None else cls
    return {
        "C": C,
        "nsnr2": nsnr2,
        "diffusion_ratio": ratio,
        "diffusion_signal_gain": sg,
        "diffusion_noise_gain": ng,
        "classification_ratio": cls,
    }


@pytest.mark.parametrize(
    "change, verdict",
    [
        ({}, HOLDS),
        ({"ratio": 0.11}, HOLDS),
        ({"ratio": 9.9}, HOLDS),
        ({"ratio": 0.1}, IN_PART),
        ({"ratio": 10.0}, IN_PART),  # strictly inside (0.1, 10); the other cell passes
        ({"sg": 2.01}, HOLDS),
        ({"sg": 2.0}, IN_PART),
        ({"ng": 2.0}, IN_PART),
        ({"sg": math.nan}, IN_PART),
        ({"cls": 0.99}, HOLDS),
        ({"cls": 1.0}, IN_PART),  # low n SNR^2: noise wins means ratio < 1
    ],
)
def test_b1_low_cell(change, verdict):
    cells = [b1_cell(nsnr2=LOW, **change), b1_cell(nsnr2=HIGH)]
    entry = bc.b1(cells)
    assert entry["verdict"] == verdict and entry["id"] == "B1"


@pytest.mark.parametrize("cls, verdict", [(1.01, HOLDS), (1.0, IN_PART), (0.5, IN_PART)])
def test_b1_high_cell_needs_the_signal_to_win(cls, verdict):
    assert bc.b1([b1_cell(nsnr2=LOW), b1_cell(nsnr2=HIGH, cls=cls)])["verdict"] == verdict


def test_b1_one_model_everywhere_is_in_part_and_nothing_does_not_hold():
    diff_only = [b1_cell(nsnr2=LOW, cls=2.0), b1_cell(nsnr2=HIGH, cls=0.5)]
    assert bc.b1(diff_only)["verdict"] == IN_PART
    cls_only = [b1_cell(nsnr2=LOW, ratio=50.0), b1_cell(nsnr2=HIGH, ratio=50.0)]
    assert bc.b1(cls_only)["verdict"] == IN_PART
    mixed = [b1_cell(nsnr2=LOW, ratio=50.0), b1_cell(nsnr2=HIGH, cls=0.5)]
    assert bc.b1(mixed)["verdict"] == DOES_NOT
    assert bc.b1([])["verdict"] == DOES_NOT


# ------------------------------------------------------------------------------------------------ B2
def b2_cell(growth=1.0, stat=1.0, C=0.5):
    return {
        "C": C,
        "nsnr2": LOW,
        "growth_ratio": growth * 0.4,
        "predicted_growth_ratio": 0.4,
        "stationary_ratio": stat * 0.9,
        "predicted_stationary_ratio": 0.9,
    }


@pytest.mark.parametrize(
    "growth, stat, verdict",
    [
        (1.0, 1.0, HOLDS),
        (2.0, 1.0, HOLDS),
        (0.5, 1.0, HOLDS),  # within a factor 2, ends included
        (2.01, 1.0, IN_PART),
        (0.49, 1.0, IN_PART),
        (1.0, 1.0499, HOLDS),
        (1.0, 0.9501, HOLDS),  # within 5 %
        (1.0, 1.051, IN_PART),
        (1.0, 0.949, IN_PART),
        (3.0, 1.2, DOES_NOT),
        (math.nan, math.nan, DOES_NOT),
    ],
)
def test_b2(growth, stat, verdict):
    entry = bc.b2([b2_cell(growth, stat), b2_cell(C=0.0)])
    assert entry["verdict"] == verdict


def test_b2_reports_the_largest_gap_before_rounding():
    """report.json keeps 6 significant digits of each ratio: a gap of 3e-10 must come from the unrounded
    ratios (it once read 0 in the README)."""
    cells = [
        dict(b2_cell(), stationary_ratio=0.9 * (1 + 3e-10)),
        dict(b2_cell(), stationary_ratio=0.9 * (1 - 1e-12)),
    ]
    gap = bc.b2(cells)["measured"]["largest_stationary_gap"]
    assert gap == pytest.approx(3e-10, rel=1e-4)
    from sims.studies.findings import b2

    assert "within 3e-10 (relative)" in b2(bc.b2(cells))


def test_b2_missing_prediction_fails_that_part():
    cell = dict(b2_cell(), predicted_stationary_ratio=None)
    assert bc.b2([cell])["verdict"] == IN_PART
    assert bc.b2([])["verdict"] == DOES_NOT


# ------------------------------------------------------------------------------------------------ B3
def b3_cell(diff=10.0, minority=10.0, majority=10.0, P=0.95):
    return {
        "P": P,
        "nsnr2": HIGH,
        "diffusion_minority_gain": diff,
        "classification_minority_gain": minority,
        "classification_majority_gain": majority,
    }


@pytest.mark.parametrize(
    "cells, verdict",
    [
        (
            [b3_cell(minority=2.0), b3_cell(P=0.8)],
            HOLDS,
        ),  # minority not learned (<= 2) where majority is
        (
            [b3_cell(minority=2.01), b3_cell(P=0.8)],
            IN_PART,
        ),  # classifier learns both everywhere: (b) fails
        (
            [b3_cell(minority=1.0, majority=2.0)],
            IN_PART,
        ),  # majority not learned either: no shortcut, (b) fails
        ([b3_cell(minority=1.0, majority=2.01)], HOLDS),
        ([b3_cell(diff=2.0, minority=1.0)], IN_PART),  # (a) fails, (b) holds
        ([b3_cell(diff=2.01, minority=1.0)], HOLDS),
        ([b3_cell(diff=2.0)], DOES_NOT),  # neither
        ([], DOES_NOT),
    ],
)
def test_b3(cells, verdict):
    assert bc.b3(cells)["verdict"] == verdict


# ------------------------------------------------------------------------------------------------ B4
def rows(diffusion, classification, xs=(0.1, 1.0, 10.0)):
    return [
        {"nsnr2": x, "diffusion_gain": d, "classification_gain": c}
        for x, d, c in zip(xs, diffusion, classification)
    ]


def test_learned_from():
    r = rows((1.0, 3.0, 3.0), (3.0, 1.0, 3.0))
    assert bc.learned_from(r, "diffusion_gain") == 1.0
    assert (
        bc.learned_from(r, "classification_gain") == 10.0
    )  # learned at 0.1, lost at 1: from 10 on
    assert bc.learned_from(rows((3.0, 3.0, 2.0), (2.01, 2.01, 2.01)), "diffusion_gain") == math.inf
    assert bc.learned_from(rows((3.0, 3.0, 2.0), (2.01, 2.01, 2.01)), "classification_gain") == 0.1
    assert (
        bc.learned_from(list(reversed(r)), "diffusion_gain") == 1.0
    )  # order of the rows does not matter


@pytest.mark.parametrize(
    "weak, rare, verdict",
    [
        (rows((3, 3, 3), (1, 3, 3)), rows((1, 3, 3), (1, 1, 3)), HOLDS),
        (
            rows((3, 3, 3), (1, 1, 1)),
            rows((1, 1, 3), (1, 1, 1)),
            HOLDS,
        ),  # classifier never: infinite
        (
            rows((3, 3, 3), (3, 3, 3)),
            rows((1, 3, 3), (1, 1, 3)),
            IN_PART,
        ),  # equal thresholds are not lower
        (
            rows((1, 1, 1), (1, 1, 1)),
            rows((1, 3, 3), (1, 1, 3)),
            IN_PART,
        ),  # both infinite: not lower
        (
            rows((1, 3, 3), (3, 3, 3)),
            rows((1, 1, 3), (1, 3, 3)),
            DOES_NOT,
        ),  # classifier earlier in both
    ],
)
def test_b4(weak, rare, verdict):
    entry = bc.b4({"weak": weak, "rare": rare})
    assert entry["verdict"] == verdict


def test_b4_needs_both_scenarios():
    """'in both scenarios': a preset that tests one of them reaches 'in part' at most."""
    assert bc.b4({"weak": rows((3, 3, 3), (1, 3, 3))})["verdict"] == IN_PART
    assert bc.b4({"weak": rows((3, 3, 3), (3, 3, 3))})["verdict"] == DOES_NOT
    assert bc.b4({})["verdict"] == DOES_NOT


# ------------------------------------------------------------------------------------------------ B5
def b5_cells(*gaps):
    """diffusion_ood - classification_ood = gap exactly (one of the two is 0)."""
    return [
        {
            "scenario": "weak",
            "nsnr2": i,
            "diffusion_ood": max(g, 0.0),
            "classification_ood": max(-g, 0.0),
        }
        for i, g in enumerate(gaps)
    ]


@pytest.mark.parametrize(
    "gaps, verdict",
    [
        ((0.2, 0.2, 0.0), HOLDS),  # better in 2 of 3, worse in none
        ((0.06, 0.06, -0.05), HOLDS),  # a shortfall of exactly 0.05 is not worse
        ((0.06, 0.06, -0.06), IN_PART),  # worse somewhere
        ((0.2, 0.0, 0.0), IN_PART),  # better in 1 of 3: not more than half
        ((0.2, 0.2, 0.0, 0.0), IN_PART),  # 2 of 4 is not more than half
        ((0.05, 0.05, 0.05), DOES_NOT),  # a margin of exactly 0.05 is not better
        ((-0.2, -0.2), DOES_NOT),
    ],
)
def test_b5(gaps, verdict):
    assert bc.b5(b5_cells(*gaps))["verdict"] == verdict
