"""The untied and the fixed-output denoiser: the diffusion network with its two layers apart.

Network, per patch u in R^d, with first layer W and output layer V (both m x d), stored as one
array WV of shape (2, m, d), W = WV[0], V = WV[1]:
    f(W, V, u) = c sum_r <w_r, u>^2 v_r,    c = 1/m by default (`scale`, as in sims.diffusion).
V = W is the tied model of sims.diffusion. The fixed-output denoiser is the same f with V frozen at
its initial value (the classifier's fixed second layer, on the denoising side): its V-gradient is 0.
Loss at the diffusion times of sims.diffusion (target a x0 + b eps from x_t = alpha x0 + beta eps;
objectives, schedules and weights are the tied model's, through `sims.diffusion.targets_of`):
    L(W, V) = 1/(2n) sum_i sum_p E_eps ||f(W, V, alpha x_i^(p) + beta eps) - a x_i^(p) - b eps||^2.

The exact expectation. For one patch with clean vector z let a_r = <w_r, z>, q_r = <v_r, z>,
G = W W^T, H = V V^T, C = W V^T (C_rs = <w_r, v_s>). Over eps ~ N(0, I_d) the variables
e_r = <w_r, eps>, eta_r = <v_r, eps>, zeta = <z, eps> are jointly Gaussian with Cov(e, e) = G,
Cov(eta, eta) = H, Cov(e, eta) = C, Cov(e, zeta) = a, Cov(eta, zeta) = q, Var(zeta) = ||z||^2, and
h_r = <w_r, u> = alpha a_r + beta e_r. Expanding the square,
    ||f - a z - b eps||^2 = ||f||^2 - 2a <f, z> - 2b <f, eps> + a^2 ||z||^2 + 2ab zeta
                            + b^2 ||eps||^2,
    ||f||^2 = c^2 sum_rs h_r^2 h_s^2 H_rs,  <f, z> = c sum_r h_r^2 q_r,
    <f, eps> = c sum_r h_r^2 eta_r.
Isserlis' theorem gives the moments (h is Gaussian, mean alpha a, covariance beta^2 G):
    E h_r^2 h_s^2 = alpha^4 a_r^2 a_s^2 + alpha^2 beta^2 (a_r^2 G_ss + a_s^2 G_rr + 4 a_r a_s G_rs)
                    + beta^4 (G_rr G_ss + 2 G_rs^2)           =: M_rs (the bracket of eq. E),
    E h_r^2 = alpha^2 a_r^2 + beta^2 G_rr,
    E h_r^2 eta_r = 2 alpha beta a_r E[e_r eta_r] + beta^2 E[e_r^2 eta_r] + alpha^2 a_r^2 E[eta_r]
                  = 2 alpha beta a_r C_rr        (odd moments vanish),
so, with E zeta = 0 and E||eps||^2 = d,
    E||f - a z - b eps||^2 = c^2 sum_rs H_rs M_rs - 4 b c alpha beta sum_r a_r C_rr
                  - 2 a c sum_r (alpha^2 a_r^2 + beta^2 G_rr) q_r + a^2 ||z||^2 + b^2 d.    (eq. U)
The moments are of order four in eps at most (E h_r^2 h_s^2; V enters ||f||^2 through H only),
and the loss is of degree six in the weights (four in W, two in V). theory.untied derives eq. (U)
by Wick pairings in sympy, and the tests hold this module to it. V = W gives H = C = G, q = a:
eq. (T) of sims.diffusion, so the tied loss is L(W, W), and its gradient is the sum of the two
slots' gradients there. Eq. (U) splits the tied term weight k1 = 4 c alpha beta b + 2 a c beta^2
(of -sum_r a_r G_rr) in two: k1e = 4 c alpha beta b of -sum_r a_r C_rr and k1x = 2 a c beta^2 of
-sum_r G_rr q_r; k2, k3, k4, a^2, b^2 are the tied model's (`Weights`), and so is k5 =
2 a c alpha^2, now of -sum_r a_r^2 q_r.

Summed over the N = 2n patches (rows of Z; A = Z W^T, Q = Z V^T, P = A * A, p = column sums of P,
g = diag G, s_a and s_q the column sums of A and Q), (2n) L = cubic + sextic + constants with
    cubic  = -k1e <s_a, diag C> - k1x <g, s_q> - k5 <P, Q>              (degree 2 in W, 1 in V)
    sextic = <S_H, H>,  S_H = k2 P^T P + k3 (p g^T + g p^T) + 4 k3 (A^T A) * G
                              + N k4 (g g^T + 2 G * G)                   (degree 4 in W, 2 in V)
(S_H = d sextic / dH, as sextic is linear in H). Its gradient, from A = Z W^T, Q = Z V^T, G = W W^T,
H = V V^T and C_rr = <w_r, v_r>:
    dA  = A * (4 k2 P H + 4 k3 (H g)^T) + 8 k3 A (H * G) - k1e (diag C)^T - 2 k5 A * Q     (d/dA)
    dQ  = -k1x g^T - k5 P                                                                  (d/dQ)
    S_G = 4 k3 (A^T A) * H + 4 N k4 G * H + diag(2 k3 H p + 2 N k4 H g - k1x s_q)         (d/dG)
    s_C = -k1e s_a                                                                  (d/d C_rr)
    grad_W = dA^T Z + 2 S_G W + diag(s_C) V,    grad_V = dQ^T Z + 2 S_H V + diag(s_C) W.
With X = [W; V] (2m x d, a view of WV) that is one product, grad_X = [dA, dQ]^T Z + S X with
the symmetric S = [[2 S_G, diag(s_C)], [diag(s_C), 2 S_H]]; the fixed-output gradient is its
first m rows.

Span basis (proof). Both gradients are combinations of the rows of the patches, W and V:
grad_W = dA^T Z + 2 S_G W + diag(s_C) V, grad_V = dQ^T Z + 2 S_H V + diag(s_C) W. A descent step
keeps rows in span(data, rows of W_k and V_k) inside that span, so by induction every row of W_k and
V_k lies in span(data, rows of W_0 and V_0) (fixed output: V_k = V_0, and the same holds). Eq. (U)
depends on W, V and the data only through inner products (A, Q, G, H, C, ||z||^2) and b^2 d, which
an orthonormal basis of that span preserves (b^2 d becomes b^2 r in an r-dimensional basis: `dim`
restores it), so descent in its coordinates is descent in d dimensions, to rounding. With an eps
part in the target (k1e != 0) the rows do not stay in span(data, rows of W_0) alone: s_C moves W
into V_0's directions and V into W_0's; with b = 0 (x0) each layer keeps to span(data, its own
initial rows). With K fixed draws eps the sampled gradients below are combinations of the rows of
V, the patches and the draws (u = alpha z + beta eps, e = f - a z - b eps): the draws join the span,
and as grad_W is a combination of the inputs u alone, each layer keeps to span(data, draws, its own
initial rows). Fresh draws add new directions at every step, which no basis fixed in advance holds
(as for the tied model).

Hessian-vector products: `hessian_vector_product`, every line of the gradient differentiated along
a direction (tW, tV). The flow conserves ||w_r||^2 - 2 ||v_r||^2 for each neuron (f is invariant
under w_r -> s w_r, v_r -> v_r / s^2, so <w_r, grad_w_r> = 2 <v_r, grad_v_r>).

The Monte Carlo losses over K given draws eps (K, 2n, d), as fixed draws train them, and over K
fresh draws each call are `loss_and_grad_sampled(_times)` and `loss_and_grad_fresh`, in the direct
form (draws of the full shape; sims.sampled's draw-only-what-the-result-needs form is not carried
over).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sims.diffusion import (
    _T,
    FIT_CURVATURE,
    MEMORISE,
    fit_curvature_factor,
    memorised_curvature,
    objective_target,
    output_scale,
    targets_of,
    term_weights,
)
from sims.sampled import sum_over_times

FIRST, OUTPUT = 0, 1  # the slots of WV (2, m, d): W = WV[FIRST], V = WV[OUTPUT]


def split(WV: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(W, V): the first and the output layer of WV (..., 2, m, d) (views)."""
    return WV[..., FIRST, :, :], WV[..., OUTPUT, :, :]


