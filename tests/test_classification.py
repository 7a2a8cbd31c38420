"""Logistic loss of f = F_{+1} - F_{-1} and its hand-derived gradient."""

import numpy as np
import pytest
from test_diffusion import central_difference

from sims import classification


def loop_loss_and_grad(W, x1, x2, y):
    _, m, d = W.shape
    n = len(y)
    loss, grad = 0.0, np.zeros_like(W)
    for i in range(n):
        f = 0.0
        for j, sign in ((0, 1.0), (1, -1.0)):
            for r in range(m):
                for z in (x1[i], x2[i]):
                    f += sign * (W[j, r] @ z) ** 2 / m
        loss += np.log1p(np.exp(-y[i] * f)) / n
        dl_df = -y[i] / (1 + np.exp(y[i] * f)) / n
        for j, sign in ((0, 1.0), (1, -1.0)):
            for r in range(m):
                for z in (x1[i], x2[i]):
                    grad[j, r] += dl_df * sign * 2 * (W[j, r] @ z) * z / m
    return loss, grad


def problem(rng, n=5, d=6, m=3):
    return (
        0.5 * rng.standard_normal((2, m, d)),
        rng.standard_normal((n, d)),
        rng.standard_normal((n, d)),
        rng.choice([1, -1], size=n),
    )


def test_matches_plain_loop(rng):
    W, x1, x2, y = problem(rng)
    loss, grad = classification.loss_and_grad(W, x1, x2, y)
    loss_ref, grad_ref = loop_loss_and_grad(W, x1, x2, y)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-10, atol=1e-14)


def test_gradient_matches_finite_differences(rng):
    W, x1, x2, y = problem(rng)
    fun = lambda V: classification.loss_and_grad(V, x1, x2, y)[0]
    np.testing.assert_allclose(
        classification.loss_and_grad(W, x1, x2, y)[1],
        central_difference(fun, W),
        rtol=1e-6,
        atol=1e-8,
    )


def test_loss_at_zero_is_log2(rng):
    _, x1, x2, y = problem(rng)
    loss, grad = classification.loss_and_grad(np.zeros((2, 3, 6)), x1, x2, y)
    assert loss == pytest.approx(np.log(2), rel=1e-15)
    assert np.all(grad == 0)


def test_stable_for_large_margins(rng):
    W, x1, x2, y = problem(rng)
    big = 1e4 * W
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, no NaN
        loss, grad = classification.loss_and_grad(big, x1, x2, y)
    f = classification.output(big, x1, x2)
    margins = y * f
    # log(1 + e^{-t}) is ~ -t for t << 0 and ~ e^{-t} for t >> 0
    expected = np.mean(np.where(margins < 0, -margins, 0.0))
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx(expected, rel=1e-6)


def test_test_error_counts_sign_mistakes(rng):
    W, x1, x2, y = problem(rng, n=50)
    f = classification.output(W, x1, x2)
    assert classification.error_rate(W, x1, x2, y) == np.mean(np.sign(f) != y)
    assert classification.error_rate(W, x1, x2, np.sign(f).astype(int)) == 0.0
