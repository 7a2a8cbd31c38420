"""Symbolic derivations (sympy) behind the closed forms used by sims.diffusion and theory.predict.

1. The expected one-patch DDPM loss from first principles. With u = alpha z + beta eps, eps ~ N(0,
   I_d), and f(W, u) = c sum_r h_r^2 w_r, h_r = <w_r, u> = alpha a_r + beta e_r, where a_r = <w_r,
   z> and e_r = <w_r, eps>: the vector e is Gaussian with covariance G = W W^T, and
       ||f - eps||^2 = c^2 sum_{r,s} h_r^2 h_s^2 G_rs - 2 c sum_r h_r^2 e_r + ||eps||^2,
           E||eps||^2 = d.
   Expectations of products of e's follow from Isserlis' (Wick's) theorem: the sum over all pairings
   of the product of covariances. `expected_patch_loss(m)` does this for m symbolic neurons;
   `paper_patch_loss(m)` is eq. (E) of theory/PAPER.md / sims.diffusion; tests show they are equal.
   For a general target a z + b eps (sims.diffusion, eq. T), `expected_target_loss(m)` expands ||f -
   a z - b eps||^2 and takes the expectation with zeta = <z, eps> as one more Gaussian variable,
   jointly Gaussian with e: Cov(e_r, zeta) = a_r, Var(zeta) = ||z||^2 (the symbol `z2`);
   `target_patch_loss(m)` is the closed form of eq. (T); tests show they are equal.
2. Early growth: `leading_rate()` is the lowest-order term (in the initialisation scale) of
   d<w_r, z_k>/dtau for orthogonal patches.
3. The m = 1 stationary point: `stationary_m1()` solves dT/da = 0, dT/dg = 0 (every patch alignment
   equal), giving a*^3 = beta / (c alpha^3 (1 + sqrt 3)) and g* = ||w||^2 = alpha^2 a*^2 / (sqrt 3
   beta^2).
"""

from __future__ import annotations

from functools import cache
from itertools import combinations_with_replacement

import numpy as np
import sympy as sp

alpha, beta, c, d = sp.symbols("alpha beta c d", positive=True)
x0_coef, eps_coef, z2 = sp.symbols("a b z2", real=True)  # the target a z + b eps, and ||z||^2


def gram_symbols(m: int) -> sp.Matrix:
    """A symmetric m x m matrix of symbols G_rs (r <= s)."""
    G = sp.zeros(m, m)
    for r, s in combinations_with_replacement(range(m), 2):
        G[r, s] = G[s, r] = sp.Symbol(f"G{r + 1}{s + 1}", real=True)
    return G


def align_symbols(m: int) -> list:
    return [sp.Symbol(f"a{r + 1}", real=True) for r in range(m)]


def isserlis(indices: tuple, G: sp.Matrix):
    """E[e_{i1} ... e_{ik}] for e ~ N(0, G): the sum over pairings of products of G entries."""
    if len(indices) % 2:
        return sp.Integer(0)
    if not indices:
        return sp.Integer(1)
    first, rest = indices[0], indices[1:]
    return sum(G[first, rest[j]] * isserlis(rest[:j] + rest[j + 1 :], G) for j in range(len(rest)))


def gaussian_expectation(expr, e: list, G: sp.Matrix):
    """E[expr] for a polynomial expr in the Gaussian variables e ~ N(0, G), monomial by monomial."""
    poly = sp.Poly(sp.expand(expr), *e)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        indices = tuple(i for i, k in enumerate(powers) for _ in range(k))
        total += coeff * _moment(indices, G)
    return sp.expand(total)


_moment_cache: dict = {}


def _moment(indices: tuple, G: sp.Matrix):
    key = (indices, tuple(G))
    if key not in _moment_cache:
        _moment_cache[key] = sp.expand(isserlis(indices, G))
    return _moment_cache[key]


@cache
def expected_patch_loss(m: int):
    """E_eps ||f(W, alpha z + beta eps) - eps||^2 in terms of a_r = <w_r, z>, G = W W^T, alpha,
    beta, c, d."""
    a, G = align_symbols(m), gram_symbols(m)
    e = [sp.Symbol(f"e{r + 1}", real=True) for r in range(m)]
    h = [alpha * a[r] + beta * e[r] for r in range(m)]
    f_norm2 = c**2 * sum(h[r] ** 2 * h[s] ** 2 * G[r, s] for r in range(m) for s in range(m))
    f_dot_eps = c * sum(h[r] ** 2 * e[r] for r in range(m))  # <f, eps>, since <w_r, eps> = e_r
    return gaussian_expectation(f_norm2 - 2 * f_dot_eps, e, G) + d