def denoise(WV: np.ndarray, u: np.ndarray, scale: float | None = None) -> np.ndarray:
    """f(W, V, u) = c sum_r <w_r, u>^2 v_r for each row of u (shape (..., d))."""
    W, V = split(WV)
    c = output_scale(W.shape[-2], scale)
    h = u @ _T(W)
    return c * (h * h) @ V


class UntiedWeights(NamedTuple):
    """The weights of the terms of eq. (U), summed over diffusion times (module docstring): the
    tied model's `sims.diffusion.Weights` with its k1 split into k1e (of -sum_r a_r C_rr) and
    k1x (of -sum_r G_rr q_r)."""

    k1e: float
    k1x: float
    k2: float
    k3: float
    k4: float
    k5: float
    a2: float
    b2: float


def untied_weights(targets, c: float) -> UntiedWeights:
    """The UntiedWeights of targets = ((alpha, beta, weight, a, b), ...) for output scale c.

    The tied k1 = 4 c alpha beta b + 2 a c beta^2 is k1e + k1x, each the tied k1 of the target with
    the other coefficient set to zero (one source of the coefficients: diffusion.term_weights).
    """
    k = term_weights(targets, c)
    k1e = term_weights([(al, be, w, 0.0, b) for al, be, w, a, b in targets], c).k1
    k1x = term_weights([(al, be, w, a, 0.0) for al, be, w, a, b in targets], c).k1
    return UntiedWeights(k1e, k1x, k.k2, k.k3, k.k4, k.k5, k.a2, k.b2)


