"""Points the research studies read from their cells (sims.studies.research): a stationary cell
whose ODE stopped short is not read, and the seeds' aggregate counts only the points that were."""

import math

from sims.studies.cells import Cell
from sims.studies.objectives import Check, CheckStationary, descent_check
from sims.studies.research import aggregate, stationary_point


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
    return Cell("stationary", {}, summary, {})


def test_a_stationary_cell_is_read_only_where_the_flow_got_there():
    assert stationary_point(cell("stationary")).ratio == 0.9
    assert stationary_point(cell("ok")).ratio == 0.9  # the rule's horizon tau = 1e7 eta
    assert stationary_point(cell("blow-up at tau=3")) is None
    # the solver gave up: its last state may be the initial one, whose ratio must not enter a slope
    assert (
        stationary_point(cell("solver gave up after 100 gradient evaluations at tau=0", 123.0))
        is None
    )


def test_the_seed_aggregate_skips_points_not_reached():
    points = [
        stationary_point(cell("stationary", 0.5)),
        stationary_point(cell("solver gave up", 123.0)),
        stationary_point(cell("stationary", 2.0)),
    ]
    out = aggregate(0.75, points)
    assert out.runs == 2 and math.isclose(out.ratio, 1.0)  # geometric mean of 0.5 and 2
    assert out.point.status == "stationary" and math.isclose(out.point.signal_gain, 5.0)
    assert math.isnan(aggregate(0.75, [None]).ratio) and aggregate(0.75, [None]).runs == 0


def test_the_aggregate_lists_text_fields_that_differ_and_keeps_a_missing_one_missing():
    points = [stationary_point(cell("stationary")), stationary_point(cell("ok"))]
    assert aggregate(1.0, points).point.status == ["stationary", "ok"]


def test_the_descent_check_says_when_the_flow_stopped_short():
    class Size:
        objectives = ("eps",)

    results = {
        Check("eps"): Cell("train", {}, {"diverged": "step 3"}, {}),
        CheckStationary("eps"): cell("blow-up at tau=3"),
    }
    assert descent_check(Size, results) == {"eps": {"stationary_not_reached": "blow-up at tau=3"}}
