"""The classification model: the same quadratic two-layer network with a fixed +-1 second layer.

    F_j(W, x) = (1/m) sum_r sum_{p=1,2} <w_{j,r}, x^(p)>^2,   j in {+1, -1},
    f(W, x) = F_{+1}(W, x) - F_{-1}(W, x),
    L(W) = (1/n) sum_i log(1 + exp(-y_i f(W, x_i))).
W has shape (2, m, d): W[0] holds the filters w_{+1,r}, W[1] the filters w_{-1,r}.

Noise augmentation (`loss_and_grad_augmented`): the same loss on the noised inputs x_t = alpha x +
beta eps,
patch by patch, averaged over K draws of eps. The logistic loss has no closed-form expectation over
eps,
so the draws are explicit (Monte Carlo), resampled every step or fixed for the whole run
(sims.models).
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


_SECOND_LAYER: dict = {}


def second_layer(m: int) -> tuple[np.ndarray, np.ndarray]:
    """(sign, (2/m) sign) over the 2m filters W.reshape(2m, d): the fixed second layer (+1 for
    j = +1, -1 for j = -1) and the factor of the gradient; made once per m (read-only)."""
    if m not in _SECOND_LAYER:
        sign = np.repeat([1.0, -1.0], m)
        factor = (2.0 / m) * sign
        sign.flags.writeable = factor.flags.writeable = False
        _SECOND_LAYER[m] = sign, factor
    return _SECOND_LAYER[m]


def loss_and_grad(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, y: np.ndarray):
    """(loss, grad): the logistic loss (a float) and its gradient; stable for large margins.

    Stacks work too: W of shape (S, 2, m, d) with x1, x2 (S, n, d) and y (S, n) give S losses and
    gradients.
    """
    n = x1.shape[-2]
    two, m, d = W.shape[-3:]
    Wf = W.reshape(*W.shape[:-3], two * m, d)
    WfT = np.swapaxes(Wf, -1, -2)
    A1 = x1 @ WfT  # (..., n, 2m): <w_{j,r}, x_i^(1)>
    A2 = x2 @ WfT
    sign, factor = second_layer(m)  # second layer: +1 for j = +1, -1 for j = -1
    f = ((A1 * A1 + A2 * A2) @ sign) / m
    minus_margin = -(y * f)
    loss = np.add.reduce(np.logaddexp(0.0, minus_margin), axis=-1) / n  # np.mean's arithmetic
    # dL/df_i = -y_i sigmoid(-y_i f_i) / n;  df_i / dw_{j,r} = (2/m) sign_j sum_p <w_{j,r}, x_i^(p)>
    # x_i^(p)
    dl_df = -y * _sigmoid(minus_margin) / n
    coef = factor * dl_df[..., None]
    grad = np.swapaxes(coef * A1, -1, -2) @ x1
    grad += np.swapaxes(coef * A2, -1, -2) @ x2  # in place: no third d-sized array
    return (float(loss) if loss.ndim == 0 else loss), grad.reshape(W.shape)


def loss_and_grad_augmented(
    W: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    y: np.ndarray,
    eps: np.ndarray,
    *,
    alpha: float,
    beta: float,
):
    """(loss, grad): the logistic loss on noised inputs averaged over K draws eps (K, 2n, d), and
    its gradient.

        L(W) = 1/K sum_k 1/n sum_i log(1 + exp(-y_i f(W, u_ki))),
        u_ki^(1) = alpha x_i^(1) + beta eps_k[i],   u_ki^(2) = alpha x_i^(2) + beta eps_k[n + i].
    This is the plain loss (`loss_and_grad`) on the K n samples (u_ki, y_i): the mean over k of
    means over i
    is the mean over all K n of them. The draws do not depend on W, so the gradient is the plain
    gradient on
    those samples, dL/dw_{j,r} = 1/(K n) sum_{k,i} (-y_i sigmoid(-y_i f_ki)) (2/m) sign_j
    sum_p <w_{j,r}, u_ki^(p)> u_ki^(p). One draw with beta = 0 and alpha = 1 is the plain loss, bit
    for bit.
    """
    K = eps.shape[0]
    n, d = x1.shape
    u1 = (alpha * x1 + beta * eps[:, :n]).reshape(K * n, d)
    u2 = (alpha * x2 + beta * eps[:, n:]).reshape(K * n, d)
    return loss_and_grad(W, u1, u2, np.tile(y, K))


def loss_and_grad_augmented_resampled(
    W: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    y: np.ndarray,
    K: int,
    rng: np.random.Generator,
    *,
    alpha: float,
    beta: float,
):
    """`loss_and_grad_augmented` on K fresh draws eps (K, 2n, d), drawing 2m (2nK + d) normals
    instead of 2nK d.

    Same joint law of (loss, gradient). Let Q (d, 2m) be orthonormal with the filters' rows in its
    span
    (a QR of W^T) and P = I - Q Q^T; each draw splits into independent parts eps = Q g + P e, g ~
    N(0, I_2m),
    e ~ N(0, I_d). The filter responses <w_{j,r}, u> = alpha <w_{j,r}, z> + beta (W Q g)_{j,r},
    hence f, the
    loss and the coefficients c_{(k,i,p), jr} = (-y_i sigmoid(-y_i f_ki) / (K n)) (2/m) sign_j
    <w_{j,r}, u>
    of the gradient sum_(k,i,p) c u^T depend on g alone, and e enters linearly:
        grad = sum c (alpha z + beta Q g)^T + beta C^T E P,   C (2nK, 2m) the coefficients, E the
        rows e.
    Given g, C^T E (2m, d) has independent columns N(0, C^T C), i.e. the law of S Z for any S with
    S S^T = C^T C and Z (2m, d) standard normal: so g and Z are all that is drawn. Q (signs fixed by
    a
    positive diagonal of R) and S (the symmetric root) are unique, so the draws move continuously
    with W: a
    change of W in its last digit changes a trajectory in its last digits, not into another
    realisation.
    """
    two, m, d = W.shape
    n = x1.shape[0]
    Wf = W.reshape(two * m, d)
    Q, R = np.linalg.qr(Wf.T)  # (d, 2m): W = (W Q) Q^T
    Q = Q * np.where(np.diagonal(R) < 0, -1.0, 1.0)  # diag(R) > 0: the unique Q, continuous in W
    WQ = Wf @ Q
    g = rng.standard_normal((K, 2 * n, two * m))  # Q^T eps of each draw
    sign, factor = second_layer(m)
    H1 = alpha * (x1 @ Wf.T) + beta * g[:, :n] @ WQ.T  # (K, n, 2m): <w_{j,r}, u^(1)>
    H2 = alpha * (x2 @ Wf.T) + beta * g[:, n:] @ WQ.T
    f = ((H1 * H1 + H2 * H2) @ sign) / m  # (K, n)
    margin = y * f
    loss = float(np.mean(np.logaddexp(0.0, -margin)))
    dl_df = -y * _sigmoid(-margin) / (K * n)
    C1 = factor * dl_df[..., None] * H1  # coefficients of u^(1), (K, n, 2m)
    C2 = factor * dl_df[..., None] * H2
    C = np.concatenate([C1, C2], axis=1)  # (K, 2n, 2m), in the order of g
    grad = alpha * (C1.sum(axis=0).T @ x1 + C2.sum(axis=0).T @ x2)  # sum c alpha z^T
    grad += beta * np.einsum("kir,kis->rs", C, g) @ Q.T  # sum c beta (Q g)^T
    lam, U = np.linalg.eigh(np.einsum("kir,kis->rs", C, C))  # C^T C = S S^T, S = U sqrt(lam) U^T
    Y = ((U * np.sqrt(np.clip(lam, 0.0, None))) @ U.T) @ rng.standard_normal((two * m, d))
    grad += beta * (Y - (Y @ Q) @ Q.T)  # beta C^T E P, in law
    return loss, grad.reshape(W.shape)


def error_rate(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, y: np.ndarray) -> float:
    """Fraction of samples with sign(f) != y (a tie f = 0 counts as an error)."""
    return float(np.mean(y * output(W, x1, x2) <= 0))