def _diag(v: np.ndarray) -> np.ndarray:
    """The diagonal matrices (..., m, m) of the vectors v (..., m)."""
    return v[..., :, None] * np.eye(v.shape[-1])


def _diagonal(M: np.ndarray) -> np.ndarray:
    return np.diagonal(M, axis1=-2, axis2=-1)


def _patch_products(blocks, X: np.ndarray) -> np.ndarray:
    """Z X^T for the patches Z stacked from `blocks` (each block multiplied on its own: no copy of
    the data in d dimensions)."""
    Xt = _T(X)
    return blocks[0] @ Xt if len(blocks) == 1 else np.concatenate([Z @ Xt for Z in blocks], axis=-2)


def _exact_terms(WV: np.ndarray, blocks, k: UntiedWeights, train_output: bool = True):
    """(total, grad): the sum over the rows z of the blocks of E||f - a z - b eps||^2 - a^2 ||z||^2
    - b^2 d, eq. (U) with the term weights k, and its gradient in WV (zero in the output slot unless
    train_output).

    WV is (..., 2, m, d), each block of patches (..., n_k, d); leading axes index separate problems.
    """
    m, d = WV.shape[-2:]
    X = WV.reshape(WV.shape[:-3] + (2 * m, d))  # [W; V], a view
    AQ = _patch_products(blocks, X)  # [A, Q], A_kr = <w_r, z_k>, Q_kr = <v_r, z_k>
    A, Q = AQ[..., :m], AQ[..., m:]
    N = A.shape[-2]
    Kx = X @ _T(X)  # [[G, C], [C^T, H]]
    G, C, H = Kx[..., :m, :m], Kx[..., :m, m:], Kx[..., m:, m:]
    g, c_diag = _diagonal(G), _diagonal(C)  # G_rr = ||w_r||^2, C_rr = <w_r, v_r>
    P = A * A
    AtA = _T(A) @ A
    p = AtA.diagonal(0, -2, -1)  # p_r = sum_k a_kr^2
    s_a, s_q = A.sum(axis=-2), Q.sum(axis=-2)  # sum_k a_kr, sum_k q_kr
    k4 = N * k.k4
    Hg = (H @ g[..., None])[..., 0]

    # sextic = <S_H, H>,
    # S_H = k2 P^T P + k3 (p g^T + g p^T) + 4 k3 (A^T A) * G + N k4 (g g^T + 2 G * G)
    O = (k.k3 * p + (0.5 * k4) * g)[..., :, None] * g[..., None, :]
    S_H = k.k2 * (_T(P) @ P) + (4 * k.k3) * AtA * G + (2 * k4) * G * G + O + _T(O)
    # cubic = -k1e <s_a, diag C> - k1x <g, s_q> - k5 <P, Q>
    cubic = -k.k1e * np.sum(s_a * c_diag, axis=-1) - k.k1x * np.sum(g * s_q, axis=-1)
    if k.k5 != 0:
        cubic = cubic - k.k5 * np.sum(P * Q, axis=(-2, -1))
    total = cubic + np.sum(S_H * H, axis=(-2, -1))

    # dA = A * (4 k2 P H + 4 k3 (H g)^T) + 8 k3 A (H * G) - k1e (diag C)^T - 2 k5 A * Q
    HG = H * G
    dA = A * ((4 * k.k2) * (P @ H) + (4 * k.k3) * Hg[..., None, :]) + (8 * k.k3) * (A @ HG)
    dA -= k.k1e * c_diag[..., None, :]
    if k.k5 != 0:
        dA -= (2 * k.k5) * A * Q
    # S_G = 4 k3 (A^T A) * H + 4 N k4 G * H + diag(2 k3 H p + 2 N k4 H g - k1x s_q)
    s_G = (2 * k.k3) * (H @ p[..., None])[..., 0] + (2 * k4) * Hg - k.k1x * s_q
    S_G = (4 * k.k3) * AtA * H + (4 * k4) * HG + _diag(s_G)
    s_C = -k.k1e * s_a  # d/d C_rr
    if not train_output:  # grad_W = dA^T Z + 2 S_G W + diag(s_C) V; the output layer is fixed
        top = np.concatenate([2 * S_G, _diag(s_C)], axis=-1)
        grad_W = top @ X + _rows_times(dA, blocks)
        return total, np.stack([grad_W, np.zeros_like(grad_W)], axis=-3)
    # dQ = -k1x g^T - k5 P
    dQ = np.broadcast_to(-k.k1x * g[..., None, :], Q.shape)
    if k.k5 != 0:
        dQ = dQ - k.k5 * P
    # grad_X = [dA, dQ]^T Z + S X,  S = [[2 S_G, diag(s_C)], [diag(s_C), 2 S_H]]
    S = np.concatenate(
        [
            np.concatenate([2 * S_G, _diag(s_C)], axis=-1),
            np.concatenate([_diag(s_C), 2 * S_H], axis=-1),
        ],
        axis=-2,
    )
    grad = S @ X + _rows_times(np.concatenate([dA, dQ], axis=-1), blocks)
    return total, grad.reshape(WV.shape)


