"""The exact DDPM loss (eq. E of sims.diffusion) and its hand-derived gradient."""

import numpy as np
import pytest

from sims import diffusion, sampled

ALPHA, BETA = 0.8, 0.6


def loop_loss_and_grad(W, x1, x2, alpha, beta, c):
    """Eq. (E) and its gradient by plain loops over samples, patches and neuron pairs (no
    vectorisation)."""
    m, d = W.shape
    n = x1.shape[0]
    G = np.array([[W[r] @ W[s] for s in range(m)] for r in range(m)])
    loss, grad = 0.0, np.zeros_like(W)
    for i in range(n):
        for z in (x1[i], x2[i]):
            a = np.array([W[r] @ z for r in range(m)])
            dA, dG = np.zeros(m), np.zeros((m, m))
            loss += d
            for r in range(m):
                loss += -4 * c * alpha * beta * a[r] * G[r, r]
                dA[r] += -4 * c * alpha * beta * G[r, r]
                dG[r, r] += -4 * c * alpha * beta * a[r]
                for s in range(m):
                    phi = (
                        alpha**4 * a[r] ** 2 * a[s] ** 2
                        + alpha**2
                        * beta**2
                        * (a[r] ** 2 * G[s, s] + a[s] ** 2 * G[r, r] + 4 * a[r] * a[s] * G[r, s])
                        + beta**4 * (G[r, r] * G[s, s] + 2 * G[r, s] ** 2)
                    )
                    loss += c * c * G[r, s] * phi
                    # partial derivatives of c^2 G_rs phi_rs
                    dA[r] += (
                        c
                        * c
                        * G[r, s]
                        * (
                            2 * alpha**4 * a[r] * a[s] ** 2
                            + alpha**2 * beta**2 * (2 * a[r] * G[s, s] + 4 * a[s] * G[r, s])
                        )
                    )
                    dA[s] += (
                        c
                        * c
                        * G[r, s]
                        * (
                            2 * alpha**4 * a[r] ** 2 * a[s]
                            + alpha**2 * beta**2 * (2 * a[s] * G[r, r] + 4 * a[r] * G[r, s])
                        )
                    )
                    dG[r, s] += (
                        c
                        * c
                        * (
                            phi
                            + G[r, s]
                            * (4 * alpha**2 * beta**2 * a[r] * a[s] + 4 * beta**4 * G[r, s])
                        )
                    )
                    dG[s, s] += (
                        c * c * G[r, s] * (alpha**2 * beta**2 * a[r] ** 2 + beta**4 * G[r, r])
                    )
                    dG[r, r] += (
                        c * c * G[r, s] * (alpha**2 * beta**2 * a[s] ** 2 + beta**4 * G[s, s])
                    )
            # chain rule: a_r = <w_r, z>, G_rs = <w_r, w_s>
            for k in range(m):
                grad[k] += dA[k] * z
                for s in range(m):
                    grad[k] += dG[k, s] * W[s] + dG[s, k] * W[s]
    return loss / (2 * n), grad / (2 * n)


def problem(rng, n=3, d=6, m=3, w_scale=0.5):
    return (
        w_scale * rng.standard_normal((m, d)),
        rng.standard_normal((n, d)),
        rng.standard_normal((n, d)),
    )


@pytest.mark.parametrize("scale", [None, 0.7])
def test_matches_plain_loop(rng, scale):
    W, x1, x2 = problem(rng)
    c = 1 / W.shape[0] if scale is None else scale
    loss, grad = diffusion.loss_and_grad(W, x1, x2, alpha=ALPHA, beta=BETA, scale=scale)
    loss_ref, grad_ref = loop_loss_and_grad(W, x1, x2, ALPHA, BETA, c)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-10, atol=1e-12)


def central_difference(fun, W, h=1e-6):
    grad = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        grad[idx] = (fun(W + E) - fun(W - E)) / (2 * h)
    return grad


