"""D1's rule (sims.studies.claims.d1) from constructed measurements: every verdict, and each
threshold at and just past its boundary. The numbers are written out here (not read from the
module), so a changed threshold or a flipped comparison fails a test."""

import math

import pytest
from made import diffusion_row, lin

from sims.studies.claims import d1
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART


def rows(factors=(1.0, 1.0, 1.0)):
    return [
        diffusion_row(x, growth_ratio=f * 0.5 * x, predicted_growth=0.5 * x)
        for x, f in zip((0.1, 1.0, 10.0), factors)
    ]


@pytest.mark.parametrize(
    "factors, slope, index, verdict",
    [
        ((1.0, 1.0, 1.0), 1.0, lin(), HOLDS),
        ((0.5, 1.0, 2.0), 1.0, lin(), HOLDS),  # within a factor 2, ends included
        ((0.49, 1.0, 1.0), 1.0, lin(), IN_PART),  # (i) fails
        ((1.0, 1.0, 2.01), 1.0, lin(), IN_PART),
        ((1.0, 1.0, 1.0), 0.8, lin(), HOLDS),  # slope in [0.8, 1.2], ends included
        ((1.0, 1.0, 1.0), 1.2, lin(), HOLDS),
        ((1.0, 1.0, 1.0), 0.79, lin(), DOES_NOT),  # (ii) fails: nothing holds
        ((1.0, 1.0, 1.0), 1.21, lin(), DOES_NOT),
        ((5.0, 5.0, 5.0), 1.21, lin(), DOES_NOT),
        ((1.0, 1.0, 1.0), math.nan, lin(), DOES_NOT),
        ((1.0, 1.0, 1.0), 1.0, lin(diffusion=1.49), HOLDS),  # near-linear: index < 1.5
        ((1.0, 1.0, 1.0), 1.0, lin(diffusion=1.5), IN_PART),
        ((1.0, 1.0, 1.0), 1.0, lin(1.2, 1.2), IN_PART),  # classification not larger
    ],
)
def test_d1(factors, slope, index, verdict):
    entry = d1.judged(rows(factors), slope, index)
    assert entry.verdict == verdict and entry.id == "D1" and entry.origin == "paper"
    assert entry.measured["measured_over_predicted_growth_ratio"]["min"] == pytest.approx(
        min(factors)
    )


def test_d1_without_predictions_is_at_most_in_part():
    no_prediction = [diffusion_row(r.nsnr2, growth_ratio=r.growth_ratio) for r in rows()]
    assert d1.judged(no_prediction, 1.0, lin()).verdict == IN_PART


def test_rule_text():
    assert "within a factor 2 of" in d1.SPEC.rule and "is in [0.8, 1.2]" in d1.SPEC.rule
    assert "(linearity index < 1.5)" in d1.SPEC.rule


# ------------------------------------------------------------------------ where D1 holds (domain)
def growth(
    d, i0, index=1.1, reached=True, rise=1.0, rate=1.0, leading=None, nsnr2=0.75, start=True
):
    """A made-up window-map cell (sims.studies.earlymap.Growth) at the typical Λ of (20, d, 4)."""
    from sims.studies.earlymap import Growth
    from theory.early import typical_window_groups

    lam = typical_window_groups(20, d, 4, nsnr2).window
    return Growth(
        nsnr2,
        d,
        i0,
        i0,
        0.0,
        lam,
        lam,
        {},
        start,
        reached,
        10,
        index,
        index if leading is None else leading,
        index,
        rise,
        rate,
        100,
    )


D = (50, 500, 5000, 50000)  # typical Λ 0.39, 0.125, 0.039, 0.0125 (Λ* = 0.1195)
I0 = (1e-4, 1e-2, 1.0)


def test_cell_rule_band_rates_and_window():
    assert d1.cell_holds(growth(5000, 1e-4, index=1.5))
    assert not d1.cell_holds(growth(5000, 1e-4, index=1.51))
    assert d1.cell_holds(growth(5000, 1e-4, index=1 / 1.5))
    assert not d1.cell_holds(growth(5000, 1e-4, index=0.66))  # bends down
    assert not d1.cell_holds(growth(5000, 1e-4, reached=False))
    assert d1.cell_holds(growth(5000, 1e-4, rise=2.0)) and not d1.cell_holds(
        growth(5000, 1e-4, rise=2.01)
    )
    assert d1.cell_holds(growth(5000, 1e-4, rise=0.5)) and not d1.cell_holds(
        growth(5000, 1e-4, rise=0.49)
    )


