"""M1c's rule (sims.studies.claims.m1c) on made-up memorisation times tau = n^a K^b."""

import numpy as np
import pytest

from sims.studies.claims import m1c
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART, THETA_SLOPE

EPS = 1e-9


def grid(a, b, drop=()):
    cells = [
        {"n": n, "K": K, "tau": 0.01 * n**a * K**b} for n in (4, 10, 26) for K in (1, 4, 16, 64)
    ]
    for i in drop:
        cells[i]["tau"] = np.nan
    return cells


def test_rule_states_its_constants():
    assert f"b > {m1c.DELAY_SLOPE:g}" in m1c.SPEC.rule and f"least {m1c.MIN_CELLS}" in m1c.SPEC.rule


@pytest.mark.parametrize(
    "laws, verdict",
    [
        ({"x": (1.0, 1.0), "y": (THETA_SLOPE[0] + EPS, THETA_SLOPE[1] - EPS)}, HOLDS),
        ({"x": (1.0, 1.0), "y": (1.0, THETA_SLOPE[1] + 0.01)}, IN_PART),
        ({"x": (0.0, m1c.DELAY_SLOPE + 0.01)}, IN_PART),  # more draws delay, n does not
        ({"x": (1.0, m1c.DELAY_SLOPE)}, DOES_NOT),  # at the bound: no delay
        ({"x": (1.0, -0.5)}, DOES_NOT),  # more draws hasten memorising them
    ],
)
def test_rule(laws, verdict):
    got = m1c.judged({k: grid(*v) for k, v in laws.items()})
    assert got.verdict == verdict and got.id == "M1c"
    for k, (a, b) in laws.items():
        assert got.measured["per_law"][k]["a"] == pytest.approx(a)
        assert got.measured["per_law"][k]["b"] == pytest.approx(b)


def test_fit_leaves_out_censored_cells_and_needs_two_n_and_two_K():
    got = m1c.fit(grid(1.0, 0.5, drop=(0, 5)))
    assert got["cells"] == 10 and got["a"] == pytest.approx(1.0) and got["b"] == pytest.approx(0.5)
    one_K = [c for c in grid(1.0, 1.0) if c["K"] == 4]
    assert np.isnan(m1c.fit(one_K)["a"])
    assert m1c.judged({"x": one_K}).verdict == DOES_NOT
