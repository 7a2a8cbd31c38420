"""A stabilised explicit integrator for stiff gradient flows: the second-order Runge-Kutta-Chebyshev
method (RKC; B. P. Sommeijer, L. F. Shampine and J. G. Verwer, "RKC: an explicit solver for
parabolic PDEs", J. Comput. Appl. Math. 88 (1997) 315-326).

A gradient flow dy/dtau = F(y) = -grad L(y) has the Jacobian -Hessian, whose spectrum is real. Near
a stationary point of the diffusion loss it is stiff: the curvatures along the signal and noise
directions differ by ~ n SNR^2 and the slowest directions are a thousand times slower still.
Implicit solvers (LSODA, BDF) then spend their time in dense LU factorisations of the p x p Jacobian
(p = m (k + m) up to ~2000). RKC needs only evaluations of F: a step of size h uses s stages whose
stability interval along the negative real axis grows like 0.653 s^2, so s ~ sqrt(h rho) stages (rho
the spectral radius, from the Hessian) make a step as long as accuracy allows. The shifted Chebyshev
recursion (damping EPS) is

    Y_0 = y_n,   Y_1 = Y_0 + mu~_1 h F_0,
    Y_j = (1 - mu_j - nu_j) Y_0 + mu_j Y_{j-1} + nu_j Y_{j-2} + mu~_j h F(Y_{j-1}) + gamma~_j h F_0,
    y_{n+1} = Y_s,

with the coefficients of `coefficients`, and the local error estimate
    est = 0.8 (y_n - y_{n+1}) + 0.4 h (F(y_n) + F(y_{n+1})).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np

EPS = 2.0 / 13.0  # damping of the Chebyshev polynomial (the RKC default)
BETA = 0.653  # stability interval [-BETA s^2, 0] of s stages (for EPS = 2/13)
MAX_STAGES = 2000  # steps needing more stages are shortened
SAFETY = 1.2  # rho is multiplied by this (an upper bound is needed, eigen-solvers give an estimate)


@cache
def coefficients(s: int):
    """(mu, nu, mu~, gamma~) of the s-stage RKC recursion (index j = 1 .. s; entries 0 unused)."""
    w0 = 1.0 + EPS / s**2
    T, dT, ddT = (
        np.zeros(s + 1),
        np.zeros(s + 1),
        np.zeros(s + 1),
    )  # Chebyshev T_j(w0) and derivatives
    T[0], T[1], dT[1] = 1.0, w0, 1.0
    for j in range(2, s + 1):
        T[j] = 2 * w0 * T[j - 1] - T[j - 2]
        dT[j] = 2 * T[j - 1] + 2 * w0 * dT[j - 1] - dT[j - 2]
        ddT[j] = 4 * dT[j - 1] + 2 * w0 * ddT[j - 1] - ddT[j - 2]
    w1 = dT[s] / ddT[s]
    b = np.empty(s + 1)
    b[2:] = ddT[2:] / dT[2:] ** 2
    b[0] = b[1] = b[2]
    a = 1.0 - b * T
    mu, nu, mut, gam = np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1)
    mut[1] = b[1] * w1
    for j in range(2, s + 1):
        mu[j] = 2 * b[j] * w0 / b[j - 1]
        nu[j] = -b[j] / b[j - 2]
        mut[j] = 2 * b[j] * w1 / b[j - 1]
        gam[j] = -a[j - 1] * mut[j]
    return mu, nu, mut, gam


def stages(h: float, rho: float) -> int:
    """The fewest stages (>= 2) whose stability interval covers h rho."""
    return max(2, 1 + int(math.sqrt(1.0 + h * rho / BETA)))


def step(F: Callable, y: np.ndarray, F0: np.ndarray, h: float, s: int) -> np.ndarray:
    """One s-stage RKC step of size h from y (F0 = F(y))."""
    mu, nu, mut, gam = coefficients(s)
    prev2, prev = y, y + mut[1] * h * F0
    for j in range(2, s + 1):
        prev2, prev = (
            prev,
            (
                (1 - mu[j] - nu[j]) * y
                + mu[j] * prev
                + nu[j] * prev2
                + mut[j] * h * F(prev)
                + gam[j] * h * F0
            ),
        )
    return prev


def hermite(t0: float, y0, F0, t1: float, y1, F1, t: float) -> np.ndarray:
    """The cubic through (t0, y0) and (t1, y1) with slopes F0, F1, at t in [t0, t1] (dense
    output)."""
    h = t1 - t0
    x = (t - t0) / h
    return (
        (1 + 2 * x) * (1 - x) ** 2 * y0
        + x * (1 - x) ** 2 * h * F0
        + x * x * (3 - 2 * x) * y1
        + x * x * (x - 1) * h * F1
    )


def integrate(
    F: Callable,
    y0: np.ndarray,
    taus,
    rho: Callable,
    *,
    rtol: float,
    atol: float,
    stop: Callable | None = None,
):
    """Integrate dy/dtau = F(y) from y0 at tau = 0, returning the states at the increasing times
    `taus` (between steps by cubic Hermite interpolation, `hermite`: the output times do not limit
    the steps).

    rho(y) estimates the spectral radius of the Jacobian at y (it is multiplied by SAFETY); it is
    called once per accepted step, just before stop(tau, y, F(y)), which may return a status string
    that ends the integration there. A rho of 0 (a flat flow) leaves the step to the error control
    alone; one that is not finite (a curvature beyond float64's range) ends the integration as a
    blow-up. Returns (times reached, states, status, work): status "ok" or stop's string; the last
    time and state are where it stopped; work = (F evaluations, accepted steps, rejected steps).
    """
    taus = np.asarray(taus, dtype=float)
    y = np.asarray(y0, dtype=float).copy()
    Fy = F(y)
    tau, out_t, out_y = 0.0, [], []
    nfev, accepted, rejected = 1, 0, 0
    r = SAFETY * rho(y)
    if stop is not None and (status := stop(tau, y, Fy)):
        return np.array([tau]), y[None], status, (nfev, 0, 0)
    h = min(1.0 / max(r, 1e-300), taus[-1])
    err_prev = h_prev = None
    i = 0
    while i < taus.size and taus[i] <= tau:
        out_t.append(taus[i])
        out_y.append(y.copy())
        i += 1
    while i < taus.size:
        if not math.isfinite(r):
            return (
                np.array(out_t + [tau]),
                np.array(out_y + [y]),
                f"blow-up at tau={tau:.6g} (the curvature is beyond float64's range)",
                (nfev, accepted, rejected),
            )
        # the most stages allow this step (none when the flow is flat, r = 0)
        h = min(h, taus[-1] - tau, (MAX_STAGES**2 - 1) * BETA / r if r > 0 else math.inf)
        s = stages(h, r)
        y_new = step(F, y, Fy, h, s)
        F_new = F(y_new)
        nfev += s  # stages 2..s and F(y_new); stage 1 reuses F0
        est = 0.8 * (y - y_new) + 0.4 * h * (Fy + F_new)
        err = float(
            np.sqrt(np.mean((est / (atol + rtol * np.maximum(np.abs(y), np.abs(y_new)))) ** 2))
        )
        if not np.isfinite(err):
            return (
                np.array(out_t + [tau]),
                np.array(out_y + [y]),
                f"blow-up at tau={tau:.6g}",
                (nfev, accepted, rejected),
            )
        if err > 1.0:  # reject: shorter step
            rejected += 1
            h *= max(0.1, 0.8 / err ** (1 / 3))
            continue
        accepted += 1
        tau_new = taus[-1] if h == taus[-1] - tau else tau + h
        # Shampine's predictor (as in RKC) from the last two errors
        fac = 0.8 / max(err, 1e-10) ** (1 / 3)
        if err_prev is not None:
            fac = min(fac, 0.8 * (h / h_prev) * (err_prev / max(err, 1e-10) ** 2) ** (1 / 3))
        err_prev, h_prev = max(err, 1e-10), h
        while i < taus.size and taus[i] <= tau_new:
            out_t.append(taus[i])
            out_y.append(
                y_new.copy()
                if taus[i] == tau_new
                else hermite(tau, y, Fy, tau_new, y_new, F_new, taus[i])
            )
            i += 1
        tau, y, Fy = tau_new, y_new, F_new
        r = SAFETY * rho(y)
        if stop is not None and (status := stop(tau, y, Fy)):
            if not out_t or out_t[-1] != tau:
                out_t.append(tau)
                out_y.append(y.copy())
            return np.array(out_t), np.array(out_y), status, (nfev, accepted, rejected)
        h *= min(10.0, max(0.1, fac))
    return np.array(out_t), np.array(out_y), "ok", (nfev, accepted, rejected)
