"""The diffusion model: a tied two-layer network with quadratic activation, trained on a denoising
loss.

Network, per patch u in R^d (eq. for f_p in theory/PAPER.md):
    f(W, u) = c * sum_r <w_r, u>^2 w_r,   W = [w_1 ... w_m] in R^{m x d},   c = 1/m by default.
Loss at one diffusion time x_t = alpha x0 + beta eps, regressing the target a x0 + b eps:
    L(W) = 1/(2n) sum_i sum_{p=1,2} E_eps || f(W, alpha x_i^(p) + beta eps) - a x_i^(p) - b eps
    ||^2.
(a, b) = (0, 1) is noise prediction (DDPM, the paper's loss); `OBJECTIVES` names the others.

With quadratic activation the expectation is a finite sum of Gaussian moments. For one patch with
clean vector z, a_r = <w_r, z>, G = W W^T, and h_r = <w_r, u> = alpha a_r + beta e_r with e ~ N(0,
G):
    E||f - eps||^2 = d - 4 c alpha beta sum_r a_r G_rr
        + c^2 sum_{r,s} G_rs [ alpha^4 a_r^2 a_s^2 + alpha^2 beta^2 (a_r^2 G_ss + a_s^2 G_rr + 4 a_r
        a_s G_rs)
                               + beta^4 (G_rr G_ss + 2 G_rs^2) ].          (exact loss, eq. E)
For a general target, E<z, eps> = 0 and E||eps||^2 = d give
    E||f - a z - b eps||^2 = E||f||^2 - 2 b E<f, eps> + b^2 d - 2 a E<f, z> + a^2 ||z||^2,      (eq.
        T)
    E<f, eps> = 2 c alpha beta sum_r a_r G_rr,     E<f, z> = c sum_r (alpha^2 a_r^2 + beta^2 G_rr)
        a_r,
with E||f||^2 the c^2 sum of eq. (E). Everything but b^2 d depends on W and the data only through
inner products, so in coordinates of an r-dimensional orthonormal basis holding the data and the
rows of W the loss is the same up to b^2 (d - r) per patch: see `noise_dimension_weight`.
`loss_and_grad` evaluates (T) and its hand-derived gradient for all 2n patches at once with plain
matrix products. The Monte Carlo losses over draws of eps (given or fresh) are in sims.sampled.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sims import FldmError

# target = a x0 + b eps for x_t = alpha x0 + beta eps: name -> (alpha, beta) -> (a, b)
OBJECTIVES = {
    "eps": lambda alpha, beta: (0.0, 1.0),  # noise prediction (DDPM; the paper's loss)
    "x0": lambda alpha, beta: (1.0, 0.0),  # clean-data prediction
    "v": lambda alpha, beta: (-beta, alpha),  # v = alpha eps - beta x0 (Salimans & Ho 2022)
    "velocity": lambda alpha, beta: (
        -1.0,
        1.0,
    ),  # d x_t / dt = eps - x0 on the path x_t = (1 - t) x0 + t eps
}
PATH_TOL = 1e-9  # |alpha + beta - 1| allowed for the velocity objective's linear path


def check_objective(objective: str) -> str:
    """The objective's name if it is one of OBJECTIVES, else a one-line FldmError."""
    if objective not in OBJECTIVES:
        raise FldmError(f"unknown objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")
    return objective


def objective_target(objective: str, alpha: float, beta: float) -> tuple[float, float]:
    """(a, b) of the target a x0 + b eps that `objective` regresses at the time x_t = alpha x0 +
    beta eps.

    "velocity" is flow matching's velocity eps - x0, the time derivative of x_t only on the linear
    path alpha = 1 - t, beta = t; other (alpha, beta) are refused rather than given a target that is
    not it.
    """
    if check_objective(objective) == "velocity" and abs(alpha + beta - 1) > PATH_TOL:
        raise FldmError(
            f"the velocity objective needs the linear path x_t = (1 - t) x0 + t eps, i.e. "
            f"alpha + beta = 1; got alpha = {alpha:g}, beta = {beta:g}"
        )
    return OBJECTIVES[objective](alpha, beta)


