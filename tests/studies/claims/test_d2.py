"""D2's rule (sims.studies.claims.d2) from constructed measurements: every verdict, and each
threshold at and just past its boundary (numbers written out here, not read from the module)."""

import math

import numpy as np
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


def test_domain_regions_law_and_words():
    """The regions read in G_s/G_s*, the law's agreement (2 of 3 symmetric cells predicted: 67%, not
    the 90% that confirms it), the boundary at the smallest G_n, and where the sweep lies."""
    cells = [slope_cell(1.0), slope_cell(0.9), slope_cell(0.1, law_slope=0.3)]
    cells += [slope_cell(1.0, branch="asymmetric", law_slope=0.0)]
    grid = presets.get("quick").d2domain
    dm = d2domain.DomainMap(grid, {}, cells, [], {4: [(0.01, 0.99), (100.0, 2.0)]}, "quick")
    record = d2.domain(dm)
    regions = {r["verdict"]: r for r in record["regions"]}
    h = 0.5 / math.exp(np.interp(0.0, np.log([0.01, 100.0]), np.log([0.99, 2.0])))  # G_n = 1
    assert regions[HOLDS]["bounds"] == {"G_s/G_s*": [None, pytest.approx(h)]}
    assert regions[DOES_NOT]["bounds"] == {"G_s/G_s*": [pytest.approx(h), None]}
    m = record["measured"]
    assert m["cells"][d2.HOLDS_CELL] == 3 and m["asymmetric_cells"][d2.HOLDS_CELL] == 1
    assert m["law"]["symmetric_cells"] == 3 and not m["law"]["confirmed"]
    assert m["law"]["predicted_share"] == pytest.approx(2 / 3)
    assert m["law"]["boundary_at_smallest_noise_group"] == {"4": 0.99}
    assert (
        record["short"].startswith("slice only: holds where G_s")
        and "(0.99 for m = 4" in record["short"]
    )
    assert record["text"].startswith("[quick preset") and "holds where G_s/G_s*" in record["text"]
    place = m["this_verdicts_sweep"]
    assert place["G_n"] == pytest.approx((2000 - 2) / 20) and place["G_s"][0] < place["G_s"][1]
