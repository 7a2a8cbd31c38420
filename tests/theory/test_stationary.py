"""Stationary points (theory.stationary): Morse index on a known saddle and a known minimum,
branches, and where the scalar equation applies."""

import numpy as np
import pytest

from sims.config import TrainConfig
from sims.train import prepare, train
from theory import derive, predict, reduced, stationary


def fd_hessian(red, Wr, h=1e-6):
    """The oracle: central differences of the exact gradient, column by column."""
    x0, cols = Wr.ravel(), []
    for i in range(x0.size):
        e = np.zeros_like(x0)
        e[i] = h
        grad = lambda x: reduced.loss_and_grad(red, x.reshape(Wr.shape))[1].ravel()
        cols.append((grad(x0 + e) - grad(x0 - e)) / (2 * h))
    H = np.array(cols).T
    return (H + H.T) / 2


def duplicated_m1_point(cfg):
    """W = [w, w] with w the m = 1 stationary point of output scale 2c (theory.derive): exactly
    stationary for m = 2 at scale c, since f(W) = 2c h^2 w is the m = 1 network. Returns (red, data,
    eta, Wr)."""
    run = prepare(cfg)
    red, _ = reduced.reduce(cfg, run.data, run.W0)
    a_star, g_star = derive.stationary_m1_closed_form(cfg.alpha, cfg.beta, 2 * (1 / cfg.m))
    A = sum(a_star * z / (z @ z) for z in np.vstack([red.mu, red.x2]))[
        : red.k
    ]  # every alignment a*
    w = np.concatenate([A, [np.sqrt(g_star - A @ A), 0.0]])  # ||w||^2 = g*
    return red, run.data, run.eta, np.vstack([w, w])


SADDLE = TrainConfig(n=6, d=200, m=2, nsnr2=1.0, data_noise="orthogonal", labels="balanced")


def test_a_known_saddle_has_morse_index_one():
    """Two copies of the m = 1 stationary point: the gradient is zero, and moving the copies apart
    along their unused orthogonal coordinate lowers the loss quadratically, so it is a saddle; the
    analysis must say unstable, index 1, with the flow eigenvalue the quadratic's curvature."""
    red, data, eta, Wr = duplicated_m1_point(SADDLE)
    loss, grad = reduced.loss_and_grad(red, Wr)
    assert np.linalg.norm(grad) < 1e-12
    D = np.zeros_like(Wr)
    D[0, -1], D[1, -1] = 1 / np.sqrt(2), -1 / np.sqrt(2)  # unit direction
    t = 1e-3
    curvature = 2 * (reduced.loss_and_grad(red, Wr + t * D)[0] - loss) / t**2
    assert curvature < -0.1
    stat = stationary.analyse(
        SADDLE, data, red, Wr, predict.patch_weights(data), eta=eta, tau=0.0, reached_gtol=True
    )
    assert stat.morse_index == 1 and not stat.stable
    assert stat.max_eigenvalue == pytest.approx(-curvature, rel=1e-4)  # the flow's Jacobian is -H
    assert stat.max_eigenvalue == max(stat.eigenvalues) and stat.min_eigenvalue == min(
        stat.eigenvalues
    )


def test_a_known_minimum_has_morse_index_zero():
    """m = 1: the closed-form stationary point, reached by the flow; its Hessian (against the
    finite-difference oracle) is positive definite, so the flow's eigenvalues are all negative."""
    cfg = TrainConfig(n=6, d=200, m=1, nsnr2=1.0, data_noise="orthogonal", alpha=0.8, beta=0.6)
    p = predict.predict(cfg)
    stat = p.stationary
    a_star, _ = derive.stationary_m1_closed_form(0.8, 0.6, 1.0)
    np.testing.assert_allclose(stat.signal, a_star, rtol=1e-9)
    run = prepare(cfg)
    red, _ = reduced.reduce(cfg, run.data, run.W0)
    oracle = np.linalg.eigvalsh(fd_hessian(red, state_of(red, stat)))
    assert oracle[0] > 0
    assert stat.morse_index == 0 and stat.flat_directions == 0 and stat.stable
    assert stat.max_eigenvalue == pytest.approx(-oracle[0], rel=1e-5)  # the largest flow eigenvalue
    assert stat.min_eigenvalue == pytest.approx(-oracle[-1], rel=1e-5)
    assert stat.max_eigenvalue == max(stat.eigenvalues) < 0


