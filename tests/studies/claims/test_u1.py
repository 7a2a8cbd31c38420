"""U1's rule (sims.studies.claims.u1) on made-up points: every verdict reachable, at each boundary,
for the reason its rule states."""

from typing import NamedTuple

import pytest

from sims.studies.claims import u1
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART


class P(NamedTuple):
    ratio: float
    signal_gain: float = 10.0
    noise_gain: float = 10.0


def pairs(*rows):
    """rows of (untied point, tied point), at made-up places."""
    return [({"sigma_xi": 1.0, "nsnr2": float(i), "m": 4}, u, t) for i, (u, t) in enumerate(rows)]


def test_holds_when_the_untied_model_learns_both_at_the_tied_ratio():
    got = u1.judged(pairs((P(1.0), P(0.6)), (P(3.0), P(1.5))))
    assert got.verdict == HOLDS and got.measured["points"] == 2


def test_the_factor_is_inclusive():
    f = u1.FOLLOW_FACTOR
    assert u1.judged(pairs((P(f), P(1.0)), (P(1 / f), P(1.0)))).verdict == HOLDS
    assert u1.judged(pairs((P(f * 1.01), P(1.0)))).verdict == IN_PART  # both, another ratio


def test_in_part_by_share_and_not_below_it():
    good = [(P(1.0), P(1.0))] * 4
    one_alone = (P(1.0, noise_gain=1.5), P(1.0))  # the untied model learns the signal only
    assert u1.judged(pairs(*good, one_alone)).verdict == IN_PART  # 4 of 5 = 80 %
    assert u1.judged(pairs(*good[:3], one_alone)).verdict == DOES_NOT  # 3 of 4 = 75 %


def test_points_are_those_where_the_tied_model_learns_both():
    tied_alone = (P(100.0, noise_gain=1.0), P(50.0, noise_gain=1.0))
    got = u1.judged(pairs((P(1.0), P(1.0)), tied_alone))
    assert got.verdict == HOLDS and got.measured["points"] == 1
    assert got.measured["tied_not_both"] == [{"sigma_xi": 1.0, "nsnr2": 1.0, "m": 4}]
    assert u1.judged(pairs(tied_alone)).verdict == DOES_NOT  # nothing to survive


def test_a_missing_reading_does_not_count_as_learned():
    nan = float("nan")
    got = u1.judged(pairs((P(nan, nan, nan), P(1.0))))
    assert got.verdict == DOES_NOT and got.measured["survives_at"] == 0


@pytest.mark.parametrize("gain, outcome", [(2.0, "signal"), (2.01, "both")])
def test_learned_means_more_than_twice_the_initial_alignment(gain, outcome):
    got = u1.judged(pairs((P(1.0, noise_gain=gain), P(1.0))))
    assert got.measured["per_point"][0]["untied_outcome"] == outcome
