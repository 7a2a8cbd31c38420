"""The diffusion model: a tied two-layer network with quadratic activation, trained on a denoising loss.

Network, per patch u in R^d (eq. for f_p in PAPER.md):
    f(W, u) = c * sum_r <w_r, u>^2 w_r,   W = [w_1 ... w_m] in R^{m x d},   c = 1/m by default.
Loss at one diffusion time x_t = alpha x0 + beta eps, regressing the target a x0 + b eps:
    L(W) = 1/(2n) sum_i sum_{p=1,2} E_eps || f(W, alpha x_i^(p) + beta eps) - a x_i^(p) - b eps ||^2.
(a, b) = (0, 1) is noise prediction (DDPM, the paper's loss); `OBJECTIVES` names the others.

With quadratic activation the expectation is a finite sum of Gaussian moments. For one patch with clean
vector z, a_r = <w_r, z>, G = W W^T, and h_r = <w_r, u> = alpha a_r + beta e_r with e ~ N(0, G):
    E||f - eps||^2 = d - 4 c alpha beta sum_r a_r G_rr
        + c^2 sum_{r,s} G_rs [ alpha^4 a_r^2 a_s^2 + alpha^2 beta^2 (a_r^2 G_ss + a_s^2 G_rr + 4 a_r a_s G_rs)
                               + beta^4 (G_rr G_ss + 2 G_rs^2) ].          (exact loss, eq. E)
For a general target, E<z, eps> = 0 and E||eps||^2 = d give
    E||f - a z - b eps||^2 = E||f||^2 - 2 b E<f, eps> + b^2 d - 2 a E<f, z> + a^2 ||z||^2,      (eq. T)
    E<f, eps> = 2 c alpha beta sum_r a_r G_rr,     E<f, z> = c sum_r (alpha^2 a_r^2 + beta^2 G_rr) a_r,
with E||f||^2 the c^2 sum of eq. (E). Everything but b^2 d depends on W and the data only through inner
products, so in coordinates of an r-dimensional orthonormal basis holding the data and the rows of W the
loss is the same up to b^2 (d - r) per patch: see `noise_dimension_weight`.
`loss_and_grad` evaluates (T) and its hand-derived gradient for all 2n patches at once with plain matrix
products; `loss_and_grad_sampled` is the Monte Carlo objective over given draws of eps (any regression
target a x0 + b eps); `loss_and_grad_resampled` has the law of `loss_and_grad_sampled` on fresh draws but
draws only the m (2nK + d) + 2 normals the result depends on, instead of 2nK d.
"""
from __future__ import annotations

import numpy as np

from sims import FldmError

# target = a x0 + b eps for x_t = alpha x0 + beta eps: name -> (alpha, beta) -> (a, b)
OBJECTIVES = {
    "eps": lambda alpha, beta: (0.0, 1.0),         # noise prediction (DDPM; the paper's loss)
    "x0": lambda alpha, beta: (1.0, 0.0),          # clean-data prediction
    "v": lambda alpha, beta: (-beta, alpha),       # v = alpha eps - beta x0 (Salimans & Ho 2022)
    "velocity": lambda alpha, beta: (-1.0, 1.0),   # d x_t / dt = eps - x0 on the path x_t = (1 - t) x0 + t eps
}
PATH_TOL = 1e-9  # |alpha + beta - 1| allowed for the velocity objective's linear path


def check_objective(objective: str) -> str:
    """The objective's name if it is one of OBJECTIVES, else a one-line FldmError."""
    if objective not in OBJECTIVES:
        raise FldmError(f"unknown objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")
    return objective


def objective_target(objective: str, alpha: float, beta: float) -> tuple[float, float]:
    """(a, b) of the target a x0 + b eps that `objective` regresses at the time x_t = alpha x0 + beta eps.

    "velocity" is flow matching's velocity eps - x0, the time derivative of x_t only on the linear path
    alpha = 1 - t, beta = t; other (alpha, beta) are refused rather than given a target that is not it.
    """
    if check_objective(objective) == "velocity" and abs(alpha + beta - 1) > PATH_TOL:
        raise FldmError(f"the velocity objective needs the linear path x_t = (1 - t) x0 + t eps, i.e. "
                        f"alpha + beta = 1; got alpha = {alpha:g}, beta = {beta:g}")
    return OBJECTIVES[objective](alpha, beta)