def test_gradient_matches_finite_differences(rng):
    W, x1, x2 = problem(rng, n=4, d=7, m=4)
    fun = lambda V: diffusion.loss_and_grad(V, x1, x2, alpha=ALPHA, beta=BETA)[0]
    _, grad = diffusion.loss_and_grad(W, x1, x2, alpha=ALPHA, beta=BETA)
    np.testing.assert_allclose(grad, central_difference(fun, W), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("objective", ["eps", "x0", "v"])
def test_hessian_vector_product_matches_finite_differences_of_the_gradient(rng, objective):
    """One direction and a stack of directions, two diffusion times, each target of the objective
    family."""
    W, x1, x2 = problem(rng, n=4, d=7, m=3)
    times = ((ALPHA, BETA, 1.0), (0.5, 0.9, 0.3))
    grad = lambda V: diffusion.loss_and_grad_times(V, x1, x2, times, objective=objective)[1]
    V = rng.standard_normal((5, 3, 7))
    h = 1e-5
    fd = np.stack([(grad(W + h * v) - grad(W - h * v)) / (2 * h) for v in V])
    hv = diffusion.hessian_vector_product(W, V, x1, x2, times, objective=objective)
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())
    np.testing.assert_allclose(
        diffusion.hessian_vector_product(W, V[0], x1, x2, times, objective=objective),
        hv[0],
        rtol=1e-12,
        atol=1e-12 * np.abs(hv).max(),
    )


def test_sampled_gradient_matches_finite_differences(rng):
    W, x1, x2 = problem(rng)
    eps = rng.standard_normal((5, 6, 6))
    fun = lambda V: sampled.loss_and_grad_sampled(V, x1, x2, eps, alpha=ALPHA, beta=BETA)[0]
    _, grad = sampled.loss_and_grad_sampled(W, x1, x2, eps, alpha=ALPHA, beta=BETA)
    np.testing.assert_allclose(grad, central_difference(fun, W), rtol=1e-6, atol=1e-7)


def test_loss_at_zero_is_d(rng):
    _, x1, x2 = problem(rng, d=9)
    loss, grad = diffusion.loss_and_grad(np.zeros((3, 9)), x1, x2, alpha=ALPHA, beta=BETA)
    assert loss == 9.0
    assert np.all(grad == 0)


def test_exact_expectation_matches_monte_carlo(rng):
    """Mean over B batches of K draws; the exact loss and gradient lie within 5 standard errors."""
    W, x1, x2 = problem(rng, n=2, d=5, m=3)
    B, K = 200, 500
    losses, grads = [], []
    for _ in range(B):
        eps = rng.standard_normal((K, 4, 5))
        l_b, g_b = sampled.loss_and_grad_sampled(W, x1, x2, eps, alpha=ALPHA, beta=BETA)
        losses.append(l_b)
        grads.append(g_b)
    losses, grads = np.array(losses), np.array(grads)
    loss, grad = diffusion.loss_and_grad(W, x1, x2, alpha=ALPHA, beta=BETA)
    assert abs(losses.mean() - loss) < 5 * losses.std(ddof=1) / np.sqrt(B)
    se = grads.std(axis=0, ddof=1) / np.sqrt(B)
    assert np.all(np.abs(grads.mean(axis=0) - grad) < 5 * se)
    # and the mean is genuinely close, not just noisy: relative error under 2%
    assert np.linalg.norm(grads.mean(axis=0) - grad) < 0.02 * np.linalg.norm(grad)


def test_resampled_gradient_average_converges(rng):
    """The error of the average of resampled gradients shrinks like 1/sqrt(draws)."""
    W, x1, x2 = problem(rng, n=2, d=5, m=2)
    _, grad = diffusion.loss_and_grad(W, x1, x2, alpha=ALPHA, beta=BETA)
    errors = []
    for K in (100, 10_000):
        means = [
            sampled.loss_and_grad_sampled(
                W, x1, x2, rng.standard_normal((K, 4, 5)), alpha=ALPHA, beta=BETA
            )[1]
            for _ in range(20)
        ]
        errors.append(np.mean([np.linalg.norm(g - grad) for g in means]))
    assert errors[1] < errors[0] / 5  # ideal factor 10


def test_several_times_is_weighted_sum(rng):
    W, x1, x2 = problem(rng)
    times = ((0.9, 0.4, 0.3), (0.5, 0.85, 0.7))
    loss, grad = diffusion.loss_and_grad_times(W, x1, x2, times)
    parts = [diffusion.loss_and_grad(W, x1, x2, alpha=a, beta=b) for a, b, _ in times]
    assert loss == pytest.approx(sum(w * p[0] for (_, _, w), p in zip(times, parts)), rel=1e-13)
    np.testing.assert_allclose(
        grad, sum(w * p[1] for (_, _, w), p in zip(times, parts)), rtol=1e-12
    )


def test_denoise_is_the_network(rng):
    W, x1, _ = problem(rng)
    expected = sum(np.outer((x1 @ w) ** 2, w) for w in W) / W.shape[0]
    np.testing.assert_allclose(diffusion.denoise(W, x1), expected, rtol=1e-12)
