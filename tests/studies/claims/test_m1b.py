"""M1b's rule (sims.studies.claims.m1b) on made-up final data gaps."""

import pytest

from sims.studies.claims import m1b
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART
from sims.studies.memorise import EXACT

N = 4
A = m1b.AMPLIFY


def widths(effects):
    """{m: {K: gap}} with gap(K = 1) = 0 and the exact loss's the effect (K = 16 between)."""
    return {m: {1: 0.0, 16: e / 2, EXACT: e} for m, e in effects.items()}


GEORGE = {1: -0.5, 2: -A - 0.01, 8: A + 0.01, 16: 1.0}  # reduced below n, amplified above


def test_rule_states_its_constant():
    assert f"above {A:g}" in m1b.SPEC.rule and f"below -{A:g}" in m1b.SPEC.rule


@pytest.mark.parametrize(
    "laws, verdict",
    [
        ({"a": GEORGE, "b": GEORGE}, HOLDS),
        ({"a": {**GEORGE, 4: 0.0}}, HOLDS),  # m = n is in neither half
        ({"a": GEORGE, "b": {1: 1.0, 8: 1.0}}, IN_PART),  # b amplifies everywhere
        ({"a": {1: 1.0, 2: 1.0, 8: 1.0, 16: 1.0}}, IN_PART),  # upper half only
        ({"a": {1: -1.0, 2: -1.0, 8: -1.0, 16: -1.0}}, IN_PART),  # lower half only
        ({"a": {1: 1.0, 8: A}}, DOES_NOT),  # exactly at the threshold: not amplified
        ({"a": {1: -A, 8: -1.0}}, DOES_NOT),
    ],
)
def test_rule(laws, verdict):
    got = m1b.judged(N, {k: widths(v) for k, v in laws.items()})
    assert got.verdict == verdict and got.id == "M1b"
    for k, effects in laws.items():
        for m, e in effects.items():
            assert got.measured["per_law"][k]["effect"][m] == pytest.approx(e)


def test_crossover_width():
    got = m1b.judged(N, {"a": widths({1: -1.0, 2: 1.0, 4: -1.0, 8: 1.0, 16: 1.0})})
    assert got.measured["per_law"]["a"]["amplified_from_m"] == 8
    got = m1b.judged(N, {"a": widths({1: 1.0, 8: -1.0})})
    assert got.measured["per_law"]["a"]["amplified_from_m"] is None