def test_derived_bound():
    from theory.early import linearity_index, typical_window_groups

    star = d1.derived_bound(20, 4, 0.75)
    assert star == pytest.approx(0.1195, abs=5e-4)
    unit = typical_window_groups(20, 1, 4, 0.75)
    u = star / unit.window
    assert linearity_index([u * unit.signal, u * unit.noise], 5.0)[1] == pytest.approx(
        1.5, abs=1e-9
    )


def test_domain_regions_from_a_clean_map():
    """Holds where Λ is small and I0 small; fails from the large-Λ d and from I0 = 1 (the derived
    bound 0.1195 lies below the largest Λ that held, 0.125: the derivation does not agree)."""
    fails = lambda d, i0: d == 50 or i0 == 1.0  # noqa: E731
    cells = [growth(d, i0, index=2.0 if fails(d, i0) else 1.1) for d in D for i0 in I0]
    rec = d1.domain_judged(cells, 0.75, 20, 4)
    b = rec["measured"]["bounds"]
    lam = {d: c.typical_group for d in D for c in cells if c.d == d}
    assert b == {"Λ_hold": lam[500], "Λ_fail": lam[50], "I0_hold": 1e-2, "I0_fail": 1.0}
    assert [r["verdict"] for r in rec["regions"]] == [HOLDS, DOES_NOT, DOES_NOT]
    assert rec["regions"][0]["bounds"] == {"Λ": [None, lam[500]], "I0": [None, 1e-2]}
    assert rec["text"].startswith("holds where Λ ≤ 0.125 and I0 ≤ 0.01; does not hold where Λ ≥")
    assert rec["measured"]["derivation_agrees"] is False  # Λ_hold = 0.125 > Λ* = 0.1195
    assert rec["short"].startswith("holds: Λ ≤ 0.125 and I0 ≤ 0.01; not: ")


def test_domain_bounds_left_out_cells_and_leading_order_agreement():
    cells = [growth(d, i0, index=1.1 if d >= 5000 else 2.0, leading=1.1) for d in D for i0 in I0]
    cells[0] = cells[0]._replace(starts_positive=False)  # left out
    rec = d1.domain_judged(cells, 0.75, 20, 4)
    m = rec["measured"]
    lam = {c.d: c.typical_group for c in cells}
    assert m["bounds"] == {"Λ_hold": lam[5000], "Λ_fail": lam[500], "I0_hold": 1.0, "I0_fail": None}
    assert [r["verdict"] for r in rec["regions"]] == [HOLDS, DOES_NOT]
    # I0 <= 1e-3: d = 500, 5000, 50000 (d = 50 left out); the leading order says near-linear at all
    assert m["leading_order_agreement"] == {"agree": 2, "cells": 3}
    assert len(m["left_out"]) == 1 and not m["derivation_agrees"]


def test_domain_cells_between_the_bounds_are_in_part():
    """d = 500 holds at the smallest I0 only: between Λ_hold and Λ_fail, 'holds in part'."""
    fails = lambda d, i0: d == 50 or i0 == 1.0 or (d == 500 and i0 > 1e-4)  # noqa: E731
    cells = [growth(d, i0, index=2.0 if fails(d, i0) else 1.1) for d in D for i0 in I0]
    rec = d1.domain_judged(cells, 0.75, 20, 4)
    lam = {c.d: c.typical_group for c in cells}
    assert [(r["verdict"], r["bounds"]) for r in rec["regions"]] == [
        (HOLDS, {"Λ": [None, lam[5000]], "I0": [None, 1e-2]}),
        (IN_PART, {"Λ": [lam[500], lam[500]], "I0": [None, 1e-2]}),
        (DOES_NOT, {"Λ": [lam[50], None], "I0": [None, 1e-2]}),
        (DOES_NOT, {"I0": [1.0, None]}),
    ]
