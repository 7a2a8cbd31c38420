"""The Monte Carlo diffusion loss: the loss of sims.diffusion over given or fresh draws of eps.

`loss_and_grad_sampled` is the objective over given draws eps (any regression target a x0 + b eps),
as
`--noise fixed` trains it and `--noise resampled` does on fresh draws when each time has a target of
its
own; `loss_and_grad_resampled(_times)` has the law of `loss_and_grad_sampled` on fresh draws but
draws only
the m (2nK + d) + 2 normals the result depends on, instead of 2nK d. The exact expectation of all of
these
is `sims.diffusion.loss_and_grad_times`.
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
    network
    regresses target = a x0 + b eps, (a, b) = `target` ((0, 1): noise prediction, (1, 0): x0
    prediction).
    For one draw, with u = alpha z + beta eps, h = W u and e = f(W, u) - a z - b eps:
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
    rng.standard_normal(
    (K, 2n, d)), ...)`; see `loss_and_grad_resampled_times`. Stacks work as in
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
    coordinates Av (..., k, k) with A = Av Vt, and keep (..., k): which rows of Vt are in use
    (the others are zero).

    Vt is the canonical basis whenever every row is kept: the one in which the coordinates of
    A's rows scaled to unit norm are lower triangular with a positive diagonal. It is unique, so
    Vt is a continuous function of A. An eigenvector basis alone flips a vector's sign or swaps
    two where eigenvalues cross, and the draws expressed in it (`loss_and_grad_resampled_times`)
    then jumped to another realisation: one ulp of the step size changed K = 1 runs' final
    ratios by 1.5 to 23% (5 seeds). Now such a change stays in the last digits.

    From the Gram matrix G_s of the unit-scaled rows (so a short row counts as much as a long
    one), with eigenvalues lam. When lam_min >= lam_max / 16 (the usual case) every row is kept
    and the canonical basis comes at once from the Cholesky factor, G_s = L L^T: the unit rows
    are L Vt, so Vt = L^-1 (A / norms) and Av = diag(norms) L, orthonormal to about 1e-16
    lam_max / lam_min; two k x k x n products in all. Otherwise by eigh passes, G_s = V
    diag(lam) V^T, Vt = diag(lam)^(-1/2) V^T (A / norms), a second pass on the first's result
    leaving rounding only; directions in which the scaled rows have singular value below
    RANK_TOL are left out (dependent rows, zero rows, k > n): each row of A lies in the span of
    Vt up to sqrt(k) RANK_TOL times its norm, and to rounding when none is left out; when every
    row is kept, the result is turned into the canonical basis (the QR of the k x k
    coordinates). That path costs four to five k x k x n products and no LAPACK QR of A (slow on
    these shapes)."""
    # a copy: numpy hands A @ A^T to BLAS syrk, 2x slower here (4 x 2000) than a general product
    G = A @ _T(A.copy())
    norms = np.sqrt(np.diagonal(G, axis1=-2, axis2=-1))
    inv = 1.0 / np.where(norms > 0, norms, np.inf)  # 1/||a_r||, 0 for a zero row
    G = G * inv[..., :, None] * inv[..., None, :]  # Gram matrix of the unit-scaled rows
    lam = np.linalg.eigvalsh(G)
    # well conditioned, hence every row kept (a unit row makes lam_max >= 1, so lam_min >= 1/16)
    if (16 * lam[..., 0] >= np.maximum(lam[..., -1], 1.0)).all():
        L = np.linalg.cholesky(G)
        Vt = (np.linalg.inv(L) * inv[..., None, :]) @ A
        return Vt, norms[..., :, None] * L, np.ones(lam.shape, dtype=bool)
    # ill conditioned or not of full rank: eigh passes, with A A^T as it was computed before the
    # Cholesky path existed: the basis of a rank-deficient A is not canonical (eigenvector signs),
    # so any change in its rounding could change a realisation
    G = A @ _T(A)
    norms = np.sqrt(np.diagonal(G, axis1=-2, axis2=-1))
    inv = 1.0 / np.where(norms > 0, norms, np.inf)
    G = G * inv[..., :, None] * inv[..., None, :]
    lam, V = np.linalg.eigh(G)
    conditioned = lam[..., 0] >= lam[..., -1] / 16
    Vt, Av = A, None
    for second in (False, True):
        keep = lam > RANK_TOL**2
        root = np.sqrt(np.where(keep, lam, 0.0))
        Vt = (
            _T(V) / np.where(keep, root, np.inf)[..., :, None] * inv[..., None, :]
        ) @ Vt  # v_l^T rows / root_l
        step = V * root[..., None, :]  # rows before = V diag(root) rows after
        Av = norms[..., :, None] * step if Av is None else Av @ step
        if second or np.all(conditioned):  # (all rows zero: nothing kept)
            break
        G, inv = Vt @ _T(Vt), np.ones_like(inv)
        lam, V = np.linalg.eigh(G)
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
    times sharing
    K fresh draws eps (K, 2n, d), as `sims.train` does, drawing m (2nK + d) + 2 normals instead of
    2nK d.

    Why it is the same distribution. Let Vt (rho x d) be orthonormal rows spanning the rows of W
    (`_orthonormal_rows`), W = Wv Vt, and P = I - Vt^T Vt. Each draw i = (k, j) splits into
    independent
    parts eps_i = Vt^T g_i + x_i, g_i ~ N(0, I_rho), x_i ~ N(0, P); its patch z_i = Vt^T c_i +
    zeta_i,
    c_i = Vt z_i, zeta_i = P z_i. Since W x_i = 0,
        h_i = W u_i = Wv ubar_i,  ubar_i = alpha c_i + beta g_i,
        q_i = W e_i = Wv ebar_i,  ebar_i = c Wv^T h_i^2 - a c_i - b g_i
    depend on g_i alone, and x_i enters linearly: e_i = Vt^T ebar_i - a zeta_i - b x_i and
    u_i = Vt^T ubar_i + alpha zeta_i + beta x_i. Summed over draws i (and times, weighted), with N =
    2nK,
        N/(2c) grad = M Vt + sum_i kappa_i zeta_i^T + Lambda X,  M = sum_i h_i^2 ebar_i^T + 2 (h_i
        q_i) ubar_i^T,
        kappa_ir = -a h_ir^2 + 2 alpha h_ir q_ir,  lambda_ir = -b h_ir^2 + 2 beta h_ir q_ir,
        N loss = sum_i ||ebar_i||^2 + a^2 ||Zeta||^2 + 2ab T + b^2 Q2,  T = sum_i <zeta_i, x_i>,  Q2
        = ||X||^2
    (Lambda (m x N) has columns lambda_i; X, Zeta have rows x_i, zeta_i). Given g the rows of X are
    iid
    N(0, P). Let the q columns of V (N x q) be orthonormal and span the rows of Lambda, and V2
    complete them.
    Then Y = V^T X (q x d) and X2 = V2^T X are independent with iid N(0, P) rows, and
        Lambda X = (Lambda V) Y,   T = <V^T Zeta, Y> + tau omega,   Q2 = ||Y||^2 + omega^2 + chi2(D
        - 1),
    tau = ||V2^T Zeta||, omega = <V2^T Zeta, X2> / tau ~ N(0, 1), and the rest of ||X2||^2 is
    chi-square with
    D - 1 degrees of freedom, D = (N - q)(d - rho), independent of omega. So drawing g (N x m
    normals),
    Y = Ytil P (Ytil: m x d normals), omega and one chi-square gives exactly the law of the direct
    draws (up
    to RANK_TOL, see `_orthonormal_rows`). Without T (a b = 0) and with m <= N, V itself is not
    needed: take
    q = m; for any C with C C^T = Lambda Lambda^T, C = (Lambda V) R with R orthogonal, and (R Y, ||R
    Y||^2)
    has the law of (Y, ||Y||^2), so the symmetric square root C serves. Stacks: leading axes of W,
    x1, x2
    as in `loss_and_grad_sampled`.
    """
    n, d = x1.shape[-2:]
    m = W.shape[-2]
    c = output_scale(m, scale)
    a, b = target
    lead = W.shape[:-2] or x1.shape[:-2]
    N = 2 * n * K

    Vt, Wv, keep = _orthonormal_rows(W)  # W = Wv Vt; Vt (..., m, d), rows not kept are 0
    full = keep.all()
    Cz = np.concatenate([x1 @ _T(Vt), x2 @ _T(Vt)], axis=-2)  # c_j = Vt z_j, (..., 2n, m)
    g = rng.standard_normal(lead + (K, 2 * n, m))  # g_i = Vt eps_i, draws i = (k, j)
    if not full:
        g *= keep[..., None, None, :]

    WvT = np.ascontiguousarray(_T(Wv))  # (a transposed view makes the products below slower)
    loss = M = H2_sum = HQ_alpha = HQ_beta = None
    for alpha, beta, weight in times:
        U = (alpha * Cz[..., None, :, :] + beta * g).reshape(
            lead + (N, m)
        )  # ubar_i = alpha c_i + beta g_i
        H = U @ WvT  # h_i = W u_i
        H2 = H * H
        E = (H2 @ (c * Wv)).reshape(g.shape)  # ebar_i = c Wv^T h_i^2 - a c_i - b g_i
        E -= g if b == 1 else b * g
        if a != 0:
            E -= a * Cz[..., None, :, :]
        E = E.reshape(U.shape)
        HQ = H * (E @ WvT)  # h_ir q_ir, q_ir = <w_r, e_i>
        if weight != 1:
            H2 *= weight
            HQ *= weight
        E2 = np.einsum("...ij,...ij->...", E, E)  # sum_i ||ebar_i||^2
        loss = _add(loss, E2 if weight == 1 else weight * E2)
        M = _add(M, _T(H2) @ E + _T(2 * HQ) @ U)  # sum_i h_i^2 ebar_i^T + 2 (h_i q_i) ubar_i^T
        H2_sum = _add(H2_sum, H2)
        HQ_alpha = _add(HQ_alpha, (2 * alpha) * HQ)
        HQ_beta = _add(HQ_beta, (2 * beta) * HQ)
    w_sum = sum(weight for _, _, weight in times)
    kappa = (
        HQ_alpha - a * H2_sum if a != 0 else HQ_alpha
    )  # kappa_ir = -a h_ir^2 + 2 alpha h_ir q_ir
    Lam = HQ_beta - (H2_sum if b == 1 else b * H2_sum)  # lambda_ir = -b h_ir^2 + 2 beta h_ir q_ir
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
        keep_l = None  # every row of Y in use
    else:
        Vl, C, keep_l = _orthonormal_rows(_T(Lam))  # Lambda^T = C V^T, V^T (..., m, N)
    Ytil = rng.standard_normal(lead + (m, d))  # Y = Ytil P, from the rows in keep_l
    if keep_l is not None and not keep_l.all():
        Ytil *= keep_l[..., :, None]
    Ytil_V = Ytil @ _T(Vt)
    # degrees of freedom of X2: (N - q)(d - rho), q and rho the rows of Y and of Vt in use
    if keep_l is None and full:
        D = np.full(lead, (N - m) * (d - m))[()]  # (an integer scalar when nothing is stacked)
    else:
        q = m if keep_l is None else keep_l.sum(axis=-1)
        D = (N - q) * (d - keep.sum(axis=-1))
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
    kappa_T = np.ascontiguousarray(_T(kappa))  # (m, 2n): row-major products with x1, x2 are faster
    grad = (s * (M - kappa_T @ Cz - C @ Ytil_V)) @ Vt
    grad += (s * kappa_T[..., :n]) @ x1
    grad += (s * kappa_T[..., n:]) @ x2
    grad += (s * C) @ Ytil
    loss = loss / N
    return (float(loss) if np.ndim(loss) == 0 else loss), grad
