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
