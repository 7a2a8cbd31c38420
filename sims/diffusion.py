"""The diffusion model: a tied two-layer network with quadratic activation, trained on the DDPM loss.

Network, per patch u in R^d (eq. for f_p in PAPER.md):
    f(W, u) = c * sum_r <w_r, u>^2 w_r,   W = [w_1 ... w_m] in R^{m x d},   c = 1/m by default.
Loss at one diffusion time x_t = alpha x0 + beta eps (noise prediction):
    L(W) = 1/(2n) sum_i sum_{p=1,2} E_eps || f(W, alpha x_i^(p) + beta eps) - eps ||^2.

With quadratic activation the expectation is a finite sum of Gaussian moments. For one patch with clean
vector z, a_r = <w_r, z> and G = W W^T:
    E||f - eps||^2 = d - 4 c alpha beta sum_r a_r G_rr
        + c^2 sum_{r,s} G_rs [ alpha^4 a_r^2 a_s^2 + alpha^2 beta^2 (a_r^2 G_ss + a_s^2 G_rr + 4 a_r a_s G_rs)
                               + beta^4 (G_rr G_ss + 2 G_rs^2) ].          (exact loss, eq. E)
`loss_and_grad` evaluates (E) and its hand-derived gradient for all 2n patches at once with plain matrix
products; `loss_and_grad_sampled` is the Monte Carlo objective over given draws of eps.
"""
from __future__ import annotations

import numpy as np


def denoise(W: np.ndarray, u: np.ndarray, scale: float | None = None) -> np.ndarray:
    """f(W, u) = c sum_r <w_r, u>^2 w_r for each row of u (shape (..., d))."""
    c = 1.0 / W.shape[0] if scale is None else scale
    h = u @ W.T
    return c * (h * h) @ W


def _T(a: np.ndarray) -> np.ndarray:
    """Transpose of the last two axes (a matrix, or each matrix of a stack)."""
    return np.swapaxes(a, -1, -2)


def _exact_terms(W: np.ndarray, blocks, alpha: float, beta: float, c: float):
    """Sum over the rows z of the blocks of (E||f - eps||^2 - d), eq. (E), and its gradient in W.

    W is (..., m, d) and each block of patches (..., n_k, d); leading axes index independent problems
    (a stack of S runs), so one call evaluates all of them. The blocks are multiplied one by one
    rather than stacked, which would copy the data.
    """
    A = np.concatenate([Z @ _T(W) for Z in blocks], axis=-2)   # a_kr = <w_r, z_k>, (..., N, m)
    N, m = A.shape[-2:]
    G = W @ _T(W)                                              # G_rs = <w_r, w_s>
    g = np.diagonal(G, axis1=-2, axis2=-1)                     # G_rr, (..., m)
    P = A * A
    p, a_sum = P.sum(axis=-2), A.sum(axis=-2)
    G2 = G * G
    Gg = (G @ g[..., None])[..., 0]
    PG, AG2 = P @ G, A @ G2
    k1, k2, k3, k4 = 4 * c * alpha * beta, c * c * alpha**4, c * c * alpha**2 * beta**2, N * c * c * beta**4

    total = (-k1 * (a_sum * g).sum(axis=-1)                    # -4 c alpha beta sum_r a_r G_rr
             + k2 * (PG * P).sum(axis=(-2, -1))                # c^2 alpha^4 sum_rs G_rs a_r^2 a_s^2
             + 2 * k3 * (p * Gg).sum(axis=-1)                  # c^2 alpha^2 beta^2 sum_rs G_rs (a_r^2 G_ss + a_s^2 G_rr)
             + 4 * k3 * (AG2 * A).sum(axis=(-2, -1))           # 4 c^2 alpha^2 beta^2 sum_rs a_r a_s G_rs^2
             + k4 * ((g * Gg).sum(axis=-1) + 2 * (G2 * G).sum(axis=(-2, -1))))  # c^2 beta^4 sum_rs G_rs (G_rr G_ss + 2 G_rs^2)

    # d total / d A (..., N, m)
    dA = A * (4 * k2 * PG + 4 * k3 * Gg[..., None, :]) + 8 * k3 * AG2 - k1 * g[..., None, :]
    # d total / d G_rs, treating G as a general matrix; its diagonal also enters through g = diag(G)
    S = (k2 * (_T(P) @ P) + 2 * k3 * p[..., :, None] * g[..., None, :] + 8 * k3 * (_T(A) @ A) * G
         + k4 * (g[..., :, None] * g[..., None, :] + 6 * G2))
    diag = np.arange(m)
    S[..., diag, diag] += -k1 * a_sum + 2 * k3 * (G @ p[..., None])[..., 0] + 2 * k4 * Gg
    # A = Z W^T and G = W W^T  =>  dW = dA^T Z + (S + S^T) W
    grad = (S + _T(S)) @ W
    start = 0
    for Z in blocks:
        grad += _T(dA[..., start:start + Z.shape[-2], :]) @ Z
        start += Z.shape[-2]
    return total, grad