def _rows_times(D: np.ndarray, blocks) -> np.ndarray:
    """D^T Z for D (..., N, j) and the patches Z (N, d) stacked from `blocks`, block by block."""
    out, start = None, 0
    for Z in blocks:
        part = _T(D[..., start : start + Z.shape[-2], :]) @ Z
        out = part if out is None else out + part
        start += Z.shape[-2]
    return out


def _exact_hvp(
    WV: np.ndarray, T: np.ndarray, blocks, k: UntiedWeights, train_output: bool = True
) -> np.ndarray:
    """The Hessian of `_exact_terms`' total at WV (2, m, d) applied to T (2, m, d), or to each
    direction of a stack T (S, 2, m, d). Each line is the derivative along T (a leading t) of a line
    of `_exact_terms`, with tA = Z tW^T, tQ = Z tV^T and tKx = tX X^T + X tX^T. For the fixed-output
    denoiser (not train_output) it is the Hessian in W alone: T's output slot is ignored and the
    result's is zero."""
    m, d = WV.shape[-2:]
    if not train_output:
        T = T.copy()
        T[..., OUTPUT, :, :] = 0.0
    X = WV.reshape(2 * m, d)
    tX = T.reshape(T.shape[:-3] + (2 * m, d))
    Zs = np.concatenate(blocks, axis=-2)
    N = Zs.shape[-2]
    AQ, tAQ = Zs @ X.T, Zs @ _T(tX)
    A, Q, tA, tQ = AQ[:, :m], AQ[:, m:], tAQ[..., :m], tAQ[..., m:]
    Kx = X @ X.T
    tKx = tX @ X.T
    tKx = tKx + _T(tKx)
    G, H = Kx[:m, :m], Kx[m:, m:]
    tG, tC, tH = tKx[..., :m, :m], tKx[..., :m, m:], tKx[..., m:, m:]
    g, tg, tc_diag = np.diagonal(G), _diagonal(tG), _diagonal(tC)
    P, tP = A * A, 2 * A * tA
    AtA = A.T @ A
    tAtA = A.T @ tA
    tAtA = tAtA + _T(tAtA)
    p, tp = P.sum(axis=0), tP.sum(axis=-2)
    s_a, s_q, ts_a, ts_q = A.sum(axis=0), Q.sum(axis=0), tA.sum(axis=-2), tQ.sum(axis=-2)
    k1e, k1x, k2, k3, k5, k4 = k.k1e, k.k1x, k.k2, k.k3, k.k5, N * k.k4
    Hg = H @ g
    tHg = (tH @ g[:, None])[..., 0] + tg @ H  # H symmetric: (H tg)_r = (tg H)_r
    HG, tHG = H * G, tH * G + H * tG

    # t(dA), dA = A * (4 k2 P H + 4 k3 (H g)^T) + 8 k3 A (H * G) - k1e (diag C)^T - 2 k5 A * Q
    tdA = (
        tA * (4 * k2 * (P @ H) + 4 * k3 * Hg)
        + A * (4 * k2 * (tP @ H + P @ tH) + 4 * k3 * tHg[..., None, :])
        + 8 * k3 * (tA @ HG + A @ tHG)
        - k1e * tc_diag[..., None, :]
    )
    if k5 != 0:
        tdA -= 2 * k5 * (tA * Q + A * tQ)
    # t(S_G), S_G = 4 k3 (A^T A) * H + 4 N k4 G * H + diag(2 k3 H p + 2 N k4 H g - k1x s_q)
    Hp, tHp = H @ p, (tH @ p[:, None])[..., 0] + tp @ H
    S_G = 4 * k3 * AtA * H + 4 * k4 * HG + np.diag(2 * k3 * Hp + 2 * k4 * Hg - k1x * s_q)
    tS_G = 4 * k3 * (tAtA * H + AtA * tH) + 4 * k4 * tHG
    tS_G = tS_G + _diag(2 * k3 * tHp + 2 * k4 * tHg - k1x * ts_q)
    s_C, ts_C = -k1e * s_a, -k1e * ts_a
    if not train_output:
        top = np.concatenate([2 * S_G, np.diag(s_C)], axis=-1)
        ttop = np.concatenate([2 * tS_G, _diag(ts_C)], axis=-1)
        tgrad_W = ttop @ X + top @ tX + _T(tdA) @ Zs
        return np.stack([tgrad_W, np.zeros_like(tgrad_W)], axis=-3)
    # t(dQ), dQ = -k1x g^T - k5 P
    tdQ = np.broadcast_to(-k1x * tg[..., None, :], tQ.shape)
    if k5 != 0:
        tdQ = tdQ - k5 * tP
    # t(S_H), S_H = k2 P^T P + k3 (p g^T + g p^T) + 4 k3 (A^T A) * G + N k4 (g g^T + 2 G * G)
    O = (k3 * p + 0.5 * k4 * g)[:, None] * g
    S_H = k2 * (P.T @ P) + 4 * k3 * AtA * G + 2 * k4 * G * G + O + O.T
    tPtP = P.T @ tP
    tO = (k3 * p + k4 * g)[:, None] * tg[..., None, :] + (k3 * tp)[..., :, None] * g
    tS_H = k2 * (tPtP + _T(tPtP)) + 4 * k3 * (tAtA * G + AtA * tG) + 4 * k4 * G * tG + tO + _T(tO)
    S = np.block([[2 * S_G, np.diag(s_C)], [np.diag(s_C), 2 * S_H]])
    tS = np.concatenate(
        [
            np.concatenate([2 * tS_G, _diag(ts_C)], axis=-1),
            np.concatenate([_diag(ts_C), 2 * tS_H], axis=-1),
        ],
        axis=-2,
    )
    tgrad = tS @ X + S @ tX + _T(np.concatenate([tdA, tdQ], axis=-1)) @ Zs
    return tgrad.reshape(T.shape)


