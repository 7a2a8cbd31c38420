"""D2's rule (sims.studies.claims.d2) from constructed measurements: every verdict, and each
threshold at and just past its boundary (numbers written out here, not read from the module)."""

import math

import pytest
from made import diffusion_row

from sims.studies import d2domain, presets
from sims.studies.claims import d2
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART


def rows():
    return [
        diffusion_row(
            x,
            final_ratio=r,
            predicted_stationary=p,
            final_signal=1.0,
            final_noise=1.0,
            converged_grad_norm=1e-6,
        )
        for x, r, p in ((0.1, 0.5, 0.5), (1.0, 0.9, 1.0), (10.0, 1.2, 1.0))
    ]


@pytest.mark.parametrize(
    "gain, slope, verdict",
    [
        (10.0, 1.0, HOLDS),
        (10.0, 0.7, HOLDS),
        (10.0, 1.3, HOLDS),  # [0.7, 1.3], ends included
        (10.0, 0.69, IN_PART),
        (10.0, 1.31, IN_PART),
        (10.0, 0.2, IN_PART),
        (10.0, 2.0, IN_PART),  # [0.2, 0.7) or (1.3, 2]
        (10.0, 0.19, DOES_NOT),
        (10.0, 2.01, DOES_NOT),
        (10.0, 0.0, DOES_NOT),
        (10.0, math.nan, DOES_NOT),
        (2.01, 1.0, HOLDS),  # learned: grown more than 2x
        (2.0, 1.0, DOES_NOT),
        (2.0, 0.5, DOES_NOT),  # not learned: neither verdict
    ],
)
@pytest.mark.parametrize("which", ["signal", "noise"])
def test_d2(gain, slope, verdict, which):
    gains = [(gain, 10.0) if which == "signal" else (10.0, gain)] + [(10.0, 10.0)] * 2
    entry = d2.judged(rows(), gains, slope, {"m=1": 0.0})
    assert entry.verdict == verdict and entry.id == "D2"
    m = entry.measured
    assert m["both_learned_everywhere"] == (gain > 2.0)
    assert m["ratio_range"] == [0.5, 1.2]
    assert m["largest_relative_gap_to_predicted_stationary_ratio"] == pytest.approx(0.2)


def test_rule_text():
    assert "is in [0.7, 1.3]" in d2.SPEC.rule and "> 2x its initial value" in d2.SPEC.rule
    assert "in [0.2, 0.7) or (1.3, 2]" in d2.SPEC.rule


# ----------------------------------------------------------------------------------- the domain
def point(
    found=True, branch="symmetric", s_gain=10.0, z_gain=10.0, ratio=1.0, law=1.0, v=1.0, G=1.0
):
    return d2domain.MapPoint(
        4, G, v, G * v / 2, G, found, branch, 0, ratio, law, s_gain, z_gain, None
    )


def slope_cell(slope, law_slope=None, **ends):
    a, b = point(**ends), point(**ends)
    law_slope = slope if law_slope is None else law_slope
    return d2domain.SlopeCell(4, 1.0, 1.0, 0.5, slope, law_slope, (a, b))


@pytest.mark.parametrize(
    "cell, state",
    [
        (slope_cell(1.0), d2.HOLDS_CELL),
        (slope_cell(0.7), d2.HOLDS_CELL),
        (slope_cell(1.3), d2.HOLDS_CELL),
        (slope_cell(0.69), d2.SATURATES),
        (slope_cell(0.0), d2.SATURATES),
        (slope_cell(1.31), d2.STEEPER),
        (slope_cell(1.0, s_gain=2.0), d2.NOT_LEARNED),  # a gain of at most 2: not learned
        (slope_cell(1.0, z_gain=2.0), d2.NOT_LEARNED),
        (slope_cell(1.0, s_gain=2.01), d2.HOLDS_CELL),
        (slope_cell(1.0, found=False), d2.NO_POINT),
        (slope_cell(1.0, branch="asymmetric"), d2.HOLDS_CELL),  # classed alike, flagged
    ],
)
def test_domain_cell_states(cell, state):
    assert d2.cell_state(cell) == state


def test_domain_scope_regions_law_and_headline():
    cells = [slope_cell(1.0), slope_cell(0.9), slope_cell(0.1, law_slope=0.3)]
    cells += [slope_cell(1.0, branch="asymmetric", law_slope=0.0)]
    grid = presets.get("quick").d2domain
    dm = d2domain.DomainMap(grid, {}, cells, [], {4: [(0.01, 0.99), (100.0, 2.0)]}, "quick")
    entry = d2.judged(rows(), [(10.0, 10.0)] * 3, 1.0, {})
    domain = d2.scope(dm, entry)
    regions = {r["where"]: r for r in domain["regions"]}
    assert regions[d2.HOLDS_CELL]["cells"] == 3 and regions[d2.HOLDS_CELL]["verdict"] == "holds"
    assert regions[d2.HOLDS_CELL]["asymmetric_cells"] == 1
    assert regions[d2.SATURATES]["verdict"] == "does not hold"
    # the law predicts 2 of the 3 symmetric cells (0.1 against 0.3 is past 0.05): 67% < 90%
    assert domain["law"]["symmetric_cells"] == 3 and not domain["law"]["confirmed"]
    assert domain["law"]["predicted_share"] == pytest.approx(2 / 3)
    assert domain["law"]["boundary_at_smallest_noise_group"] == {"4": 0.99}
    assert (
        domain["headline"].startswith("holds where")
        and "(0.99 for m = 4 at G_n = 0.01" in domain["headline"]
    )
    place = domain["this_verdicts_sweep"]
    assert place["G_n"] == pytest.approx((2000 - 2) / 20) and place["G_s"][0] < place["G_s"][1]


def test_verdict_table_shows_the_domain():
    from sims.studies.claims import verdict_table

    entry = {
        "id": "D2",
        "short": "x",
        "origin": "paper",
        "verdict": "holds in part",
        "domain": {"headline": "holds where G_s is small"},
    }
    line = verdict_table({"claims": [entry]}).splitlines()[-1]
    assert line.endswith("| holds in part. Domain: holds where G_s is small |")
