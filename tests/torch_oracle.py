"""The losses written independently in PyTorch, for autograd to differentiate.

An independent oracle for the hand-derived gradients and Hessian products of sims.diffusion,
sims.untied and sims.classification: it lives with the tests (and the gradient benchmarks), never
in the library. Inputs are float64 tensors. `diffusion_loss` and `classification_loss` are the
closed forms written literally; `diffusion_loss_target` and `untied_loss_target` compute the
expected loss of any objective by exact quadrature, without the moment formulas of sims.diffusion
and sims.untied; `sampled_loss`, `untied_sampled_loss` and `augmented_classification_loss` are the
plain Monte Carlo losses over given draws, one draw at a time."""

from __future__ import annotations

import torch


def diffusion_loss(W, x1, x2, alpha: float, beta: float, c: float | None = None):
    """1/(2n) sum over the 2n patches of E||f - eps||^2, eq. (E) of sims.diffusion, term by term."""
    n, d = x1.shape
    c = 1.0 / W.shape[0] if c is None else c
    a = torch.cat([x1 @ W.T, x2 @ W.T])  # a_kr = <w_r, z_k>, (2n, m)
    G = W @ W.T
    g = torch.diagonal(G)
    ar, as_ = a[:, :, None], a[:, None, :]  # a_r, a_s broadcast to (2n, m, m)
    gr, gs = g[:, None], g[None, :]
    bracket = (
        alpha**4 * ar**2 * as_**2
        + alpha**2 * beta**2 * (ar**2 * gs + as_**2 * gr + 4 * ar * as_ * G)
        + beta**4 * (gr * gs + 2 * G**2)
    )
    per_patch = d - 4 * c * alpha * beta * (a * g).sum(dim=1) + c**2 * (G * bracket).sum(dim=(1, 2))
    return per_patch.sum() / (2 * n)


def classification_loss(W, x1, x2, y):
    """(1/n) sum_i log(1 + exp(-y_i f(W, x_i))), f = F_{+1} - F_{-1}, W of shape (2, m, d)."""
    two, m, d = W.shape
    Wf = W.reshape(two * m, d)
    F = ((x1 @ Wf.T) ** 2 + (x2 @ Wf.T) ** 2).reshape(-1, two, m).sum(
        dim=2
    ) / m  # (n, 2): F_{+1}, F_{-1}
    f = F[:, 0] - F[:, 1]
    return torch.nn.functional.softplus(-y * f).mean()


# ---- every objective, by exact quadrature instead of the moment formulas
# ---------------------------------- The targets a x0 + b eps, from their definitions (not read from
# sims.diffusion.OBJECTIVES): noise, clean data, v = alpha eps - beta x0, and the flow-matching
# velocity d/dt ((1 - t) x0 + t eps) = eps - x0.
TARGETS = {
    "eps": lambda alpha, beta: (0.0, 1.0),
    "x0": lambda alpha, beta: (1.0, 0.0),
    "v": lambda alpha, beta: (-beta, alpha),
    "velocity": lambda alpha, beta: (-1.0, 1.0),
}

SQRT3 = 3.0**0.5


def hermite_grid(m: int):
    """Nodes (3^m, m) and weights (3^m,) of the tensor-product Gauss-Hermite rule with 3 points per
    axis for g ~ N(0, I_m): nodes 0, +-sqrt(3) with weights 2/3, 1/6. Exact for every polynomial of
    degree <= 5 in each coordinate (the moments 1, 0, 1, 0, 3, 0 of N(0, 1) are matched)."""
    one = torch.tensor([-SQRT3, 0.0, SQRT3], dtype=torch.float64)
    w1 = torch.tensor([1 / 6, 2 / 3, 1 / 6], dtype=torch.float64)
    nodes = torch.cartesian_prod(*[one] * m).reshape(-1, m)
    weights = torch.cartesian_prod(*[w1] * m).reshape(-1, m).prod(dim=1)
    return nodes, weights


def diffusion_loss_target(
    W, x1, x2, alpha: float, beta: float, a: float, b: float, c: float | None = None
):
    """1/(2n) sum over the 2n patches z of E_eps ||f(W, alpha z + beta eps) - a z - b eps||^2, eps ~
    N(0, I_d).

    No Gaussian moment formula is used. Expand the square:
        ||f - a z||^2 - 2 b <f, eps> + 2 a b <z, eps> + b^2 ||eps||^2.
    E<z, eps> = 0 and E||eps||^2 = d. The network sees eps only through y = W eps ~ N(0, W W^T) = L
    g (L the Cholesky factor, g ~ N(0, I_m)): h = W u = alpha W z + beta y, f = c W^T h^2 and <f,
    eps> = c sum_r h_r^2 y_r. The rest is a polynomial of degree 4 in g, integrated exactly by
    `hermite_grid`. (Needs W of full row rank; autograd differentiates through the Cholesky factor.)
    """
    m, d = W.shape
    c = 1.0 / m if c is None else c
    Z = torch.cat([x1, x2])  # (2n, d)
    nodes, weights = hermite_grid(m)
    Y = nodes @ torch.linalg.cholesky(W @ W.T).T  # y = W eps at each node, (Q, m)
    H = alpha * (Z @ W.T)[:, None, :] + beta * Y[None]  # h = W u, (2n, Q, m)
    R = c * (H * H) @ W - a * Z[:, None, :]  # f - a z, (2n, Q, d)
    per_node = (R * R).sum(dim=2) - 2 * b * c * (H * H * Y).sum(dim=2)
    return (per_node @ weights + b * b * d).mean()


