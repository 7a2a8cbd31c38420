"""B1's rule (sims.studies.claims.b1) from constructed measurements: every verdict, and each
threshold at and just past its boundary. Thresholds are written out as numbers here (not read from
the module), so a changed threshold or a flipped comparison fails a test."""

import math

import pytest

from sims.studies.claims import b1
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART

LOW, HIGH = 0.75, 6.75


def b1_cell(C=0.5, nsnr2=LOW, ratio=1.0, sg=10.0, ng=10.0, cls=None):
    cls = (0.5 if nsnr2 == LOW else 2.0) if cls is None else cls
    return {
        "C": C,
        "nsnr2": nsnr2,
        "diffusion_ratio": ratio,
        "diffusion_signal_gain": sg,
        "diffusion_noise_gain": ng,
        "classification_ratio": cls,
    }


@pytest.mark.parametrize(
    "change, verdict",
    [
        ({}, HOLDS),
        ({"ratio": 0.11}, HOLDS),
        ({"ratio": 9.9}, HOLDS),
        ({"ratio": 0.1}, IN_PART),
        ({"ratio": 10.0}, IN_PART),  # strictly inside (0.1, 10); the other cell passes
        ({"sg": 2.01}, HOLDS),
        ({"sg": 2.0}, IN_PART),
        ({"ng": 2.0}, IN_PART),
        ({"sg": math.nan}, IN_PART),
        ({"cls": 0.99}, HOLDS),
        ({"cls": 1.0}, IN_PART),  # low n SNR^2: noise wins means ratio < 1
    ],
)
def test_b1_low_cell(change, verdict):
    cells = [b1_cell(nsnr2=LOW, **change), b1_cell(nsnr2=HIGH)]
    entry = b1.judged(cells)
    assert entry.verdict == verdict and entry.id == "B1"


@pytest.mark.parametrize("cls, verdict", [(1.01, HOLDS), (1.0, IN_PART), (0.5, IN_PART)])
def test_b1_high_cell_needs_the_signal_to_win(cls, verdict):
    assert b1.judged([b1_cell(nsnr2=LOW), b1_cell(nsnr2=HIGH, cls=cls)]).verdict == verdict


def test_b1_one_model_everywhere_is_in_part_and_nothing_does_not_hold():
    diff_only = [b1_cell(nsnr2=LOW, cls=2.0), b1_cell(nsnr2=HIGH, cls=0.5)]
    assert b1.judged(diff_only).verdict == IN_PART
    cls_only = [b1_cell(nsnr2=LOW, ratio=50.0), b1_cell(nsnr2=HIGH, ratio=50.0)]
    assert b1.judged(cls_only).verdict == IN_PART
    mixed = [b1_cell(nsnr2=LOW, ratio=50.0), b1_cell(nsnr2=HIGH, cls=0.5)]
    assert b1.judged(mixed).verdict == DOES_NOT
    assert b1.judged([]).verdict == DOES_NOT
