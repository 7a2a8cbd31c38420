"""O1's rule (sims.studies.claims.o1) on made-up rows: every verdict reachable, each for the reason
its rule states."""

import pytest
from made import Row as row

from sims.studies.claims import o1
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART

GRID = (0.2, 1.0, 5.0)


@pytest.mark.parametrize(
    "slopes, verdict",
    [
        ((0.1, 1.0), HOLDS),  # one series Θ(n·SNR²) is enough
        ((0.1, 0.5), IN_PART),  # grows, not linearly
        ((0.1, 2.5), DOES_NOT),  # too steep
        ((0.05,), DOES_NOT),  # flat
    ],
)
def test_objectives(slopes, verdict):
    # ratio = 1 at n·SNR² = 1, so every ratio stays in (0.1, 10) for slopes up to 1.4
    series = {(f"obj{i}", "single"): [row(v, v**s) for v in GRID] for i, s in enumerate(slopes)}
    got = o1.judged(series)
    assert got.verdict == verdict
    assert got.measured["per_series"]["obj0/single"]["slope"] == pytest.approx(slopes[0])


def test_objectives_need_both_features_learned():
    series = {("x0", "single"): [row(0.2, 0.2, signal_gain=1.5), row(1.0, 1.0), row(5.0, 5.0)]}
    assert o1.judged(series).verdict == DOES_NOT