def noise_dimension_weight(times, objective: str = "eps") -> float:
    """sum_k weight_k b_k^2 over times = ((alpha, beta, weight), ...): the loss's dependence on d.

    The exact loss (eq. T, averaged over patches, summed over times) is
        L = (a function of inner products among the rows of W and the patches) +
        noise_dimension_weight * d,
    the second part being E||b eps||^2 = b^2 d. Evaluated on coordinates in an orthonormal
    r-dimensional basis holding the patches and W's rows, `loss_and_grad_times` returns the first
    part plus this weight times r, so the d-dimensional loss is that value plus
    noise_dimension_weight * (d - r).
    """
    return term_weights(targets_of(times, objective), 1.0).b2


FIT_CURVATURE = (
    18  # d/da of the one-patch x0 force at its fixed point, in units of s |a| c alpha^2 a* (below)
)


def fit_curvature_factor(times, objective: str, c: float, max_norm2: float) -> float:
    """1 + sum_t weight_t 18 |a_t|^(4/3) (c alpha_t^2)^(2/3) max||z||^(2/3): how much steeper than
    the data curvature scale of sims.config.auto_eta the loss is where the network fits the x0 part
    a z of its target.

    A target with a != 0 adds -2 a E<f, z> = -2 a c sum_r (alpha^2 a_r^3 + beta^2 G_rr a_r) to the
    loss: the alignment a_r with a patch z grows like da/dtau = 6 s a c alpha^2 a^2 (s = n_z ||z||^2
    / (2n)), blows up in finite time, and is caught by the c^2 alpha^4 G_rr a^4 term (G_rr >= a^2 /
    ||z||^2) at the fit c alpha^2 a*^3 = a ||z||^2. There da/dtau = s (6 a c alpha^2 a^2 - 6 c^2
    alpha^4 a^5 / ||z||^2) has slope -18 s a c alpha^2 a* = -18 s |a|^(4/3) (c alpha^2 ||z||)^(2/3)
    (measured Hessians at the stationary point of the x0 objective: 37 and 63 times s against 36 and
    57 from this, at d = 500 and 2000), while auto_eta's scale is s itself. eps prediction (a = 0)
    gives exactly 1.
    """
    total = 1.0
    for alpha, beta, weight in times:
        a = objective_target(objective, alpha, beta)[0]
        if a != 0:
            total += (
                weight
                * FIT_CURVATURE
                * abs(a) ** (4 / 3)
                * (c * alpha**2 * np.sqrt(max_norm2)) ** (2 / 3)
            )
    return total


MEMORISE = 18.0  # the curvature coefficient of a memorised draw (sims.stepsize, "draws")


def memorised_curvature(times, objective: str, c: float, draws: np.ndarray, n: int) -> float:
    """18 c^(2/3) sum_t weight_t (beta_t |b_t|)^(4/3) max_p ||eps_p||^(8/3) / (2nK): the curvature
    of the sampled loss on K fixed draws (K, 2n, d) where a neuron has memorised a draw, b_t the
    coefficient of eps in the target (1 for noise prediction). Derivation and measurements:
    sims.stepsize."""
    K = draws.shape[0]
    top = np.sqrt(np.max(np.sum(draws**2, axis=-1)))
    weight = sum(
        w * (beta * abs(objective_target(objective, alpha, beta)[1])) ** (4 / 3)
        for alpha, beta, w in times
    )
    return MEMORISE * c ** (2 / 3) * weight * top ** (8 / 3) / (2 * n * K)


def output_scale(m: int, scale: float | None = None) -> float:
    """The output scale c of the network: `scale` if given, else 1/m (the default of
    theory/PAPER.md)."""
    return 1.0 / m if scale is None else scale


def denoise(W: np.ndarray, u: np.ndarray, scale: float | None = None) -> np.ndarray:
    """f(W, u) = c sum_r <w_r, u>^2 w_r for each row of u (shape (..., d))."""
    c = output_scale(W.shape[-2], scale)
    h = u @ W.T
    return c * (h * h) @ W


