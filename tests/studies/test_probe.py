"""The linear probe (sims.studies.probe): the penalised logistic regression against an independent
Newton solve, a separable toy case, and the out-of-distribution test law."""

import numpy as np
import pytest

from sims.data import make_data
from sims.studies.cells import Cell, Outcome, Trace
from sims.studies.probe import features, fit_logistic, only_last_feature, probe


def newton(X, y, l2, steps=50):
    """The same penalised logistic regression by Newton's method (bias unpenalised): the oracle."""
    Z = np.hstack([X, np.ones((len(y), 1))])
    theta = np.zeros(Z.shape[1])
    P = l2 * np.eye(Z.shape[1])
    P[-1, -1] = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-y * (Z @ theta)))
        grad = -(Z.T @ (y * (1 - p))) / len(y) + P @ theta
        H = (Z.T * (p * (1 - p))) @ Z / len(y) + P
        theta -= np.linalg.solve(H, grad)
    return theta[:-1], theta[-1]


def test_fit_matches_newton_on_overlapping_classes(rng):
    X = rng.standard_normal((60, 3))
    y = np.where(X @ [1.0, -0.5, 0.0] + 0.8 * rng.standard_normal(60) > 0, 1, -1)
    v, b, converged = fit_logistic(X, y, l2=0.1)
    v_ref, b_ref = newton(X, y, 0.1)
    assert converged
    np.testing.assert_allclose(v, v_ref, rtol=1e-5, atol=1e-7)
    assert b == pytest.approx(b_ref, rel=1e-5, abs=1e-7)


def test_probe_separates_a_separable_toy_case():
    """Filters along mu_+1 and mu_-1: <w, x1>^2 tells the classes apart exactly, so the probe is
    perfect on fresh samples; filters orthogonal to the signals leave it at chance."""
    data = make_data(40, 30, snr=1.0, labels="balanced", rng=np.random.default_rng(3))
    W = data.mu / np.linalg.norm(data.mu, axis=1, keepdims=True)
    out = probe(W, data, np.random.default_rng(4), n_test=500)
    assert out["train_accuracy"] == 1.0 and out["in_distribution"] == 1.0 and out["converged"]
    assert out["features"] == 4
    W_blind = np.zeros((2, 30))
    W_blind[0, 5] = W_blind[1, 6] = 1.0  # noise directions only
    blind = probe(W_blind, data, np.random.default_rng(4), n_test=2000)
    assert 0.4 < blind["in_distribution"] < 0.6


def test_probe_features_are_squared_responses_per_patch(rng):
    data = make_data(5, 12, snr=0.5, rng=rng)
    W = rng.standard_normal((2, 3, 12))
    phi = features(W.reshape(-1, 12), data)
    assert phi.shape == (5, 12)
    assert phi[2, 4] == pytest.approx((data.x1[2] @ W[1, 1]) ** 2) and phi[2, 10] == pytest.approx(
        (data.x2[2] @ W[1, 1]) ** 2
    )


def test_out_of_distribution_law_has_only_the_last_feature(rng):
    data = make_data(
        20, 30, snr=0.5, strengths=(1.0, 0.3), freqs=(0.9, 0.1), labels="balanced", rng=rng
    )
    from sims.data import fresh_samples

    test = fresh_samples(only_last_feature(data), 200, rng)
    assert np.all(test.feature // 2 == 1) and np.array_equal(test.x1, data.signals[test.feature])


def test_response_asymmetry():
    """0 when every filter answers both classes alike, 1 when a filter answers one class only."""
    from sims.studies.beyond import response_asymmetry

    alike = np.array([[[2.0, -2.0, 0.1, 0.1], [1.0, 1.0, 0.0, 0.0]]])  # (T=1, m=2, F=4): <w, mu_f>
    apart = np.array([[[2.0, 0.0, 0.1, 0.1], [1.0, 1.0, 0.0, 0.0]]])

    def run(signal):
        return Cell("probe", {}, {}, {**{k: np.zeros(1) for k in Trace._fields}, "signal": signal})

    assert response_asymmetry([run(alike)], 0) == 0.0 and response_asymmetry([run(apart)], 0) == 1.0
    assert response_asymmetry([run(alike), run(apart)], 0) == 0.5
    diverged = Cell("probe", {}, *Outcome.diverged("x"))
    assert np.isnan(response_asymmetry([diverged], 0))  # no finished run


def test_probe_cell_reads_only_the_untied_first_layer():
    """The untied models' output layer V reads no input: the probe's features are the m first-layer
    filters' squared responses to the two patches (2m), as for the tied denoiser."""
    from sims.config import TrainConfig
    from sims.studies.probe import probe_cell

    base = dict(n=8, d=60, m=3, steps=20, log_every=10, nsnr2=2.0)
    for model in ("diffusion", "untied", "fixed-output"):
        out = probe_cell(TrainConfig(model=model, **base))
        assert out.summary["probe"]["features"] == 2 * 3, model
