"""The figure helpers' small pieces: local slopes, readable cell text, the predicted growth curves,
and the words naming each model's headline alignments as its summary reads them."""

import numpy as np
import pytest

from sims.models import MODELS
from sims.studies.figures import GROWTH, text_colour
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
    assert text_colour(rgba) == colour


def test_predicted_growth_curves():
    tau = np.array([0.0, 1.0, 2.0])
    linear, _ = GROWTH["linear"]
    exponential, _ = GROWTH["exponential"]
    assert np.allclose(linear(0.5, 2.0, tau), [0.5, 2.5, 4.5])
    assert np.allclose(exponential(0.5, np.log(2), tau), [0.5, 1.0, 2.0])


@pytest.mark.parametrize("model", MODELS.values(), ids=list(MODELS))
def test_headline_words_follow_each_models_summary(model):
    """A signed summary is written without |.|, one that reads magnitudes with them
    (sims.models)."""
    for words in (model.look.signal, model.look.noise):
        assert ("|" in words) == (not model.signed), words
    assert model.look.growth in GROWTH
