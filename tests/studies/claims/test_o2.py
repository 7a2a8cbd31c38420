"""O2's rule (sims.studies.claims.o2) on made-up rows: every verdict reachable, each for the reason
its rule states."""

from made import Row as row

from sims.studies.claims import o2
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART

GRID = (0.2, 1.0, 5.0)


def test_x0_like_the_classifier():
    classifier = [row(0.1, 0.01), row(1.0, 0.5), row(10.0, 100.0)]  # noise, noise, signal
    like = [
        row(0.1, 0.001, signal_gain=0.5),
        row(1.0, 0.01, signal_gain=1.0),
        row(10.0, 50, noise_gain=1.5),
    ]
    assert o2.judged(like, classifier).verdict == HOLDS
    partly = [like[0], row(1.0, 1.0), row(10.0, 2.0)]
    got = o2.judged(partly, classifier)
    assert got.verdict == IN_PART and got.measured["winner_take_all"] == 1
    assert o2.judged([row(v, 1.0) for v in GRID], classifier).verdict == DOES_NOT
    wrong_winner = [
        row(0.1, 50, noise_gain=1.0),
        row(1.0, 50, noise_gain=1.0),
        row(10.0, 0.01, signal_gain=1.0),
    ]
    assert o2.judged(wrong_winner, classifier).verdict == IN_PART
