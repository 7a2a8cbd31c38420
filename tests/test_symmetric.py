"""The symmetric reduced loss of sims.symmetric is the exact diffusion loss on the symmetric
branch."""

import math

import numpy as np
import pytest

from sims import diffusion, symmetric


def orthogonal_setting(n, m, mu_norm, xi_norm, d=None):
    """Orthogonal patches of one norm per kind (the branch's premises), balanced labels, and m
    orthonormal rows orthogonal to every patch."""
    d = d or 2 + n + m + 3
    signals = np.zeros((2, d))
    signals[0, 0] = signals[1, 1] = mu_norm
    noise = np.zeros((n, d))
    noise[np.arange(n), 2 + np.arange(n)] = xi_norm
    orthogonal = np.zeros((m, d))
    orthogonal[np.arange(m), 2 + n + np.arange(m)] = 1.0
    y = np.array([1, -1] * (n // 2))
    return signals, noise, orthogonal, signals[(y < 0).astype(int)], d


@pytest.mark.parametrize("m", [1, 2, 3, 5])
def test_reduced_loss_is_the_exact_loss(m):
    """L_full(W(v)) = d + L(v) for random states, times, output scales, norms and n: a dropped
    factor 2, alpha^2, beta^(1/3) or n in the groups or the scaling breaks the equality."""
    rng = np.random.default_rng(m)
    for _ in range(4):
        n = int(rng.choice([2, 4, 6]))
        alpha, beta, c = rng.uniform(0.2, 1.5, 3)
        mu_norm, xi_norm = rng.uniform(0.3, 3.0, 2)
        signals, noise, orthogonal, x1, d = orthogonal_setting(n, m, mu_norm, xi_norm)
        v = rng.uniform(0.05, 1.0, 4)
        if m == 1:
            v[2] = 0.0  # no complement of the all-ones vector
        W = symmetric.filters(
            v, m, alpha=alpha, beta=beta, c=c, signals=signals, noise=noise, orthogonal=orthogonal
        )
        G_s, G_n = symmetric.groups(alpha, beta, n, n / 2 * mu_norm**2, xi_norm**2)
        targets = diffusion.targets_of(((alpha, beta, 1.0),), "eps")
        full = diffusion.exact_objective(x1, noise, targets, scale=c)(W)[0]
        assert full == pytest.approx(d + symmetric.loss_and_grad(v, G_s, G_n, m)[0], rel=1e-12)


@pytest.mark.parametrize("m", [1, 2, 4, 16])
def test_reduced_gradient_matches_finite_differences(m):
    rng = np.random.default_rng(10 + m)
    v = rng.uniform(0.1, 1.0, 4)
    G_s, G_n = 0.3, 2.5
    grad = symmetric.loss_and_grad(v, G_s, G_n, m)[1]
    h = 1e-6
    fd = [
        (
            symmetric.loss_and_grad(v + h * e, G_s, G_n, m)[0]
            - symmetric.loss_and_grad(v - h * e, G_s, G_n, m)[0]
        )
        / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("m", [1, 4, 16])
@pytest.mark.parametrize("G", [(1e-3, 1e-2), (0.5, 5.0), (50.0, 100.0)])
def test_stationary_point_is_stationary_and_a_minimum(m, G):
    point = symmetric.stationary(*G, m)
    assert point.grad_norm < 1e-10
    v = np.array([point.X_s, point.X_n, point.P, point.P1])
    rng = np.random.default_rng(0)
    for _ in range(20):  # no feasible nearby state is lower
        trial = np.maximum(v + 1e-4 * np.abs(v).max() * rng.standard_normal(4), 0.0)
        if m == 1:
            trial[2] = 0.0
        assert symmetric.loss_and_grad(trial, *G, m)[0] >= point.loss - 1e-14


def test_m1_sum_mode_survives_where_the_flow_keeps_r():
    """m = 1 with a large noise group: R survives (P1 > 0) and every patch solves one equation
    (ratio 1, as PAPER's m = 1 observation); with small groups it dies out and the ratio is near G_s
    / G_n."""
    big = symmetric.stationary(5.0, 50.0, 1)
    assert big.sum_mode and big.ratio == pytest.approx(1.0, abs=1e-9)
    small = symmetric.stationary(1e-4, 1e-3, 1)
    assert not small.sum_mode and small.ratio == pytest.approx(0.1, rel=1e-3)


def test_refuses_bad_groups():
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="G_s"):
            symmetric.stationary(bad, 1.0, 4)
    with pytest.raises(ValueError, match="m must"):
        symmetric.stationary(1.0, 1.0, 0)