def _T(a: np.ndarray) -> np.ndarray:
    """Transpose of the last two axes (a matrix, or each matrix of a stack)."""
    return a.swapaxes(-1, -2)


class Weights(NamedTuple):
    """The weights of the terms of eq. (T), summed over diffusion times. The loss is linear in them,
    so a schedule of any number of times costs one evaluation. A time (alpha, beta, weight) with
    target (a, b) adds weight times
        k1 = 4 c alpha beta b + 2 a c beta^2    of -sum_r a_r G_rr (from -2 b E<f, eps> and -2 a
            E<f, z>)
        k2 = c^2 alpha^4, k3 = c^2 alpha^2 beta^2, k4 = c^2 beta^4      of the three parts of
            E||f||^2 (eq. E)
        k5 = 2 a c alpha^2                      of -sum_r a_r^3 (from -2 a E<f, z>)
        a2 = a^2, b2 = b^2                      of ||z||^2 and E||eps||^2 = d."""

    k1: float
    k2: float
    k3: float
    k4: float
    k5: float
    a2: float
    b2: float


def term_weights(targets, c: float) -> Weights:
    """The Weights of targets = ((alpha, beta, weight, a, b), ...) for output scale c."""
    k = [0.0] * len(Weights._fields)
    for alpha, beta, w, a, b in targets:
        terms = (
            4 * c * alpha * beta * b + 2 * a * c * beta**2,
            c * c * alpha**4,
            c * c * alpha**2 * beta**2,
            c * c * beta**4,
            2 * a * c * alpha**2,
            a * a,
            b * b,
        )
        for i, v in enumerate(terms):
            k[i] += w * v
    return Weights(*k)


def targets_of(times, objective: str) -> list:
    """((alpha, beta, weight, a, b), ...): each time with the target (a, b) of `objective` there."""
    return [
        (alpha, beta, weight) + tuple(objective_target(objective, alpha, beta))
        for alpha, beta, weight in times
    ]


def _exact_terms(W: np.ndarray, blocks, k: Weights):
    """Sum over the rows z of the blocks of (E||f - a z - b eps||^2 - a^2 ||z||^2 - b^2 d), eq. (T)
    with the term weights k (one time or several: `Weights`), and its gradient in W.

    W is (..., m, d) and each block of patches (..., n_k, d); leading axes index independent
    problems (a stack of S runs), so one call evaluates all of them. In d dimensions the blocks are
    multiplied one by one rather than stacked, which would copy the data. The arrays are tiny in the
    span engine's coordinates, where each numpy call costs more than its arithmetic: the terms are
    grouped to need few.
    """
    Wt = _T(W)
    A = blocks[0] @ Wt if len(blocks) == 1 else np.concatenate([Z @ Wt for Z in blocks], axis=-2)
    N = A.shape[-2]  # a_kr = <w_r, z_k>, (..., N, m)
    k1, k2, k3, k4, k5 = k.k1, k.k2, k.k3, N * k.k4, k.k5
    G = W @ Wt  # G_rs = <w_r, w_s>
    g = G.diagonal(0, -2, -1)  # G_rr, (..., m)
    P = A * A
    AtA = _T(A) @ A
    p, a_sum = AtA.diagonal(0, -2, -1), A.sum(axis=-2)  # sum_k a_kr^2, sum_k a_kr
    Gg = (G @ g[..., None])[..., 0]
    G2 = G * G
    PG, AG2 = P @ G, A @ G2

    # d total / d A (..., N, m), total as in the comment below
    dA = A * ((4 * k2) * PG + (4 * k3) * Gg[..., None, :]) + (8 * k3) * AG2 - k1 * g[..., None, :]
    if k5 != 0:
        dA -= (3 * k5) * P
    # (S + S^T) / 2 for S = d total / d G_rs, G taken as a general matrix, and the diagonal (its
    # entries also enter through g = diag(G)): S = k2 P^T P + 2 k3 p g^T + 8 k3 (A^T A) G + k4 (g
    # g^T + 6 G^2) + diag(s)
    u = k3 * p + (0.5 * k4) * g
    O = u[..., :, None] * g[..., None, :]
    S = k2 * (_T(P) @ P) + (8 * k3) * AtA * G + (6 * k4) * G2 + O + _T(O)
    s = (2 * k3) * (G @ p[..., None])[..., 0] + (2 * k4) * Gg - k1 * a_sum
    diagonal = np.einsum("...ii->...i", S)  # a view of S's diagonal
    diagonal += s  # S + diag(s)
    # A = Z W^T and G = W W^T  =>  dW = dA^T Z + (S + S^T) W
    grad = (2 * S) @ W
    start = 0
    for Z in blocks:
        grad += _T(dA[..., start : start + Z.shape[-2], :]) @ Z
        start += Z.shape[-2]

    # total = cubic + sextic part, homogeneous in W of degrees 3 and 6:
    #   cubic -k1 sum_r a_r G_rr - k5 sum_r a_r^3, sextic c^2 sum_rs G_rs [alpha^4 a_r^2 a_s^2 +
    #   alpha^2 beta^2 (a_r^2 G_ss + a_s^2 G_rr + 4 a_r a_s G_rs)
    #          + beta^4 (G_rr G_ss + 2 G_rs^2)] (eq. E, weighted by k2, k3, k4),
    # so by Euler's theorem <W, grad> = 3 cubic + 6 sextic and total = cubic / 2 + <W, grad> / 6.
    cubic = -k1 * (a_sum * g).sum(axis=-1)
    if k5 != 0:
        cubic = cubic - k5 * np.einsum("...kr,...kr->...", P, A)
    total = 0.5 * cubic + np.einsum("...rj,...rj->...", W, grad) / 6
    return total, grad


