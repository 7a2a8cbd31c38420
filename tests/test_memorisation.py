"""sims.memorisation: the restructured fixed-draw loss against the Monte Carlo form and finite
differences, the losses and gaps of a set of weights against their definitions (a plain loop, the
exact expectation, a closed form of the fresh-patch expectation), and the crossing time."""

import numpy as np
import pytest

from sims import diffusion, sampled
from sims.diffusion import output_scale, targets_of
from sims.memorisation import (
    Losses,
    Objectives,
    crossing,
    draw_cosine,
    draw_objective,
    losses,
    memorisation,
)

TIMES = {
    "one": ((0.8, 0.6, 1.0),),
    "two": ((0.9, 0.4, 0.3), (0.5, 0.85, 0.7)),
}


def problem(rng, n=5, d=9, m=3, K=4, lead=()):
    W = rng.standard_normal(lead + (m, d)) * 0.7
    x1 = rng.standard_normal(lead + (n, d))
    x2 = rng.standard_normal(lead + (n, d))
    eps = rng.standard_normal(lead + (K, 2 * n, d))
    return W, x1, x2, eps


def monte_carlo(W, x1, x2, eps, times, objective):
    """sims.sampled's loss on the draws, summed over the times (the registry's fixed-draw form)."""
    return sampled.sum_over_times(
        lambda a, b: sampled.loss_and_grad_sampled(
            W,
            x1,
            x2,
            eps,
            alpha=a,
            beta=b,
            target=diffusion.objective_target(objective, a, b),
        ),
        times,
    )


@pytest.mark.parametrize("times", TIMES, ids=list(TIMES))
@pytest.mark.parametrize("objective", ["eps", "x0", "v"])
def test_draw_objective_is_the_monte_carlo_loss(times, objective):
    rng = np.random.default_rng(1)
    W, x1, x2, eps = problem(rng)
    loss, grad = draw_objective(x1, x2, eps, TIMES[times], objective)(W)
    want_loss, want_grad = monte_carlo(W, x1, x2, eps, TIMES[times], objective)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-12 * np.abs(want_grad).max())


def test_draw_objective_stacks_as_separate_calls():
    rng = np.random.default_rng(2)
    W, x1, x2, eps = problem(rng, lead=(3,), K=1)
    loss, grad = draw_objective(x1, x2, eps, TIMES["two"], "eps")(W)
    for s in range(3):
        one_loss, one_grad = draw_objective(x1[s], x2[s], eps[s], TIMES["two"], "eps")(W[s])
        assert loss[s] == pytest.approx(one_loss, rel=1e-12)
        np.testing.assert_allclose(grad[s], one_grad, rtol=1e-11, atol=1e-14)


def test_draw_objective_gradient_by_finite_differences():
    rng = np.random.default_rng(3)
    W, x1, x2, eps = problem(rng)
    fun = draw_objective(x1, x2, eps, TIMES["two"], "v", scale=0.3)
    V = rng.standard_normal(W.shape)
    h = 1e-5
    slope = (fun(W + h * V)[0] - fun(W - h * V)[0]) / (2 * h)
    assert slope == pytest.approx(np.sum(fun(W)[1] * V), rel=1e-6)


def test_draw_objective_by_a_plain_loop():
    """N L_fix = sum over draws of ||c sum_r <w_r, u>^2 w_r - a z - b eps||^2, written out."""
    rng = np.random.default_rng(4)
    W, x1, x2, eps = problem(rng, n=2, d=5, m=2, K=3)
    alpha, beta, a, b = 0.7, 0.5, 1.0, 0.0  # the x0 target
    c = output_scale(W.shape[0])
    Z = np.vstack([x1, x2])
    total = 0.0
    for k in range(eps.shape[0]):
        for j in range(Z.shape[0]):
            u = alpha * Z[j] + beta * eps[k, j]
            f = sum(c * (w @ u) ** 2 * w for w in W)
            total += np.sum((f - a * Z[j] - b * eps[k, j]) ** 2)
    loss = draw_objective(x1, x2, eps, ((alpha, beta, 1.0),), "x0")(W)[0]
    assert loss == pytest.approx(total / eps.shape[0] / Z.shape[0], rel=1e-12)


def test_many_draws_average_to_the_exact_loss():
    """The loss on K fixed draws is an unbiased estimate of the exact loss at any fixed W."""
    rng = np.random.default_rng(5)
    W, x1, x2, eps = problem(rng, n=3, d=6, m=2, K=20_000)
    times = TIMES["one"]
    exact = diffusion.loss_and_grad_times(W, x1, x2, times)[0]
    fixed = draw_objective(x1, x2, eps, times)(W)[0]
    # the per-draw losses' spread over sqrt(2nK)
    per = [draw_objective(x1, x2, eps[k : k + 1], times)(W)[0] for k in range(200)]
    assert abs(fixed - exact) < 5 * np.std(per) / np.sqrt(eps.shape[0])


