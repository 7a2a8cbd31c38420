"""Made-up measurements for the rules' tests: rows of the ratio table, linearity indices, research
rows."""

from typing import NamedTuple

from sims.studies.synthetic import Linearity, RatioRow
from theory.predict import ClassificationReading, DiffusionReading, Pair

NAN = float("nan")


def diffusion_row(
    nsnr2, growth_ratio=NAN, predicted_growth=None, predicted_stationary=None, **fields
):
    """A denoiser's row of the ratio table; fields not given are nan (test_error: None)."""
    return _row(
        nsnr2,
        DiffusionReading(predicted_growth, predicted_stationary, Pair(1.0, 1.0)),
        growth_ratio=growth_ratio,
        **fields,
    )


def classifier_row(nsnr2, winner=None, boundary=None, **fields):
    """A classifier's row of the ratio table."""
    return _row(
        nsnr2, ClassificationReading(winner, boundary, None, None, Pair(1.0, 1.0)), **fields
    )


def _row(nsnr2, predicted, **fields):
    values = dict(
        runs=3,
        diverged=0,
        final_ratio=NAN,
        final_ratio_min=NAN,
        final_ratio_max=NAN,
        final_signal=NAN,
        final_noise=NAN,
        growth_ratio=NAN,
        converged_grad_norm=NAN,
        test_error=None,
    )
    values.update(fields)
    return RatioRow(nsnr2=nsnr2, predicted=predicted, **values)


def lin(diffusion=1.1, classification=2.6):
    """Linearity indices of the two models."""
    return {
        "diffusion": Linearity(NAN, NAN, None, NAN, diffusion),
        "classification": Linearity(NAN, NAN, None, NAN, classification),
    }


class Row(NamedTuple):
    """A research row (one n·SNR² of a series)."""

    nsnr2: float
    ratio: float
    signal_gain: float = 10.0
    noise_gain: float = 10.0
