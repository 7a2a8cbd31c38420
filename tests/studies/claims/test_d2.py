"""D2's rule (sims.studies.claims.d2) from constructed measurements: every verdict, and each
threshold at and just past its boundary (numbers written out here, not read from the module)."""

import math

import pytest
from made import diffusion_row

from sims.studies.claims import d2
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART


def rows():
    return [
        diffusion_row(
            x,
            final_ratio=r,
            predicted_stationary=p,
            final_signal=1.0,
            final_noise=1.0,
            converged_grad_norm=1e-6,
        )
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
    entry = d2.judged(rows(), gains, slope, {"m=1": 0.0})
    assert entry.verdict == verdict and entry.id == "D2"
    m = entry.measured
    assert m["both_learned_everywhere"] == (gain > 2.0)
    assert m["ratio_range"] == [0.5, 1.2]
    assert m["largest_relative_gap_to_predicted_stationary_ratio"] == pytest.approx(0.2)


def test_rule_text():
    assert "is in [0.7, 1.3]" in d2.SPEC.rule and "> 2x its initial value" in d2.SPEC.rule
    assert "in [0.2, 0.7) or (1.3, 2]" in d2.SPEC.rule
