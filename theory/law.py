"""The stationary-ratio law: what decides whether diffusion's stationary signal/noise ratio is
Θ(n·SNR²).

Derivation (`sims.symmetric` holds the reduced loss). On the symmetric branch (every neuron with the
same data-span part, the part orthogonal to the data isotropic on the complement of the all-ones
vector), with orthogonal patches, the noise-prediction objective at one diffusion time (alpha, beta)
and c = 1/m, the exact loss depends on the patches only through two groups, the patches' weights w_z
= n_z ||z||^2 relative to n, in units of the diffusion time's own signal-to-noise ratio (alpha /
beta)^2:

    G_s = (alpha / beta)^2 n_j ||mu||^2 / n      (signal group)
    G_n = (alpha / beta)^2 ||xi||^2 / n          (noise group),      G_s / G_n = n_j ||mu||^2 /
        ||xi||^2,

so the stationary ratio R = <w_r, mu_j> / <w_r, xi_i> is a function R(G_s, G_n; m) (the `law`): beta
scales out exactly, the output scale c does not enter, and n enters only through the groups. For the
paper's data, n_j = n/2, ||mu||^2 = SNR^2 sigma_xi^2 d and ||xi||^2 ~ sigma_xi^2 d, so G_s / G_n =
n·SNR²/2 and G_n = (alpha / beta)^2 sigma_xi^2 d / n: at fixed n·SNR² the noise group is set by
sigma_xi^2 d / n and the time (alpha, beta).

Stationarity along a patch direction z (the scalar equation of `theory.stationary`), in the scaled
variables of `sims.symmetric` (X_z = beta^(-1/3) alpha <w_r, z>, Q the data-span Gram, Lambda =
dL/dQ at fixed X, T the coefficient of the linear term, H the coefficient of X^2):

    X_z (2 Lambda / G_z + H + 2 Q X_z^2) = 2 T.

- **Linear limit** (G_s, G_n -> 0): the term 2 Lambda / G_z dominates, X_z = T G_z / Lambda, and
  R -> G_s / G_n = n_j ||mu||^2 / ||xi||^2 exactly: Θ(n·SNR²) with slope 1 — the paper's D2.
- **Saturated limit** (G_s, G_n -> infinity at a fixed ratio): X_z solves H X + 2 Q X^3 = 2 T, the
  same equation for every patch, and R -> 1 (slowly: 1.19, 1.07, 1.03 at G_s = 1e2, 1e3, 1e4 with
  G_n = G_s / 10, m = 4).
- **Crossover.** In the linear regime the state scales as Q = G^(1/3) Q*, G = G_s + G_n, with (Q*,
  P*) the minimum of F(Q, P) = -2 g sqrt(Q) + (g^2 Q + 2 g^3 + 2 (m - 1) o^3) / m (g = Q + (m - 1) P
  / m, o = Q - P / m): with P = t Q, F = -A(t)^2 / h(t) at its best Q, and t* maximises A^2 / h, a
  root of a cubic. Then 2 Lambda / G_z = H exactly where G_z = gamma_m,

      gamma_m = 2 Lambda* / H*  (the `crossover_constant`; gamma_1 = 1, gamma_2 = 5/4 exactly),

  and to first order the local slope of R against n·SNR² (at fixed G_n) is 1 / (1 + G_s / gamma_m):
  the **signal group sets the slope**; the noise group sets the level (R = (G_s / G_n) c(G_n), c ->
  1 as G_n -> 0). D2's Θ band (slope >= THETA_SLOPE[0]) therefore holds to first order where G_s <=
  (1 / THETA_SLOPE[0] - 1) gamma_m (`linear_boundary`); `boundary` finds the exact G_s where the
  law's slope crosses THETA_SLOPE[0] at a given G_n.

Regimes (`regime_of`): "linear" where the law's local slope against n·SNR² is in THETA_SLOPE,
"saturated" where it is below SATURATED_SLOPE, "crossover" otherwise; the bands are D2's own (its
Θ(n·SNR²) band, and the lower edge of its "growing, not linearly" band). The law covers the
symmetric branch; the flow may end on another (theory.stationary), and random data are orthogonal
only approximately (the law uses the mean weights): `regime_of` says which premises the setting
meets.

Small initialisation: the initial filters' squared norm sigma0^2 d against the law's stationary one,
I0 = sigma0^2 d / G_rr* (`init_ratio`); the theory's picture (growth from small weights to a
stationary point far larger) needs I0 << 1, read as I0 < SMALL_INIT (the initial filters under half
their stationary norm). The defaults (sigma0 = 0.01, d = 2000, sigma_xi = 1) have I0 = 0.14; `--d
1000000` has sigma0 sqrt(d) = 10 and I0 of order 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import optimize

from sims import io, symmetric
from sims.data import Dataset
from sims.diffusion import output_scale

THETA_SLOPE = (0.7, 1.3)  # D2's Θ(n·SNR²) band of log-log slopes
SATURATED_SLOPE = (
    0.2  # below this the ratio no longer grows with n·SNR² (D2's "growing" band starts here)
)
SMALL_INIT = 0.25  # I0 below this (initial filter norm under half the stationary one): small
SLOPE_STEP = 1e-3  # the local slope: central difference in log G_s with this step


@cache
def crossover_constant(m: int) -> float:
    """gamma_m: the group G_z at which a patch leaves the linear regime (module docstring)."""
    if m == 1:
        return 1.0

    def parts(t):  # A(t) = g / Q, h(t) = the cubic part over Q^3, with P = t Q
        g, o = 1 + (m - 1) * t / m, 1 - t / m
        return g, o, g**2 + 2 * (g**3 + (m - 1) * o**3) / m

    def slope(
        t,
    ):  # (A^2 / h)' h^2 / A = 2 A' h - A h': its zero t* maximises A^2 / h (a cubic's root)
        g, o, h = parts(t)
        dg, do = (m - 1) / m, -1 / m
        dh = 2 * g * dg + 6 * (g**2 * dg + (m - 1) * o**2 * do) / m
        return 2 * dg * h - g * dh

    grid = np.linspace(0.0, 10.0 * m, 2001)
    signs = np.sign([slope(t) for t in grid])
    k = int(np.argmax(signs[1:] < signs[:-1]))
    t = optimize.brentq(slope, grid[k], grid[k + 1], xtol=1e-15)
    g, o, h = parts(t)
    Q = (g / h) ** (2 / 3)  # Q^(3/2) = A / h
    P = t * Q
    gd, od = Q + (m - 1) * P / m, Q - P / m
    # Lambda = dL/dQ at fixed X: -2 sqrt(Q) from the linear term, then d/dQ of g^2 Q + 2 (g^3 +
    # (m-1) o^3)/m
    Lam = -2 * math.sqrt(Q) + 2 * gd * Q + gd**2 + 6 * (gd**2 + (m - 1) * od**2) / m
    H = 2 * gd * Q + 4 * (Q**2 + (m - 1) * P**2 / m**2)
    return 2 * Lam / H


def linear_boundary(m: int) -> float:
    """The G_s where the first-order slope 1 / (1 + G_s / gamma_m) falls to THETA_SLOPE[0]."""
    return (1.0 / THETA_SLOPE[0] - 1.0) * crossover_constant(m)


def local_slope(G_s: float, G_n: float, m: int) -> float:
    """d log R / d log G_s at fixed G_n: the local log-log slope of the stationary ratio against
    n·SNR²."""
    center = symmetric.stationary(G_s, G_n, m)
    up = symmetric.stationary(G_s * math.exp(SLOPE_STEP), G_n, m, near=center).ratio
    down = symmetric.stationary(G_s * math.exp(-SLOPE_STEP), G_n, m, near=center).ratio
    return (math.log(up) - math.log(down)) / (2 * SLOPE_STEP)


def regime_name(slope: float) -> str:
    """ "linear", "crossover" or "saturated" for a local slope (module docstring)."""
    if THETA_SLOPE[0] <= slope <= THETA_SLOPE[1]:
        return "linear"
    return "saturated" if slope < SATURATED_SLOPE else "crossover"


@dataclass(frozen=True)
class Law:
    """The law at one point: R(G_s, G_n; m), its limits, its local slope and the regime."""

    G_s: float
    G_n: float
    m: int
    ratio: float  # R, the symmetric branch's stationary ratio
    linear_ratio: float  # G_s / G_n, the linear limit (Θ(n·SNR²))
    saturated_ratio: float  # 1, the saturated limit
    slope: float
    regime: str
    sum_mode: bool  # R's all-ones component survives (then R = 1 exactly)
    crossover_constant: float
    point: symmetric.SymmetricPoint

    def to_dict(self) -> dict:
        return io.plain(self)


def law(G_s: float, G_n: float, m: int) -> Law:
    """The law at (G_s, G_n, m) (module docstring)."""
    point = symmetric.stationary(G_s, G_n, m)
    slope = local_slope(G_s, G_n, m)
    return Law(
        G_s,
        G_n,
        m,
        point.ratio,
        G_s / G_n,
        1.0,
        slope,
        regime_name(slope),
        point.sum_mode,
        crossover_constant(m),
        point,
    )


def boundary(G_n: float, m: int, lo: float = 1e-6, hi: float = 1e6, per_decade: int = 4) -> float:
    """The smallest G_s in [lo, hi] at which the law's local slope falls below THETA_SLOPE[0] at
    this G_n (scanning a log grid of `per_decade` points a decade, then bisecting to 1e-4
    relative); nan if it never does there."""
    grid = np.logspace(math.log10(lo), math.log10(hi), per_decade * round(math.log10(hi / lo)) + 1)
    below = (k for k, g in enumerate(grid) if local_slope(g, G_n, m) < THETA_SLOPE[0])
    k = next(below, None)
    if k is None:
        return float("nan")
    if k == 0:
        return float(grid[0])
    return float(
        math.exp(
            optimize.brentq(
                lambda x: local_slope(math.exp(x), G_n, m) - THETA_SLOPE[0],
                math.log(grid[k - 1]),
                math.log(grid[k]),
                xtol=1e-4,
            )
        )
    )


# -------------------------------------------------------------------------- a setting's place in
# the plane
def setting_groups(cfg, data: Dataset) -> tuple[float, float] | str:
    """(G_s, G_n) of a diffusion setting: the signal weight is the mean of n_f ||mu_f||^2 over the
    signal vectors of the headline feature, the noise weight the mean ||xi_i||^2; or the reason
    there are none (the law is derived for the eps objective at one diffusion time)."""
    times = cfg.diffusion_times
    if getattr(cfg, "objective", "eps") != "eps":
        return f"the law is derived for the eps objective, not {cfg.objective}"
    if len(times) != 1:
        return f"the law is derived for one diffusion time, not {len(times)}"
    alpha, beta, _ = times[0]
    counts = np.bincount(data.signal_index, minlength=data.signals.shape[0])[:2]
    w_signal = float(np.mean(counts * np.sum(data.signals[:2] ** 2, axis=1)))
    w_noise = float(np.mean(np.sum(data.x2**2, axis=1)))
    return symmetric.groups(alpha, beta, data.n, w_signal, w_noise)


def init_ratio(cfg, point: symmetric.SymmetricPoint, d: int) -> float:
    """I0 = sigma0^2 d / G_rr*: the initial filters' squared norm over the law's stationary one (the
    diagonal of G there, mapped back from the scaled variables: G = (c m)^(-2/3) beta^(-4/3) G~)."""
    m = cfg.m
    beta = cfg.diffusion_times[0][1]
    g_scaled = (m * point.Q + point.P1 + (m - 1) * point.P) / m
    c = output_scale(m, cfg.scale)
    g = (c * m) ** (-2 / 3) * beta ** (-4 / 3) * g_scaled
    return cfg.sigma0**2 * d / g if g > 0 else math.inf  # no stationary norm: not a small start


@dataclass(frozen=True)
class Regime:
    """Where a setting stands (module docstring): its groups, the law's ratio, slope and regime
    ("d2"), and whether the initialisation is small; `reason` when the law does not cover the
    setting."""

    groups: dict | None
    d2: str | None
    law_ratio: float | None
    law_slope: float | None
    linear_ratio: float | None
    init_ratio: float | None
    small_initialisation: bool | None
    thresholds: dict
    premises: list
    reason: str | None = None

    def to_dict(self) -> dict:
        return io.plain(self)

    def line(self) -> str:
        """The regime in one line of words (`regime_line`)."""
        return regime_line(self.to_dict())


def regime_line(r: dict) -> str:
    """A Regime (as its dict, e.g. from `fldm predict --json`) in one line of words."""
    if r.get("d2") is None:
        return f"Regime: not covered by the stationary-ratio law ({r.get('reason')})."
    g = r["groups"]
    init = "small" if r["small_initialisation"] else "not small"
    return (
        f"Regime: groups G_s = {g['G_s']:.3g}, G_n = {g['G_n']:.3g}: D2 {r['d2']} (the law's slope "
        f"against n·SNR² is {r['law_slope']:.3g}; Θ(n·SNR²): {THETA_SLOPE[0]:g} to "
        f"{THETA_SLOPE[1]:g}); "
        f"initialisation {init} (I0 = {r['init_ratio']:.3g}; small below {SMALL_INIT:g})."
    )


def not_covered(reason: str) -> Regime:
    """The Regime of a setting the law does not cover."""
    return Regime(None, None, None, None, None, None, None, THRESHOLDS, [], reason)


THRESHOLDS = {
    "theta_slope": list(THETA_SLOPE),
    "saturated_slope": SATURATED_SLOPE,
    "small_init": SMALL_INIT,
}


def premises(data: Dataset, cfg) -> list:
    """What the setting departs from among the law's premises (empty: none)."""
    out = []
    Z = np.vstack([data.signals, data.x2])
    K = Z @ Z.T
    cos = np.abs(K - np.diag(np.diag(K))).max() / np.diag(K).max()
    if cos > 1e-9:
        out.append(f"patches orthogonal only approximately (largest |cos| {cos:.2g})")
    w = np.sum(data.x2**2, axis=1)
    if w.max() > w.min() * (1 + 1e-9):
        out.append(
            f"noise patches of unequal norm (||xi_i||^2 spread {w.std() / w.mean():.2g} "
            "relative); the law uses their mean"
        )
    if data.num_features > 1 or data.balance != 0.5:
        out.append("not Definition 2.1's two balanced classes")
    return out


def regime_of(cfg, data: Dataset) -> Regime:
    """The Regime of a diffusion setting on its data."""
    groups = setting_groups(cfg, data)
    if isinstance(groups, str):
        return not_covered(groups)
    G_s, G_n = groups
    try:
        result = law(G_s, G_n, cfg.m)
    except ValueError as exc:  # the symmetric point not found (groups far beyond the law's sweeps)
        return not_covered(f"the law's stationary point was not found: {exc}")
    I0 = init_ratio(cfg, result.point, data.d)
    return Regime(
        {"G_s": G_s, "G_n": G_n},
        result.regime,
        result.ratio,
        result.slope,
        result.linear_ratio,
        I0,
        bool(I0 < SMALL_INIT),
        THRESHOLDS,
        premises(data, cfg),
    )
