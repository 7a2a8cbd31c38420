"""U2's rule (sims.studies.claims.u2) on made-up points: every verdict reachable."""

from typing import NamedTuple

from sims.studies.claims import u2
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART


class P(NamedTuple):
    ratio: float
    signal_gain: float = 10.0
    noise_gain: float = 10.0


BOTH, SIGNAL, NOISE = P(1.0), P(50.0, noise_gain=1.2), P(0.02, signal_gain=1.1)
NEITHER = P(1.0, 1.0, 1.0)


def points(*fixed):
    return [({"sigma_xi": 1.0, "nsnr2": float(i)}, f, SIGNAL, BOTH) for i, f in enumerate(fixed)]


def test_verdicts():
    assert u2.judged(points(SIGNAL, NOISE)).verdict == HOLDS
    assert u2.judged(points(SIGNAL, BOTH)).verdict == IN_PART
    assert u2.judged(points(BOTH, BOTH)).verdict == DOES_NOT
    assert u2.judged(points(NEITHER, BOTH)).verdict == DOES_NOT  # neither learned: no winner
    assert u2.judged([]).verdict == DOES_NOT


def test_the_classifier_is_reported_beside_not_judged():
    got = u2.judged(points(BOTH))
    row = got.measured["per_point"][0]
    assert row["classifier_outcome"] == "signal" and row["fixed_output_outcome"] == "both"
    assert got.measured["winner_take_all_at"] == 0
