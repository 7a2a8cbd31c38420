"""The reduced coordinates (theory.reduced) reproduce d-dimensional gradient descent exactly."""

import numpy as np
import pytest
from each import WITH_THEORY

from sims import models
from sims.config import TrainConfig, auto_eta
from sims.train import alignments, prepare, train
from theory import reduced


def setting(**kw):
    cfg = TrainConfig(
        **{"n": 8, "d": 120, "m": 3, "nsnr2": 1.5, "steps": 300, "log_every": 50, **kw}
    )
    _, data, W0, *_ = prepare(cfg)
    return cfg, data, W0


@pytest.mark.parametrize("model", WITH_THEORY)
@pytest.mark.parametrize("data_noise", ["orthogonal", "projected", "isotropic"])
def test_reduced_map_equals_full_gradient_descent(model, data_noise):
    cfg, data, W0 = setting(model=model, data_noise=data_noise)
    red, Wr = reduced.reduce(cfg, data, W0)
    full = train(cfg)
    eta = auto_eta(data.x1, data.x2)
    for k in range(0, cfg.steps + 1, cfg.log_every):
        i = k // cfg.log_every
        signal, noise = reduced.alignments(red, Wr)
        np.testing.assert_allclose(signal, full.signal[i], rtol=0, atol=1e-10)
        np.testing.assert_allclose(noise, full.noise[i], rtol=0, atol=1e-10)
        assert abs(reduced.loss_and_grad(red, Wr)[0] - full.loss[i]) <= 1e-10 * max(
            1.0, abs(full.loss[i])
        )
        Wr = reduced.gd_map(red, Wr, eta, cfg.log_every)
    Wr = reduced.gd_map(red, reduced.reduce(cfg, data, W0)[1], eta, cfg.steps)
    np.testing.assert_allclose(reduced.lift(red, Wr), full.W, rtol=0, atol=1e-10)


@pytest.mark.parametrize("model", WITH_THEORY)
def test_lift_inverts_reduce_and_state_size_is_independent_of_d(model):
    sizes = set()
    for d in (60, 400):
        cfg, data, W0 = setting(model=model, d=d, data_noise="projected")
        red, Wr = reduced.reduce(cfg, data, W0)
        np.testing.assert_allclose(reduced.lift(red, Wr), W0, atol=1e-14)
        np.testing.assert_allclose(
            reduced.alignments(red, Wr)[1], alignments(W0, data)[1], atol=1e-13
        )
        sizes.add(Wr.size)
    # the data-span part A, and where the part outside the data moves, its coordinates in the span
    # of the rows' initial parts outside the data (R R^T up to a rotation): rows^2 numbers (m = 3,
    # n + 2 = 10 directions; rows = 3 tied, 6 for the untied models' W and V)
    model_ = models.get(model)
    rows = int(np.prod(model_.weight_shape(3, 1)))
    outside = rows**2 if model_.moves_outside_data(cfg) else 0
    assert sizes == {int(np.prod(model_.weight_shape(3, 8 + 2))) + outside}


def test_orthogonal_gram_is_R_R_transpose_and_gauge_leaves_loss_unchanged(rng):
    cfg, data, W0 = setting(data_noise="projected")
    red, Wr = reduced.reduce(cfg, data, W0)
    R = W0 - (W0 @ red.Q) @ red.Q.T
    np.testing.assert_allclose(reduced.orthogonal_gram(red, Wr), R @ R.T, atol=1e-14)
    gauge = reduced.gauge_directions(red, Wr)
    assert gauge.shape == (3, Wr.size)  # m (m - 1) / 2 rotations
    grad = reduced.loss_and_grad(red, Wr)[1].ravel()
    np.testing.assert_allclose(gauge @ grad, 0, atol=1e-12)
    # a finite rotation Rc -> Rc O changes nothing either
    O, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    turned = Wr.copy()
    turned[:, red.k :] = Wr[:, red.k :] @ O
    assert reduced.loss_and_grad(red, turned)[0] == pytest.approx(
        reduced.loss_and_grad(red, Wr)[0], abs=1e-12
    )
