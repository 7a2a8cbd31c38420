"""B3's rule (sims.studies.claims.b3) from constructed measurements: every verdict, and each
threshold at and just past its boundary. Thresholds are written out as numbers here (not read from
the module), so a changed threshold or a flipped comparison fails a test."""

import pytest

from sims.studies.claims import b3
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART

LOW, HIGH = 0.75, 6.75


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
    assert b3.judged(cells).verdict == verdict