def state_of(red, stat):
    """The reduced state with the alignments of stat (m = 1): A from the patch alignments, and the
    orthogonal coordinate from ||w||^2 = g*, which m = 1 fixes (theory.derive.stationary_m1)."""
    Z = np.vstack([red.mu, red.x2])[:, : red.k]
    A = np.linalg.lstsq(Z, np.concatenate([stat.signal[0], stat.noise[0]]), rcond=None)[0]
    _, g_star = derive.stationary_m1_closed_form(0.8, 0.6, 1.0)
    return np.concatenate([A, [np.sqrt(g_star - A @ A)]])[None]


def test_groups_are_the_neurons_sharing_their_data_span_part(rng):
    a, b = rng.standard_normal(5), rng.standard_normal(5)
    assert stationary.groups(np.array([a, b, a + 1e-9, a, b])) == [3, 2]
    assert stationary.groups(np.array([a, a + 1e-3])) == [1, 1]
    assert stationary.groups(np.array([a])) == [1]


@pytest.mark.slow
def test_an_asymmetric_branch_is_classified_and_the_scalar_equation_says_why_it_does_not_apply():
    """Orthogonal data at n SNR^2 = 0.003 (m = 3): one neuron splits off from the other two (its
    alignments differ, as the rows of signal and noise show), the surviving rank is 1, and the
    scalar equation, which needs every neuron to share its data-span part, is not applied."""
    stat = predict.predict(
        TrainConfig(n=8, d=300, m=3, nsnr2=0.003, data_noise="orthogonal")
    ).stationary
    align = np.hstack([stat.signal, stat.noise])
    odd = np.abs(align - np.median(align, axis=0)).max(axis=1) > 1e-3
    assert odd.sum() == 1 and stat.branch == "asymmetric" and stat.groups == [2, 1]
    assert stat.surviving_rank == 1 and stat.stable
    assert not stat.scalar_equation.applies and "asymmetric" in stat.scalar_equation.reason


def test_the_scalar_equation_is_an_approximation_on_nearly_orthogonal_patches():
    """Projected noise patches (largest |cos| ~ 0.1 at d = 200): the equation is solved as an
    approximation, its roots within a few percent of the alignments; on orthogonal patches it is
    exact."""
    stat = predict.predict(TrainConfig(n=6, d=200, m=2, data_noise="projected")).stationary
    eq = stat.scalar_equation
    assert stat.branch == "symmetric" and eq.applies and eq.approximate
    assert 1e-3 < eq.max_cosine < stationary.APPROX_COS
    biggest = max(np.abs(stat.signal).max(), np.abs(stat.noise).max())
    assert 0 < eq.max_abs_error < 0.1 * biggest
    exact = predict.predict(TrainConfig(n=6, d=200, m=2, data_noise="orthogonal")).stationary
    assert exact.scalar_equation.applies and not exact.scalar_equation.approximate
    assert exact.scalar_equation.max_abs_error < 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("m, nsnr2, groups", [(4, 0.0075, [3, 1]), (32, 0.075, [31, 1])])
def test_the_issues_asymmetric_examples_agree_with_descent(m, nsnr2, groups):
    """The issue's defaults (n = 20, d = 2000, seed 0): predict finds one neuron split off, a
    minimum (Morse index 0), and long gradient descent converges to the same alignments."""
    cfg = TrainConfig(m=m, nsnr2=nsnr2)
    stat = predict.predict(cfg).stationary
    assert (
        stat.found
        and stat.branch == "asymmetric"
        and stat.groups == groups
        and stat.morse_index == 0
    )
    steps = int(3 * stat.steps)
    gd = train(cfg.replace(steps=steps, log_every=steps, tol=1e-9))
    assert gd.converged and gd.summary()["descent_note"] == ""
    np.testing.assert_allclose(gd.signal[-1], stat.signal, atol=1e-6)
    np.testing.assert_allclose(gd.noise[-1], stat.noise, atol=1e-6)


@pytest.mark.slow
def test_where_the_flow_reaches_no_stationary_point_descent_oscillates_where_predicted():
    """m = 32, n SNR^2 = 67.5: the flow's curvature passes 2 / eta at step ~1.5e5 before any
    stationary point; descent with that eta starts oscillating there (its checks report it)."""
    cfg = TrainConfig(m=32, nsnr2=67.5)
    stat = predict.predict(cfg).stationary
    assert not stat.found and "leaves the flow" in stat.reason
    leaves = stat.descent_leaves_at_step
    steps = int(1.3 * leaves)
    s = train(cfg.replace(steps=steps, log_every=steps)).summary()
    assert s["gradient_reversals"] > 0
    assert (
        0.8 * leaves
        < min(k for k in (s["first_loss_rise"], s["first_gradient_reversal"]) if k >= 0)
        < 1.2 * leaves
    )
