"""Early learning of the untied and the fixed-output denoiser (sims.untied) at small sigma0.

1. Eq. (U) by Wick's theorem: `expected_patch_loss(m)` takes the expectation of the expanded
   square over the jointly Gaussian (e_r = <w_r, eps>, eta_r = <v_r, eps>, zeta = <z, eps>),
   independently of the moment algebra of sims.untied; `closed_patch_loss(m)` is eq. (U) as
   sims.untied states it; the tests show they are equal and that sims.untied evaluates it.

2. The leading-order flow. With W, V ~ sigma0 the loss's cubic part (degree 2 in W, 1 in V) gives
   the gradient's lowest order, sigma0^2; the sextic part enters at sigma0^5. The cubic part is a
   sum over neurons, so at this order each neuron moves on its own, and in the invariants of one
   neuron (a_k = <w, z_k>, q_k = <v, z_k> over the 2n patches, C = <w, v>, G = ||w||^2,
   H = ||v||^2; K the patches' Gram, s = sum_k z_k, S = sum_k a_k, Q = sum_k q_k, kappa_x =
   k_x / (2n) for the weights k1e, k1x, k5 of sims.untied) the flow dW/dtau = -grad L is closed:
       da_j/dtau = kappa_1e (C (K 1)_j + S q_j) + 2 kappa_5 (K (a q))_j + 2 kappa_1x Q a_j
       dq_j/dtau = kappa_1x G (K 1)_j + kappa_5 (K a^2)_j + kappa_1e S a_j
       dC/dtau   = kappa_1e (C Q + S H + S G) + kappa_1x (2 Q C + G S)
                   + kappa_5 sum_k (2 a_k q_k^2 + a_k^3)
       dG/dtau   = 4 kappa_1e S C + 4 kappa_5 sum_k a_k^2 q_k + 4 kappa_1x Q G
       dH/dtau   = 2 kappa_1e S C + 2 kappa_5 sum_k a_k^2 q_k + 2 kappa_1x Q G
   ((K 1)_j = <s, z_j>; fixed output: the output layer's terms vanish, dq = dH = 0, and dC keeps
   <dw, v> only). `leading_rates` is its right-hand side at the initial weights, the analogue of
   the tied model's d<w_r, z>/dtau = k1/(2n) G_rr n_z ||z||^2 (theory.predict, theory.derive); it
   is the exact initial rate to relative O(sigma0^3). `leading_flow` integrates it: in the time
   tau sigma0 it is the sigma0 -> 0 limit of descent, for any data and target, until the output
   reaches the target's scale (the sextic part) and ends the early phase.

3. The growth kind (noise prediction, a = 0: k1x = k5 = 0). Tied, the leading rate is a drift:
   G_rr ~ sigma0^2 d from the start, linear growth. Untied, its place is taken by C_rr =
   <w_r, v_r>, which starts at ~ sigma0^2 sqrt(d) with a random sign, and the gradient of w_r
   holds <v_r, .>:
       d<w_r, x>/dtau = kappa_1e (C_r <s, x> + S_r <v_r, x>),
       d<v_r, x>/dtau = kappa_1e S_r <w_r, x>,
       dS_r/dtau = kappa_1e (||s||^2 C_r + Q_r S_r),  dC_r/dtau = kappa_1e (N_r S_r + Q_r C_r),
   N_r = G_rr + H_rr (fixed output: H_rr). With N_r and Q_r at their initial values (S_r, C_r) is
   linear: exponential growth (`growth_rates`) at
       lambda_r = kappa_1e (Q_r + ||s|| sqrt(N_r)) ~ kappa_1e sigma0 sqrt(2d) ||s||,
   proportional to sigma0 (the classifier's rates are not); a neuron's sign of growth is that of
   sqrt(N_r) S_r + ||s|| C_r (f is even in w_r: a neuron growing negative is a mirror image).
   `linear_alignments` is this closed form; N_r, Q_r and <v_r, x> move at relative order
   e^(2 lambda tau) / d, so it holds longer at larger d. The signal-to-noise ratio of the growth
   is that of <s, x>: per neuron, d<w_r, mu_j> / d<w_r, xi_i> -> <s, mu_j> / <s, xi_i> =
   n_j ||mu||^2 / ||xi_i||^2 for orthogonal data (`rate_ratio`), the tied model's ratio, up to the
   S_r <v_r, x> terms, smaller by ~ ||s|| / (n_x ||x|| sqrt(2d)). Untying changes the growth from
   linear to exponential, not the ratio: both features grow with one exponent per neuron, unlike
   the classifier's two exponents.
   Targets with an x0 part (x0, v, velocity): the k1x term is a drift of the output layer,
   d<v_r, x>/dtau = kappa_1x G_rr <s, x> (the tied drift, now in V), which then grows ||w_r|| at
   rate 2 kappa_1x Q_r: `leading_flow` follows it; there is no closed form here.

4. Predictions for one setting (`fldm predict untied`, `fldm predict fixed-output`): the summaries'
   exact and leading-order initial rates for W and V, the growth kind, each neuron's rate lambda_r
   and the rate ratio above (`UntiedPrediction`; `untied_lines` in words, `read_untied` for the
   studies).

What this does not reach: the stationary points (no law of them is derived here) and the early
phase past the point where the output reaches the target's scale. The long-time flow is followed
exactly, not in closed form: the part of [W; V] outside the data evolves by the 2m x 2m matrix S of
sims.untied, so theory.reduced writes descent in span coordinates (W and V's parts in the data span
and in the span of their initial parts outside it) and `fldm ode untied` integrates it. Untied
noise prediction at m >= 2 did not settle where it was measured (d = 500, m = 2, n SNR^2 = 0.5:
cancelling neuron pairs whose norms and curvature grow over tau = 76 to 605, sims.untied), and no
fixed step size follows it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np
import sympy as sp
from scipy import integrate
from scipy.linalg import expm

from sims import io
from sims.diffusion import output_scale, targets_of
from sims.untied import exact_objective, split, untied_weights
from theory import law
from theory.derive import (
    align_symbols,
    alpha,
    beta,
    c,
    d,
    eps_coef,
    gaussian_expectation,
    gram_symbols,
    x0_coef,
    z2,
)
from theory.predict import HEADLINE, Pair, departures, patch_weights

# ---- 1. eq. (U) by Wick's theorem ---------------------------------------------------------------


def _untied_symbols(m: int):
    """a_r, q_r, G, H (symmetric) and C (general) as sympy symbols."""
    q = [sp.Symbol(f"q{r + 1}", real=True) for r in range(m)]
    H = sp.Matrix(m, m, lambda r, s: sp.Symbol(f"H{min(r, s) + 1}{max(r, s) + 1}", real=True))
    C = sp.Matrix(m, m, lambda r, s: sp.Symbol(f"C{r + 1}{s + 1}", real=True))
    return align_symbols(m), q, gram_symbols(m), H, C


@cache
def expected_patch_loss(m: int):
    """E_eps ||f(W, V, alpha z + beta eps) - a z - b eps||^2 from Wick pairings over the Gaussian
    vector (e_1 .. e_m, eta_1 .. eta_m, zeta) of covariance [[G, C, a], [C^T, H, q], [a^T, q^T,
    z2]]."""
    al, q, G, H, C = _untied_symbols(m)
    e = [sp.Symbol(f"e{r + 1}", real=True) for r in range(m)]
    eta = [sp.Symbol(f"eta{r + 1}", real=True) for r in range(m)]
    zeta = sp.Symbol("zeta", real=True)
    cov = sp.zeros(2 * m + 1, 2 * m + 1)
    cov[:m, :m], cov[m : 2 * m, m : 2 * m] = G, H
    cov[:m, m : 2 * m], cov[m : 2 * m, :m] = C, C.T
    for r in range(m):
        cov[r, 2 * m] = cov[2 * m, r] = al[r]  # E[<w_r, eps> <z, eps>] = <w_r, z>
        cov[m + r, 2 * m] = cov[2 * m, m + r] = q[r]
    cov[2 * m, 2 * m] = z2
    h = [alpha * al[r] + beta * e[r] for r in range(m)]
    f_norm2 = c**2 * sum(h[r] ** 2 * h[s] ** 2 * H[r, s] for r in range(m) for s in range(m))
    f_dot_z = c * sum(h[r] ** 2 * q[r] for r in range(m))  # <v_r, z> = q_r
    f_dot_eps = c * sum(h[r] ** 2 * eta[r] for r in range(m))  # <v_r, eps> = eta_r
    a, b = x0_coef, eps_coef
    expr = f_norm2 - 2 * a * f_dot_z - 2 * b * f_dot_eps + a**2 * z2 + 2 * a * b * zeta
    return gaussian_expectation(expr, e + eta + [zeta], cov) + b**2 * d


def closed_patch_loss(m: int):
    """Eq. (U): c^2 sum_rs H_rs M_rs - 4 b c alpha beta sum_r a_r C_rr
    - 2 a c sum_r (alpha^2 a_r^2 + beta^2 G_rr) q_r + a^2 ||z||^2 + b^2 d."""
    al, q, G, H, C = _untied_symbols(m)
    M = lambda r, s: (
        alpha**4 * al[r] ** 2 * al[s] ** 2
        + alpha**2 * beta**2 * (al[r] ** 2 * G[s, s] + al[s] ** 2 * G[r, r])
        + alpha**2 * beta**2 * 4 * al[r] * al[s] * G[r, s]
        + beta**4 * (G[r, r] * G[s, s] + 2 * G[r, s] ** 2)
    )
    a, b = x0_coef, eps_coef
    R = range(m)
    return sp.expand(
        c**2 * sum(H[r, s] * M(r, s) for r in R for s in R)
        - 4 * b * c * alpha * beta * sum(al[r] * C[r, r] for r in R)
        - 2 * a * c * sum((alpha**2 * al[r] ** 2 + beta**2 * G[r, r]) * q[r] for r in R)
        + a**2 * z2
        + b**2 * d
    )


# ---- 2. the leading-order flow ------------------------------------------------------------------


class Neurons(NamedTuple):
    """Per-neuron invariants (or their rates): a (m, 2n) = <w_r, z_k>, q (m, 2n) = <v_r, z_k>
    over the patches z = [x1; x2], C = <w_r, v_r>, G = ||w_r||^2, H = ||v_r||^2 (m,)."""

    a: np.ndarray
    q: np.ndarray
    C: np.ndarray
    G: np.ndarray
    H: np.ndarray


def invariants(WV: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> Neurons:
    """The Neurons of weights WV (2, m, d) on the patches x1, x2."""
    W, V = split(WV)
    Z = np.concatenate([x1, x2])
    return Neurons(W @ Z.T, V @ Z.T, np.sum(W * V, 1), np.sum(W * W, 1), np.sum(V * V, 1))


def kappas_of(times, objective: str, m: int, n: int, scale: float | None) -> tuple:
    """(k1e, k1x, k5) / (2n): the cubic part's weights (sims.untied.untied_weights) per patch."""
    k = untied_weights(targets_of(times, objective), output_scale(m, scale))
    return k.k1e / (2 * n), k.k1x / (2 * n), k.k5 / (2 * n)


