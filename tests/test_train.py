"""Gradient descent: logging, stopping, divergence, seeds and the three diffusion noise modes."""

import numpy as np
import pytest
from each import MODELS

from sims import DivergenceError, FldmError, classification
from sims.config import TrainConfig, auto_eta
from sims.data import make_data
from sims.models import summarize
from sims.train import train

SMALL = dict(n=6, d=40, m=3, steps=30, log_every=7, nsnr2=1.0)


def test_logs_every_k_steps_and_the_last(tmp_path):
    r = train(TrainConfig(model="diffusion", **SMALL))
    assert list(r.steps) == [0, 7, 14, 21, 28, 30]
    assert r.signal.shape == (6, 3, 2) and r.noise.shape == (6, 3, 6)
    rc = train(TrainConfig(model="classification", **SMALL))
    assert rc.signal.shape == (6, 2, 3, 2) and rc.noise.shape == (6, 2, 3, 6)
    np.testing.assert_allclose(rc.signal[-1], rc.W @ rc.data.mu.T)
    assert 0.0 <= rc.summary()["test_error"] <= 1.0


def test_gradient_descent_by_hand():
    cfg = TrainConfig(
        model="classification", eta=0.02, engine="full", **{**SMALL, "steps": 3, "log_every": 1}
    )
    r = train(cfg)
    # the initial weights: signal at step 0 is W0 @ mu.T; rebuild W0 from the seeded generator
    # instead
    from sims.train import initial_weights, seeds

    W = initial_weights(cfg, r.data.d, seeds(cfg.seed)["init"])
    np.testing.assert_allclose(r.signal[0], W @ r.data.mu.T)
    for k in range(3):
        loss, grad = classification.loss_and_grad(W, r.data.x1, r.data.x2, r.data.y)
        assert r.loss[k] == pytest.approx(loss, rel=1e-14)
        assert r.grad_norm[k] == pytest.approx(np.linalg.norm(grad), rel=1e-14)
        W = W - 0.02 * grad
    np.testing.assert_allclose(r.W, W, rtol=1e-14)


@pytest.mark.parametrize("model", MODELS)
def test_same_seed_same_numbers_other_seed_other_numbers(model):
    a = train(TrainConfig(model=model, seed=3, **SMALL))
    b = train(TrainConfig(model=model, seed=3, **SMALL))
    c = train(TrainConfig(model=model, seed=4, **SMALL))
    for key in ("loss", "signal", "noise", "W"):
        assert np.array_equal(getattr(a, key), getattr(b, key))
    assert not np.array_equal(a.W, c.W)


def test_tolerance_stops_early():
    cfg = TrainConfig(model="diffusion", **{**SMALL, "steps": 5000, "log_every": 1000}, tol=1e-3)
    r = train(cfg)
    assert r.converged and r.steps[-1] < 5000
    assert r.grad_norm[-1] < 1e-3 <= r.grad_norm[-2]


def test_divergence_is_reported_with_the_step():
    cfg = TrainConfig(model="diffusion", eta=50.0, sigma0=0.3, **SMALL)
    with pytest.raises(DivergenceError, match=r"diverged at step \d+ .*smaller eta"):
        train(cfg)


def test_auto_eta_scales_with_the_largest_curvature(rng):
    x1 = np.zeros((4, 10))
    x1[:, 0] = 3.0  # all four share mu: 4 * 9 / 8
    x2 = np.eye(4, 10)[[0, 1, 2, 3]] * 2.0  # ||xi||^2 = 4: 4 / 8
    assert auto_eta(x1, x2) == pytest.approx(0.25 / (4 * 9 / 8))
    # two-patch data: lambda_max(X1^T X1) = max_j n_j ||mu_j||^2
    for labels, nsnr2 in (("balanced", 6.75), ("random", 0.75), ("random", 30.0)):
        data = make_data(20, 300, nsnr2=nsnr2, labels=labels, rng=np.random.default_rng(3))
        counts = [np.sum(data.y == 1), np.sum(data.y == -1)]
        kappa = max(np.max(np.sum(data.x2**2, 1)), max(counts) * np.sum(data.mu[0] ** 2)) / 40
        assert auto_eta(data.x1, data.x2) == pytest.approx(0.25 / kappa, rel=1e-10)
    # distinct but correlated signal patches (images): the top eigenvalue sets the step, not one
    # row's norm
    x1 = np.ones((10, 50)) + 0.01 * rng.standard_normal((10, 50))
    x2 = 0.1 * rng.standard_normal((10, 50))
    assert auto_eta(x1, x2) == pytest.approx(0.25 / (np.linalg.eigvalsh(x1.T @ x1)[-1] / 20))


