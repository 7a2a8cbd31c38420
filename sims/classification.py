"""The classification model: the same quadratic two-layer network with a fixed +-1 second layer.

    F_j(W, x) = (1/m) sum_r sum_{p=1,2} <w_{j,r}, x^(p)>^2,   j in {+1, -1},
    f(W, x) = F_{+1}(W, x) - F_{-1}(W, x),
    L(W) = (1/n) sum_i log(1 + exp(-y_i f(W, x_i))).
W has shape (2, m, d): W[0] holds the filters w_{+1,r}, W[1] the filters w_{-1,r}.

Noise augmentation (`loss_and_grad_augmented`): the same loss on the noised inputs x_t = alpha x + beta eps,
patch by patch, averaged over K draws of eps. The logistic loss has no closed-form expectation over eps,
so the draws are explicit (Monte Carlo), resampled every step or fixed for the whole run (sims.models).
"""
from __future__ import annotations

import numpy as np


def _sigmoid(t: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-t)) without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def output(W: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """f(W, x_i) = F_{+1} - F_{-1} for every sample (n,)."""
    m = W.shape[1]
    F = [np.sum((x1 @ Wj.T) ** 2 + (x2 @ Wj.T) ** 2, axis=1) / m for Wj in W]
    return F[0] - F[1]


def loss_and_grad(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, y: np.ndarray):
    """(loss, grad): the logistic loss (a float) and its gradient; stable for large margins.

    Stacks work too: W of shape (S, 2, m, d) with x1, x2 (S, n, d) and y (S, n) give S losses and gradients.
    """
    n = x1.shape[-2]
    two, m, d = W.shape[-3:]
    Wf = W.reshape(*W.shape[:-3], two * m, d)
    WfT = np.swapaxes(Wf, -1, -2)
    A1 = x1 @ WfT                                  # (..., n, 2m): <w_{j,r}, x_i^(1)>
    A2 = x2 @ WfT
    sign = np.repeat([1.0, -1.0], m)               # second layer: +1 for j = +1, -1 for j = -1
    f = ((A1 * A1 + A2 * A2) @ sign) / m
    margin = y * f
    loss = np.mean(np.logaddexp(0.0, -margin), axis=-1)
    # dL/df_i = -y_i sigmoid(-y_i f_i) / n;  df_i / dw_{j,r} = (2/m) sign_j sum_p <w_{j,r}, x_i^(p)> x_i^(p)
    dl_df = -y * _sigmoid(-margin) / n
    coef = (2.0 / m) * sign * dl_df[..., None]
    grad = np.swapaxes(coef * A1, -1, -2) @ x1 + np.swapaxes(coef * A2, -1, -2) @ x2
    return (float(loss) if loss.ndim == 0 else loss), grad.reshape(W.shape)


def loss_and_grad_augmented(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, y: np.ndarray, eps: np.ndarray, *,
                            alpha: float, beta: float):
    """(loss, grad): the logistic loss on noised inputs averaged over K draws eps (K, 2n, d), and its gradient.

        L(W) = 1/K sum_k 1/n sum_i log(1 + exp(-y_i f(W, u_ki))),
        u_ki^(1) = alpha x_i^(1) + beta eps_k[i],   u_ki^(2) = alpha x_i^(2) + beta eps_k[n + i].
    This is the plain loss (`loss_and_grad`) on the K n samples (u_ki, y_i): the mean over k of means over i
    is the mean over all K n of them. The draws do not depend on W, so the gradient is the plain gradient on
    those samples, dL/dw_{j,r} = 1/(K n) sum_{k,i} (-y_i sigmoid(-y_i f_ki)) (2/m) sign_j
    sum_p <w_{j,r}, u_ki^(p)> u_ki^(p). One draw with beta = 0 and alpha = 1 is the plain loss, bit for bit.
    """
    K = eps.shape[0]
    n, d = x1.shape
    u1 = (alpha * x1 + beta * eps[:, :n]).reshape(K * n, d)
    u2 = (alpha * x2 + beta * eps[:, n:]).reshape(K * n, d)
    return loss_and_grad(W, u1, u2, np.tile(y, K))


def error_rate(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, y: np.ndarray) -> float:
    """Fraction of samples with sign(f) != y (a tie f = 0 counts as an error)."""
    return float(np.mean(y * output(W, x1, x2) <= 0))
