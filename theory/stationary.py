"""What a stationary point of the diffusion flow is: its stability (Morse index), its branch, and
whether the scalar equation behind the stationary ratio applies there.

Stability. The flow's Jacobian is -H, H the Hessian of the reduced loss (theory.reduced.hessian, in
closed form). The loss is constant along the gauge directions Rc -> Rc Omega (theory.reduced), so H
vanishes on them at a stationary point; they are removed. The **Morse index** is the number of the
remaining eigenvalues of H below -MORSE_TOL * max|eig H|: the number of directions along which the
flow leaves the point (a saddle has index >= 1). `stable` is true iff the index is 0. The spectrum
is that of the refined point (Newton steps from the flow's end point, `refine`). Eigenvalues within
+-MORSE_TOL * max|eig H| count as flat (`flat_directions`): the Hessian is exact to rounding (~1e-13
relative) and the point is within ||grad L|| / |eig| of the true stationary point (||grad L|| <=
1e-10 for a found point), so a smaller eigenvalue cannot be told from zero; if there are flat
directions, the second-order test does not decide stability along them.

Branches. Write W = A Q^T + R (theory.reduced). On the **symmetric** branch every neuron has the
same data-span part A_r (rows of A equal to BRANCH_TOL relative). On an **asymmetric** branch the
neurons split into groups with different A_r (`groups`: the group sizes). `surviving_rank` is the
rank of R R^T, the part of the initial weights orthogonal to the data that is still there.

The scalar equation (the mechanism of the near-1 stationary ratio). At a stationary point where R
R^T has rank s, dL/dG vanishes on the range of R R^T. With orthogonal data each patch direction z
(repeated n_z times, a_z = (<w_r, z>)_r) then satisfies n_z ||z||^2 dT/da(a_z; G) + 2n (dL/dG) a_z =
0, T the one-patch loss of eq. (E). If moreover the point is on the symmetric branch and dL/dG has
the all-ones vector as an eigenvector (N 1 = nu 1; e.g. s = m - 1 with R's sum dead), this is one
scalar equation per patch,
    psi_w(a) = w / (2n) phi(a) + nu a = 0,   w = n_z ||z||^2,   phi(a) = sum_t weight_t dT/da_1(a 1,
        G),
whose root a(w) depends on the patch only through w and increases with it. It is applied only where
all its premises hold (`ScalarEquation.applies`); otherwise `reason` names the first that fails,
checked in the order: the noise-prediction (eps) objective (it is derived for that one only), the
symmetric branch, orthogonal patch directions, N 1 = nu 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import sympy as sp
from scipy import linalg, optimize

from sims import io
from sims.data import Dataset
from sims.diffusion import output_scale
from sims.models import Summary, summarize
from theory import derive, reduced

MORSE_TOL = 1e-6  # |eig H| below this times max|eig H| counts as zero (flat)
BRANCH_TOL = (
    1e-6  # neurons whose data-span parts differ by less than this (relative) form one group
)
RANK_TOL = 1e-8  # eigenvalues of R R^T above this times the largest count as surviving
ORTHO_TOL = 1e-9  # max |<z, z'>| / max ||z||^2 below which the patch directions count as orthogonal
APPROX_COS = (
    0.2  # ... below which the scalar equation is solved as an approximation (`approximate`)
)
NEWTON_STEPS = 3  # chord-Newton steps that refine the flow's end point


@dataclass(frozen=True)
class ScalarEquation:
    """The scalar equation psi_w(a) = 0 at a stationary point (module docstring): whether it
    applies, why not if not, and where it does its roots next to the alignments found."""

    applies: bool
    reason: str = ""
    nu: float = float("nan")
    signal_weights: np.ndarray | None = None
    noise_weights: np.ndarray | None = None
    signal_roots: np.ndarray | None = None
    noise_roots: np.ndarray | None = None
    max_abs_error: float = float("nan")
    approximate: bool = (
        False  # the patches are orthogonal only to max_cosine: the roots approximate
    )
    max_cosine: float = 0.0


@dataclass(frozen=True)
class Stationary:
    """The flow's long-time state and what it is. `found` is false when the flow reached no
    stationary point (`reason` says why); then only tau, steps and reason are set (the rest is None
    or nan).

    Alignments: signal (m, 2), noise (m, n). `summary` is the headline (signed) summary of
    sims.models (its ratio is `ratio`), `summary_abs` the same with |alignments|: they differ only
    when a neuron holds a large negative alignment (asymmetric branches). Eigenvalues are those of
    the flow's Jacobian -H without the gauge directions, largest first."""

    found: bool
    reason: str = ""
    tau: float = float("nan")
    steps: float = float("nan")
    reached_gtol: bool = False
    ratio: float = float("nan")
    signal: np.ndarray | None = None
    noise: np.ndarray | None = None
    summary: Summary | None = None
    summary_abs: Summary | None = None
    residual: float = float("nan")
    refined: bool = False
    morse_index: int | None = None
    flat_directions: int | None = None
    stable: bool = False
    max_eigenvalue: float = float("nan")
    min_eigenvalue: float = float("nan")
    eigenvalues: np.ndarray | None = None
    descent_stable: bool = False
    branch: str | None = None
    groups: list = field(default_factory=list)
    surviving_rank: int | None = None
    orthogonal_gram_eigenvalues: np.ndarray | None = None
    dL_dG: np.ndarray | None = None
    dL_dG_on_surviving: float = float("nan")
    scalar_equation: ScalarEquation | None = None
    descent_leaves_at_step: float | None = (
        None  # descent with the run's eta leaves the flow here first
    )

    def to_dict(self) -> dict:
        return io.plain(self)


