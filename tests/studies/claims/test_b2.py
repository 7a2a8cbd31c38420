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
    """report.json keeps 6 significant digits of each ratio: a gap must come from the unrounded
    ratios (one of 3e-10 once read 0 in a written paragraph); a gap at rounding level is stated as
    its bound class (io.resolved), one above it to the digits that stand above the resolution."""
    cells = [
        dict(b2_cell(), stationary_ratio=0.9 * (1 + 3e-10)),
        dict(b2_cell(), stationary_ratio=0.9 * (1 - 1e-12)),
    ]
    assert b2.judged(cells).measured["largest_stationary_gap"] == "< 1e-9"
    text = b2.paragraph({"measured": b2.judged(cells).measured})
    assert "stationary ratio is < 1e-9 (within" in text
    cells[0] = dict(b2_cell(), stationary_ratio=0.9 * (1 + 3.21e-7))
    assert b2.judged(cells).measured["largest_stationary_gap"] == 3.2e-7  # 2 digits above 1e-9
    text = b2.paragraph({"measured": b2.judged(cells).measured})
    assert "stationary ratio is 3.2e-07 (within" in text


def test_b2_missing_prediction_fails_that_part():
    cell = dict(b2_cell(), predicted_stationary_ratio=None)
    assert b2.judged([cell]).verdict == IN_PART
    assert b2.judged([]).verdict == DOES_NOT
