"""The exact diffusion loss on its symmetric branch, reduced to four numbers, and its stationary
point.

Setting: the tied denoiser of `sims.diffusion` with the noise-prediction (eps) objective at one
diffusion time (alpha, beta), output scale c, on patch directions that are mutually orthogonal: the
two signal vectors mu_j (each the signal patch of n_j samples) and the n noise patches xi_i, all of
one norm per kind.

The symmetric branch. Write W = A Q^T + R as in `theory.reduced` (A: the data-span part, R: the part
orthogonal to every patch). On the symmetric branch every neuron has the same data-span part, so
a_r = <w_r, z> = a_z for every neuron r and patch direction z, and the Gram matrix is

    G = W W^T = q 11^T + P (I - 11^T/m) + P1 11^T/m,      q = sum_z a_z^2 / ||z||^2,

R R^T = P (I - 11^T/m) + P1 11^T/m being isotropic on the complement of the all-ones vector 1 (P)
and along 1 (P1, "the sum mode" of R). The loss is invariant under permuting neurons, so the set of
such states is invariant under gradient flow: a flow that starts on it stays on it, and a stationary
point of the loss restricted to it is a stationary point of the full loss (the symmetric branch of
`theory.stationary`). With all a_r equal, eq. (E) of `sims.diffusion` for one patch of clean vector
z is

    T(a) = d - 4 c alpha beta a tr G + c^2 [ alpha^4 a^4 1'G1 + alpha^2 beta^2 a^2 (2 (1'G1)(tr G)/m
           + 4 ||G||_F^2) + beta^4 C(G) ],   C(G) = sum_rs G_rs G_rr G_ss + 2 sum_rs G_rs^3,

using G 1 = lambda1 1 (lambda1 = m q + P1), sum_rs G_rs (G_rr + G_ss) = 2 (tr G) lambda1 and
||G||_F^2 = lambda1^2 + (m - 1) P^2.

Groups. Put x_z = alpha a_z (the patch's part of the noised input). The patches enter the loss only
through q, where a direction z of weight w_z = n_z ||z||^2 (n_z the number of patches equal to z)
contributes B_z = x_z^2 / kappa_z with kappa_z = alpha^2 w_z / n per kind (both signals together:
kappa_s = alpha^2 n_j ||mu||^2 / n, B_s = 2 a_s^2 / ||mu||^2; the n noise patches together: kappa_n
= alpha^2 ||xi||^2 / n, B_n = n a_n^2 / ||xi||^2), and the loss is L = 1/2 [T(x_s) + T(x_n)] (an
average of the two patch kinds) whatever n is. With c = 1/m the substitution

    x = beta^(1/3) X,   (q, P, P1) = beta^(-4/3) (Q, P~, P1~),   kappa_z = beta^2 G_z

maps every term of L onto the same power of beta (checked in tests/test_symmetric.py), so the
stationary point in (X, Q, P~, P1~), and with it the ratio a_s / a_n = X_s / X_n, depends only on

    G_s = (alpha / beta)^2 n_j ||mu||^2 / n    (the signal group)
    G_n = (alpha / beta)^2 ||xi||^2 / n        (the noise group)

and m. The output scale c does not enter the ratio: L(W; c) = L((c m)^(1/3) W; 1/m). `theory.law`
derives the limits and the crossover of the ratio from this reduced loss; `sims.stepsize` uses the
stationary state to bound the curvature descent meets there.

In the scaled variables (beta = 1, c = 1/m; lambda1 = m Q + P1, g = (lambda1 + (m - 1) P)/m the
diagonal and o = (lambda1 - P)/m the off-diagonal entry of G):

    T(X) = -4 X g + X^4 lambda1/m + X^2 (2 g lambda1/m + 4 (lambda1^2 + (m - 1) P^2)/m^2)
    L(X_s, X_n, P, P1) = [T(X_s) + T(X_n)] / 2 + (g^2 lambda1 + 2 g^3 + 2 (m - 1) o^3)/m,
    Q = X_s^2 / G_s + X_n^2 / G_n,

up to the constant d. Its gradient below is derived by hand (chain rule through lambda1, g, o) and
checked against sympy and finite differences in the tests.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import optimize

MIN_START = (
    1e-3  # the minimisation starts from X = MIN_START * sqrt(G), P = P1 = MIN_START (small weights)
)
GTOL = 1e-13  # ||grad|| at which the Newton polish stops
GTOL_ACCEPT = 1e-9  # a minimisation that ends above this ||grad|| is restarted from another start
NEWTON_STEPS = 30


class SymmetricPoint(NamedTuple):
    """The stationary point of the symmetric reduced loss, in the scaled variables of the module
    docstring.

    ratio = X_s / X_n is the stationary signal/noise alignment ratio <w_r, mu_j> / <w_r, xi_i>; q =
    Q, P, P1 as above; `sum_mode` tells whether R's component along the all-ones vector survives (P1
    > 0); `grad_norm` is the reduced gradient's norm there."""

    X_s: float
    X_n: float
    Q: float
    P: float
    P1: float
    ratio: float
    loss: float
    grad_norm: float
    sum_mode: bool