@cache
def expected_target_loss(m: int):
    """E_eps ||f(W, alpha z + beta eps) - a z - b eps||^2 in terms of a_r, G, ||z||^2 = z2, alpha,
    beta, c, d.

    ||f - a z - b eps||^2 = ||f||^2 - 2 a <f, z> - 2 b <f, eps> + a^2 ||z||^2 + 2 a b <z, eps> + b^2
    ||eps||^2 with <f, z> = c sum_r h_r^2 a_r, <f, eps> = c sum_r h_r^2 e_r, <z, eps> = zeta;
    E||eps||^2 = d.
    """
    al, G = align_symbols(m), gram_symbols(m)
    e = [sp.Symbol(f"e{r + 1}", real=True) for r in range(m)]
    zeta = sp.Symbol("zeta", real=True)
    cov = sp.zeros(m + 1, m + 1)  # covariance of (e_1 .. e_m, zeta)
    cov[:m, :m] = G
    for r in range(m):
        cov[r, m] = cov[m, r] = al[r]  # E[<w_r, eps> <z, eps>] = <w_r, z>
    cov[m, m] = z2
    h = [alpha * al[r] + beta * e[r] for r in range(m)]
    f_norm2 = c**2 * sum(h[r] ** 2 * h[s] ** 2 * G[r, s] for r in range(m) for s in range(m))
    f_dot_z = c * sum(h[r] ** 2 * al[r] for r in range(m))
    f_dot_eps = c * sum(h[r] ** 2 * e[r] for r in range(m))
    a, b = x0_coef, eps_coef
    expr = f_norm2 - 2 * a * f_dot_z - 2 * b * f_dot_eps + a**2 * z2 + 2 * a * b * zeta
    return gaussian_expectation(expr, e + [zeta], cov) + b**2 * d


def _mean_f_norm2(al: list, G: sp.Matrix):
    """E||f||^2 = c^2 sum_{r,s} G_rs [alpha^4 a_r^2 a_s^2 + alpha^2 beta^2 (a_r^2 G_ss + a_s^2 G_rr
    + 4 a_r a_s G_rs) + beta^4 (G_rr G_ss + 2 G_rs^2)], the c^2 part of eq. (E)."""
    m = len(al)
    return sum(
        c**2
        * G[r, s]
        * (
            alpha**4 * al[r] ** 2 * al[s] ** 2
            + alpha**2
            * beta**2
            * (al[r] ** 2 * G[s, s] + al[s] ** 2 * G[r, r] + 4 * al[r] * al[s] * G[r, s])
            + beta**4 * (G[r, r] * G[s, s] + 2 * G[r, s] ** 2)
        )
        for r in range(m)
        for s in range(m)
    )


def paper_patch_loss(m: int):
    """Eq. (E): d - 4 c alpha beta sum_r a_r G_rr + c^2 sum_{r,s} G_rs [alpha^4 a_r^2 a_s^2
    + alpha^2 beta^2 (a_r^2 G_ss + a_s^2 G_rr + 4 a_r a_s G_rs) + beta^4 (G_rr G_ss + 2 G_rs^2)]."""
    al, G = align_symbols(m), gram_symbols(m)
    return sp.expand(
        d - 4 * c * alpha * beta * sum(al[r] * G[r, r] for r in range(m)) + _mean_f_norm2(al, G)
    )


def target_patch_loss(m: int):
    """Eq. (T): E||f||^2 - 2 b E<f, eps> + b^2 d - 2 a E<f, z> + a^2 ||z||^2 with E<f, eps> = 2 c
    alpha beta sum_r a_r G_rr and E<f, z> = c sum_r (alpha^2 a_r^2 + beta^2 G_rr) a_r."""
    al, G = align_symbols(m), gram_symbols(m)
    f_dot_eps = 2 * c * alpha * beta * sum(al[r] * G[r, r] for r in range(m))
    f_dot_z = c * sum((alpha**2 * al[r] ** 2 + beta**2 * G[r, r]) * al[r] for r in range(m))
    a, b = x0_coef, eps_coef
    return sp.expand(
        _mean_f_norm2(al, G) - 2 * b * f_dot_eps + b**2 * d - 2 * a * f_dot_z + a**2 * z2
    )


def loss_in_weights(m: int, Z: np.ndarray, target=None):
    """The exact diffusion loss 1/(2n) sum over the rows z of Z of E||f - eps||^2 as a sympy
    expression in weight symbols w_{r,i} (Z: (2n, d) numbers), and the list of those symbols in
    row-major order. With target = (a, b) (numbers or expressions in alpha, beta) the loss regresses
    a z + b eps instead."""
    dim = Z.shape[1]
    w = sp.Matrix(m, dim, lambda r, i: sp.Symbol(f"w{r + 1}_{i + 1}", real=True))
    G = w * w.T
    if target is None:
        T = expected_patch_loss(m)
    else:
        T = expected_target_loss(m).subs(
            {x0_coef: target[0], eps_coef: target[1]}, simultaneous=True
        )
    Gs, al = gram_symbols(m), align_symbols(m)
    loss = 0
    for z in Z:
        zz = sp.Matrix([sp.nsimplify(v) for v in z])
        subs = {al[r]: (w[r, :] * zz)[0] for r in range(m)}
        subs.update({Gs[r, s]: G[r, s] for r in range(m) for s in range(r, m)})
        subs[z2] = (zz.T * zz)[0]
        loss += T.subs(subs)
    return sp.expand(loss.subs(d, dim) / Z.shape[0]), list(w)


