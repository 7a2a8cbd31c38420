"""The Monte Carlo diffusion loss: the loss of sims.diffusion over given or fresh draws of eps.

`loss_and_grad_sampled` is the objective over given draws eps (any regression target a x0 + b eps),
as `--noise fixed` trains it and `--noise resampled` does on fresh draws when each time has a target
of its own; `loss_and_grad_resampled(_times)` has the law of `loss_and_grad_sampled` on fresh draws
but draws only the m (2nK + d) + 2 normals the result depends on, instead of 2nK d. The exact
expectation of all of these is `sims.diffusion.loss_and_grad_times`.
"""

from __future__ import annotations

import numpy as np

from sims.diffusion import _T, output_scale


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


def loss_and_grad_sampled(
    W: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    eps: np.ndarray,
    *,
    alpha: float,
    beta: float,
    scale: float | None = None,
    target: tuple[float, float] = (0.0, 1.0),
) -> tuple[float, np.ndarray]:
    """Monte Carlo DDPM loss over K given noise draws eps of shape (K, 2n, d) and its gradient.

    Rows 0..n-1 of eps[k] noise the signal patches x1, rows n..2n-1 the noise patches x2. The
    network regresses target = a x0 + b eps, (a, b) = `target` ((0, 1): noise prediction, (1, 0): x0
    prediction). For one draw, with u = alpha z + beta eps, h = W u and e = f(W, u) - a z - b eps:
        d||e||^2 / d w_r = 2c (h_r^2 e + 2 h_r <w_r, e> u).
    Stacks work too: W (S, m, d), x1, x2 (S, n, d) and eps (S, K, 2n, d) give S losses and
    gradients.
    """
    n, d = x1.shape[-2:]
    K = eps.shape[-3]
    lead = eps.shape[:-3]
    c = output_scale(W.shape[-2], scale)
    a, b = target
    Z = np.concatenate([x1, x2], axis=-2)[..., None, :, :]
    U = (alpha * Z + beta * eps).reshape(lead + (-1, d))
    E = eps.reshape(lead + (-1, d))
    H = U @ _T(W)
    H2 = H * H
    R = c * H2 @ W - (E if b == 1 else b * E)  # e = f - b eps ...
    if a != 0:
        R = (R.reshape(eps.shape) - a * Z).reshape(R.shape)  # ... - a z
    norm = 2 * n * K
    loss = np.sum(R * R, axis=(-2, -1)) / norm
    grad = (
        2 * c * (_T(H2) @ R + _T(2 * H * (R @ _T(W))) @ U) / norm
    )  # 2c (h_r^2 e + 2 h_r <w_r, e> u)
    return (float(loss) if loss.ndim == 0 else loss), grad


def loss_and_grad_resampled(
    W: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    K: int,
    rng: np.random.Generator,
    *,
    alpha: float,
    beta: float,
    scale: float | None = None,
    target: tuple[float, float] = (0.0, 1.0),
) -> tuple[float, np.ndarray]:
    """`loss_and_grad_sampled` on K fresh draws of eps, with only the normals the result depends on
    drawn.

    Same joint distribution of (loss, gradient) as `loss_and_grad_sampled(W, x1, x2,
    rng.standard_normal( (K, 2n, d)), ...)`; see `loss_and_grad_resampled_times`. Stacks work as in
    `loss_and_grad_sampled`.
    """
    return loss_and_grad_resampled_times(
        W, x1, x2, K, rng, ((alpha, beta, 1.0),), scale=scale, target=target
    )


def _add(total, part):
    """total + part, with None as an empty total (no copy of the first part)."""
    return part if total is None else total + part


# `_orthonormal_rows` drops directions where the unit-scaled rows have singular values below this
RANK_TOL = 1e-6


