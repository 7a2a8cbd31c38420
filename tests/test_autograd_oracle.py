"""Hand-derived losses, gradients and Hessian products against PyTorch autograd (float64).

Two kinds of oracle (tests/torch_oracle.py): the literal closed forms (eq. E, the logistic loss),
and, for every diffusion objective of the tied, the untied and the fixed-output denoiser, an
independent computation of the expectation by exact Gauss-Hermite quadrature (no moment formula)
and the literal Monte Carlo losses over given draws. Each is checked at a tiny size and at
(n, d, m) = (20, 200, 4). Tolerances: RTOL = 1e-10 for the closed-form oracles; QUAD_RTOL = 1e-12
for the rest, where the two computations agree to about 1e-15 (summation order only).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch_oracle import (  # noqa: E402
    TARGETS,
    augmented_classification_loss,
    classification_loss,
    diffusion_loss,
    diffusion_loss_times,
    sampled_loss,
    untied_loss_times,
    untied_sampled_loss,
)

from sims import classification, diffusion, models, sampled, untied  # noqa: E402
from sims.config import TrainConfig  # noqa: E402
from sims.data import make_data  # noqa: E402
from sims.schedules import schedule_times  # noqa: E402

RTOL = 1e-10
QUAD_RTOL = 1e-12
SIZES = [(4, 16, 3), (20, 200, 4)]  # (n, d, m): tiny, and the size of the studies' small runs
OBJECTIVES = tuple(TARGETS)
# a time on the linear path (alpha + beta = 1) for every objective, so velocity can use it too
ALPHA, BETA = 0.45, 0.55


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


@pytest.mark.parametrize(
    "n, d, m, alpha, beta, scale",
    [
        (5, 30, 3, 0.7071067811865476, 0.7071067811865476, None),
        (8, 50, 4, 0.9, 0.4, None),
        (6, 40, 5, 0.6, 0.8, 0.3),
    ],
)
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


@pytest.mark.parametrize(
    "n, d, m, alpha, beta, scale",
    [(5, 12, 3, 0.7071067811865476, 0.7071067811865476, None), (6, 10, 4, 0.6, 0.8, 0.3)],
)
def test_diffusion_hessian_matches_autograd(n, d, m, alpha, beta, scale):
    """The closed-form Hessian (all m d directions at once) against torch's Hessian of the literal
    loss."""
    data, rng = _data(n, d, seed=n * m)
    W = 1.5 * rng.standard_normal((m, d)) / np.sqrt(d)
    x1, x2 = torch.tensor(data.x1), torch.tensor(data.x2)
    H_t = (
        torch.autograd.functional.hessian(
            lambda Wt: diffusion_loss(Wt, x1, x2, alpha, beta, scale), torch.tensor(W)
        )
        .numpy()
        .reshape(m * d, m * d)
    )
    E = np.eye(m * d).reshape(m * d, m, d)
    H = diffusion.hessian_vector_product(W, E, data.x1, data.x2, ((alpha, beta, 1.0),), scale=scale)
    assert _rel(H.reshape(m * d, m * d), H_t) <= RTOL


def _tensors(*arrays):
    return [torch.tensor(a, dtype=torch.float64) for a in arrays]


def _times(schedule, objective, T=3):
    """((alpha, beta, weight), ...): T times of a discrete schedule, or the one time (ALPHA,
    BETA)."""
    return schedule_times(
        schedule, 1 if schedule == "single" else T, objective, alpha=ALPHA, beta=BETA
    )


def _setup(n, d, m, seed):
    data, rng = _data(n, d, seed=seed)
    return data, rng, 1.5 * rng.standard_normal((m, d)) / np.sqrt(d)


@pytest.mark.parametrize("n, d, m", SIZES)
@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize(
    "schedule, scale", [("single", None), ("single", 0.3), ("ddpm-linear", None), ("cosine", None)]
)
def test_exact_objective_matches_quadrature(n, d, m, objective, schedule, scale):
    """The exact loss (eq. T) and its gradient, every objective and schedule, against autograd of
    the expectation computed by quadrature."""
    data, rng, W = _setup(n, d, m, seed=n + m + len(objective))
    times = _times(schedule, objective)
    loss, grad = diffusion.loss_and_grad_times(
        W, data.x1, data.x2, times, scale=scale, objective=objective
    )
    x1, x2 = _tensors(data.x1, data.x2)
    loss_t, grad_t = _autograd(diffusion_loss_times, W, x1, x2, times, objective, scale)
    assert abs(loss - loss_t) <= QUAD_RTOL * abs(loss_t)
    assert _rel(grad, grad_t) <= QUAD_RTOL


@pytest.mark.parametrize("n, d, m", SIZES)
@pytest.mark.parametrize(
    "objective, schedule",
    [("x0", "single"), ("v", "cosine"), ("velocity", "ddpm-linear"), ("eps", "cosine")],
)
def test_hessian_product_matches_quadrature(n, d, m, objective, schedule):
    """The closed-form Hessian-vector product against torch's second derivative of the quadrature
    loss: the whole Hessian at the tiny size, a stack of three random directions at the larger
    one."""
    data, rng, W = _setup(n, d, m, seed=7 * n + m)
    times = _times(schedule, objective)
    x1, x2 = _tensors(data.x1, data.x2)

    def loss_t(Wt):
        return diffusion_loss_times(Wt, x1, x2, times, objective)

    V = np.eye(m * d).reshape(m * d, m, d) if m * d <= 64 else rng.standard_normal((3, m, d))
    Wt = torch.tensor(W, requires_grad=True)
    (g,) = torch.autograd.grad(loss_t(Wt), Wt, create_graph=True)
    (H_t,) = torch.autograd.grad(
        g, Wt, torch.tensor(V), is_grads_batched=True
    )  # the Hessian applied to each V
    H = diffusion.hessian_vector_product(W, V, data.x1, data.x2, times, objective=objective)
    assert _rel(H, H_t.numpy()) <= QUAD_RTOL


@pytest.mark.parametrize("n, d, m", SIZES)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_sampled_loss_matches_autograd(n, d, m, objective):
    """The Monte Carlo loss over given draws, any target, against autograd of the plain loop over
    draws."""
    data, rng, W = _setup(n, d, m, seed=3 * n + m)
    eps = rng.standard_normal((3, 2 * n, d))
    a, b = diffusion.objective_target(objective, ALPHA, BETA)
    assert (a, b) == TARGETS[objective](ALPHA, BETA)
    loss, grad = sampled.loss_and_grad_sampled(
        W, data.x1, data.x2, eps, alpha=ALPHA, beta=BETA, target=(a, b)
    )
    x1, x2, e = _tensors(data.x1, data.x2, eps)
    loss_t, grad_t = _autograd(sampled_loss, W, x1, x2, e, ALPHA, BETA, a, b)
    assert abs(loss - loss_t) <= QUAD_RTOL * abs(loss_t)
    assert _rel(grad, grad_t) <= QUAD_RTOL


@pytest.mark.parametrize("n, d, m", SIZES)
def test_augmented_classifier_matches_autograd(n, d, m):
    """The noise-augmented logistic loss over given draws against autograd of the mean over draws of
    the plain loss on the noised inputs."""
    data, rng = _data(n, d, seed=5 * n + m, noise="projected")
    W = rng.standard_normal((2, m, d)) / np.sqrt(d)
    eps = rng.standard_normal((3, 2 * n, d))
    alpha, beta = 0.8, 0.6
    loss, grad = classification.loss_and_grad_augmented(
        W, data.x1, data.x2, data.y, eps, alpha=alpha, beta=beta
    )
    x1, x2, y, e = _tensors(data.x1, data.x2, data.y, eps)
    loss_t, grad_t = _autograd(augmented_classification_loss, W, x1, x2, y, e, alpha, beta)
    assert abs(loss - loss_t) <= QUAD_RTOL * abs(loss_t)
    assert _rel(grad, grad_t) <= QUAD_RTOL


def _span_coordinates(W, *blocks):
    """An orthonormal basis Q (d, r) of the span of W's rows and the blocks' rows (r < d)."""
    return np.linalg.qr(np.concatenate([W.reshape(-1, W.shape[-1]), *blocks]).T)[0]


@pytest.mark.parametrize("n, d, m", SIZES)
@pytest.mark.parametrize(
    "settings",
    [
        dict(objective="v", schedule="cosine", num_times=3),
        dict(objective="velocity", schedule="ddpm-linear", num_times=2, scale=0.4),
        dict(objective="x0", noise="fixed", noise_samples=2, schedule="cosine", num_times=2),
        dict(objective="v", noise="fixed", noise_samples=2, schedule="ddpm-linear", num_times=2),
    ],
)
def test_model_objective_in_span_coordinates_matches_oracle(n, d, m, settings):
    """What training runs: the registry's objective for a setting, in the coordinates of the span
    engine (an r-dimensional basis of the data, the draws and W, with the loss's d-dependence added
    back), against the oracle in the full d dimensions; the gradient maps back by the basis."""
    cfg = TrainConfig(model="diffusion", n=n, d=d, m=m, **settings)
    data, rng, W = _setup(n, d, m, seed=11 * n + m)
    model = models.get("diffusion")
    eps = model.draws(cfg, n, d, rng)
    Q = _span_coordinates(W, data.x1, data.x2, *(() if eps is None else tuple(eps)))
    assert Q.shape[1] < d or eps is not None  # fixed draws at the tiny size fill all d dimensions
    eps_q = None if eps is None else eps @ Q
    loss, grad_q = model.objective(cfg, data.x1 @ Q, data.x2 @ Q, data.y, d, rng, eps_q)(W @ Q)
    x1, x2 = _tensors(data.x1, data.x2)
    c = diffusion.output_scale(m, cfg.scale)
    if eps is None:
        loss_t, grad_t = _autograd(
            diffusion_loss_times, W, x1, x2, cfg.diffusion_times, cfg.objective, c
        )
    else:
        e = torch.tensor(eps)
        loss_t, grad_t = _autograd(
            lambda Wt: sum(
                w * sampled_loss(Wt, x1, x2, e, al, be, *TARGETS[cfg.objective](al, be), c)
                for al, be, w in cfg.diffusion_times
            ),
            W,
        )
    assert abs(loss - loss_t) <= QUAD_RTOL * abs(loss_t)
    assert _rel(grad_q @ Q.T, grad_t) <= QUAD_RTOL


@pytest.mark.parametrize("n, d, m", SIZES)
def test_augmented_model_objective_matches_oracle(n, d, m):
    """The registry's augmented classifier with fixed draws (--augment, --noise fixed) against the
    oracle."""
    cfg = TrainConfig(
        model="classification", n=n, d=d, m=m, augment=(0.7, 0.5), noise="fixed", noise_samples=2
    )
    data, rng = _data(n, d, seed=13 * n + m, noise="projected")
    W = rng.standard_normal((2, m, d)) / np.sqrt(d)
    model = models.get("classification")
    eps = model.draws(cfg, n, d, rng)
    loss, grad = model.objective(cfg, data.x1, data.x2, data.y, d, rng, eps)(W)
    x1, x2, y, e = _tensors(data.x1, data.x2, data.y, eps)
    loss_t, grad_t = _autograd(augmented_classification_loss, W, x1, x2, y, e, 0.7, 0.5)
    assert abs(loss - loss_t) <= QUAD_RTOL * abs(loss_t)
    assert _rel(grad, grad_t) <= QUAD_RTOL


# ---- the untied and the fixed-output denoiser (sims.untied) -------------------------------------


def _untied_setup(n, d, m, seed):
    """Data and weights WV (2, m, d): both layers independent, alignments of order one."""
    data, rng = _data(n, d, seed=seed)
    return data, rng, 1.5 * rng.standard_normal((2, m, d)) / np.sqrt(d)


def _autograd_untied(loss_fn, WV, train_output):
    """(loss, grad (2, m, d)) by autograd; train_output False: V a constant, its slot 0."""
    W = torch.tensor(WV[0], requires_grad=True)
    V = torch.tensor(WV[1], requires_grad=train_output)
    loss = loss_fn(W, V)
    loss.backward()
    grad_V = V.grad.numpy() if train_output else np.zeros_like(WV[1])
    return loss.item(), np.stack([W.grad.numpy(), grad_V])


@pytest.mark.parametrize("train_output", [True, False], ids=["untied", "fixed-output"])
@pytest.mark.parametrize("n, d, m", SIZES)
@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize(
    "schedule, scale", [("single", None), ("single", 0.3), ("ddpm-linear", None), ("cosine", None)]
)
def test_untied_exact_objective_matches_quadrature(
    n, d, m, objective, schedule, scale, train_output
):
    """Eq. (U) and its gradients, every objective and schedule, against autograd of the expectation
    computed by quadrature from the network's definition; the fixed-output V-gradient is exactly
    0."""
    data, rng, WV = _untied_setup(n, d, m, seed=n + 2 * m + len(objective))
    times = _times(schedule, objective)
    loss, grad = untied.loss_and_grad_times(
        WV, data.x1, data.x2, times, scale=scale, objective=objective, train_output=train_output
    )
    x1, x2 = _tensors(data.x1, data.x2)
    c = diffusion.output_scale(m, scale)
    loss_t, grad_t = _autograd_untied(
        lambda W, V: untied_loss_times(W, V, x1, x2, times, objective, c), WV, train_output
    )
    assert abs(loss - loss_t) <= QUAD_RTOL * abs(loss_t)
    assert _rel(grad, grad_t) <= QUAD_RTOL
    if not train_output:
        assert not np.any(grad[1])


@pytest.mark.parametrize("train_output", [True, False], ids=["untied", "fixed-output"])
@pytest.mark.parametrize("n, d, m", SIZES)
@pytest.mark.parametrize(
    "objective, schedule",
    [("x0", "single"), ("v", "cosine"), ("velocity", "ddpm-linear"), ("eps", "cosine")],
)
def test_untied_hessian_product_matches_quadrature(n, d, m, objective, schedule, train_output):
    """The closed-form Hessian-vector product against torch's second derivative of the quadrature
    loss: the whole Hessian where it has at most 64 trained directions (the fixed output at the
    tiny size), else a stack of six random directions. Fixed output: the Hessian in W alone."""
    data, rng, WV = _untied_setup(n, d, m, seed=9 * n + m)
    times = _times(schedule, objective)
    x1, x2 = _tensors(data.x1, data.x2)
    free = WV.size if train_output else WV[0].size  # the directions the objective trains
    if free <= 64:  # the whole Hessian in them
        T = np.eye(WV.size)[:free].reshape((free,) + WV.shape)
    else:
        T = rng.standard_normal((6,) + WV.shape)
        if not train_output:
            T[:, 1] = 0.0
    Wt = torch.tensor(WV, requires_grad=True)
    loss = untied_loss_times(
        Wt[0], Wt[1] if train_output else Wt[1].detach(), x1, x2, times, objective
    )
    (g,) = torch.autograd.grad(loss, Wt, create_graph=True)
    (H_t,) = torch.autograd.grad(g, Wt, torch.tensor(T), is_grads_batched=True)
    H = untied.hessian_vector_product(
        WV, T, data.x1, data.x2, times, objective=objective, train_output=train_output
    )
    assert _rel(H, H_t.numpy()) <= QUAD_RTOL
    if not train_output:
        assert not np.any(H[:, 1])


@pytest.mark.parametrize("train_output", [True, False], ids=["untied", "fixed-output"])
@pytest.mark.parametrize("n, d, m", SIZES)
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_untied_sampled_loss_matches_autograd(n, d, m, objective, train_output):
    """The Monte Carlo loss over given draws (two times sharing them) against autograd of the plain
    loop over draws."""
    data, rng, WV = _untied_setup(n, d, m, seed=3 * n + m + 1)
    eps = rng.standard_normal((3, 2 * n, d))
    times = _times("cosine", objective, T=2)
    loss, grad = untied.loss_and_grad_sampled_times(
        WV, data.x1, data.x2, eps, times, objective=objective, train_output=train_output
    )
    x1, x2, e = _tensors(data.x1, data.x2, eps)
    loss_t, grad_t = _autograd_untied(
        lambda W, V: sum(
            w * untied_sampled_loss(W, V, x1, x2, e, al, be, *TARGETS[objective](al, be))
            for al, be, w in times
        ),
        WV,
        train_output,
    )
    assert abs(loss - loss_t) <= QUAD_RTOL * abs(loss_t)
    assert _rel(grad, grad_t) <= QUAD_RTOL


@pytest.mark.parametrize("train_output", [True, False], ids=["untied", "fixed-output"])
@pytest.mark.parametrize("n, d, m", SIZES)
@pytest.mark.parametrize("objective, fixed", [("v", False), ("x0", True), ("eps", True)])
def test_untied_objective_in_span_coordinates_matches_oracle(
    n, d, m, objective, fixed, train_output
):
    """What a span engine would run: the objective in the coordinates of an r-dimensional basis of
    the data, both layers' rows (and fixed draws), with the loss's d-dependence restored by `dim`,
    against the oracle in the full d dimensions; the gradient maps back by the basis."""
    data, rng, WV = _untied_setup(n, d, m, seed=11 * n + m + 5)
    times = _times("ddpm-linear", objective, T=2)
    eps = rng.standard_normal((2, 2 * n, d)) if fixed else None
    Q = _span_coordinates(WV, data.x1, data.x2, *(() if eps is None else tuple(eps)))
    if eps is None:
        assert Q.shape[1] < d
        fun = untied.exact_objective(
            data.x1 @ Q,
            data.x2 @ Q,
            diffusion.targets_of(times, objective),
            dim=d,
            train_output=train_output,
        )
    else:
        fun = lambda X: untied.loss_and_grad_sampled_times(
            X,
            data.x1 @ Q,
            data.x2 @ Q,
            eps @ Q,
            times,
            objective=objective,
            train_output=train_output,
        )
    loss, grad_q = fun(WV @ Q)
    x1, x2 = _tensors(data.x1, data.x2)
    if eps is None:
        oracle = lambda W, V: untied_loss_times(W, V, x1, x2, times, objective)
    else:
        e = torch.tensor(eps)
        oracle = lambda W, V: sum(
            w * untied_sampled_loss(W, V, x1, x2, e, al, be, *TARGETS[objective](al, be))
            for al, be, w in times
        )
    loss_t, grad_t = _autograd_untied(oracle, WV, train_output)
    assert abs(loss - loss_t) <= QUAD_RTOL * abs(loss_t)
    assert _rel(grad_q @ Q.T, grad_t) <= QUAD_RTOL