def test_draw_cosine():
    rng = np.random.default_rng(6)
    eps = rng.standard_normal((2, 4, 7))
    W = np.vstack([3.0 * eps[1, 2], np.zeros(7)])
    W[1, 0] = 1.0
    assert draw_cosine(W, eps) == pytest.approx(1.0)
    E = np.zeros((1, 1, 7))
    E[0, 0, 1] = 2.0
    assert draw_cosine(np.eye(7)[[0]], E) == 0.0


def fresh_closed_form(W, sigma_xi, q, times, dim):
    """E over xi ~ N(0, sigma_xi^2 (I - q q^T)) of the exact per-patch eps loss (eq. E), from
    E[a_r a_s] = C_rs and E[a_r^2 a_s^2] = C_rr C_ss + 2 C_rs^2, C = sigma_xi^2 W (I - q q^T)
    W^T."""
    k = diffusion.term_weights(targets_of(times, "eps"), output_scale(W.shape[0]))
    G = W @ W.T
    Wq = W @ q
    C = sigma_xi**2 * (G - Wq @ Wq.T)
    g, cd = np.diag(G), np.diag(C)
    quartic = np.sum(G * (np.outer(cd, cd) + 2 * C * C))
    mixed = np.sum(G * (np.outer(cd, g) + np.outer(g, cd) + 4 * C * G))
    sextic = np.sum(G * (np.outer(g, g) + 2 * G * G))
    return k.b2 * dim + k.k2 * quartic + k.k3 * mixed + k.k4 * sextic


def test_fresh_patch_mean_is_the_closed_form():
    """The Monte Carlo mean over fresh patches (what the study uses) against the closed form."""
    rng = np.random.default_rng(7)
    d, m, sigma_xi, times = 12, 3, 0.8, TIMES["one"]
    q = np.linalg.qr(rng.standard_normal((d, 2)))[0]
    W = rng.standard_normal((m, d))
    xi = sigma_xi * rng.standard_normal((40_000, d))
    xi -= (xi @ q) @ q.T
    targets = targets_of(times, "eps")
    per = [
        diffusion.exact_objective(z, z, targets)(W)[0] for z in np.array_split(xi, 200)
    ]  # means over 200 blocks of 200 patches
    want = fresh_closed_form(W, sigma_xi, q, times, d)
    assert np.mean(per) == pytest.approx(want, abs=5 * np.std(per) / np.sqrt(len(per)))


def test_losses_and_gaps_of_weights():
    rng = np.random.default_rng(8)
    W, x1, x2, eps = problem(rng)
    targets = targets_of(TIMES["one"], "eps")
    fresh = rng.standard_normal((50, x1.shape[1]))
    exact = diffusion.exact_objective(x1, x2, targets)
    on = lambda Z: diffusion.exact_objective(Z, Z, targets)
    fixed = draw_objective(x1, x2, eps, TIMES["one"])
    got = losses(W, Objectives(fixed, exact, on(x2), on(fresh)))
    assert got.fixed == fixed(W)[0] and got.exact == exact(W)[0]
    assert got.draw_gap == got.exact - got.fixed
    # the noise patches' mean: the exact loss of (x1, x2) is the mean of its two halves
    assert (on(x1)(W)[0] + got.train_noise) / 2 == pytest.approx(got.exact, rel=1e-12)
    assert got.data_gap == got.fresh_noise - got.train_noise
    assert np.isnan(losses(W, Objectives(None, exact, on(x2), on(fresh))).fixed)


def test_memorisation_is_from_the_initial_weights_in_units_of_the_decrease():
    logged = [Losses(1.0, 3.0, 2.0, 2.5), Losses(0.0, 4.0, 1.0, 3.5)]
    got = memorisation(logged, attainable=2.0)
    np.testing.assert_allclose(got.draws, [0.0, (4.0 - 2.0) / 2.0])
    np.testing.assert_allclose(got.data, [0.0, (2.5 - 0.5) / 2.0])


def test_crossing():
    taus = [0.0, 1.0, 10.0, 100.0]
    assert crossing(taus, [0.0, 0.0, 1.0, 2.0], 0.5) == pytest.approx(10**0.5)  # log tau
    assert crossing(taus, [0.0, 2.0, 3.0, 4.0], 1.0) == pytest.approx(0.5)  # from tau = 0
    assert crossing(taus, [0.0, 1.0, 2.0, 3.0], 1.0) == 1.0  # reached at a logged point
    assert crossing(taus, [3.0, 4.0, 5.0, 6.0], 1.0) == 0.0
    assert np.isnan(crossing(taus, [0.0, 0.1, 0.2, 0.3], 1.0))
