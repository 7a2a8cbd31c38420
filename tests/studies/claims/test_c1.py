"""C1's rule (sims.studies.claims.c1) from constructed measurements: every verdict, and each
threshold at and just past its boundary (numbers written out here, not read from the module)."""

import pytest
from made import classifier_row, lin

from sims.studies.claims import c1
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART


def rows(boundary=1.0, low=(0.1, 0.4), high=(3.0, 0.05), middle=(0.5, 0.5), middle_nsnr2=3.99):
    """Rows at the two ends of the sweep (n SNR^2 = boundary / 4 and 4 x boundary, exactly) and one
    inside (by default just below 4 x boundary, with numbers that would fail there)."""
    points = ((boundary / 4, low), (middle_nsnr2 * boundary, middle), (4 * boundary, high))
    return [
        classifier_row(
            x,
            winner="signal" if x > boundary else "noise",
            boundary=boundary,
            final_ratio=ratio,
            test_error=error,
        )
        for x, (ratio, error) in points
    ]


@pytest.mark.parametrize(
    "rows, agreement, index, verdict",
    [
        (rows(), (8, 10), lin(), HOLDS),
        (rows(), (7, 10), lin(), IN_PART),  # agreement below 80%
        (rows(), (0, 0), lin(), IN_PART),
        (rows(), (8, 10), lin(classification=2.0), IN_PART),  # exponential: index > 2
        (rows(), (8, 10), lin(classification=2.01), HOLDS),
        (rows(), (8, 10), lin(3.0, 2.5), IN_PART),  # and larger than diffusion's
        (rows(high=(3.0, 0.1)), (8, 10), lin(), DOES_NOT),  # signal wins with test error < 0.1
        (rows(high=(3.0, 0.099)), (8, 10), lin(), HOLDS),
        (rows(high=(1.0, 0.05)), (8, 10), lin(), DOES_NOT),  # ... and ratio > 1
        (rows(low=(0.1, 0.25)), (8, 10), lin(), DOES_NOT),  # noise wins with test error > 0.25
        (rows(low=(1.0, 0.4)), (8, 10), lin(), DOES_NOT),  # ... and ratio < 1
        (rows(middle_nsnr2=4.0), (8, 10), lin(), DOES_NOT),  # at 4 x boundary the row is an end
        (rows(middle=(3.0, 0.05), middle_nsnr2=0.25), (8, 10), lin(), DOES_NOT),  # boundary / 4 too
        (
            rows(middle=(3.0, 0.05), middle_nsnr2=0.2501),
            (8, 10),
            lin(),
            HOLDS,
        ),  # inside: not judged
    ],
)
def test_c1(rows, agreement, index, verdict):
    entry = c1.judged(rows, {"agree": agreement[0], "cells": agreement[1]}, index)
    assert entry.verdict == verdict and entry.id == "C1"
    assert entry.measured["predicted_boundary_nsnr2"] == 1.0


def test_c1_without_a_predicted_boundary_has_no_ends():
    no_boundary = [
        classifier_row(r.nsnr2, final_ratio=r.final_ratio, test_error=r.test_error) for r in rows()
    ]
    assert c1.judged(no_boundary, {"agree": 8, "cells": 10}, lin()).verdict == DOES_NOT


def test_rule_text():
    assert "(linearity index > 2 and" in c1.SPEC.rule and ">= 80% of the" in c1.SPEC.rule
    assert (
        "(ratio > 1, test error < 0.1) at every n·SNR² >= 4 x the predicted boundary"
        in c1.SPEC.rule
    )
    assert "(ratio < 1, test error > 0.25) at every n·SNR² <= boundary / 4" in c1.SPEC.rule


# ------------------------------------------------------------------------ where C1 holds (domain)
def column(z, via="sigma0", boundary=4.0, index=2.5, flip=None, errors=(0.4, 0.01), swap=()):
    """A made-up boundary-map column: the noise wins below the boundary (or below `flip`), the
    signal above (the other way round at the n·SNR² in `swap`), with test errors errors[0] (noise
    won) and errors[1] (signal won)."""
    from sims.studies.boundarymap import Column, Row, transition

    cut = boundary if flip is None else flip
    rows = []
    for x in (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0):
        signal = (x > cut) != (x in swap)
        predicted = None if boundary != boundary else ("signal" if x > boundary else "noise")
        rows.append(Row(x, 3.0 if signal else 0.1, errors[1] if signal else errors[0], predicted))
    return Column(via, z, 0.0, 1.0, 1.0, boundary, rows, transition(rows), index)


def test_column_verdicts():
    nan = float("nan")
    assert c1.column_verdict(column(1e-3)) == HOLDS
    assert c1.column_verdict(column(1e-3, index=2.0)) == IN_PART  # not exponential (> 2)
    assert c1.column_verdict(column(1e-3, flip=0.2)) == DOES_NOT  # the noise loses at b / 4
    assert c1.column_verdict(column(1e-3, errors=(0.25, 0.01))) == DOES_NOT  # error not > 0.25
    assert c1.column_verdict(column(1e-3, errors=(0.4, 0.1))) == DOES_NOT  # error not < 0.1
    # ends right (n·SNR² <= 1 and >= 16); one cell of 7 wrong still agrees (>= 80%), two do not
    assert c1.column_verdict(column(1e-3, swap=(10.0,))) == HOLDS
    assert c1.column_verdict(column(1e-3, swap=(3.0, 10.0))) == IN_PART
    assert c1.column_verdict(column(3.0, boundary=nan, flip=4.0)) == IN_PART  # none predicted
    assert c1.column_verdict(column(3.0, boundary=nan, flip=1000)) == DOES_NOT


def test_domain_regions_in_z_and_routes():
    cols = [
        column(1e-5),
        column(1e-3),
        column(1e-3, via="sigma_xi"),
        column(0.3, index=1.5),
        column(3.0, boundary=float("nan"), flip=1000),
        column(10.0, boundary=float("nan"), flip=1000),
    ]
    rec = c1.domain_judged(cols, 4)
    assert rec["measured"]["bounds"] == {"Z_hold": 1e-3, "Z_fail": 3.0}
    assert [(r["verdict"], r["bounds"]) for r in rec["regions"]] == [
        (HOLDS, {"Z": [None, 1e-3]}),
        (IN_PART, {"Z": [0.3, 0.3]}),
        (DOES_NOT, {"Z": [3.0, None]}),
    ]
    assert rec["measured"]["routes_agree"] == {"0.001": True}
    assert rec["text"] == (
        "holds where Z ≤ 0.001; holds in part where Z = 0.3; does not hold where Z ≥ 3"
    )
    late = c1.domain_judged([column(1e-3), column(1e-3, via="sigma_xi", flip=50.0)], 4)
    assert late["measured"]["routes_agree"] == {"0.001": False}