def noise_dimension_weight(times, objective: str = "eps") -> float:
    """sum_k weight_k b_k^2 over times = ((alpha, beta, weight), ...): the loss's dependence on d.

    The exact loss (eq. T, averaged over patches, summed over times) is
        L = (a function of inner products among the rows of W and the patches) + noise_dimension_weight * d,
    the second part being E||b eps||^2 = b^2 d. Evaluated on coordinates in an orthonormal r-dimensional
    basis holding the patches and W's rows, `loss_and_grad_times` returns the first part plus this weight
    times r, so the d-dimensional loss is that value plus noise_dimension_weight * (d - r).
    """
    return sum(weight * objective_target(objective, alpha, beta)[1] ** 2 for alpha, beta, weight in times)


FIT_CURVATURE = 18  # d/da of the one-patch x0 force at its fixed point, in units of s |a| c alpha^2 a* (below)


def fit_curvature_factor(times, objective: str, c: float, max_norm2: float) -> float:
    """1 + sum_t weight_t 18 |a_t|^(4/3) (c alpha_t^2)^(2/3) max||z||^(2/3): how much steeper than the data
    curvature scale of sims.config.auto_eta the loss is where the network fits the x0 part a z of its target.

    A target with a != 0 adds -2 a E<f, z> = -2 a c sum_r (alpha^2 a_r^3 + beta^2 G_rr a_r) to the loss: the
    alignment a_r with a patch z grows like da/dtau = 6 s a c alpha^2 a^2 (s = n_z ||z||^2 / (2n)), blows up
    in finite time, and is caught by the c^2 alpha^4 G_rr a^4 term (G_rr >= a^2 / ||z||^2) at the fit
    c alpha^2 a*^3 = a ||z||^2. There da/dtau = s (6 a c alpha^2 a^2 - 6 c^2 alpha^4 a^5 / ||z||^2) has slope
    -18 s a c alpha^2 a* = -18 s |a|^(4/3) (c alpha^2 ||z||)^(2/3) (measured Hessians at the stationary
    point of the x0 objective: 37 and 63 times s against 36 and 57 from this, at d = 500 and 2000), while
    auto_eta's scale is s itself. eps prediction (a = 0) gives exactly 1.
    """
    total = 1.0
    for alpha, beta, weight in times:
        a = objective_target(objective, alpha, beta)[0]
        if a != 0:
            total += weight * FIT_CURVATURE * abs(a) ** (4 / 3) * (c * alpha**2 * np.sqrt(max_norm2)) ** (2 / 3)
    return total


MEMORISE = 18.0  # the curvature coefficient of a memorised draw (sims.stepsize, "draws")


def memorised_curvature(times, objective: str, c: float, draws: np.ndarray, n: int) -> float:
    """18 c^(2/3) sum_t weight_t (beta_t |b_t|)^(4/3) max_p ||eps_p||^(8/3) / (2nK): the curvature of the
    sampled loss on K fixed draws (K, 2n, d) where a neuron has memorised a draw, b_t the coefficient of eps
    in the target (1 for noise prediction). Derivation and measurements: sims.stepsize."""
    K = draws.shape[0]
    top = np.sqrt(np.max(np.sum(draws**2, axis=-1)))
    weight = sum(w * (beta * abs(objective_target(objective, alpha, beta)[1])) ** (4 / 3)
                 for alpha, beta, w in times)
    return MEMORISE * c ** (2 / 3) * weight * top ** (8 / 3) / (2 * n * K)


def output_scale(m: int, scale: float | None = None) -> float:
    """The output scale c of the network: `scale` if given, else 1/m (the default of PAPER.md)."""
    return 1.0 / m if scale is None else scale