@pytest.mark.parametrize("noise", ["resampled", "fixed"])
def test_sampled_noise_modes_follow_the_exact_run(noise):
    """With many draws, the Monte Carlo objectives track the exact one through the growth phase."""
    base = TrainConfig(
        model="diffusion", **{**SMALL, "n": 4, "d": 16, "m": 2, "steps": 60, "log_every": 60}
    )
    exact = train(base)
    # the same step (the exact loss's automatic eta has a limit at its law's stationary point, which
    # the fixed draws' loss does not share)
    mc = train(base.replace(noise=noise, noise_samples=1000, eta=exact.summary()["eta"]))
    initial = train(base.replace(steps=1)).W
    moved = np.linalg.norm(exact.W - initial)
    assert moved > 0.01 * np.linalg.norm(initial)  # the run really moved
    assert np.linalg.norm(mc.W - exact.W) < 0.2 * moved  # and the sampled run moved the same way
    assert not np.array_equal(mc.W, exact.W)


def test_fixed_noise_is_fixed_and_resampled_is_not():
    base = TrainConfig(model="diffusion", **{**SMALL, "steps": 3, "log_every": 1}, noise_samples=3)
    fixed = train(base.replace(noise="fixed", eta=1e-12))
    resampled = train(base.replace(noise="resampled", eta=1e-12))
    # with a negligible step the weights barely move, so a fixed objective gives (almost) one loss
    assert np.ptp(fixed.loss) < 1e-6 * abs(fixed.loss[0])
    assert np.ptp(resampled.loss) > 1e-3 * abs(resampled.loss[0])


def test_init_file(tmp_path):
    W0 = np.full((3, 40), 0.01)
    np.save(tmp_path / "w.npy", W0)
    r = train(TrainConfig(model="diffusion", init=str(tmp_path / "w.npy"), **SMALL))
    assert np.allclose(r.signal[0], W0 @ r.data.mu.T)
    np.save(tmp_path / "bad.npy", np.zeros((2, 3, 40)))
    with pytest.raises(FldmError, match="shape"):
        train(TrainConfig(model="diffusion", init=str(tmp_path / "bad.npy"), **SMALL))


def test_summary_definitions():
    y = np.array([1, -1, 1])
    signal = np.array([[1.0, -2.0], [0.5, 3.0]])  # (m, 2)
    noise = np.array([[1.0, 2.0, -5.0], [3.0, 0.0, -1.0]])  # (m, n)
    s = summarize("diffusion", signal, noise, y)
    assert s.signal == pytest.approx((1.0 + 3.0) / 2)
    assert s.noise == pytest.approx((3.0 + 2.0 - 1.0) / 3)
    csig = np.zeros((2, 2, 2))
    csig[0, :, 0] = [0.1, -0.4]
    csig[1, :, 1] = [0.2, 0.3]
    csig[0, :, 1] = 9.0
    cnoi = np.zeros((2, 2, 3))
    cnoi[0, :, 0] = [1, 2]
    cnoi[1, :, 1] = [-3, 0]
    cnoi[0, :, 2] = [0, -4]
    cnoi[1, :, 0] = 99
    c = summarize("classification", csig, cnoi, y)
    assert c.signal == pytest.approx((0.4 + 0.3) / 2)  # own-class filters only, |.|
    assert c.noise == pytest.approx((2 + 3 + 4) / 3)