def leading_rhs(state: Neurons, K: np.ndarray, kappas, train_output: bool = True) -> Neurons:
    """d/dtau of the invariants under the flow of the loss's cubic part (module docstring, 2.), for
    the patches' Gram K (2n, 2n) and kappas = (k1e, k1x, k5) / (2n)."""
    e, x, f = kappas
    a, q, C, G, H = state
    Ks = K.sum(axis=1)  # (K 1)_j = <s, z_j>
    S, Q = a.sum(axis=1), q.sum(axis=1)
    # -grad_w = k1e (C s + S v) + 2 k5 sum_k a_k q_k z_k + 2 k1x Q w   (each times 1 / (2n))
    da = e * (C[:, None] * Ks + S[:, None] * q) + 2 * f * (a * q) @ K + 2 * x * Q[:, None] * a
    w_v = e * (C * Q + S * H) + 2 * f * np.sum(a * q * q, 1) + 2 * x * Q * C  # <-grad_w, v>
    w_w = e * 2 * S * C + 2 * f * np.sum(a * a * q, 1) + 2 * x * Q * G  # <-grad_w, w>
    if not train_output:
        return Neurons(da, np.zeros_like(q), w_v, 2 * w_w, np.zeros_like(H))
    # -grad_v = k1x G s + k5 sum_k a_k^2 z_k + k1e S w
    dq = x * G[:, None] * Ks + f * (a * a) @ K + e * S[:, None] * a
    v_w = x * G * S + f * np.sum(a**3, 1) + e * S * G  # <-grad_v, w>
    v_v = x * G * Q + f * np.sum(a * a * q, 1) + e * S * C  # <-grad_v, v>
    return Neurons(da, dq, w_v + v_w, 2 * w_w, 2 * v_v)


