"""M1a's rule (sims.studies.claims.m1a) on made-up times: each verdict reachable, at its bounds."""

import numpy as np
import pytest

from sims.studies.claims import m1a
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART, THETA_SLOPE

NS = (4, 8, 16, 32)
EPS = 1e-9


def law(mem, gen, missing=0):
    """Rows with tau_mem = n^mem and tau_gen = 3 n^gen; the first `missing` n not reached."""
    rows = [{"n": n, "tau_mem": float(n) ** mem, "tau_gen": 3.0 * n**gen} for n in NS]
    for r in rows[:missing]:
        r["tau_mem"] = np.nan
    return rows


def test_rule_states_its_constants():
    rule = m1a.SPEC.rule
    assert f"<= {m1a.FLAT_SLOPE:g}" in rule and f"at least {m1a.MIN_POINTS}" in rule
    assert f"[{THETA_SLOPE[0]:g}, {THETA_SLOPE[1]:g}]" in m1a.SPEC.rule


@pytest.mark.parametrize(
    "laws, verdict",
    [
        ({"a": (1.0, 0.0), "b": (THETA_SLOPE[0] + EPS, m1a.FLAT_SLOPE - EPS)}, HOLDS),
        ({"a": (1.0, 0.0), "b": (THETA_SLOPE[1] + 0.01, 0.0)}, IN_PART),  # steeper: widens
        ({"a": (1.0, 0.0), "b": (0.0, 0.0)}, IN_PART),  # one law reproduces it
        ({"a": (0.5, 0.1), "b": (0.0, 0.0)}, IN_PART),  # widens only
        ({"a": (1.0, m1a.FLAT_SLOPE + 0.05)}, IN_PART),  # tau_gen not flat, the window widens
        ({"a": (0.3, 0.15)}, DOES_NOT),  # tau_mem grows, but not faster than tau_gen by 0.2
        ({"a": (0.1, 0.0)}, DOES_NOT),  # tau_mem flat
        ({"a": (1.0, 1.0)}, DOES_NOT),  # both grow alike: the window does not widen
    ],
)
def test_rule(laws, verdict):
    got = m1a.judged({k: law(*v) for k, v in laws.items()})
    assert got.verdict == verdict and got.id == "M1a"
    for k, (mem, gen) in laws.items():
        assert got.measured["per_law"][k]["tau_mem_slope"] == pytest.approx(mem)
        assert got.measured["per_law"][k]["tau_gen_slope"] == pytest.approx(gen)


def test_a_slope_needs_enough_reached_points():
    got = m1a.judged({"a": law(1.0, 0.0, missing=len(NS) - m1a.MIN_POINTS + 1)})
    per = got.measured["per_law"]["a"]
    assert np.isnan(per["tau_mem_slope"]) and got.verdict == DOES_NOT
