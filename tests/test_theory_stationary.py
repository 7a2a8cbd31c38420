"""Stationary points (theory.stationary): Morse index on a known saddle and a known minimum, branches, and
where the scalar equation applies."""
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
    """W = [w, w] with w the m = 1 stationary point of output scale 2c (theory.derive): exactly stationary
    for m = 2 at scale c, since f(W) = 2c h^2 w is the m = 1 network. Returns (red, data, eta, Wr)."""
    run = prepare(cfg)
    red, _ = reduced.reduce(cfg, run.data, run.W0)
    a_star, g_star = derive.stationary_m1_closed_form(cfg.alpha, cfg.beta, 2 * (1 / cfg.m))
    A = sum(a_star * z / (z @ z) for z in np.vstack([red.mu, red.x2]))[:red.k]  # every alignment a*
    w = np.concatenate([A, [np.sqrt(g_star - A @ A), 0.0]])                  # ||w||^2 = g*
    return red, run.data, run.eta, np.vstack([w, w])


SADDLE = TrainConfig(n=6, d=200, m=2, nsnr2=1.0, data_noise="orthogonal", labels="balanced")


def test_a_known_saddle_has_morse_index_one():
    """Two copies of the m = 1 stationary point: the gradient is zero, and moving the copies apart along
    their unused orthogonal coordinate lowers the loss quadratically, so it is a saddle; the analysis
    must say unstable, index 1, with the flow eigenvalue the quadratic's curvature."""
    red, data, eta, Wr = duplicated_m1_point(SADDLE)
    loss, grad = reduced.loss_and_grad(red, Wr)
    assert np.linalg.norm(grad) < 1e-12
    D = np.zeros_like(Wr)
    D[0, -1], D[1, -1] = 1 / np.sqrt(2), -1 / np.sqrt(2)                     # unit direction
    t = 1e-3
    curvature = 2 * (reduced.loss_and_grad(red, Wr + t * D)[0] - loss) / t**2
    assert curvature < -0.1
    stat = stationary.analyse(SADDLE, data, red, Wr, predict.patch_weights(data), eta=eta, tau=0.0,
                              reached_gtol=True)
    assert stat.morse_index == 1 and not stat.stable
    assert stat.max_eigenvalue == pytest.approx(-curvature, rel=1e-4)          # the flow's Jacobian is -H
    assert stat.max_eigenvalue == max(stat.eigenvalues) and stat.min_eigenvalue == min(stat.eigenvalues)


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
    assert stat.max_eigenvalue == pytest.approx(-oracle[0], rel=1e-5)        # the largest flow eigenvalue
    assert stat.min_eigenvalue == pytest.approx(-oracle[-1], rel=1e-5)
    assert stat.max_eigenvalue == max(stat.eigenvalues) < 0


def state_of(red, stat):
    """The reduced state with the alignments of stat (m = 1): A from the patch alignments, and the
    orthogonal coordinate from ||w||^2 = g*, which m = 1 fixes (theory.derive.stationary_m1)."""
    Z = np.vstack([red.mu, red.x2])[:, :red.k]
    A = np.linalg.lstsq(Z, np.concatenate([stat.signal[0], stat.noise[0]]), rcond=None)[0]
    _, g_star = derive.stationary_m1_closed_form(0.8, 0.6, 1.0)
    return np.concatenate([A, [np.sqrt(g_star - A @ A)]])[None]