def loss_and_grad(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, *, alpha: float, beta: float,
                  scale: float | None = None) -> tuple[float, np.ndarray]:
    """Exact expected DDPM loss (constant d included: the loss at W = 0 is d) and its gradient.

    Stacks work too: W of shape (S, m, d) with x1, x2 of shape (S, n, d) give S losses and gradients.
    """
    n, d = x1.shape[-2:]
    c = 1.0 / W.shape[-2] if scale is None else scale
    total, grad = _exact_terms(W, (x1, x2), alpha, beta, c)
    grad /= 2 * n
    return d + total / (2 * n), grad


def sum_over_times(loss_and_grad_at, times):
    """sum_k weight_k * loss_and_grad_at(alpha_k, beta_k) over times = ((alpha, beta, weight), ...):
    the objective over several diffusion times, for the exact and the sampled loss alike."""
    loss, grad = 0.0, None
    for alpha, beta, weight in times:
        l_k, g_k = loss_and_grad_at(alpha, beta)
        if weight != 1.0:
            g_k *= weight
        loss = loss + weight * l_k
        grad = g_k if grad is None else grad + g_k
    return loss, grad


def loss_and_grad_times(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, times, *,
                        scale: float | None = None) -> tuple[float, np.ndarray]:
    """Weighted sum of the exact loss over diffusion times: times is a sequence of (alpha, beta, weight)."""
    return sum_over_times(lambda alpha, beta: loss_and_grad(W, x1, x2, alpha=alpha, beta=beta, scale=scale), times)


def loss_and_grad_sampled(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, eps: np.ndarray, *,
                          alpha: float, beta: float, scale: float | None = None,
                          target: tuple[float, float] = (0.0, 1.0)) -> tuple[float, np.ndarray]:
    """Monte Carlo DDPM loss over K given noise draws eps of shape (K, 2n, d) and its gradient.

    Rows 0..n-1 of eps[k] noise the signal patches x1, rows n..2n-1 the noise patches x2. The network
    regresses target = a x0 + b eps, (a, b) = `target` ((0, 1): noise prediction, (1, 0): x0 prediction).
    For one draw, with u = alpha z + beta eps, h = W u and e = f(W, u) - a z - b eps:
        d||e||^2 / d w_r = 2c (h_r^2 e + 2 h_r <w_r, e> u).
    Stacks work too: W (S, m, d), x1, x2 (S, n, d) and eps (S, K, 2n, d) give S losses and gradients.
    """
    n, d = x1.shape[-2:]
    K = eps.shape[-3]
    lead = eps.shape[:-3]
    c = 1.0 / W.shape[-2] if scale is None else scale
    a, b = target
    Z = np.concatenate([x1, x2], axis=-2)[..., None, :, :]
    U = (alpha * Z + beta * eps).reshape(lead + (-1, d))
    E = eps.reshape(lead + (-1, d))
    H = U @ _T(W)
    H2 = H * H
    R = c * H2 @ W - (E if b == 1 else b * E)                       # e = f - b eps ...
    if a != 0:
        R = (R.reshape(eps.shape) - a * Z).reshape(R.shape)           # ... - a z
    norm = 2 * n * K
    loss = np.sum(R * R, axis=(-2, -1)) / norm
    grad = 2 * c * (_T(H2) @ R + _T(2 * H * (R @ _T(W))) @ U) / norm  # 2c (h_r^2 e + 2 h_r <w_r, e> u)
    return (float(loss) if loss.ndim == 0 else loss), grad
