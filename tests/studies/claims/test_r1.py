"""R1's rule (sims.studies.claims.r1) on made-up measurements: every verdict reachable, at each
boundary, for the reason its rule states."""

import pytest
from made import Row as row

from sims.studies.claims import r1
from sims.studies.claims.base import (
    DOES_NOT,
    HOLDS,
    IN_PART,
    LEARNED_GAIN,
    PART_SLOPE,
    THETA_SLOPE,
)
from sims.studies.d2robust import GROWTH

EPS = 1e-9  # inside a band's closed end by more than the fitted slope's rounding
GRID = (0.5, 1.0, 2.0)  # ratio = n·SNR²^slope stays in (0.1, 10) for every slope tested


def series(slope, **gains):
    return [row(v, v**slope, **gains) for v in GRID]


def test_rule_states_its_constants():
    assert (
        f"[{THETA_SLOPE[0]:g}, {THETA_SLOPE[1]:g}]" in r1.SPEC.rule
        and f"[{PART_SLOPE[0]:g}, {PART_SLOPE[1]:g}]" in r1.SPEC.rule
    )
    assert f"> {LEARNED_GAIN:g}x" in r1.SPEC.rule and GROWTH in r1.SPEC.rule


@pytest.mark.parametrize(
    "slopes, verdict",
    [
        ({"exact loss": 0.1, "fixed K = 1": 1.0}, HOLDS),  # one stationary series is enough
        (
            {"exact loss": 0.1, "m = 4": THETA_SLOPE[0] + EPS},
            HOLDS,
        ),  # the band's ends are in it
        ({"exact loss": THETA_SLOPE[1] - EPS}, HOLDS),
        ({"exact loss": THETA_SLOPE[0] - 0.01}, IN_PART),  # just below: grows, not linearly
        ({"exact loss": THETA_SLOPE[1] + 0.01}, IN_PART),
        ({"exact loss": PART_SLOPE[0] + EPS}, IN_PART),
        ({"exact loss": PART_SLOPE[1] - EPS}, IN_PART),
        ({"exact loss": PART_SLOPE[0] - 0.01}, DOES_NOT),  # flat
        ({"exact loss": PART_SLOPE[1] + 0.01}, DOES_NOT),  # too steep
        ({"exact loss": 0.1, GROWTH: 1.0}, IN_PART),  # only the growth phase is Θ(n·SNR²)
        ({"exact loss": 0.1, GROWTH: 0.05}, DOES_NOT),
    ],
)
def test_robustness(slopes, verdict):
    got = r1.judged({k: series(s) for k, s in slopes.items()})
    assert got.verdict == verdict and got.id == "R1"
    for k, s in slopes.items():
        assert got.measured["per_series"][k]["slope"] == pytest.approx(s)


@pytest.mark.parametrize("gains", [dict(signal_gain=LEARNED_GAIN), dict(noise_gain=1.0)])
def test_robustness_needs_both_features_learned(gains):
    """A slope-1 series that has memorised its draws (a feature not grown past LEARNED_GAIN) does
    not count."""
    got = r1.judged({"fixed K = 16": series(1.0, **gains)})
    assert (
        got.verdict == DOES_NOT
        and not got.measured["per_series"]["fixed K = 16"]["both_learned_everywhere"]
    )
    ratio_out = [
        row(0.5, 0.05),
        row(1.0, 1.0),
        row(2.0, 2.0),
    ]  # ratio below BOTH_LEARNED_RATIO at one point
    assert r1.judged({"exact loss": ratio_out}).verdict == DOES_NOT