def leading_move(WV, x1, x2, kappas, train_output: bool = True) -> tuple:
    """(dW, dV)/dtau (m, d) each under the flow of the loss's cubic part, as vectors: with the
    patches Z = [x1; x2], s = sum_k z_k, S_r = <w_r, s>, Q_r = <v_r, s>, G_rr = ||w_r||^2,
        dw_r = k1e (C_r s + S_r v_r) + 2 k5 sum_k a_kr q_kr z_k + 2 k1x Q_r w_r,
        dv_r = k1x G_rr s + k5 sum_k a_kr^2 z_k + k1e S_r w_r         (0 with a fixed output),
    kappas = (k1e, k1x, k5) / (2n): `leading_rhs` read along any direction x (<dw_r, x>)."""
    e, x, f = kappas
    W, V = split(WV)
    Z = np.concatenate([x1, x2])
    A, Q = Z @ W.T, Z @ V.T
    s = Z.sum(axis=0)
    S, Qs, C, G = W @ s, V @ s, np.sum(W * V, 1), np.sum(W * W, 1)
    dW = e * (C[:, None] * s + S[:, None] * V) + 2 * f * (A * Q).T @ Z + 2 * x * Qs[:, None] * W
    if not train_output:
        return dW, np.zeros_like(V)
    dV = x * G[:, None] * s + f * (A * A).T @ Z + e * S[:, None] * W
    return dW, dV


