"""D1's rule (sims.studies.claims.d1) from constructed measurements: every verdict, and each
threshold at and just past its boundary. The numbers are written out here (not read from the
module), so a changed threshold or a flipped comparison fails a test."""

import math

import pytest
from made import diffusion_row, lin

from sims.studies.claims import d1
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART


def rows(factors=(1.0, 1.0, 1.0)):
    return [
        diffusion_row(x, growth_ratio=f * 0.5 * x, predicted_growth=0.5 * x)
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
        ((1.0, 1.0, 1.0), 1.0, lin(1.2, 1.2), IN_PART),  # classification not larger
    ],
)
def test_d1(factors, slope, index, verdict):
    entry = d1.judged(rows(factors), slope, index)
    assert entry.verdict == verdict and entry.id == "D1" and entry.origin == "paper"
    assert entry.measured["measured_over_predicted_growth_ratio"]["min"] == pytest.approx(
        min(factors)
    )


def test_d1_without_predictions_is_at_most_in_part():
    no_prediction = [diffusion_row(r.nsnr2, growth_ratio=r.growth_ratio) for r in rows()]
    assert d1.judged(no_prediction, 1.0, lin()).verdict == IN_PART


def test_rule_text():
    assert "within a factor 2 of" in d1.SPEC.rule and "is in [0.8, 1.2]" in d1.SPEC.rule
    assert "(linearity index < 1.5)" in d1.SPEC.rule