def _parts(v: np.ndarray, G_s: float, G_n: float, m: int):
    X_s, X_n, P, P1 = v
    Q = X_s**2 / G_s + X_n**2 / G_n
    lam1 = m * Q + P1
    g = (lam1 + (m - 1) * P) / m
    o = (lam1 - P) / m
    return X_s, X_n, P, P1, Q, lam1, g, o


def loss_and_grad(v: np.ndarray, G_s: float, G_n: float, m: int) -> tuple[float, np.ndarray]:
    """(L, dL/dv) of the scaled symmetric loss at v = (X_s, X_n, P, P1) (module docstring)."""
    X_s, X_n, P, P1, Q, lam1, g, o = _parts(v, G_s, G_n, m)
    F2 = (lam1**2 + (m - 1) * P**2) / m**2  # ||G||_F^2 / m^2

    def T(x):
        return -4 * x * g + x**4 * lam1 / m + x**2 * (2 * g * lam1 / m + 4 * F2)

    loss = 0.5 * (T(X_s) + T(X_n)) + (g**2 * lam1 + 2 * g**3 + 2 * (m - 1) * o**3) / m
    # partial derivatives at fixed x, through lambda1, g, o and P
    d_lam1 = d_g = d_o = d_P = 0.0
    for x in (X_s, X_n):
        d_lam1 += 0.5 * (x**4 / m + x**2 * (2 * g / m + 8 * lam1 / m**2))
        d_g += 0.5 * (-4 * x + 2 * x**2 * lam1 / m)
        d_P += 0.5 * x**2 * 8 * (m - 1) * P / m**2
    d_lam1 += g**2 / m
    d_g += (2 * g * lam1 + 6 * g**2) / m
    d_o += 6 * (m - 1) * o**2 / m
    # lambda1 = m Q + P1, g = (lambda1 + (m - 1) P)/m, o = (lambda1 - P)/m
    D_lam1 = d_lam1 + d_g / m + d_o / m
    D_P = d_P + d_g * (m - 1) / m - d_o / m

    def dT_dx(x):
        return -4 * g + 4 * x**3 * lam1 / m + 2 * x * (2 * g * lam1 / m + 4 * F2)

    grad = np.array(
        [
            0.5 * dT_dx(X_s) + D_lam1 * m * 2 * X_s / G_s,
            0.5 * dT_dx(X_n) + D_lam1 * m * 2 * X_n / G_n,
            D_P,
            D_lam1,
        ]
    )
    return float(loss), grad