def exact_objective(
    x1: np.ndarray,
    x2: np.ndarray,
    targets,
    *,
    scale: float | None = None,
    dim: int | None = None,
    train_output: bool = True,
):
    """WV -> (loss, grad): the exact expected loss, eq. (U), summed over targets = ((alpha, beta,
    weight, a, b), ...) (`sims.diffusion.targets_of`), on the patches x1, x2, and its gradient in WV
    (2, m, d).

    train_output=False is the fixed-output denoiser: the same loss, the output layer's gradient 0.
    dim: the patch dimension of the model (default: that of x1; give d when x1, x2 are coordinates
    in an r-dimensional basis of the span of the data and both layers' rows, where the loss is the
    same up to its b^2 d: the module docstring). Stacks: WV (S, 2, m, d) with x1, x2 (S, n, d) or
    (n, d) give S losses.
    """
    n, r = x1.shape[-2:]
    dim = r if dim is None else dim
    blocks = (np.concatenate([x1, x2], axis=-2),) if r < dim else (x1, x2)
    norms2 = (
        sum(np.einsum("...kj,...kj->...", Z, Z) for Z in blocks)
        if any(t[3] for t in targets)
        else 0.0
    )
    weights = {}

    def fun(WV):
        m = WV.shape[-2]
        if m not in weights:
            weights[m] = untied_weights(targets, output_scale(m, scale))
        k = weights[m]
        total, grad = _exact_terms(WV, blocks, k, train_output)
        grad /= 2 * n
        return k.b2 * dim + (total + k.a2 * norms2) / (2 * n), grad

    return fun