def gauge_shifted_hessian(red, Wr) -> tuple[np.ndarray, int]:
    """(H + s G^T G, g): the Hessian at Wr with its g gauge directions (orthonormal rows G) moved to
    the eigenvalue s = 1 + 2 ||H||_F, above the whole spectrum. At a stationary point H G^T = 0, so
    the other eigenvalues are those of H on the gauge complement; the shifted matrix is invertible
    there."""
    H = reduced.hessian(red, Wr)
    G = reduced.gauge_directions(red, Wr)
    return H + (1.0 + 2.0 * np.linalg.norm(H)) * (G.T @ G), G.shape[0]


def morse_index(hessian_eigenvalues: np.ndarray) -> tuple[int, int]:
    """(number of eigenvalues below -tol, number within +-tol), tol = MORSE_TOL * max
    |eigenvalue|."""
    tol = MORSE_TOL * max(np.abs(hessian_eigenvalues).max(initial=0.0), 1e-300)
    return int(np.sum(hessian_eigenvalues < -tol)), int(np.sum(np.abs(hessian_eigenvalues) <= tol))


def groups(A: np.ndarray) -> list[int]:
    """Sizes (largest first) of the groups of neurons with the same data-span part (rows of A)."""
    scale = max(np.abs(A).max(initial=0.0), 1e-300)
    label = -np.ones(len(A), dtype=int)
    for r in range(len(A)):
        if label[r] < 0:
            same = (label < 0) & (np.abs(A - A[r]).max(axis=1) <= BRANCH_TOL * scale)
            label[same] = r
    return sorted(np.bincount(label)[np.unique(label)].tolist(), reverse=True)


def refine(red, Wr: np.ndarray, Hs: np.ndarray) -> np.ndarray:
    """Chord-Newton steps Wr <- Wr - Hs^-1 grad L (Hs the gauge-shifted Hessian at the flow's end
    point; grad L has no gauge part), kept while they lower ||grad L||. The end point itself if Hs
    is singular."""
    grad = lambda W: reduced.loss_and_grad(red, W)[1].ravel()
    try:
        lu = linalg.lu_factor(Hs, check_finite=True)
    except (linalg.LinAlgError, ValueError):
        return Wr
    best, res = Wr, np.linalg.norm(grad(Wr))
    for _ in range(NEWTON_STEPS):
        trial = best - linalg.lu_solve(lu, grad(best)).reshape(Wr.shape)
        r = np.linalg.norm(grad(trial))
        if not np.isfinite(r) or r >= res:
            break
        best, res = trial, r
    return best


def dL_dG(red, Wr, eps: float = 1e-7) -> np.ndarray:
    """The symmetric derivative dL/dG + (dL/dG)^T of the diffusion loss, G = W W^T (m x m).

    The gradient along an added direction orthogonal to everything, W -> [W, eps I], is (dL/dG sym)
    eps evaluated at G + eps^2 I; so this is exact up to O(eps^2).
    """
    m = Wr.shape[0]
    pad = lambda X: np.hstack([X, np.zeros((X.shape[0], m))])
    aug = reduced.Reduced(
        **{**red.__dict__, "x1": pad(red.x1), "x2": pad(red.x2), "mu": pad(red.mu)}
    )
    grad = reduced.loss_and_grad(aug, np.hstack([Wr, eps * np.eye(m)]))[1]
    return grad[:, -m:] / eps


