"""E1's rule (sims.studies.claims.e1) from constructed measurements (numbers written out here)."""

import pytest
from made import classifier_row, diffusion_row

from sims.studies.claims import e1
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART


def rows(diffusion=(0.9, 1.1), classification=(0.06, 3.0)):
    def fields(ratio):
        return dict(final_ratio=ratio, final_signal=ratio, final_noise=1.0)

    return {
        "diffusion": [diffusion_row(0.1, **fields(50.0))]
        + [diffusion_row(x, **fields(r)) for x, r in zip((0.75, 6.75), diffusion)],
        "classification": [classifier_row(0.1, test_error=0.1, **fields(50.0))]
        + [
            classifier_row(x, test_error=0.1, **fields(r))
            for x, r in zip((0.75, 6.75), classification)
        ],
    }


@pytest.mark.parametrize(
    "diffusion, classification, verdict",
    [
        ((0.9, 1.1), (0.06, 3.0), HOLDS),
        ((0.11, 9.9), (0.99, 1.01), HOLDS),
        ((0.1, 1.1), (0.06, 3.0), IN_PART),  # diffusion: ratio strictly between 0.1 and 10
        ((0.9, 10.0), (0.06, 3.0), IN_PART),
        ((0.9, 1.1), (1.0, 3.0), IN_PART),  # classification: noise wins at 0.75 (ratio < 1) ...
        ((0.9, 1.1), (0.06, 1.0), IN_PART),  # ... and the signal at 6.75 (ratio > 1)
        ((0.9, 1.1), (3.0, 0.06), IN_PART),
        ((20.0, 1.1), (3.0, 0.06), DOES_NOT),
    ],
)
def test_e1(diffusion, classification, verdict):
    entry = e1.judged(rows(diffusion, classification))
    assert entry.verdict == verdict and entry.id == "E1"
    assert set(entry.measured) == {
        "diffusion_0.75",
        "diffusion_6.75",
        "classification_0.75",
        "classification_6.75",
    }
    assert "test_error" in entry.measured["classification_0.75"]  # a model that reports one
    assert "test_error" not in entry.measured["diffusion_0.75"]


def test_rule_text():
    assert "at n·SNR² = 0.75 and 6.75" in e1.SPEC.rule
    assert "(ratio between 0.1 and 10)" in e1.SPEC.rule