def leading_rates(
    WV, x1, x2, times, objective="eps", *, scale=None, train_output: bool = True
) -> Neurons:
    """The lowest-order rates d/dtau of every invariant at WV (2, m, d): a_kr and q_kr at order
    sigma0^2, C, G, H at order sigma0^3 (the analogue of the tied k1/(2n) G_rr n_z ||z||^2)."""
    K = np.concatenate([x1, x2]) @ np.concatenate([x1, x2]).T
    kappas = kappas_of(times, objective, WV.shape[-2], x1.shape[0], scale)
    return leading_rhs(invariants(WV, x1, x2), K, kappas, train_output)


def leading_flow(
    WV, x1, x2, taus, times, objective="eps", *, scale=None, train_output=True, rtol=1e-10
) -> Neurons:
    """The invariants along the leading-order flow from WV at the times taus (each field with a
    leading axis over taus), by scipy's solve_ivp (DOP853, rtol; atol rtol times initial sizes)."""
    K = np.concatenate([x1, x2]) @ np.concatenate([x1, x2]).T
    kappas = kappas_of(times, objective, WV.shape[-2], x1.shape[0], scale)
    start = invariants(WV, x1, x2)
    shapes = [np.shape(v) for v in start]
    sizes = np.cumsum([0] + [int(np.prod(s)) for s in shapes])

    def unpack(y):  # y (size,) or (size, times) -> Neurons of fields (shape) or (shape + (times,))
        parts = zip(sizes[:-1], sizes[1:], shapes)
        return Neurons(*(y[i:j].reshape(s + y.shape[1:]) for i, j, s in parts))

    def rhs(_, y):
        return np.concatenate([v.ravel() for v in leading_rhs(unpack(y), K, kappas, train_output)])

    y0 = np.concatenate([v.ravel() for v in start])
    scales = np.concatenate([np.full(v.size, np.abs(v).max()) for v in start])
    sol = integrate.solve_ivp(
        rhs,
        (0.0, float(np.max(taus))),
        y0,
        method="DOP853",
        t_eval=np.asarray(taus, float),
        rtol=rtol,
        atol=rtol * scales,
    )
    if not sol.success:  # the cubic flow can blow up in finite time: the early phase ends before
        reached = (
            f"after tau = {sol.t[-1]:.4g}" if sol.t.size else f"before tau = {np.min(taus):.4g}"
        )
        raise RuntimeError(f"the leading-order flow stopped {reached}: {sol.message}")
    return Neurons(*(np.moveaxis(v, -1, 0) for v in unpack(sol.y)))