def _check(G_s: float, G_n: float, m: int) -> None:
    for name, v in (("G_s", G_s), ("G_n", G_n)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")
    if not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m must be a positive integer, got {m!r}")


def _polish(v: np.ndarray, G_s: float, G_n: float, m: int, free: np.ndarray) -> np.ndarray:
    """Newton steps on the gradient's free components (finite-difference Jacobian of the exact
    gradient), kept while they lower ||grad||."""
    best = v.copy()
    res = np.linalg.norm(loss_and_grad(best, G_s, G_n, m)[1][free])
    for _ in range(NEWTON_STEPS):
        if res < GTOL * max(1.0, np.abs(best).max()):
            break
        idx = np.flatnonzero(free)
        J = np.empty((len(idx), len(idx)))
        for k, i in enumerate(idx):
            h = 1e-7 * max(abs(best[i]), 1e-7)
            up, dn = best.copy(), best.copy()
            up[i] += h
            dn[i] -= h
            J[:, k] = (
                loss_and_grad(up, G_s, G_n, m)[1][free] - loss_and_grad(dn, G_s, G_n, m)[1][free]
            ) / (2 * h)
        try:
            step = np.linalg.solve(J, loss_and_grad(best, G_s, G_n, m)[1][free])
        except np.linalg.LinAlgError:
            break
        trial = best.copy()
        trial[free] -= step
        trial = np.maximum(trial, 0.0)
        r = np.linalg.norm(loss_and_grad(trial, G_s, G_n, m)[1][free])
        if not np.isfinite(r) or r >= res:
            break
        best, res = trial, r
    return best


def _minimise(G_s: float, G_n: float, m: int, start: np.ndarray, sum_mode: bool) -> np.ndarray:
    """L-BFGS-B from `start` over X_s, X_n > 0, P >= 0 (fixed at 0 for m = 1) and P1 >= 0 (fixed at
    0 unless `sum_mode`), then Newton on the free variables."""
    bounds = [
        (1e-300, None),
        (1e-300, None),
        (0.0, None) if m > 1 else (0.0, 0.0),
        (0.0, None) if sum_mode else (0.0, 0.0),
    ]
    start = np.where([True, True, m > 1, sum_mode], start, 0.0)
    sol = optimize.minimize(
        lambda v: loss_and_grad(v, G_s, G_n, m),
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-16, "gtol": 1e-14, "maxiter": 50_000, "maxcor": 20},
    )
    v = sol.x
    return _polish(v, G_s, G_n, m, _free(v, m))


def _free(v: np.ndarray, m: int) -> np.ndarray:
    return np.array([True, True, m > 1 and v[2] > 0, v[3] > 0])


def _residual(v, G_s, G_n, m) -> float:
    """||grad L|| on the free variables, relative to the gradient's scale (the linear term's 4)."""
    return float(np.linalg.norm(loss_and_grad(v, G_s, G_n, m)[1][_free(v, m)]))


def stationary(
    G_s: float, G_n: float, m: int, near: SymmetricPoint | None = None
) -> SymmetricPoint:
    """The stationary point the symmetric flow reaches from small weights: the minimum of the scaled
    loss over X_s, X_n > 0, P >= 0 with the sum mode dead (P1 = 0), found by L-BFGS-B from small
    values and Newton steps; then the sum mode's test: where the loss falls along it there
    (dL/dP1 < 0), R's all-ones component survives, the minimum is sought with P1 free, and the
    all-ones condition dL/dlambda1 = 0 makes every patch solve one equation (ratio 1); where it
    rises, P1 = 0 (the sum mode dies out). Each minimisation restarts from other small starts if it
    ends with ||grad L|| above GTOL_ACCEPT; a ValueError if none converges. `near`: the point at
    nearby groups (e.g. for a derivative), from which Newton steps alone are tried first, kept if
    they converge with the same sum mode and pass its test."""
    _check(G_s, G_n, m)
    if near is not None:
        v = np.array([near.X_s, near.X_n, near.P, near.P1])
        v = _polish(v, G_s, G_n, m, _free(v, m))
        grad = loss_and_grad(v, G_s, G_n, m)[1]
        if (
            _residual(v, G_s, G_n, m) <= GTOL_ACCEPT
            and (v[3] > 0) == near.sum_mode
            and (near.sum_mode or grad[3] >= 0)
        ):
            return _point(v, G_s, G_n, m)
    base = np.array([MIN_START * math.sqrt(G_s), MIN_START * math.sqrt(G_n), MIN_START, MIN_START])
    starts = [base * f for f in (1.0, 10.0, 0.1, 100.0)]

    def converged(sum_mode: bool, first: np.ndarray | None = None) -> np.ndarray:
        tried = ([first] if first is not None else []) + starts
        best = None
        for start in tried:
            v = _minimise(G_s, G_n, m, start, sum_mode)
            if _residual(v, G_s, G_n, m) <= GTOL_ACCEPT:
                return v
            if (
                best is None
                or loss_and_grad(v, G_s, G_n, m)[0] < loss_and_grad(best, G_s, G_n, m)[0]
            ):
                best = v
        raise ValueError(
            f"the symmetric loss's minimisation did not converge at G_s = {G_s:g}, G_n = {G_n:g}, "
            f"m = {m} (||grad L|| = {_residual(best, G_s, G_n, m):.2g})"
        )

    v = converged(False)
    if loss_and_grad(v, G_s, G_n, m)[1][3] < 0:  # the loss falls along the sum mode: it survives
        trial = v.copy()
        trial[3] = MIN_START * max(abs(v[2]), MIN_START)
        v = converged(True, trial)
    return _point(v, G_s, G_n, m)


