"""The figure helpers' small pieces: local slopes, readable cell text, and the labels naming each model's
headline alignments as sims.models summarises them."""

import numpy as np
import pytest

from sims.models import MODELS as MODEL_REGISTRY
from sims.studies.figures import HEADLINE, _text_colour
from sims.studies.measures import local_slopes


def test_local_slopes_of_a_curve_that_levels_off():
    x = np.array([0.1, 1.0, 10.0, 100.0])
    y = np.array([0.01, 1.0, 1.0, 1.0])  # slope 2, then flat: one fit over all of it would say ~0.6
    mid, slopes = local_slopes(x, y)
    assert np.allclose(slopes, [2.0, 0.0, 0.0])
    assert np.allclose(mid, np.sqrt(x[1:] * x[:-1]))
    mid, slopes = local_slopes(
        [1.0, 2.0, np.nan, 4.0], [1.0, 2.0, 5.0, 0.0]
    )  # non-finite, non-positive dropped
    assert np.allclose(slopes, [1.0])


@pytest.mark.parametrize(
    "rgba, colour",
    [
        ((1, 1, 1, 1), "black"),
        ((0, 0, 0, 1), "white"),
        ((0.02, 0.19, 0.38, 1), "white"),
        ((0.99, 0.91, 0.15, 1), "black"),
    ],
)
def test_cell_text_contrasts_with_its_background(rgba, colour):
    assert _text_colour(rgba) == colour


def test_headline_labels_follow_each_models_summary():
    """diffusion: signed alignments; classification: |.| and own-class filters (sims.models docstrings)."""
    assert set(HEADLINE) == set(MODEL_REGISTRY)
    assert (
        "|" not in HEADLINE["diffusion"]["signal"] and "|" in HEADLINE["classification"]["signal"]
    )
    assert "y_i" in HEADLINE["classification"]["noise"]
    doc = MODEL_REGISTRY["classification"].summary.__doc__
    assert "max_r |<w_{j,r}, mu_j>|" in doc and "max_r |<w_{y_i,r}, xi_i>|" in doc