def _exact_hvp(W: np.ndarray, V: np.ndarray, blocks, k: Weights) -> np.ndarray:
    """The directional derivative of `_exact_terms`' gradient along V: the Hessian of its total
    applied to V (m, d), or to each of a stack of directions V (S, m, d) at one W (m, d).

    Every line is the derivative (marked with a leading d) of the line of `_exact_terms` it follows,
    with dA = Z V^T and dG = V W^T + W V^T.
    """
    Zs = np.concatenate(blocks, axis=-2)
    A, dA_ = Zs @ W.T, Zs @ _T(V)  # (N, m), (S, N, m)
    G = W @ W.T
    dG = V @ W.T + W @ _T(V)
    g, dg = np.diagonal(G), np.diagonal(dG, axis1=-2, axis2=-1)
    P, dP = A * A, 2 * A * dA_
    p, dp = P.sum(axis=0), dP.sum(axis=-2)
    G2, dG2 = G * G, 2 * G * dG
    Gg, dGg = G @ g, (dG @ g[:, None])[..., 0] + dg @ G  # G symmetric: (G dg)_r = (dg G)_r
    PG, dPG = P @ G, dP @ G + P @ dG
    dAG2 = dA_ @ G2 + A @ dG2  # d(A G2)
    k1, k2, k3, k4, k5 = k.k1, k.k2, k.k3, A.shape[0] * k.k4, k.k5
    # d(dA), dA = A (4 k2 PG + 4 k3 Gg) + 8 k3 AG2 - k1 g - 3 k5 P
    ddA = (
        dA_ * (4 * k2 * PG + 4 * k3 * Gg)
        + A * (4 * k2 * dPG + 4 * k3 * dGg[..., None, :])
        + 8 * k3 * dAG2
        - k1 * dg[..., None, :]
    )
    if k5 != 0:
        ddA -= 3 * k5 * dP
    # d(S), S = k2 P^T P + 2 k3 p g^T + 8 k3 (A^T A) G + k4 (g g^T + 6 G2), and its diagonal terms
    AtdA = A.T @ dA_
    dS = (
        k2 * (_T(dP) @ P + P.T @ dP)
        + 2 * k3 * (dp[..., :, None] * g + p[:, None] * dg[..., None, :])
        + 8 * k3 * ((AtdA + _T(AtdA)) * G + (A.T @ A) * dG)
        + k4 * (dg[..., :, None] * g + g[:, None] * dg[..., None, :] + 6 * dG2)
    )
    diag = np.arange(W.shape[0])
    dS[..., diag, diag] += (
        -k1 * dA_.sum(axis=-2) + 2 * k3 * ((dG @ p[:, None])[..., 0] + dp @ G) + 2 * k4 * dGg
    )
    S = (
        k2 * (P.T @ P)
        + 2 * k3 * p[:, None] * g
        + 8 * k3 * (A.T @ A) * G
        + k4 * (g[:, None] * g + 6 * G2)
    )
    S[diag, diag] += -k1 * A.sum(axis=0) + 2 * k3 * (G @ p) + 2 * k4 * Gg
    # grad = (S + S^T) W + dA^T Z
    return (dS + _T(dS)) @ W + (S + S.T) @ V + _T(ddA) @ Zs