# ---- 3. noise prediction: the linearised growth -------------------------------------------------


def _eps_only(times, objective, m, n, scale):
    e, x, f = kappas_of(times, objective, m, n, scale)
    if x != 0 or f != 0:
        raise ValueError(
            f"the closed-form growth is for targets without an x0 part; {objective!r} has one "
            "(use leading_flow)"
        )
    return e


def _linear_system(WV, x1, x2, train_output):
    """(S0, C0, Q, N, ||s||^2) per neuron: the linear system's state and coefficients."""
    W, V = split(WV)
    s = np.concatenate([x1, x2]).sum(axis=0)
    N = np.sum(V * V, 1) + (np.sum(W * W, 1) if train_output else 0.0)
    return W @ s, np.sum(W * V, 1), V @ s, N, s @ s


def growth_rates(
    WV, x1, x2, times, objective="eps", *, scale=None, train_output=True
) -> np.ndarray:
    """lambda_r = kappa_1e (Q_r + ||s|| sqrt(N_r)) (m,): the exponential growth rate of each neuron
    under noise prediction (N_r = G_rr + H_rr untied, H_rr with fixed output)."""
    e = _eps_only(times, objective, WV.shape[-2], x1.shape[0], scale)
    _, _, Q, N, s2 = _linear_system(WV, x1, x2, train_output)
    return e * (Q + np.sqrt(s2 * N))


def linear_alignments(
    WV, x1, x2, probes, taus, times, objective="eps", *, scale=None, train_output=True
) -> np.ndarray:
    """<w_r, x>(tau) (len(taus), m, P) for the probes x (P, d) from the linearised flow of
    noise prediction: (S, C)' = kappa_1e M (S, C), M = [[Q, ||s||^2], [N, Q]], solved by
    exp(kappa_1e M tau), and d<w_r, x>/dtau = kappa_1e (C <s, x> + S <v_r, x>) integrated with
    <v_r, x> held at its start: <w_r, x>(tau) = <w_r, x>(0) + kappa_1e (I_C <s, x> + I_S <v_r, x>),
    (I_S, I_C) = (kappa_1e M)^-1 (exp(kappa_1e M tau) - 1) (S0, C0)."""
    e = _eps_only(times, objective, WV.shape[-2], x1.shape[0], scale)
    W, V = split(WV)
    S0, C0, Q, N, s2 = _linear_system(WV, x1, x2, train_output)
    s = np.concatenate([x1, x2]).sum(axis=0)
    out = np.empty((len(taus), W.shape[0], probes.shape[0]))
    for r in range(W.shape[0]):
        M = e * np.array([[Q[r], s2], [N[r], Q[r]]])
        for i, tau in enumerate(taus):
            I_S, I_C = np.linalg.solve(M, (expm(M * tau) - np.eye(2)) @ (S0[r], C0[r]))
            out[i, r] = W[r] @ probes.T + e * (I_C * (probes @ s) + I_S * (V[r] @ probes.T))
    return out


