"""A1's rule (sims.studies.claims.a1) on made-up rows: every verdict reachable, each for the reason
its rule states."""

from made import Row as row

from sims.studies.claims import a1
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART

GRID = (0.2, 1.0, 5.0)


def test_augmented_classifier():
    assert a1.judged([row(v, 1.0) for v in GRID]).verdict == HOLDS
    ends = [
        row(10.0, 100.0, noise_gain=1.2),
        row(1.0, 1.0),
        row(0.1, 0.01, signal_gain=1.1),
    ]  # unsorted
    assert a1.judged(ends).verdict == DOES_NOT
    moved = [row(0.1, 0.05, signal_gain=1.1), row(1.0, 1.0), row(10.0, 5.0)]  # high end learns both
    got = a1.judged(moved)
    assert got.verdict == IN_PART and not got.measured["keeps_both_ends"]