def _orthonormal_rows(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Vt, Av, keep): orthonormal rows Vt (..., k, n) spanning the rows of A (..., k, n), the
    coordinates Av (..., k, k) with A = Av Vt, and keep (..., k): which rows of Vt are in use (the
    others are zero). From the Gram matrix of A's rows scaled to unit norm (so a short row counts as
    much as a long one), by eigh: with G_s = V diag(lam) V^T, Vt = diag(lam)^(-1/2) V^T (A / norms).
    That pass is orthonormal to about 1e-16 lam_max / lam_min, so when lam_min < lam_max / 16 (or a
    direction is left out) a second pass on its result follows and leaves rounding only. Directions
    in which the scaled rows have singular value below RANK_TOL are left out (dependent rows, zero
    rows, k > n): each row of A lies in the span of Vt up to sqrt(k) RANK_TOL times its norm, and to
    rounding when none is left out. Costs two to four k x k x n products (no LAPACK QR, which is
    slow on these shapes), and one more when every row is kept: the basis is then turned into the
    one whose coordinates of the unit-scaled rows are lower triangular with a positive diagonal (the
    QR of those k x k coordinates), which is unique, so Vt is a continuous function of A. An
    eigenvector basis alone flips a vector's sign or swaps two where eigenvalues cross, and the
    draws expressed in it (`loss_and_grad_resampled_times`) then jumped to another realisation: one
    ulp of the step size changed K = 1 runs' final ratios by 1.5 to 23% (5 seeds). Now such a change
    stays in the last digits."""
    G = A @ _T(A)
    norms = np.sqrt(np.diagonal(G, axis1=-2, axis2=-1))
    inv = 1.0 / np.where(norms > 0, norms, np.inf)  # 1/||a_r||, 0 for a zero row
    G = G * inv[..., :, None] * inv[..., None, :]  # Gram matrix of the unit-scaled rows
    Vt, Av = A, None
    for _ in range(2):
        lam, V = np.linalg.eigh(G)
        keep = lam > RANK_TOL**2
        root = np.sqrt(np.where(keep, lam, 0.0))
        Vt = (
            _T(V) / np.where(keep, root, np.inf)[..., :, None] * inv[..., None, :]
        ) @ Vt  # v_l^T rows / root_l
        step = V * root[..., None, :]  # rows before = V diag(root) rows after
        Av = norms[..., :, None] * step if Av is None else Av @ step
        if np.all(lam[..., 0] >= lam[..., -1] / 16):  # all kept, and well conditioned
            break
        G, inv = Vt @ _T(Vt), np.ones_like(inv)
    if (
        keep.all()
    ):  # the canonical basis: unit rows' coordinates C = L R0, L lower triangular, diag(L) > 0
        C = (A * (1.0 / norms)[..., :, None]) @ _T(Vt)
        Qh, Rh = np.linalg.qr(_T(C))  # C^T = Qh Rh
        R0 = _T(
            Qh * np.sign(np.diagonal(Rh, axis1=-2, axis2=-1))[..., None, :]
        )  # rows flipped to diag(L) > 0
        Vt, Av = R0 @ Vt, Av @ _T(R0)
    return Vt, Av, keep


def loss_and_grad_resampled_times(
    W: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    K: int,
    rng: np.random.Generator,
    times,
    *,
    scale: float | None = None,
    target: tuple[float, float] = (0.0, 1.0),
) -> tuple[float, np.ndarray]:
    """sum_over_times of `loss_and_grad_sampled` over times = ((alpha, beta, weight), ...), all
    times sharing K fresh draws eps (K, 2n, d), as `sims.train` does, drawing m (2nK + d) + 2
    normals instead of 2nK d.

    Why it is the same distribution. Let Vt (rho x d) be orthonormal rows spanning the rows of W
    (`_orthonormal_rows`), W = Wv Vt, and P = I - Vt^T Vt. Each draw i = (k, j) splits into
    independent parts eps_i = Vt^T g_i + x_i, g_i ~ N(0, I_rho), x_i ~ N(0, P); its patch z_i = Vt^T
    c_i + zeta_i, c_i = Vt z_i, zeta_i = P z_i. Since W x_i = 0,
        h_i = W u_i = Wv ubar_i,  ubar_i = alpha c_i + beta g_i,
        q_i = W e_i = Wv ebar_i,  ebar_i = c Wv^T h_i^2 - a c_i - b g_i
    depend on g_i alone, and x_i enters linearly: e_i = Vt^T ebar_i - a zeta_i - b x_i and u_i =
    Vt^T ubar_i + alpha zeta_i + beta x_i. Summed over draws i (and times, weighted), with N = 2nK,
        N/(2c) grad = M Vt + sum_i kappa_i zeta_i^T + Lambda X, M = sum_i h_i^2 ebar_i^T + 2 (h_i
        q_i) ubar_i^T, kappa_ir = -a h_ir^2 + 2 alpha h_ir q_ir, lambda_ir = -b h_ir^2 + 2 beta h_ir
        q_ir, N loss = sum_i ||ebar_i||^2 + a^2 ||Zeta||^2 + 2ab T + b^2 Q2, T = sum_i <zeta_i,
        x_i>, Q2 = ||X||^2
    (Lambda (m x N) has columns lambda_i; X, Zeta have rows x_i, zeta_i). Given g the rows of X are
    iid N(0, P). Let the q columns of V (N x q) be orthonormal and span the rows of Lambda, and V2
    complete them. Then Y = V^T X (q x d) and X2 = V2^T X are independent with iid N(0, P) rows, and
        Lambda X = (Lambda V) Y,   T = <V^T Zeta, Y> + tau omega,   Q2 = ||Y||^2 + omega^2 + chi2(D
            - 1),
    tau = ||V2^T Zeta||, omega = <V2^T Zeta, X2> / tau ~ N(0, 1), and the rest of ||X2||^2 is
    chi-square with D - 1 degrees of freedom, D = (N - q)(d - rho), independent of omega. So drawing
    g (N x m normals), Y = Ytil P (Ytil: m x d normals), omega and one chi-square gives exactly the
    law of the direct draws (up to RANK_TOL, see `_orthonormal_rows`). Without T (a b = 0) and with
    m <= N, V itself is not needed: take q = m; for any C with C C^T = Lambda Lambda^T, C = (Lambda
    V) R with R orthogonal, and (R Y, ||R Y||^2) has the law of (Y, ||Y||^2), so the symmetric
    square root C serves. Stacks: leading axes of W, x1, x2 as in `loss_and_grad_sampled`.
    """
    n, d = x1.shape[-2:]
    m = W.shape[-2]
    c = output_scale(m, scale)
    a, b = target
    lead = W.shape[:-2] or x1.shape[:-2]
    N = 2 * n * K

    Vt, Wv, keep = _orthonormal_rows(W)  # W = Wv Vt; Vt (..., m, d), rows not kept are 0
    Cz = np.concatenate([x1 @ _T(Vt), x2 @ _T(Vt)], axis=-2)  # c_j = Vt z_j, (..., 2n, m)
    g = rng.standard_normal(lead + (K, 2 * n, m))  # g_i = Vt eps_i, draws i = (k, j)
    if not keep.all():
        g *= keep[..., None, None, :]

    loss = M = H2_sum = HQ_alpha = HQ_beta = None
    for alpha, beta, weight in times:
        U = (alpha * Cz[..., None, :, :] + beta * g).reshape(
            lead + (N, m)
        )  # ubar_i = alpha c_i + beta g_i
        H = U @ _T(Wv)  # h_i = W u_i
        H2 = H * H
        E = (H2 @ (c * Wv)).reshape(g.shape) - b * g  # ebar_i = c Wv^T h_i^2 - a c_i - b g_i
        if a != 0:
            E -= a * Cz[..., None, :, :]
        E = E.reshape(U.shape)
        HQ = H * (E @ _T(Wv))  # h_ir q_ir, q_ir = <w_r, e_i>
        if weight != 1:
            H2 *= weight
            HQ *= weight
        loss = _add(loss, weight * np.einsum("...ij,...ij->...", E, E))  # sum_i ||ebar_i||^2
        M = _add(M, _T(H2) @ E + _T(2 * HQ) @ U)  # sum_i h_i^2 ebar_i^T + 2 (h_i q_i) ubar_i^T
        H2_sum = _add(H2_sum, H2)
        HQ_alpha = _add(HQ_alpha, (2 * alpha) * HQ)
        HQ_beta = _add(HQ_beta, (2 * beta) * HQ)
    w_sum = sum(weight for _, _, weight in times)
    kappa = (
        HQ_alpha - a * H2_sum if a != 0 else HQ_alpha
    )  # kappa_ir = -a h_ir^2 + 2 alpha h_ir q_ir
    Lam = HQ_beta - b * H2_sum  # lambda_ir = -b h_ir^2 + 2 beta h_ir q_ir
    kappa = kappa.reshape(lead + (K, 2 * n, m)).sum(axis=-3)  # sum_k kappa_(k, j), (..., 2n, m)

    if (
        a * b == 0 and m <= N
    ):  # no T: any C with C C^T = Lambda Lambda^T will do (q = m); a symmetric root
        G = _T(Lam) @ Lam  # Lambda Lambda^T, scaled per neuron as in
        norms = np.sqrt(np.diagonal(G, axis1=-2, axis2=-1))  # _orthonormal_rows
        inv = 1.0 / np.where(norms > 0, norms, np.inf)
        mu, V = np.linalg.eigh(G * inv[..., :, None] * inv[..., None, :])
        C = (norms[..., :, None] * V * np.sqrt(np.maximum(mu, 0.0))[..., None, :]) @ _T(
            V
        )  # D S, S^2 = Gram
        keep_l = np.ones(lead + (m,), dtype=bool)
    else:
        Vl, C, keep_l = _orthonormal_rows(_T(Lam))  # Lambda^T = C V^T, V^T (..., m, N)
    Ytil = rng.standard_normal(lead + (m, d))  # Y = Ytil P, from the rows in keep_l
    if not keep_l.all():
        Ytil *= keep_l[..., :, None]
    Ytil_V = Ytil @ _T(Vt)
    D = (N - keep_l.sum(axis=-1)) * (d - keep.sum(axis=-1))  # degrees of freedom of X2
    omega = rng.standard_normal(lead) * (D > 0)
    Q2 = (
        np.einsum("...ij,...ij->...", Ytil, Ytil)
        - np.einsum("...ij,...ij->...", Ytil_V, Ytil_V)  # ||Y||^2
        + omega * omega
        + rng.gamma(np.maximum(D - 1, 0) / 2, 2.0)
    )  # + ||X2||^2
    loss = loss + w_sum * b * b * Q2  # b^2 sum_i ||x_i||^2
    if a != 0:
        Zeta2 = K * (
            np.einsum("...ij,...ij->...", x1, x1)
            + np.einsum("...ij,...ij->...", x2, x2)
            - np.sum(Cz * Cz, axis=(-2, -1))
        )  # ||Zeta||^2 = K sum_j ||P z_j||^2
        loss = loss + w_sum * a * a * Zeta2
        if b != 0:
            Vs = Vl.reshape(lead + (m, K, 2 * n)).sum(
                axis=-2
            )  # V^T Zeta = Vs (Z P), Vs (..., m, 2n)
            VZ = Vs[..., :n] @ x1 + Vs[..., n:] @ x2 - (Vs @ Cz) @ Vt
            tau2 = np.maximum(Zeta2 - np.sum(VZ * VZ, axis=(-2, -1)), 0.0)  # ||V2^T Zeta||^2
            T = (
                np.sum(VZ * Ytil, axis=(-2, -1)) + np.sqrt(tau2) * omega
            )  # <V^T Zeta, Y> + tau omega
            loss = loss + w_sum * 2 * a * b * T

    # grad = 2c/N ((M - kappa^T C_z - C Ytil_V) Vt + kappa^T Z + C Ytil), as Lambda X = C Y, Y =
    # Ytil P
    s = 2 * c / N
    grad = (s * (M - _T(kappa) @ Cz - C @ Ytil_V)) @ Vt
    grad += (s * _T(kappa[..., :n, :])) @ x1
    grad += (s * _T(kappa[..., n:, :])) @ x2
    grad += (s * C) @ Ytil
    loss = loss / N
    return (float(loss) if np.ndim(loss) == 0 else loss), grad