def _point(v: np.ndarray, G_s: float, G_n: float, m: int) -> SymmetricPoint:
    loss, grad = loss_and_grad(v, G_s, G_n, m)
    X_s, X_n, P, P1 = (float(t) for t in v)
    Q = X_s**2 / G_s + X_n**2 / G_n
    return SymmetricPoint(
        X_s, X_n, Q, P, P1, X_s / X_n, loss, float(np.linalg.norm(grad[_free(v, m)])), P1 > 0
    )


def groups(alpha: float, beta: float, n: int, signal_weight: float, noise_weight: float) -> tuple:
    """(G_s, G_n) = (alpha/beta)^2 (signal_weight, noise_weight) / n: signal_weight = n_j ||mu||^2
    (a signal direction's weight), noise_weight = ||xi||^2 (a noise patch's)."""
    k = (alpha / beta) ** 2 / n
    return k * signal_weight, k * noise_weight


def filters(
    v,
    m: int,
    *,
    alpha: float,
    beta: float,
    c: float,
    signals: np.ndarray,
    noise: np.ndarray,
    orthogonal: np.ndarray,
) -> np.ndarray:
    """The m filters W (m, d) of the symmetric state v = (X_s, X_n, P, P1) (scaled variables) for
    data with signal vectors `signals` (2, d) and noise patches `noise` (n, d): every filter has the
    data-span part sum_z (a_z / ||z||^2) z, and R R^T = P (I - 11^T/m) + P1 11^T/m is built on the
    orthonormal rows `orthogonal` (j, d), orthogonal to the data (when j < m, on the j largest
    eigenvalues). Undoes the scaling: alpha a_z = beta^(1/3) X_z and R R^T = beta^(-4/3) (...) at c
    = 1/m, and W = (c m)^(-1/3) W_(1/m) for another output scale c."""
    X_s, X_n, P, P1 = (float(t) for t in v)
    to_w = (c * m) ** (-1 / 3)
    a_s, a_n = (beta ** (1 / 3) * X / alpha for X in (X_s, X_n))
    data_part = a_s * np.sum(signals / np.sum(signals**2, axis=1, keepdims=True), axis=0)
    data_part = data_part + a_n * np.sum(noise / np.sum(noise**2, axis=1, keepdims=True), axis=0)
    ones = np.ones((m, 1)) / math.sqrt(m)
    gram = beta ** (-4 / 3) * (P * (np.eye(m) - ones @ ones.T) + P1 * (ones @ ones.T))
    values, vectors = np.linalg.eigh(gram)
    j = orthogonal.shape[0]
    keep = np.argsort(values)[::-1][:j]
    R = (vectors[:, keep] * np.sqrt(np.maximum(values[keep], 0.0))) @ orthogonal[: len(keep)]
    return to_w * (np.tile(data_part, (m, 1)) + R)


def stationary_filters(
    alpha: float, beta: float, c: float, m: int, data, orthogonal: np.ndarray | None = None
) -> np.ndarray:
    """The law's guess of the stationary filters for `data` (a Dataset, possibly in span
    coordinates): the symmetric stationary point at the data's groups (mean signal weight n_j
    ||mu_j||^2 over the two classes, mean noise weight ||xi_i||^2), built on the data's own signal
    vectors and noise patches, with R on `orthogonal` (default: the orthonormal complement of the
    data's span in its coordinates)."""
    counts = np.bincount(data.signal_index, minlength=data.signals.shape[0])[:2]
    signals = data.signals[:2]
    w_signal = float(np.mean(counts * np.sum(signals**2, axis=1)))
    w_noise = float(np.mean(np.sum(data.x2**2, axis=1)))
    G_s, G_n = groups(alpha, beta, data.n, w_signal, w_noise)
    point = stationary(G_s, G_n, m)
    if orthogonal is None:
        rows = np.vstack([data.signals, data.x1, data.x2])
        _, s, vt = np.linalg.svd(rows, full_matrices=True)
        rank = int(np.sum(s > 1e-10 * s.max()))
        orthogonal = vt[rank:][:m]
    v = (point.X_s, point.X_n, point.P, point.P1)
    return filters(
        v, m, alpha=alpha, beta=beta, c=c, signals=signals, noise=data.x2, orthogonal=orthogonal
    )