def denoise(W: np.ndarray, u: np.ndarray, scale: float | None = None) -> np.ndarray:
    """f(W, u) = c sum_r <w_r, u>^2 w_r for each row of u (shape (..., d))."""
    c = output_scale(W.shape[-2], scale)
    h = u @ W.T
    return c * (h * h) @ W


def _T(a: np.ndarray) -> np.ndarray:
    """Transpose of the last two axes (a matrix, or each matrix of a stack)."""
    return np.swapaxes(a, -1, -2)


def _exact_terms(W: np.ndarray, blocks, alpha: float, beta: float, c: float,
                 x0_coef: float = 0.0, eps_coef: float = 1.0):
    """Sum over the rows z of the blocks of (E||f - a z - b eps||^2 - b^2 d), eq. (T) with (a, b) =
    (x0_coef, eps_coef), and its gradient in W.

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
    a, b = x0_coef, eps_coef
    # sum_r a_r G_rr enters through -2 b E<f, eps> (4 c alpha beta b) and -2 a E<f, z> (2 a c beta^2)
    k1 = 4 * c * alpha * beta * b + 2 * a * c * beta**2
    k2, k3, k4 = c * c * alpha**4, c * c * alpha**2 * beta**2, N * c * c * beta**4

    total = (-k1 * (a_sum * g).sum(axis=-1)                    # -(4 c alpha beta b + 2 a c beta^2) sum_r a_r G_rr
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
    if a != 0:
        k5 = 2 * a * c * alpha**2
        total = total - k5 * (P * A).sum(axis=(-2, -1))        # -2 a c alpha^2 sum_r a_r^3 (from -2 a E<f, z>)
        for Z in blocks:
            total = total + a * a * np.einsum("...kj,...kj->...", Z, Z)  # a^2 sum_k ||z_k||^2
        dA -= 3 * k5 * P
    # A = Z W^T and G = W W^T  =>  dW = dA^T Z + (S + S^T) W
    grad = (S + _T(S)) @ W
    start = 0
    for Z in blocks:
        grad += _T(dA[..., start:start + Z.shape[-2], :]) @ Z
        start += Z.shape[-2]
    return total, grad


def _exact_hvp(W: np.ndarray, V: np.ndarray, blocks, alpha: float, beta: float, c: float,
               x0_coef: float = 0.0, eps_coef: float = 1.0) -> np.ndarray:
    """The directional derivative of `_exact_terms`' gradient along V: the Hessian of its total applied to
    V (m, d), or to each of a stack of directions V (S, m, d) at one W (m, d).

    Every line is the derivative (marked with a leading d) of the line of `_exact_terms` it follows, with
    dA = Z V^T and dG = V W^T + W V^T.
    """
    Zs = np.concatenate(blocks, axis=-2)
    A, dA_ = Zs @ W.T, Zs @ _T(V)                              # (N, m), (S, N, m)
    G = W @ W.T
    dG = V @ W.T + W @ _T(V)
    g, dg = np.diagonal(G), np.diagonal(dG, axis1=-2, axis2=-1)
    P, dP = A * A, 2 * A * dA_
    p, dp = P.sum(axis=0), dP.sum(axis=-2)
    G2, dG2 = G * G, 2 * G * dG
    Gg, dGg = G @ g, (dG @ g[:, None])[..., 0] + dg @ G        # G symmetric: (G dg)_r = (dg G)_r
    PG, dPG = P @ G, dP @ G + P @ dG
    AG2, dAG2 = A @ G2, dA_ @ G2 + A @ dG2
    a, b = x0_coef, eps_coef
    k1 = 4 * c * alpha * beta * b + 2 * a * c * beta**2
    k2, k3, k4 = c * c * alpha**4, c * c * alpha**2 * beta**2, A.shape[0] * c * c * beta**4
    # d(dA), dA = A (4 k2 PG + 4 k3 Gg) + 8 k3 AG2 - k1 g  (- 3 k5 P when a != 0)
    ddA = (dA_ * (4 * k2 * PG + 4 * k3 * Gg) + A * (4 * k2 * dPG + 4 * k3 * dGg[..., None, :])
           + 8 * k3 * dAG2 - k1 * dg[..., None, :])
    if a != 0:
        ddA -= 3 * (2 * a * c * alpha**2) * dP
    # d(S), S = k2 P^T P + 2 k3 p g^T + 8 k3 (A^T A) G + k4 (g g^T + 6 G2), and its diagonal terms
    AtdA = A.T @ dA_
    dS = (k2 * (_T(dP) @ P + P.T @ dP) + 2 * k3 * (dp[..., :, None] * g + p[:, None] * dg[..., None, :])
          + 8 * k3 * ((AtdA + _T(AtdA)) * G + (A.T @ A) * dG)
          + k4 * (dg[..., :, None] * g + g[:, None] * dg[..., None, :] + 6 * dG2))
    diag = np.arange(W.shape[0])
    dS[..., diag, diag] += -k1 * dA_.sum(axis=-2) + 2 * k3 * ((dG @ p[:, None])[..., 0] + dp @ G) + 2 * k4 * dGg
    S = (k2 * (P.T @ P) + 2 * k3 * p[:, None] * g + 8 * k3 * (A.T @ A) * G + k4 * (g[:, None] * g + 6 * G2))
    S[diag, diag] += -k1 * A.sum(axis=0) + 2 * k3 * (G @ p) + 2 * k4 * Gg
    # grad = (S + S^T) W + dA^T Z
    return (dS + _T(dS)) @ W + (S + S.T) @ V + _T(ddA) @ Zs


def loss_and_grad(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, *, alpha: float, beta: float,
                  scale: float | None = None, target: tuple[float, float] = (0.0, 1.0)):
    """(loss, grad): the exact expected loss for the target a x0 + b eps, target = (a, b), eq. (T), and its
    gradient.

    The constant b^2 d is included: for the default noise prediction (0, 1) the loss at W = 0 is d.
    Stacks work too: W of shape (S, m, d) with x1, x2 of shape (S, n, d) give S losses (an array) and
    gradients.
    """
    n, d = x1.shape[-2:]
    c = output_scale(W.shape[-2], scale)
    a, b = target
    total, grad = _exact_terms(W, (x1, x2), alpha, beta, c, a, b)
    grad /= 2 * n
    return b * b * d + total / (2 * n), grad   # + E||b eps||^2 = b^2 d per patch


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
                        scale: float | None = None, objective: str = "eps"):
    """Weighted sum of the exact loss over diffusion times: times is a sequence of (alpha, beta, weight),
    and each time regresses the target of `objective` at its (alpha, beta) (see `objective_target`)."""
    return sum_over_times(
        lambda alpha, beta: loss_and_grad(W, x1, x2, alpha=alpha, beta=beta, scale=scale,
                                          target=objective_target(objective, alpha, beta)), times)


def hessian_vector_product(W: np.ndarray, V: np.ndarray, x1: np.ndarray, x2: np.ndarray, times, *,
                           scale: float | None = None, objective: str = "eps") -> np.ndarray:
    """The Hessian of `loss_and_grad_times`' loss at W (m, d) applied to V (m, d), or to each direction of a
    stack V (S, m, d) at once (S = m d identity directions give the whole Hessian in one call)."""
    n = x1.shape[-2]
    c = output_scale(W.shape[-2], scale)
    out = 0.0
    for alpha, beta, weight in times:
        a, b = objective_target(objective, alpha, beta)
        out = out + weight * _exact_hvp(W, V, (x1, x2), alpha, beta, c, a, b)
    return out / (2 * n)


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
    c = output_scale(W.shape[-2], scale)
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


def loss_and_grad_resampled(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, K: int, rng: np.random.Generator, *,
                            alpha: float, beta: float, scale: float | None = None,
                            target: tuple[float, float] = (0.0, 1.0)) -> tuple[float, np.ndarray]:
    """`loss_and_grad_sampled` on K fresh draws of eps, with only the normals the result depends on drawn.

    Same joint distribution of (loss, gradient) as `loss_and_grad_sampled(W, x1, x2, rng.standard_normal(
    (K, 2n, d)), ...)`; see `loss_and_grad_resampled_times`. Stacks work as in `loss_and_grad_sampled`.
    """
    return loss_and_grad_resampled_times(W, x1, x2, K, rng, ((alpha, beta, 1.0),), scale=scale, target=target)


def _add(total, part):
    """total + part, with None as an empty total (no copy of the first part)."""
    return part if total is None else total + part


RANK_TOL = 1e-6  # `_orthonormal_rows` drops directions where the unit-scaled rows have singular values below this


def _orthonormal_rows(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Vt, Av, keep): orthonormal rows Vt (..., k, n) spanning the rows of A (..., k, n), the coordinates Av
    (..., k, k) with A = Av Vt, and keep (..., k): which rows of Vt are in use (the others are zero).
    From the Gram matrix of A's rows scaled to unit norm (so a short row counts as much as a long one), by
    eigh: with G_s = V diag(lam) V^T, Vt = diag(lam)^(-1/2) V^T (A / norms). That pass is orthonormal to about
    1e-16 lam_max / lam_min, so when lam_min < lam_max / 16 (or a direction is left out) a second pass on its
    result follows and leaves rounding only. Directions in which the scaled rows have singular value below RANK_TOL are left out
    (dependent rows, zero rows, k > n): each row of A lies in the span of Vt up to sqrt(k) RANK_TOL times its
    norm, and to rounding when none is left out. Costs two to four k x k x n products (no LAPACK QR, which is
    slow on these shapes)."""
    G = A @ _T(A)
    norms = np.sqrt(np.diagonal(G, axis1=-2, axis2=-1))
    inv = 1.0 / np.where(norms > 0, norms, np.inf)                  # 1/||a_r||, 0 for a zero row
    G = G * inv[..., :, None] * inv[..., None, :]                   # Gram matrix of the unit-scaled rows
    Vt, Av = A, None
    for _ in range(2):
        lam, V = np.linalg.eigh(G)
        keep = lam > RANK_TOL**2
        root = np.sqrt(np.where(keep, lam, 0.0))
        Vt = (_T(V) / np.where(keep, root, np.inf)[..., :, None] * inv[..., None, :]) @ Vt  # v_l^T rows / root_l
        step = V * root[..., None, :]                              # rows before = V diag(root) rows after
        Av = norms[..., :, None] * step if Av is None else Av @ step
        if np.all(lam[..., 0] >= lam[..., -1] / 16):              # all kept, and well conditioned
            break
        G, inv = Vt @ _T(Vt), np.ones_like(inv)
    return Vt, Av, keep