def rate_ratio(x1, x2, signal, noise) -> float:
    """<s, signal> / <s, noise>, s the sum of the 2n patches: the ratio of the growth of
    <w_r, signal> and <w_r, noise> once C_r drives it (n_j ||mu||^2 / ||xi_i||^2 for orthogonal
    data, as tied)."""
    s = np.concatenate([x1, x2]).sum(axis=0)
    return float((s @ signal) / (s @ noise))


def ratio_correction(x1, x2, x, d: int) -> float:
    """||s|| ||x|| / (sqrt(2d) |<s, x>|): the relative size of the S_r <v_r, x> term beside
    C_r <s, x> in the growing mode (S_r / C_r = ||s|| / sqrt(N_r), <v_r, x> ~ sigma0 ||x||,
    N_r ~ 2 sigma0^2 d). The ratio of two probes' rates departs from `rate_ratio` by about the sum
    of their corrections times standard normals; d: the patch dimension (x may be coordinates)."""
    s = np.concatenate([x1, x2]).sum(axis=0)
    return float(np.linalg.norm(s) * np.linalg.norm(x) / (np.sqrt(2 * d) * abs(s @ x)))


# ---- 4. predictions for one setting (`fldm predict untied`, `fldm predict fixed-output`) ---------

NOT_REACHED = (
    "the stationary points and the long-time flow: no law of them is derived for the untied "
    "models (`fldm ode` follows the exact flow in span coordinates instead)",
    "the early phase past the point where the output reaches the target's scale (the sextic part "
    "of eq. U)",
)
NO_STEP_BOUND = (
    "a step-size bound late in descent for noise prediction at m >= 2: pairs of neurons with "
    "w_2 ~ -w_1, v_2 ~ -v_1 cancel while their norms and the curvature keep growing, so descent "
    "with any fixed eta leaves the flow at some point (its checks report a rising loss)"
)


@dataclass(frozen=True)
class UntiedPrediction:
    """The early learning of the untied or the fixed-output denoiser (module docstring, 2. and 3.);
    `to_dict()` is the JSON `fldm predict` prints. Alignments are magnitudes of the first layer's
    (the model's summary); the output layer's are ⟨v_r, .⟩."""

    nsnr2: float
    eta: float
    objective: str
    output_trained: bool  # False for the fixed-output denoiser
    initial: Pair  # the summary alignments at tau = 0
    initial_rates: Pair  # their exact d/dtau at tau = 0 (from the full gradient)
    output_initial_rates: Pair  # d/dtau of mean_j max_r |<v_r, mu_j>|, mean_i max_r |<v_r, xi_i>|
    leading_rates: Pair  # the summaries' rates from the leading-order flow (lowest order in sigma0)
    growth: str  # "exponential" (noise prediction) or "output-layer drift" (an x0 part)
    growth_rates: list | None  # lambda_r per neuron (noise prediction), per unit tau
    growth_rate: float | None  # max_r lambda_r
    growth_rate_formula: float | None  # kappa_1e sigma0 sqrt(2d) ||s|| (fixed output: sqrt(d))
    efold_steps: float | None  # 1 / (growth_rate eta): steps per factor e of growth
    rate_ratio: float  # mean_j <s, mu_j> / mean_i <s, xi_i>: what each neuron's ratio tends to
    rate_ratio_formula: float  # mean_j n_j ||mu_j||^2 / mean_i ||xi_i||^2 (Definition 2.1)
    ratio_correction: float  # the relative spread of a neuron's ratio about rate_ratio
    not_reached: list  # what the theory does not reach, in words
    not_definition_2_1: list
    regime: law.Regime  # not covered: the stationary-ratio law is the tied model's
    model: str = "untied"

    def to_dict(self) -> dict:
        return io.plain(self)