def exact_objective(
    x1: np.ndarray, x2: np.ndarray, targets, *, scale: float | None = None, dim: int | None = None
):
    """W -> (loss, grad): the exact expected loss, eq. (T), summed over targets = ((alpha, beta,
    weight, a, b), ...) (`targets_of`), on the patches x1, x2, and its gradient.

    The loss holds E||b eps||^2 = b^2 dim per patch, dim the patch dimension of the model (default:
    that of x1; give d when x1, x2 are coordinates in an r-dimensional basis of the span of the data
    and the filters, where the rest is the same: the module docstring). What does not depend on W is
    computed once: the term weights (`Weights`), sum ||z||^2, and, in coordinates smaller than dim,
    the patches as one block. Stacks work too: W of shape (S, m, d) with x1, x2 of shape (S, n, d)
    (or (n, d)) give S losses.
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

    def fun(W):
        m = W.shape[-2]
        if m not in weights:
            weights[m] = term_weights(targets, output_scale(m, scale))
        k = weights[m]
        total, grad = _exact_terms(W, blocks, k)
        grad /= 2 * n
        return k.b2 * dim + (total + k.a2 * norms2) / (2 * n), grad

    return fun


def loss_and_grad(
    W: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    *,
    alpha: float,
    beta: float,
    scale: float | None = None,
    target: tuple[float, float] = (0.0, 1.0),
):
    """(loss, grad): the exact expected loss for the target a x0 + b eps, target = (a, b), eq. (T),
    and its gradient.

    The constant b^2 d is included: for the default noise prediction (0, 1) the loss at W = 0 is d.
    Stacks work too: W of shape (S, m, d) with x1, x2 of shape (S, n, d) give S losses (an array)
    and gradients.
    """
    return exact_objective(x1, x2, ((alpha, beta, 1.0) + tuple(target),), scale=scale)(W)


def loss_and_grad_times(
    W: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    times,
    *,
    scale: float | None = None,
    objective: str = "eps",
):
    """Weighted sum of the exact loss over diffusion times: times is a sequence of (alpha, beta,
    weight), and each time regresses the target of `objective` at its (alpha, beta) (see
    `objective_target`)."""
    return exact_objective(x1, x2, targets_of(times, objective), scale=scale)(W)


def hessian_vector_product(
    W: np.ndarray,
    V: np.ndarray,
    x1: np.ndarray,
    x2: np.ndarray,
    times,
    *,
    scale: float | None = None,
    objective: str = "eps",
) -> np.ndarray:
    """The Hessian of `loss_and_grad_times`' loss at W (m, d) applied to V (m, d), or to each
    direction of a stack V (S, m, d) at once (S = m d identity directions give the whole Hessian in
    one call)."""
    k = term_weights(targets_of(times, objective), output_scale(W.shape[-2], scale))
    return _exact_hvp(W, V, (x1, x2), k) / (2 * x1.shape[-2])