def loss_and_grad(
    WV: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    *,
    alpha: float,
    beta: float,
    scale: float | None = None,
    target: tuple[float, float] = (0.0, 1.0),
    train_output: bool = True,
):
    """(loss, grad): eq. (U) at one time for the target a x0 + b eps, target = (a, b), and its
    gradient.
    For noise prediction the loss at W = 0 (or V = 0) is d."""
    times = ((alpha, beta, 1.0) + tuple(target),)
    return exact_objective(x1, x2, times, scale=scale, train_output=train_output)(WV)


def loss_and_grad_times(
    WV: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    times,
    *,
    scale: float | None = None,
    objective: str = "eps",
    train_output: bool = True,
):
    """The weighted sum of eq. (U) over times = ((alpha, beta, weight), ...), each time regressing
    the target of `objective` there (`sims.diffusion.objective_target`)."""
    targets = targets_of(times, objective)
    return exact_objective(x1, x2, targets, scale=scale, train_output=train_output)(WV)


def hessian_vector_product(
    WV: np.ndarray,
    T: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    times,
    *,
    scale: float | None = None,
    objective: str = "eps",
    train_output: bool = True,
) -> np.ndarray:
    """The Hessian of `loss_and_grad_times`' loss at WV (2, m, d) applied to T (2, m, d), or to each
    direction of a stack T (S, 2, m, d) (S = 2 m d identity directions give the whole Hessian)."""
    k = untied_weights(targets_of(times, objective), output_scale(WV.shape[-2], scale))
    return _exact_hvp(WV, T, (x1, x2), k, train_output) / (2 * x1.shape[-2])


# ---- Monte Carlo: the loss over given draws eps, and over fresh draws ----------------------------


def loss_and_grad_sampled(
    WV: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    eps: np.ndarray,
    *,
    alpha: float,
    beta: float,
    scale: float | None = None,
    target: tuple[float, float] = (0.0, 1.0),
    train_output: bool = True,
) -> tuple[float, np.ndarray]:
    """The Monte Carlo loss over K given draws eps (K, 2n, d) and its gradient (rows 0..n-1 of
    eps[k] noise the signal patches x1, rows n..2n-1 the noise patches x2).

    For one draw, with u = alpha z + beta eps, h = W u and e = f(W, V, u) - a z - b eps:
        d||e||^2 / d v_r = 2 c h_r^2 e,    d||e||^2 / d w_r = 4 c h_r <v_r, e> u.
    Stacks: WV (S, 2, m, d), x1, x2 (S, n, d) and eps (S, K, 2n, d) give S losses and gradients.
    """
    n, d = x1.shape[-2:]
    K = eps.shape[-3]
    lead = eps.shape[:-3]
    W, V = split(WV)
    c = output_scale(W.shape[-2], scale)
    a, b = target
    Z = np.concatenate([x1, x2], axis=-2)[..., None, :, :]
    U = (alpha * Z + beta * eps).reshape(lead + (-1, d))
    H = U @ _T(W)
    H2 = H * H
    R = c * H2 @ V - (b * eps + a * Z).reshape(lead + (-1, d))  # e = f - a z - b eps
    norm = 2 * n * K
    loss = np.sum(R * R, axis=(-2, -1)) / norm
    grad_W = (4 * c / norm) * _T(H * (R @ _T(V))) @ U  # 4 c h_r <v_r, e> u
    grad_V = (2 * c / norm) * _T(H2) @ R if train_output else np.zeros_like(grad_W)  # 2 c h_r^2 e
    grad = np.stack([grad_W, grad_V], axis=-3)
    return (float(loss) if loss.ndim == 0 else loss), grad


