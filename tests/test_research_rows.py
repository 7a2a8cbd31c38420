"""Rows the research studies read from their cells (sims.studies.research): a stationary cell whose ODE
stopped short is not read, and the seeds' aggregate counts only the rows that were."""

import math

from sims.studies.objectives import descent_check
from sims.studies.research import aggregate, stationary_row


def cell(status, ratio=0.9):
    summary = {
        "status": status,
        "ratio": ratio,
        "signal_gain": 5.0,
        "noise_gain": 4.0,
        "signal": 0.9,
        "noise": 1.0,
        "initial_rate_ratio": 0.4,
        "grad_norm": 1e-11,
    }
    return {"arrays": {}, "summary": summary}


def test_a_stationary_cell_is_read_only_where_the_flow_got_there():
    assert stationary_row(cell("stationary"))["ratio"] == 0.9
    assert stationary_row(cell("ok"))["ratio"] == 0.9  # the rule's horizon tau = 1e7 eta
    assert stationary_row(cell("blow-up at tau=3")) is None
    # the solver gave up: its last state may be the initial one, whose ratio must not enter a slope
    assert (
        stationary_row(cell("solver gave up after 100 gradient evaluations at tau=0", ratio=123.0))
        is None
    )


def test_the_seed_aggregate_skips_rows_not_reached():
    rows = [
        stationary_row(cell("stationary", 0.5)),
        stationary_row(cell("solver gave up", 123.0)),
        stationary_row(cell("stationary", 2.0)),
    ]
    out = aggregate(0.75, rows)
    assert out["runs"] == 2 and math.isclose(out["ratio"], 1.0)  # geometric mean of 0.5 and 2
    assert math.isnan(aggregate(0.75, [None])["ratio"])


def test_the_descent_check_says_when_the_flow_stopped_short():
    class Size:
        objectives = ("eps",)

    results = {
        ("check", "eps"): {"arrays": {}, "summary": {"diverged": "step 3"}},
        ("check-stationary", "eps"): cell("blow-up at tau=3"),
    }
    assert descent_check(Size, results) == {"eps": {"stationary_not_reached": "blow-up at tau=3"}}
