"""Symmetries of both losses (hypothesis, derandomised): sample order, label swap, rotations."""

import numpy as np
from hypothesis import given, strategies as st

from sims import classification, diffusion
from sims.data import make_data

settings_ = dict(
    n=st.integers(2, 8), d=st.integers(4, 12), m=st.integers(1, 4), seed=st.integers(0, 2**32 - 1)
)


def draw(n, d, m, seed, classes=False):
    rng = np.random.default_rng(seed)
    data = make_data(n, d, snr=float(rng.uniform(0.2, 2.0)), noise="isotropic", rng=rng)
    W = 0.3 * rng.standard_normal((2, m, d) if classes else (m, d))
    return data, W, rng


@given(**settings_)
def test_sample_order_does_not_matter(n, d, m, seed):
    data, W, rng = draw(n, d, m, seed)
    perm = rng.permutation(n)
    a = diffusion.loss_and_grad(W, data.x1, data.x2, alpha=0.7, beta=0.5)
    b = diffusion.loss_and_grad(W, data.x1[perm], data.x2[perm], alpha=0.7, beta=0.5)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-12)
    data, Wc, _ = draw(n, d, m, seed, classes=True)
    a = classification.loss_and_grad(Wc, data.x1, data.x2, data.y)
    b = classification.loss_and_grad(Wc, data.x1[perm], data.x2[perm], data.y[perm])
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-12)


@given(**settings_)
def test_swapping_labels_with_the_signals(n, d, m, seed):
    """y -> -y with mu_{+1} <-> mu_{-1} leaves the data itself unchanged; the class filters swap
    roles."""
    data, Wc, _ = draw(n, d, m, seed, classes=True)
    mu_swapped = data.mu[::-1]
    assert np.array_equal(mu_swapped[(-data.y < 0).astype(int)], data.x1)
    loss, grad = classification.loss_and_grad(Wc, data.x1, data.x2, data.y)
    loss_s, grad_s = classification.loss_and_grad(Wc[::-1], data.x1, data.x2, -data.y)
    np.testing.assert_allclose(loss_s, loss, rtol=1e-12)
    np.testing.assert_allclose(grad_s, grad[::-1], rtol=1e-9, atol=1e-12)


@given(**settings_)
def test_rotating_data_and_weights_together(n, d, m, seed):
    data, W, rng = draw(n, d, m, seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    loss, grad = diffusion.loss_and_grad(W, data.x1, data.x2, alpha=0.6, beta=0.8)
    loss_q, grad_q = diffusion.loss_and_grad(W @ Q, data.x1 @ Q, data.x2 @ Q, alpha=0.6, beta=0.8)
    np.testing.assert_allclose(loss_q, loss, rtol=1e-11)
    np.testing.assert_allclose(grad_q, grad @ Q, rtol=1e-8, atol=1e-10)
    data, Wc, _ = draw(n, d, m, seed, classes=True)
    loss, grad = classification.loss_and_grad(Wc, data.x1, data.x2, data.y)
    loss_q, grad_q = classification.loss_and_grad(Wc @ Q, data.x1 @ Q, data.x2 @ Q, data.y)
    np.testing.assert_allclose(loss_q, loss, rtol=1e-11)
    np.testing.assert_allclose(grad_q, grad @ Q, rtol=1e-8, atol=1e-10)


@given(
    seed=st.integers(0, 2**32 - 1), noise=st.sampled_from(["projected", "isotropic", "orthogonal"])
)
def test_same_seed_same_data(seed, noise):
    a = make_data(5, 12, snr=0.5, noise=noise, rng=np.random.default_rng(seed))
    b = make_data(5, 12, snr=0.5, noise=noise, rng=np.random.default_rng(seed))
    assert all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("x1", "x2", "y", "mu"))