def loss_and_grad_sampled_times(
    WV: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    eps: np.ndarray,
    times,
    *,
    scale: float | None = None,
    objective: str = "eps",
    train_output: bool = True,
) -> tuple[float, np.ndarray]:
    """sum_k weight_k `loss_and_grad_sampled` over times = ((alpha, beta, weight), ...), all times
    sharing the draws eps (K, 2n, d), each regressing the target of `objective` at its time: the
    objective of K fixed draws."""

    def at(alpha, beta):
        return loss_and_grad_sampled(
            WV,
            x1,
            x2,
            eps,
            alpha=alpha,
            beta=beta,
            scale=scale,
            target=objective_target(objective, alpha, beta),
            train_output=train_output,
        )

    return sum_over_times(at, times)


def loss_and_grad_fresh(
    WV: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    K: int,
    rng: np.random.Generator,
    times,
    *,
    scale: float | None = None,
    objective: str = "eps",
    train_output: bool = True,
) -> tuple[float, np.ndarray]:
    """`loss_and_grad_sampled_times` on K fresh draws eps (K, 2n, d) from rng, shared by all times
    (as the tied model's resampled draws are); a stack (leading axes of WV or x1) draws its own eps
    per member."""
    lead = WV.shape[:-3] or x1.shape[:-2]
    eps = rng.standard_normal(lead + (K, 2 * x1.shape[-2], x1.shape[-1]))
    return loss_and_grad_sampled_times(
        WV, x1, x2, eps, times, scale=scale, objective=objective, train_output=train_output
    )


# ---- curvature scales for the automatic step size (sims.stepsize) --------------------------------

# Where the network fits the x0 part a z of its target along one neuron, w = s z/|z| and
# v = t z/|z|, the patch's residual is c alpha^2 s^2 t ||z||^2 - a ||z||: the fit is the curve
# s^2 t = a / (c alpha^2 ||z||); the curvature there is 2 |J|^2, J = c alpha^2 ||z||^2 (2st, s^2).
# The flow conserves ||w||^2 - 2 ||v||^2, small beside a grown neuron's norms from a small start,
# so t = s / sqrt 2: 2 |J|^2 = 6 c^2 alpha^4 ||z||^4 s^4 with s^3 = sqrt(2) a / (c alpha^2 ||z||),
# i.e. 6 2^(2/3) |a|^(4/3) (c alpha^2 ||z||)^(2/3) times the data scale n_z ||z||^2 / (2n), where
# the tied neuron (t = s) gives 18. The same count holds along a memorised draw (alpha, a, z ->
# beta, b, eps).
# Measured (benchmarks/untied_curvature.py, m = 1, x0): lambda_max = 0.59 of this, as the tied
# model's 0.60 of its 18. Noise prediction has no such bound here: at m >= 2 untied descent can
# form pairs of neurons with w_2 ~ -w_1, v_2 ~ -v_1 whose outputs nearly cancel while their norms
# and the largest curvature keep growing (19 -> 59 kappa over tau = 76 -> 605 at d = 500, m = 2),
# as the tied flow does at m = 32 (theory.predict).
UNTIED_FIT_CURVATURE = 6 * 2 ** (2 / 3)  # 9.52, against FIT_CURVATURE = MEMORISE = 18 tied


def untied_fit_curvature_factor(times, objective: str, c: float, max_norm2: float) -> float:
    """1 + sum_t weight_t 6 2^(2/3) |a_t|^(4/3) (c alpha_t^2)^(2/3) max||z||^(2/3): the tied model's
    `fit_curvature_factor` with its coefficient 18 replaced by the balanced untied neuron's
    6 2^(2/3) (the comment above). A neuron far from balance (||w_r||^2 - 2 ||v_r||^2 of the order
    of the fit's ||w_r||^2, e.g. from a large sigma0) is steeper. eps prediction (a = 0) gives
    exactly 1."""
    tied = fit_curvature_factor(times, objective, c, max_norm2)
    return 1.0 + (tied - 1.0) * UNTIED_FIT_CURVATURE / FIT_CURVATURE


def untied_memorised_curvature(times, objective: str, c: float, draws: np.ndarray, n: int) -> float:
    """6 2^(2/3) c^(2/3) sum_t weight_t (beta_t |b_t|)^(4/3) max_p ||eps_p||^(8/3) / (2nK): the
    curvature where a balanced untied neuron has memorised a fixed draw (the tied
    `memorised_curvature` with 18 replaced as in `untied_fit_curvature_factor`)."""
    return memorised_curvature(times, objective, c, draws, n) * UNTIED_FIT_CURVATURE / MEMORISE
