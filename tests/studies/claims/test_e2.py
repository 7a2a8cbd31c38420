"""E2's rule (sims.studies.claims.e2) from constructed Noisy-MNIST records (numbers written out
here)."""

import pytest

from sims.studies.claims import e2
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART


def mnist(low=None, high=None):
    def row(level, x, **changes):
        base = {
            "level": level,
            "nsnr2": x,
            "diffusion_ratio": 1.0,
            "diffusion_signal_gain": 10.0,
            "diffusion_noise_gain": 5.0,
            "classification_signal_gain": 3.0,
            "classification_noise_gain": 3.0,
        }
        base.update(
            {"classification_ratio": 0.05, "classification_test_accuracy": 0.6}
            if level == "low"
            else {"classification_ratio": 5.0, "classification_test_accuracy": 0.99}
            if level == "high"
            else {"classification_ratio": 0.5, "classification_test_accuracy": 0.5}
        )
        return {**base, **changes}

    return {
        "comparison": [
            row("low", 0.75, **(low or {})),
            row("extra", 2.25, diffusion_ratio=100.0),
            row("high", 6.75, **(high or {})),
        ],
        "settings": {"digits": [0, 1], "n": 20},
    }


@pytest.mark.parametrize(
    "low, high, verdict",
    [
        ({}, {}, HOLDS),
        ({"classification_test_accuracy": 0.75}, {}, IN_PART),  # memorises: test accuracy < 0.75
        ({"classification_test_accuracy": 0.749}, {}, HOLDS),
        ({}, {"classification_test_accuracy": 0.9}, IN_PART),  # learns the signal: accuracy > 0.9
        ({}, {"classification_test_accuracy": 0.901}, HOLDS),
        ({"classification_ratio": 1.0}, {}, IN_PART),
        ({}, {"classification_ratio": 1.0}, IN_PART),
        ({"diffusion_ratio": 10.0}, {}, IN_PART),  # diffusion: ratio strictly between 0.1 and 10
        ({}, {"diffusion_ratio": 0.1}, IN_PART),
        ({"diffusion_signal_gain": 2.0}, {}, IN_PART),  # ... each feature grown more than 2x
        ({}, {"diffusion_noise_gain": 2.0}, IN_PART),
        ({}, {"diffusion_noise_gain": 2.01}, HOLDS),
        ({"diffusion_noise_gain": 2.0}, {"classification_ratio": 0.5}, DOES_NOT),
    ],
)
def test_e2(low, high, verdict):
    entry = e2.judged(mnist(low, high))
    assert entry.verdict == verdict and entry.id == "E2"
    assert "extra (n·SNR² = 2.25)" in entry.measured  # reported, not judged
    assert entry.measured["settings"]["n"] == 20


def test_rule_text():
    assert "test accuracy < 0.75" in e2.SPEC.rule and "test accuracy > 0.9" in e2.SPEC.rule
