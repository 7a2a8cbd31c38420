"""B4's rule (sims.studies.claims.b4) from constructed measurements: every verdict, and each
threshold at and just past its boundary. Thresholds are written out as numbers here (not read from
the module), so a changed threshold or a flipped comparison fails a test."""

import math

import pytest

from sims.studies.claims import b4
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART

LOW, HIGH = 0.75, 6.75


def rows(diffusion, classification, xs=(0.1, 1.0, 10.0)):
    return [
        {"nsnr2": x, "diffusion_gain": d, "classification_gain": c}
        for x, d, c in zip(xs, diffusion, classification)
    ]


def test_learned_from():
    r = rows((1.0, 3.0, 3.0), (3.0, 1.0, 3.0))
    assert b4.learned_from(r, "diffusion_gain") == 1.0
    assert (
        b4.learned_from(r, "classification_gain") == 10.0
    )  # learned at 0.1, lost at 1: from 10 on
    assert b4.learned_from(rows((3.0, 3.0, 2.0), (2.01, 2.01, 2.01)), "diffusion_gain") == math.inf
    assert b4.learned_from(rows((3.0, 3.0, 2.0), (2.01, 2.01, 2.01)), "classification_gain") == 0.1
    assert (
        b4.learned_from(list(reversed(r)), "diffusion_gain") == 1.0
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
    entry = b4.judged({"weak": weak, "rare": rare})
    assert entry.verdict == verdict


def test_b4_needs_both_scenarios():
    """'in both scenarios': a preset that tests one of them reaches 'in part' at most."""
    assert b4.judged({"weak": rows((3, 3, 3), (1, 3, 3))}).verdict == IN_PART
    assert b4.judged({"weak": rows((3, 3, 3), (3, 3, 3))}).verdict == DOES_NOT
    assert b4.judged({}).verdict == DOES_NOT
