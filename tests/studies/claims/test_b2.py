"""B2's rule (sims.studies.claims.b2) from constructed measurements: every verdict, and each
threshold at and just past its boundary. Thresholds are written out as numbers here (not read from
the module), so a changed threshold or a flipped comparison fails a test."""

import math

import pytest

from sims.studies.claims import b2
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART

LOW, HIGH = 0.75, 6.75


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
    entry = b2.judged([b2_cell(growth, stat), b2_cell(C=0.0)])
    assert entry.verdict == verdict


def test_b2_reports_the_largest_gap_before_rounding():
    """report.json keeps 6 significant digits of each ratio: a gap of 3e-10 must come from the
    unrounded ratios (it once read 0 in a written paragraph)."""
    cells = [
        dict(b2_cell(), stationary_ratio=0.9 * (1 + 3e-10)),
        dict(b2_cell(), stationary_ratio=0.9 * (1 - 1e-12)),
    ]
    gap = b2.judged(cells).measured["largest_stationary_gap"]
    assert gap == pytest.approx(3e-10, rel=1e-4)
    assert "within 3e-10 (relative)" in b2.paragraph({"measured": b2.judged(cells).measured})


def test_b2_missing_prediction_fails_that_part():
    cell = dict(b2_cell(), predicted_stationary_ratio=None)
    assert b2.judged([cell]).verdict == IN_PART
    assert b2.judged([]).verdict == DOES_NOT