def diffusion_loss_times(W, x1, x2, times, objective: str, c: float | None = None):
    """sum_k weight_k * the loss of `objective` at (alpha_k, beta_k), times = ((alpha, beta,
    weight), ...)."""
    return sum(
        weight * diffusion_loss_target(W, x1, x2, alpha, beta, *TARGETS[objective](alpha, beta), c)
        for alpha, beta, weight in times
    )


def sampled_loss(
    W, x1, x2, eps, alpha: float, beta: float, a: float, b: float, c: float | None = None
):
    """The plain Monte Carlo loss over given draws eps (K, 2n, d): the mean over draws k and patches
    j of ||f(W, alpha z_j + beta eps_kj) - a z_j - b eps_kj||^2, rows j < n of each draw noising x1,
    the rest x2."""
    m = W.shape[0]
    c = 1.0 / m if c is None else c
    Z = torch.cat([x1, x2])
    total = 0.0
    for e in eps:  # one draw at a time, literally
        u = alpha * Z + beta * e
        f = c * ((u @ W.T) ** 2) @ W  # f(W, u) = c sum_r <w_r, u>^2 w_r
        total = total + ((f - a * Z - b * e) ** 2).sum(dim=1).mean()
    return total / eps.shape[0]


def augmented_classification_loss(W, x1, x2, y, eps, alpha: float, beta: float):
    """The logistic loss on noised inputs, averaged over the draws eps (K, 2n, d): for each draw k
    the plain loss on (alpha x1 + beta eps_k[:n], alpha x2 + beta eps_k[n:]), then the mean over
    k."""
    n = x1.shape[0]
    losses = [
        classification_loss(W, alpha * x1 + beta * e[:n], alpha * x2 + beta * e[n:], y) for e in eps
    ]
    return torch.stack(losses).mean()


# ---- the untied and the fixed-output denoiser, from their definition ---------------------------
# f(W, V, u) = c sum_r <w_r, u>^2 v_r: first layer W, output layer V (both m x d). The fixed-output
# denoiser is the same loss with V a constant (no gradient asked of it).


def untied_network(W, V, u, c: float):
    """f(W, V, u) = c sum_r <w_r, u>^2 v_r for each row of u."""
    return c * ((u @ W.T) ** 2) @ V


def untied_loss_target(
    W, V, x1, x2, alpha: float, beta: float, a: float, b: float, c: float | None = None
):
    """1/(2n) sum over the 2n patches z of E_eps ||f(W, V, alpha z + beta eps) - a z - b eps||^2.

    No moment formula. Expand the square: ||f - a z||^2 - 2 b <f, eps> + 2 a b <z, eps>
    + b^2 ||eps||^2, with E<z, eps> = 0 and E||eps||^2 = d. The first term sees eps only through
    y = W eps ~ N(0, W W^T): quadrature over m standard normals (y = L g). <f, eps> =
    c sum_r h_r^2 <v_r, eps> sees the pair (W eps, V eps) ~ N(0, X X^T), X = [W; V]: quadrature over
    2m standard normals. Both integrands are polynomials of degree <= 4 in each normal, which
    `hermite_grid` integrates exactly. (Needs W and [W; V] of full row rank.)
    """
    m, d = W.shape
    c = 1.0 / m if c is None else c
    Z = torch.cat([x1, x2])
    Zw = Z @ W.T  # <w_r, z>, (2n, m)
    nodes, weights = hermite_grid(m)
    Y = nodes @ torch.linalg.cholesky(W @ W.T).T  # W eps at each node, (Q, m)
    H = alpha * Zw[:, None, :] + beta * Y[None]  # h = W u, (2n, Q, m)
    R = c * (H * H) @ V - a * Z[:, None, :]  # f - a z, (2n, Q, d)
    fit = (R * R).sum(dim=2) @ weights
    X = torch.cat([W, V])
    nodes2, weights2 = hermite_grid(2 * m)
    Y2 = nodes2 @ torch.linalg.cholesky(X @ X.T).T  # (W eps, V eps) at each node, (Q2, 2m)
    H2 = alpha * Zw[:, None, :] + beta * Y2[None, :, :m]
    f_eps = c * (H2 * H2 * Y2[None, :, m:]).sum(dim=2) @ weights2  # E<f, eps>
    return (fit - 2 * b * f_eps + b * b * d).mean()


def untied_loss_times(W, V, x1, x2, times, objective: str, c: float | None = None):
    """sum_k weight_k * the untied loss of `objective` at (alpha_k, beta_k)."""
    return sum(
        weight * untied_loss_target(W, V, x1, x2, alpha, beta, *TARGETS[objective](alpha, beta), c)
        for alpha, beta, weight in times
    )


def untied_sampled_loss(
    W, V, x1, x2, eps, alpha: float, beta: float, a: float, b: float, c: float | None = None
):
    """The plain Monte Carlo loss of the untied network over given draws eps (K, 2n, d), one draw
    at a time: the mean over draws k and patches j of
    ||f(W, V, alpha z_j + beta eps_kj) - a z_j - b eps_kj||^2."""
    c = 1.0 / W.shape[0] if c is None else c
    Z = torch.cat([x1, x2])
    total = 0.0
    for e in eps:
        f = untied_network(W, V, alpha * Z + beta * e, c)
        total = total + ((f - a * Z - b * e) ** 2).sum(dim=1).mean()
    return total / eps.shape[0]