class UntiedReading(NamedTuple):
    """The numbers of an untied or fixed-output prediction (its to_dict()) the studies read."""

    growth_ratio: float | None  # rate_ratio: each neuron's signal/noise growth ratio
    growth: str | None  # "exponential" or "output-layer drift"
    growth_rate: float | None  # the fastest neuron's exponential rate (noise prediction)
    early_rates: Pair  # initial_rates


def read_untied(p: dict) -> UntiedReading:
    return UntiedReading(
        growth_ratio=p.get("rate_ratio"),
        growth=p.get("growth"),
        growth_rate=p.get("growth_rate"),
        early_rates=Pair(**p["initial_rates"]),
    )


def _headline_rates(align: tuple, rates: tuple) -> Pair:
    """d/dtau of (mean_j max_r |<x_r, mu_j>|, mean_i max_r |<x_r, xi_i>|) from the alignments
    (signal (m, F), noise (m, n)) and their rates, each through the neuron with the largest |.|."""
    (s, z), (ds, dz) = align, rates
    cols = np.array(HEADLINE)
    rs, rz = np.abs(s[:, cols]).argmax(axis=0), np.abs(z).argmax(axis=0)
    n = np.arange(z.shape[1])
    return Pair(
        float(np.mean(np.sign(s[rs, cols]) * ds[rs, cols])),
        float(np.mean(np.sign(z[rz, n]) * dz[rz, n])),
    )


def _predict(cfg, data, W0, eta, train_output: bool) -> UntiedPrediction:
    times, objective = cfg.diffusion_times, cfg.objective
    targets = targets_of(times, objective)
    x1, x2, mu = data.x1, data.x2, data.signals
    fun = exact_objective(x1, x2, targets, scale=cfg.scale, train_output=train_output)
    move = -fun(W0)[1]  # dWV/dtau at tau = 0
    W, V = split(W0)
    dW, dV = split(move)
    initial = Pair(*_summary_pair(W @ mu.T, W @ x2.T))
    e, x, f = kappas_of(times, objective, cfg.m, data.n, cfg.scale)
    s = np.concatenate([x1, x2]).sum(axis=0)
    exponential = x == 0 and f == 0
    rates = lambdas = formula = efold = None
    if exponential:
        lambdas = growth_rates(
            W0, x1, x2, times, objective, scale=cfg.scale, train_output=train_output
        )
        rates = float(np.max(lambdas))
        width = 2 * data.d if train_output else data.d  # N_r = G_rr + H_rr, or H_rr alone
        formula = float(e * cfg.sigma0 * np.sqrt(width) * np.linalg.norm(s))
        efold = 1.0 / (rates * eta) if rates > 0 else None
    w_signal, w_noise = patch_weights(data)
    cols = np.array(HEADLINE)
    dW_lead = leading_move(W0, x1, x2, (e, x, f), train_output)[0]
    return UntiedPrediction(
        nsnr2=data.nsnr2,
        eta=eta,
        objective=objective,
        output_trained=train_output,
        initial=initial,
        initial_rates=_headline_rates((W @ mu.T, W @ x2.T), (dW @ mu.T, dW @ x2.T)),
        output_initial_rates=_headline_rates((V @ mu.T, V @ x2.T), (dV @ mu.T, dV @ x2.T)),
        leading_rates=_headline_rates((W @ mu.T, W @ x2.T), (dW_lead @ mu.T, dW_lead @ x2.T)),
        growth="exponential" if exponential else "output-layer drift",
        growth_rates=None if lambdas is None else [float(v) for v in lambdas],
        growth_rate=rates,
        growth_rate_formula=formula,
        efold_steps=efold,
        rate_ratio=float(np.mean(s @ mu[cols].T) / np.mean(s @ x2.T)),
        rate_ratio_formula=float(np.mean(w_signal[cols]) / np.mean(w_noise)),
        ratio_correction=float(
            np.mean([ratio_correction(x1, x2, z, data.d) for z in (*mu[cols], *x2)])
        ),
        not_reached=list(NOT_REACHED)
        + ([NO_STEP_BOUND] if exponential and train_output and cfg.m >= 2 else []),
        not_definition_2_1=departures(cfg, data),
        regime=law.not_covered("the stationary-ratio law is the tied denoiser's (D2)"),
        model=cfg.model,
    )


