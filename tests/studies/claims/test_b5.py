"""B5's rule (sims.studies.claims.b5) from constructed measurements: every verdict, and each
threshold at and just past its boundary. Thresholds are written out as numbers here (not read from
the module), so a changed threshold or a flipped comparison fails a test."""

import pytest

from sims.studies.claims import b5
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART

LOW, HIGH = 0.75, 6.75


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
    assert b5.judged(b5_cells(*gaps)).verdict == verdict
