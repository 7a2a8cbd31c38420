"""Hand-derived losses and gradients against PyTorch autograd of the literal closed forms (float64)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sims import classification, diffusion  # noqa: E402
from sims.data import make_data  # noqa: E402
from torch_oracle import classification_loss, diffusion_loss  # noqa: E402

RTOL = 1e-10


def _autograd(loss_fn, W, *args):
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    loss = loss_fn(Wt, *args)
    loss.backward()
    return loss.item(), Wt.grad.numpy()


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def _data(n, d, seed, noise="isotropic"):
    rng = np.random.default_rng(seed)
    return make_data(n, d, nsnr2=1.5, noise=noise, rng=rng), rng


@pytest.mark.parametrize("n, d, m, alpha, beta, scale", [
    (5, 30, 3, 0.7071067811865476, 0.7071067811865476, None),
    (8, 50, 4, 0.9, 0.4, None),
    (6, 40, 5, 0.6, 0.8, 0.3),
])
def test_diffusion_gradient_matches_autograd(n, d, m, alpha, beta, scale):
    data, rng = _data(n, d, seed=n + m)
    W = 1.5 * rng.standard_normal((m, d)) / np.sqrt(d)  # alignments of order one
    loss, grad = diffusion.loss_and_grad(W, data.x1, data.x2, alpha=alpha, beta=beta, scale=scale)
    x1, x2 = torch.tensor(data.x1), torch.tensor(data.x2)
    loss_t, grad_t = _autograd(diffusion_loss, W, x1, x2, alpha, beta, scale)
    assert abs(loss - loss_t) <= RTOL * abs(loss_t)
    assert _rel(grad, grad_t) <= RTOL


@pytest.mark.parametrize("n, d, m, w_scale", [(5, 30, 3, 0.1), (9, 60, 4, 1.0), (7, 40, 2, 3.0)])
def test_classification_gradient_matches_autograd(n, d, m, w_scale):
    data, rng = _data(n, d, seed=10 * n + m, noise="projected")
    W = w_scale * rng.standard_normal((2, m, d)) / np.sqrt(d)
    loss, grad = classification.loss_and_grad(W, data.x1, data.x2, data.y)
    x1, x2, y = (torch.tensor(a, dtype=torch.float64) for a in (data.x1, data.x2, data.y))
    loss_t, grad_t = _autograd(classification_loss, W, x1, x2, y)
    assert abs(loss - loss_t) <= RTOL * abs(loss_t)
    assert _rel(grad, grad_t) <= RTOL


@pytest.mark.parametrize("n, d, m, alpha, beta, scale", [(5, 12, 3, 0.7071067811865476, 0.7071067811865476, None),
                                                         (6, 10, 4, 0.6, 0.8, 0.3)])
def test_diffusion_hessian_matches_autograd(n, d, m, alpha, beta, scale):
    """The closed-form Hessian (all m d directions at once) against torch's Hessian of the literal loss."""
    data, rng = _data(n, d, seed=n * m)
    W = 1.5 * rng.standard_normal((m, d)) / np.sqrt(d)
    x1, x2 = torch.tensor(data.x1), torch.tensor(data.x2)
    H_t = torch.autograd.functional.hessian(lambda Wt: diffusion_loss(Wt, x1, x2, alpha, beta, scale),
                                            torch.tensor(W)).numpy().reshape(m * d, m * d)
    E = np.eye(m * d).reshape(m * d, m, d)
    H = diffusion.hessian_vector_product(W, E, data.x1, data.x2, ((alpha, beta, 1.0),), scale=scale)
    assert _rel(H.reshape(m * d, m * d), H_t) <= RTOL