def _summary_pair(signal: np.ndarray, noise: np.ndarray) -> tuple[float, float]:
    """(mean_j max_r |<x_r, mu_j>|, mean_i max_r |<x_r, xi_i>|) over the headline columns."""
    return (
        float(np.abs(signal[:, HEADLINE]).max(axis=0).mean()),
        float(np.abs(noise).max(axis=0).mean()),
    )


def predict_untied(cfg, data, W0, eta) -> UntiedPrediction:
    """The untied denoiser's predictions for a setting (sims.models `theory.predict`)."""
    return _predict(cfg, data, W0, eta, train_output=True)


def predict_fixed_output(cfg, data, W0, eta) -> UntiedPrediction:
    """The fixed-output denoiser's predictions for a setting."""
    return _predict(cfg, data, W0, eta, train_output=False)


def untied_lines(p: dict) -> list[str]:
    """The prediction in words (theory.explain)."""
    r, v = p["initial_rates"], p["output_initial_rates"]
    output = (
        f"the output layer's at {v['signal']:.4g} and {v['noise']:.4g}"
        if p["output_trained"]
        else "the output layer is fixed"
    )
    lines = [
        f"- At τ = 0 the first layer's alignments move at {r['signal']:.4g} (signal) and "
        f"{r['noise']:.4g} (noise) per unit τ, {output} (of order σ0², from the cubic part of "
        "the loss).",
    ]
    if p["growth"] == "exponential":
        lines.append(
            f"- Early growth: exponential, one rate per neuron for both features, fastest "
            f"λ = {p['growth_rate']:.4g} per unit τ (about κ_1e σ0 ‖s‖ √(E N_r) = "
            f"{p['growth_rate_formula']:.4g}, N_r = ‖v_r‖² + ‖w_r‖² untied, ‖v_r‖² with a fixed "
            f"output: proportional to σ0), one factor e every "
            f"{p['efold_steps']:,.0f} steps; the tied model's growth is linear."
            if p.get("efold_steps")
            else "- Early growth: no neuron grows (every λ_r ≤ 0)."
        )
    else:
        lines.append(
            f"- Early growth: the {p['objective']} target's x0 part drives the output layer "
            "first (a drift, as the tied model's), then the first layer; no closed form "
            "(theory.untied.leading_flow integrates it)."
        )
    whose = (
        "each neuron's signal/noise growth tends to"
        if p["growth"] == "exponential"
        else "the output layer's drift κ_1x ‖w_r‖² ⟨s, x⟩ has the ratio"
    )
    lines.append(
        f"- Rate ratio: {whose} ⟨s, μ_j⟩/⟨s, ξ_i⟩ = "
        f"{p['rate_ratio']:.4g} (the formula n_j‖μ‖²/‖ξ_i‖² gives {p['rate_ratio_formula']:.4g}, "
        f"the tied model's ratio; spread about {p['ratio_correction']:.2g} relative): untying "
        f"changes the growth's shape, not its ratio."
    )
    lines.append("- Not reached by the theory: " + "; ".join(p["not_reached"]) + ".")
    return lines