def analyse(
    cfg,
    data: Dataset,
    red,
    Wr_end: np.ndarray,
    weights,
    *,
    eta: float,
    tau: float,
    reached_gtol: bool,
) -> Stationary:
    """Refine the flow's end point to grad L = 0 and describe it (module docstring). weights = the
    patch weights (n_j ||mu_j||^2, ||xi_i||^2) of theory.predict.patch_weights."""
    Hs, g = gauge_shifted_hessian(red, Wr_end)
    Wr = refine(red, Wr_end, Hs)
    if Wr is not Wr_end:
        Hs, g = gauge_shifted_hessian(red, Wr)
    eig = np.linalg.eigvalsh(Hs)[
        : Hs.shape[0] - g
    ]  # ascending, without the shifted gauge directions
    residual = float(np.linalg.norm(reduced.loss_and_grad(red, Wr)[1]))
    index, flat = morse_index(eig)
    signal, noise = reduced.alignments(red, Wr)
    summary = summarize(cfg.model, signal, noise, data.y)
    C = reduced.orthogonal_gram(red, Wr)
    c_eig, c_vec = np.linalg.eigh(C)
    surviving = c_eig > RANK_TOL * max(c_eig.max(), 1e-300)
    N = dL_dG(red, Wr)
    S = c_vec[:, surviving]
    sizes = groups(Wr[:, : red.k])
    return Stationary(
        found=True,
        tau=tau,
        steps=tau / eta,
        reached_gtol=reached_gtol,
        ratio=summary.ratio,
        signal=signal,
        noise=noise,
        summary=summary,
        summary_abs=summarize(cfg.model, np.abs(signal), np.abs(noise), data.y),
        residual=residual,
        refined=Wr is not Wr_end,
        morse_index=index,
        flat_directions=flat,
        stable=index == 0,
        max_eigenvalue=float(-eig[0]),
        min_eigenvalue=float(-eig[-1]),
        eigenvalues=-eig,
        descent_stable=bool(eta * eig[-1] < 2.0),
        branch="symmetric" if len(sizes) == 1 else "asymmetric",
        groups=sizes,
        surviving_rank=int(surviving.sum()),
        orthogonal_gram_eigenvalues=c_eig,
        dL_dG=N,
        dL_dG_on_surviving=float(np.linalg.norm(S.T @ N @ S)) if S.size else 0.0,
        scalar_equation=scalar_equation(cfg, data, red, Wr, weights, sizes, N),
    )


@cache
def one_patch_force(m: int):
    """dT/da_1 of the one-patch noise-prediction loss T (eq. E, theory.derive.paper_patch_loss) as a
    numpy function of (a_1..a_m, upper-triangle G entries, alpha, beta, c)."""
    a, G = derive.align_symbols(m), derive.gram_symbols(m)
    upper = [G[r, s] for r in range(m) for s in range(r, m)]
    expr = sp.diff(derive.paper_patch_loss(m), a[0])
    return sp.lambdify([a, upper, derive.alpha, derive.beta, derive.c], expr, "numpy")


def scalar_equation(
    cfg, data: Dataset, red, Wr, weights, sizes: list, N: np.ndarray
) -> ScalarEquation:
    """The scalar equation at the stationary point Wr where its premises hold (module docstring),
    else the first premise that fails."""
    objective = getattr(cfg, "objective", "eps")
    if objective != "eps":
        return ScalarEquation(
            False, f"derived for the eps (noise-prediction) objective only, not {objective}"
        )
    if len(sizes) > 1:
        return ScalarEquation(
            False,
            f"asymmetric branch: the neurons split into groups of {sizes}, so "
            "the patch alignments do not share one equation",
        )
    Z = np.vstack([data.signals, data.x2])
    K = Z @ Z.T
    off = np.abs(K - np.diag(np.diag(K))).max() / K.max()
    if off > APPROX_COS:
        return ScalarEquation(
            False,
            f"the patch directions are not orthogonal (max |<z, z'>| / max ||z||^2 = "
            f"{off:.2g} > {APPROX_COS:g}, too far for the approximation)",
        )
    m = Wr.shape[0]
    ones = np.ones(m)
    nu = float(ones @ N @ ones / m)
    if np.linalg.norm(N @ ones - nu * ones) > 1e-6 * max(1.0, np.abs(N).max()):
        return ScalarEquation(False, "dL/dG does not have the all-ones vector as an eigenvector")
    G = Wr @ Wr.T
    upper = [G[r, s] for r in range(m) for s in range(r, m)]
    c = output_scale(m, cfg.scale)
    force = one_patch_force(m)
    phi = lambda a: sum(w * force([a] * m, upper, al, be, c) for al, be, w in cfg.diffusion_times)
    n = data.n

    def root(weight):
        psi = lambda a: weight / (2 * n) * phi(a) + nu * a
        hi = 1.0
        while psi(hi) < 0 and hi < 1e6:
            hi *= 2
        return optimize.brentq(psi, 0.0, hi, xtol=1e-14)

    w_signal, w_noise = weights
    signal, noise = reduced.alignments(red, Wr)
    try:
        roots_s = np.array([root(w) if w > 0 else np.nan for w in w_signal])
        roots_n = np.array([root(w) for w in w_noise])
    except ValueError:
        return ScalarEquation(False, f"psi_w has no positive root (nu = {nu:.3g})", nu)
    present = w_signal > 0
    err = max(np.abs(roots_s[present] - signal[0, present]).max(), np.abs(roots_n - noise[0]).max())
    return ScalarEquation(
        True,
        "",
        nu,
        w_signal,
        w_noise,
        roots_s,
        roots_n,
        float(err),
        bool(off > ORTHO_TOL),
        float(off),
    )