def leading_rate(target: bool = False):
    """The lowest-order term of d<w_r, z_k>/dtau for the exact loss on orthogonal patches (with
    target=True, the loss of the general target a z + b eps, eq. T, in the symbols a = x0_coef, b =
    eps_coef).

    Scaling a -> s a, G -> s^2 G (initialisation scale s -> 0), with patch k repeated n_k times and
    of norm ||z_k||, the flow dW/dtau = -grad L, L = 1/(2n) sum_p T(a_p, G), gives
        d<w_r, z_k>/dtau = -1/(2n) [n_k ||z_k||^2 dT/da_r(a_k) + sum_s (dL_G)_rs a_{k,s}],
    dL_G = sum_p (dT/dG + dT/dG^T)(a_p) (with dG_rr counted once on the diagonal). Returned: the s^2
    coefficient for m = 2, r = 1, with S1 = sum_p a_{p,1} the sum of neuron 1's alignments over all
    2n patches; it equals 4 c alpha beta / (2n) (G11 n_k ||z_k||^2 + 2 S1 a_{k,1}). For the general
    target it is
        [k1 (G11 n_k ||z_k||^2 + 2 S1 a_{k,1}) + 3 k5 n_k ||z_k||^2 a_{k,1}^2] / (2n),
        k1 = 4 c alpha beta b + 2 a c beta^2,   k5 = 2 a c alpha^2:
    the -2 a E<f, z> term adds a G_rr a_r part to k1 and a cubic -2 a c alpha^2 a_r^3, whose
    gradient 3 k5 a_r^2 is of the same order s^2 (the quadratic growth of x0-prediction).
    """
    m = 2
    a, G = align_symbols(m), gram_symbols(m)
    T = expected_target_loss(m) if target else expected_patch_loss(m)
    nk, zk2, n, S1, S2, s = sp.symbols("n_k z_k2 n S1 S2 s", positive=True)
    dT_da1 = sp.diff(T, a[0])
    # dT/dW_1 = dT/da_1 z + (2 dT/dG11 w_1 + dT/dG12 w_2); at lowest order only the terms linear in
    # a survive in dT/dG, and summed over patches sum_p a_{p,r} = S_r
    dG11 = sp.diff(T, G[0, 0]).subs({a[0]: S1, a[1]: S2})
    dG12 = sp.diff(T, G[0, 1]).subs({a[0]: S1, a[1]: S2})
    ak1, ak2 = sp.symbols("a_k1 a_k2", real=True)
    rate = -(
        nk * zk2 * dT_da1.subs({a[0]: ak1, a[1]: ak2})
        + 2 * dG11.subs({a[0]: S1}) * ak1
        + dG12 * ak2
    ) / (2 * n)
    scaled = rate.subs(
        {
            ak1: s * ak1,
            ak2: s * ak2,
            S1: s * S1,
            S2: s * S2,
            G[0, 0]: s**2 * G[0, 0],
            G[0, 1]: s**2 * G[0, 1],
            G[1, 1]: s**2 * G[1, 1],
        }
    )
    return sp.simplify(sp.expand(scaled).coeff(s, 2))


def stationary_m1():
    """(a*, g*) of the m = 1 stationary point with every patch alignment equal: dT/da = dT/dg =
    0."""
    a, G = align_symbols(1), gram_symbols(1)
    T = expected_patch_loss(1)
    a1, g = a[0], G[0, 0]
    # dT/da = 0 and dT/dg = 0 (sum over patches of equal terms); g > 0, a > 0 real
    sols = sp.solve([sp.diff(T, a1), sp.diff(T, g)], [a1, g], dict=True)
    real = [s for s in sols if s[a1].is_positive and s[g].is_positive]
    (sol,) = real
    return sp.simplify(sol[a1]), sp.simplify(sol[g])


def stationary_m1_closed_form(alpha_v: float, beta_v: float, c_v: float) -> tuple[float, float]:
    """a* = (beta / (c alpha^3 (1 + sqrt 3)))^(1/3), g* = alpha^2 a*^2 / (sqrt 3 beta^2)."""
    a_star = (beta_v / (c_v * alpha_v**3 * (1 + np.sqrt(3)))) ** (1 / 3)
    return float(a_star), float(alpha_v**2 * a_star**2 / (np.sqrt(3) * beta_v**2))
