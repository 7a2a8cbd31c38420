"""M2's rule (sims.studies.claims.m2) on made-up probe accuracies over the times."""

import pytest

from sims.studies.claims import m2
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART
from sims.studies.memorise import EXACT, MEM_GAP

P = m2.PEAK_MARGIN
PEAK = [0.5, 0.6, 0.5 + P + 0.1, 0.55]  # the interior best is P + 0.05 above the larger end
FLAT = [0.6, 0.6, 0.6, 0.6]
RISE = [0.5, 0.6, 0.7, 0.8]


def series(exact, fewest, gap=2 * MEM_GAP):
    return {
        EXACT: {"accuracy": exact, "draw_gap": [None] * 4},
        1: {"accuracy": fewest, "draw_gap": [gap] * 4},
    }


def test_rule_states_its_constant():
    assert f"by {P:g}" in m2.SPEC.rule and f"at least {MEM_GAP:g}" in m2.SPEC.rule


def test_peak_reading():
    assert m2.peak(PEAK)["peaks"] and m2.peak(PEAK)["best"] == 2
    assert not m2.peak(RISE)["peaks"] and not m2.peak(FLAT)["peaks"]
    edge = [0.5, 0.55 + P, 0.5, 0.55]  # exactly P above the larger end: a peak
    assert m2.peak(edge)["peaks"] and not m2.peak([0.5, 0.55 + P - 1e-9, 0.5, 0.55])["peaks"]
    assert not m2.peak([0.5, 0.9])["peaks"]  # no interior time


@pytest.mark.parametrize(
    "table, verdict",
    [
        ({0.3: series(PEAK, FLAT), 3.0: series(PEAK, RISE)}, HOLDS),
        ({0.3: series(PEAK, PEAK), 3.0: series(PEAK, RISE)}, IN_PART),  # the memorised one peaks
        ({0.3: series(PEAK, FLAT, gap=0.0)}, IN_PART),  # K = 1 did not memorise
        ({0.3: series(PEAK, FLAT), 3.0: series(RISE, FLAT)}, IN_PART),
        ({0.3: series(RISE, FLAT), 3.0: series(FLAT, PEAK)}, DOES_NOT),
    ],
)
def test_rule(table, verdict):
    got = m2.judged(table)
    assert got.verdict == verdict and got.id == "M2"