def loss_and_grad_resampled_times(W: np.ndarray, x1: np.ndarray, x2: np.ndarray, K: int,
                                  rng: np.random.Generator, times, *, scale: float | None = None,
                                  target: tuple[float, float] = (0.0, 1.0)) -> tuple[float, np.ndarray]:
    """sum_over_times of `loss_and_grad_sampled` over times = ((alpha, beta, weight), ...), all times sharing
    K fresh draws eps (K, 2n, d), as `sims.train` does, drawing m (2nK + d) + 2 normals instead of 2nK d.

    Why it is the same distribution. Let Vt (rho x d) be orthonormal rows spanning the rows of W
    (`_orthonormal_rows`), W = Wv Vt, and P = I - Vt^T Vt. Each draw i = (k, j) splits into independent
    parts eps_i = Vt^T g_i + x_i, g_i ~ N(0, I_rho), x_i ~ N(0, P); its patch z_i = Vt^T c_i + zeta_i,
    c_i = Vt z_i, zeta_i = P z_i. Since W x_i = 0,
        h_i = W u_i = Wv ubar_i,  ubar_i = alpha c_i + beta g_i,
        q_i = W e_i = Wv ebar_i,  ebar_i = c Wv^T h_i^2 - a c_i - b g_i
    depend on g_i alone, and x_i enters linearly: e_i = Vt^T ebar_i - a zeta_i - b x_i and
    u_i = Vt^T ubar_i + alpha zeta_i + beta x_i. Summed over draws i (and times, weighted), with N = 2nK,
        N/(2c) grad = M Vt + sum_i kappa_i zeta_i^T + Lambda X,  M = sum_i h_i^2 ebar_i^T + 2 (h_i q_i) ubar_i^T,
        kappa_ir = -a h_ir^2 + 2 alpha h_ir q_ir,  lambda_ir = -b h_ir^2 + 2 beta h_ir q_ir,
        N loss = sum_i ||ebar_i||^2 + a^2 ||Zeta||^2 + 2ab T + b^2 Q2,  T = sum_i <zeta_i, x_i>,  Q2 = ||X||^2
    (Lambda (m x N) has columns lambda_i; X, Zeta have rows x_i, zeta_i). Given g the rows of X are iid
    N(0, P). Let the q columns of V (N x q) be orthonormal and span the rows of Lambda, and V2 complete them.
    Then Y = V^T X (q x d) and X2 = V2^T X are independent with iid N(0, P) rows, and
        Lambda X = (Lambda V) Y,   T = <V^T Zeta, Y> + tau omega,   Q2 = ||Y||^2 + omega^2 + chi2(D - 1),
    tau = ||V2^T Zeta||, omega = <V2^T Zeta, X2> / tau ~ N(0, 1), and the rest of ||X2||^2 is chi-square with
    D - 1 degrees of freedom, D = (N - q)(d - rho), independent of omega. So drawing g (N x m normals),
    Y = Ytil P (Ytil: m x d normals), omega and one chi-square gives exactly the law of the direct draws (up
    to RANK_TOL, see `_orthonormal_rows`). Without T (a b = 0) and with m <= N, V itself is not needed: take
    q = m; for any C with C C^T = Lambda Lambda^T, C = (Lambda V) R with R orthogonal, and (R Y, ||R Y||^2)
    has the law of (Y, ||Y||^2), so the symmetric square root C serves. Stacks: leading axes of W, x1, x2
    as in `loss_and_grad_sampled`.
    """
    n, d = x1.shape[-2:]
    m = W.shape[-2]
    c = 1.0 / m if scale is None else scale
    a, b = target
    lead = W.shape[:-2] or x1.shape[:-2]
    N = 2 * n * K

    Vt, Wv, keep = _orthonormal_rows(W)                            # W = Wv Vt; Vt (..., m, d), rows not kept are 0
    Cz = np.concatenate([x1 @ _T(Vt), x2 @ _T(Vt)], axis=-2)       # c_j = Vt z_j, (..., 2n, m)
    g = rng.standard_normal(lead + (K, 2 * n, m))                  # g_i = Vt eps_i, draws i = (k, j)
    if not keep.all():
        g *= keep[..., None, None, :]

    loss = M = H2_sum = HQ_alpha = HQ_beta = None
    for alpha, beta, weight in times:
        U = (alpha * Cz[..., None, :, :] + beta * g).reshape(lead + (N, m))  # ubar_i = alpha c_i + beta g_i
        H = U @ _T(Wv)                                             # h_i = W u_i
        H2 = H * H
        E = (H2 @ (c * Wv)).reshape(g.shape) - b * g               # ebar_i = c Wv^T h_i^2 - a c_i - b g_i
        if a != 0:
            E -= a * Cz[..., None, :, :]
        E = E.reshape(U.shape)
        HQ = H * (E @ _T(Wv))                                      # h_ir q_ir, q_ir = <w_r, e_i>
        if weight != 1:
            H2 *= weight
            HQ *= weight
        loss = _add(loss, weight * np.einsum("...ij,...ij->...", E, E))  # sum_i ||ebar_i||^2
        M = _add(M, _T(H2) @ E + _T(2 * HQ) @ U)                   # sum_i h_i^2 ebar_i^T + 2 (h_i q_i) ubar_i^T
        H2_sum = _add(H2_sum, H2)
        HQ_alpha = _add(HQ_alpha, (2 * alpha) * HQ)
        HQ_beta = _add(HQ_beta, (2 * beta) * HQ)
    w_sum = sum(weight for _, _, weight in times)
    kappa = HQ_alpha - a * H2_sum if a != 0 else HQ_alpha          # kappa_ir = -a h_ir^2 + 2 alpha h_ir q_ir
    Lam = HQ_beta - b * H2_sum                                     # lambda_ir = -b h_ir^2 + 2 beta h_ir q_ir
    kappa = kappa.reshape(lead + (K, 2 * n, m)).sum(axis=-3)       # sum_k kappa_(k, j), (..., 2n, m)

    if a * b == 0 and m <= N:  # no T: any C with C C^T = Lambda Lambda^T will do (q = m); a symmetric root
        G = _T(Lam) @ Lam                                          # Lambda Lambda^T, scaled per neuron as in
        norms = np.sqrt(np.diagonal(G, axis1=-2, axis2=-1))        # _orthonormal_rows
        inv = 1.0 / np.where(norms > 0, norms, np.inf)
        mu, V = np.linalg.eigh(G * inv[..., :, None] * inv[..., None, :])
        C = (norms[..., :, None] * V * np.sqrt(np.maximum(mu, 0.0))[..., None, :]) @ _T(V)  # D S, S^2 = Gram
        keep_l = np.ones(lead + (m,), dtype=bool)
    else:
        Vl, C, keep_l = _orthonormal_rows(_T(Lam))                 # Lambda^T = C V^T, V^T (..., m, N)
    Ytil = rng.standard_normal(lead + (m, d))                      # Y = Ytil P, from the rows in keep_l
    if not keep_l.all():
        Ytil *= keep_l[..., :, None]
    Ytil_V = Ytil @ _T(Vt)
    D = (N - keep_l.sum(axis=-1)) * (d - keep.sum(axis=-1))       # degrees of freedom of X2
    omega = rng.standard_normal(lead) * (D > 0)
    Q2 = (np.einsum("...ij,...ij->...", Ytil, Ytil) - np.einsum("...ij,...ij->...", Ytil_V, Ytil_V)  # ||Y||^2
          + omega * omega + rng.gamma(np.maximum(D - 1, 0) / 2, 2.0))                               # + ||X2||^2
    loss = loss + w_sum * b * b * Q2                               # b^2 sum_i ||x_i||^2
    if a != 0:
        Zeta2 = K * (np.einsum("...ij,...ij->...", x1, x1) + np.einsum("...ij,...ij->...", x2, x2)
                     - np.sum(Cz * Cz, axis=(-2, -1)))             # ||Zeta||^2 = K sum_j ||P z_j||^2
        loss = loss + w_sum * a * a * Zeta2
        if b != 0:
            Vs = Vl.reshape(lead + (m, K, 2 * n)).sum(axis=-2)    # V^T Zeta = Vs (Z P), Vs (..., m, 2n)
            VZ = Vs[..., :n] @ x1 + Vs[..., n:] @ x2 - (Vs @ Cz) @ Vt
            tau2 = np.maximum(Zeta2 - np.sum(VZ * VZ, axis=(-2, -1)), 0.0)  # ||V2^T Zeta||^2
            T = np.sum(VZ * Ytil, axis=(-2, -1)) + np.sqrt(tau2) * omega    # <V^T Zeta, Y> + tau omega
            loss = loss + w_sum * 2 * a * b * T

    # grad = 2c/N ((M - kappa^T C_z - C Ytil_V) Vt + kappa^T Z + C Ytil), as Lambda X = C Y, Y = Ytil P
    s = 2 * c / N
    grad = (s * (M - _T(kappa) @ Cz - C @ Ytil_V)) @ Vt
    grad += (s * _T(kappa[..., :n, :])) @ x1
    grad += (s * _T(kappa[..., n:, :])) @ x2
    grad += (s * C) @ Ytil
    loss = loss / N
    return (float(loss) if np.ndim(loss) == 0 else loss), grad
