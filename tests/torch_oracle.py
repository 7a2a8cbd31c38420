"""The two closed-form losses written literally in PyTorch, for autograd to differentiate.

An independent oracle for the hand-derived gradients of sims.diffusion and sims.classification: it
lives with the tests (and the gradient benchmark), never in the library. Inputs are float64 tensors.
"""
from __future__ import annotations

import torch


def diffusion_loss(W, x1, x2, alpha: float, beta: float, c: float | None = None):
    """1/(2n) sum over the 2n patches of E||f - eps||^2, eq. (E) of sims.diffusion, term by term."""
    n, d = x1.shape
    c = 1.0 / W.shape[0] if c is None else c
    a = torch.cat([x1 @ W.T, x2 @ W.T])                  # a_kr = <w_r, z_k>, (2n, m)
    G = W @ W.T
    g = torch.diagonal(G)
    ar, as_ = a[:, :, None], a[:, None, :]               # a_r, a_s broadcast to (2n, m, m)
    gr, gs = g[:, None], g[None, :]
    bracket = (alpha**4 * ar**2 * as_**2
               + alpha**2 * beta**2 * (ar**2 * gs + as_**2 * gr + 4 * ar * as_ * G)
               + beta**4 * (gr * gs + 2 * G**2))
    per_patch = d - 4 * c * alpha * beta * (a * g).sum(dim=1) + c**2 * (G * bracket).sum(dim=(1, 2))
    return per_patch.sum() / (2 * n)


def classification_loss(W, x1, x2, y):
    """(1/n) sum_i log(1 + exp(-y_i f(W, x_i))), f = F_{+1} - F_{-1}, W of shape (2, m, d)."""
    two, m, d = W.shape
    Wf = W.reshape(two * m, d)
    F = ((x1 @ Wf.T) ** 2 + (x2 @ Wf.T) ** 2).reshape(-1, two, m).sum(dim=2) / m   # (n, 2): F_{+1}, F_{-1}
    f = F[:, 0] - F[:, 1]
    return torch.nn.functional.softplus(-y * f).mean()
