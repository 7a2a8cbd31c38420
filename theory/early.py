"""The early phase from small weights, in closed form: the groups that decide D1's near-linear
window, the stationary branch the diffusion flow reaches, and C1's boundary.

**Diffusion at leading order.** At small weights the tied denoiser's gradient is that of the cubic
term -4 c alpha beta sum_r a_r G_rr of eq. (E) (theory/PAPER.md), summed over the 2n patches: with
k = k1 / (2n), k1 = sum_t weight_t 4 c alpha_t beta_t, and Sigma = sum_p x_p the sum of all patches,

    dw_r/dtau = k (G_rr Sigma + 2 S_r w_r),      S_r = <w_r, Sigma>,  G_rr = ||w_r||^2

(theory.derive.leading_rate). The neurons decouple, and each one's norm and data sum close on
themselves (N = ||Sigma||):

    dG_rr/dtau = 6 k S_r G_rr,    dS_r/dtau = k (G_rr N^2 + 2 S_r^2),
    d<w_r, z>/dtau = k (G_rr <Sigma, z> + 2 S_r <w_r, z>)     for any direction z.

In units of the neuron's own clock T_r = 1 / (k ||w_r(0)|| N), with g = G_rr / G_rr(0) and s = S_r
/ (||w_r(0)|| N), this is dg/dt = 6 s g, ds/dt = g + 2 s^2, whose orbit through (1, s0) is g - s^2 =
(1 - s0^2) g^(2/3). With c = sqrt(1 - s0^2) and the parameter w (w0 = s0 / c at t = 0) it is solved
in closed form (`orbit`; derived in this docstring, checked against solve_ivp in the tests):

    t(w) = [F(w) - F(w0)] / c^3,   F(w) = (arctan w + w / (1 + w^2)) / 2,
    g = c^6 (1 + w^2)^3,   s = c^3 w (1 + w^2),   E = exp(int 2 s dt) = (1 + w^2) / (1 + w0^2),
    <w_r, z>(t) = E [<w_r, z>(0) + c (w - w0) ||w_r(0)|| <Sigma, z> / N]   (`leading_alignments`).

Every neuron blows up at t_b = [pi/4 - F(w0)] / c^3 (pi/4 for s0 = 0; `blowup_times`), where its
norm grows like g = 1 / (9 (t_b - t)^2). Nothing here depends on sigma0 except through T_r, which
is ~ 1 / sigma0: the early phase has the same shape at every small sigma0, only slower. The
higher-order terms of the loss (degree 6 in W) enter when ||w_r||^2 nears its stationary size
G_rr*, i.e. through the small-initialisation group I0 = sigma0^2 d / G_rr* (theory.law.init_ratio).

**D1: the window group.** A feature's summary alignment (the largest over neurons, as
sims.models' summary) starts at a0 and rises at k G_rr v (v = <Sigma, z>) until the neuron's own
growth bends it; in the clock T that rise is linear in t with the normalised start

    Lambda_z = a0 N / (||w(0)|| v)      (`window_groups`; typical: kappa_m N / (sqrt(d) n_z ||z||)),

kappa_m the expected largest of m standard normals. For s0 = 0 the summary follows
a(t) / a0 = (Lambda + tan phi) / (Lambda cos^2 phi) with t = (2 phi + sin 2 phi) / 4: the window in
which the faster feature grows LINEAR_GROWTH (L) times ends at t_w ~ (L - 1) Lambda_min for small
Lambda_min and never after t_b = pi/4, and the linearity index over it is 1 + O(Lambda_min^2)
(`linearity_index`): near-linear exactly where the window group Lambda = min_z Lambda_z is small.
For the paper's data (n_j = n/2, ||mu||^2 = n SNR^2 sigma_xi^2 d / n, ||xi||^2 = sigma_xi^2 d),
N^2 = sigma_xi^2 d (n + n n SNR^2 / 2) and

    Lambda^2 = kappa_m^2 (n + n n SNR^2 / 2) / (d max(1, n n SNR^2 / 4)),

~ n / d: sigma0 and sigma_xi drop out. sigma0 enters only through I0: the higher-order terms bend
the growth down (sublinear) as I0 grows.

**The branch: the race group.** The neurons blow up at t_b,r that differ through s0_r = S_r(0) /
(||w_r(0)|| N) ~ 1 / sqrt(d) and ||w_r(0)||; the first saturates (G = G*) at sqrt(I0) / 3 before
its t_b. The last neuron's lag behind the first, Delta (in the first one's clock), set against that
lead, gives the race group

    B = sqrt(I0) / (3 Delta)           (`race_group`).

B >> 1: every neuron blows up before the first saturates, and they arrive together; B << 1: the
first ones saturate while the last is still small, and the last one's fate is decided in a
landscape the others have shaped. Between the two, the outcome is decided at a B of order the
ratio of the stationary state's relaxation rate to the neurons' growth rate there; its value is
read from the map (sims.studies.racemap), not derived here. B ~ sigma0 d / sqrt(G*) at a typical
draw: sigma0 enters the branch through B.

**C1: the initial-alignment group.** The classifier's features grow exponentially from a0 = sigma0
||z|| kappa'_m (kappa'_m = E max_r |g_r|) to the order-one level sqrt(m) (theory.predict). With
||xi|| ~ sigma_xi sqrt(d) every initial alignment is Z = sigma0 sigma_xi sqrt(d) times a number of
order one, and the predicted boundary depends on the setting only through Z, n and m: with the log
factor Lf = log(sqrt(m) / (kappa'_m Z)), it solves x = 2 + log(n / x) / Lf (`boundary_of`, which
theory.predict.boundary_nsnr2 calls). It tends to 2 as Z -> 0 (slowly: Lf grows like log 1/Z),
rises towards n as Lf -> 0, and does not exist for Lf <= 0 (the noise already at order one).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import integrate, optimize, stats

from sims.data import Dataset
from sims.diffusion import output_scale

PHI_GRID = 20001  # points of the grid on which t(phi) is inverted (`leading_alignments`)


# ------------------------------------------------------------------------ the leading-order flow
def rate_constant(cfg, n: int) -> float:
    """k = k1 / (2n), k1 = sum_t weight_t 4 c alpha_t beta_t: d<w_r, z>/dtau = k G_rr <Sigma, z>
    at tau = 0 (theory.derive.leading_rate)."""
    c = output_scale(cfg.m, cfg.scale)
    return sum(4 * c * a * b * w for a, b, w in cfg.diffusion_times) / (2 * n)


def patch_sum(data: Dataset) -> np.ndarray:
    """Sigma = sum_p x_p over all 2n patches (d,)."""
    return data.x1.sum(axis=0) + data.x2.sum(axis=0)


def _F(w):
    return 0.5 * (np.arctan(w) + w / (1.0 + w * w))


class Orbit(NamedTuple):
    """One neuron's leading-order orbit (module docstring) at the parameter values w."""

    t: np.ndarray  # in the neuron's clock T
    g: np.ndarray  # G_rr / G_rr(0)
    s: np.ndarray  # S_r / (||w_r(0)|| N)
    E: np.ndarray  # exp(int 2 s dt)


def orbit(w, s0: float) -> Orbit:
    """The orbit through (g, s) = (1, s0) at the parameter values w (>= w0 = s0 / c)."""
    c = math.sqrt(1.0 - s0 * s0)
    w0 = s0 / c
    w = np.asarray(w, dtype=float)
    one = 1.0 + w * w
    return Orbit((_F(w) - _F(w0)) / c**3, c**6 * one**3, c**3 * w * one, one / (1.0 + w0 * w0))


def blowup_clock(s0) -> np.ndarray:
    """t_b = [pi/4 - F(w0)] / c^3: the blow-up time in the neuron's clock (pi/4 at s0 = 0)."""
    s0 = np.asarray(s0, dtype=float)
    c = np.sqrt(1.0 - s0 * s0)
    return (math.pi / 4 - _F(s0 / c)) / c**3


class Neurons(NamedTuple):
    """Each neuron's start (m,): ||w_r(0)||^2, s0_r, its clock T_r and blow-up time tau_b,r."""

    G0: np.ndarray
    s0: np.ndarray
    clock: np.ndarray
    blowup: np.ndarray
    N: float
    k: float


def neurons(cfg, data: Dataset, W0: np.ndarray) -> Neurons:
    """The leading-order start of each neuron of a diffusion run (module docstring)."""
    sigma = patch_sum(data)
    N = float(np.linalg.norm(sigma))
    G0 = np.sum(W0 * W0, axis=1)
    s0 = (W0 @ sigma) / (np.sqrt(G0) * N)
    k = rate_constant(cfg, data.n)
    clock = 1.0 / (k * np.sqrt(G0) * N)
    return Neurons(G0, s0, clock, blowup_clock(s0) * clock, N, k)


def leading_alignments(cfg, data: Dataset, W0: np.ndarray, taus) -> tuple[np.ndarray, np.ndarray]:
    """(signal (T, m, F), noise (T, m, n)): every alignment <w_r, z> of the leading-order flow at
    the times taus (nan at and past a neuron's blow-up)."""
    taus = np.asarray(taus, dtype=float)
    nn = neurons(cfg, data, W0)
    sigma = patch_sum(data)
    Z = np.vstack([data.signals, data.x2])  # (F + n, d)
    a0, v = W0 @ Z.T, Z @ sigma  # (m, F + n), (F + n,)
    out = np.full((len(taus), *a0.shape), np.nan)
    for r in range(W0.shape[0]):
        c = math.sqrt(1.0 - nn.s0[r] ** 2)
        w0 = nn.s0[r] / c
        phi = np.linspace(math.atan(w0), math.pi / 2, PHI_GRID)[:-1]
        w = np.tan(phi)
        o = orbit(w, nn.s0[r])
        t = taus / nn.clock[r]
        ok = t < o.t[-1]
        wt = np.interp(t[ok], o.t, w)
        E = (1.0 + wt * wt) / (1.0 + w0 * w0)
        rise = c * (wt - w0) * math.sqrt(nn.G0[r]) / nn.N
        out[ok, r, :] = E[:, None] * (a0[r][None, :] + rise[:, None] * v[None, :])
    F = data.signals.shape[0]
    return out[:, :, :F], out[:, :, F:]


# ------------------------------------------------------------------------------- D1's window group
def expected_max_normal(m: int) -> float:
    """kappa_m = E max_{r <= m} g_r, g_r i.i.d. N(0, 1) (signed: the diffusion summary's max)."""
    if m == 1:
        return 0.0
    pdf = lambda x: x * m * stats.norm.pdf(x) * stats.norm.cdf(x) ** (m - 1)
    return float(integrate.quad(pdf, -np.inf, np.inf)[0])


class WindowGroups(NamedTuple):
    """Lambda_z of the two headline summaries (module docstring) and Lambda, the smaller positive
    one (the faster feature's, which ends the window; nan if neither starts positive)."""

    signal: float
    noise: float
    window: float


def window_groups(
    data: Dataset, W0: np.ndarray, signal0: float, noise0: float, headline=(0, 1)
) -> WindowGroups:
    """Lambda_z = a0 N / (||w(0)|| v) of a run's headline summaries at initialisation (signal0 =
    mean_j max_r <w_r, mu_j>, noise0 = mean_i max_r <w_r, xi_i>), with ||w(0)|| the root mean
    square norm of the initial filters and v the mean <Sigma, z> over the summary's directions."""
    sigma = patch_sum(data)
    N = float(np.linalg.norm(sigma))
    norm = math.sqrt(float(np.mean(np.sum(W0 * W0, axis=1))))
    v_signal = float(np.mean(data.signals[list(headline)] @ sigma))
    v_noise = float(np.mean(data.x2 @ sigma))
    lam = (signal0 * N / (norm * v_signal), noise0 * N / (norm * v_noise))
    positive = [x for x in lam if x > 0]
    return WindowGroups(*lam, min(positive) if positive else float("nan"))


def typical_window_groups(n: int, d: int, m: int, nsnr2: float) -> WindowGroups:
    """The window groups of the paper's data at a typical draw: a0 = kappa_m sigma0 ||z||,
    ||w(0)|| = sigma0 sqrt(d), n_j = n/2 (module docstring; sigma0 and sigma_xi drop out)."""
    kappa = expected_max_normal(m)
    N = math.sqrt(n + n * nsnr2 / 2)  # in units of sigma_xi sqrt(d)
    signal = kappa * N / (math.sqrt(d) * (n / 2) * math.sqrt(nsnr2 / n))
    noise = kappa * N / math.sqrt(d)
    return WindowGroups(signal, noise, min(signal, noise))


def normalised_rise(lam: float, phi):
    """a(t) / a0 at s0 = 0 for a summary with window group lam: (lam + tan phi) / (lam cos^2
    phi)."""
    phi = np.asarray(phi, dtype=float)
    return (lam + np.tan(phi)) / (lam * np.cos(phi) ** 2)


def clock_of(phi):
    """t = (2 phi + sin 2 phi) / 4 (s0 = 0)."""
    phi = np.asarray(phi, dtype=float)
    return (2 * phi + np.sin(2 * phi)) / 4


def phase_at(t: float) -> float:
    """The phi at which the s0 = 0 orbit reaches clock time t < pi/4."""
    return optimize.brentq(lambda p: clock_of(p) - t, 0.0, math.pi / 2, xtol=1e-15)


def linearity_index(lams, growth: float) -> tuple[float, float]:
    """(t_w, index): the leading-order window end (in the clock T) and linearity index (the larger
    over the features) of summaries with window groups `lams` (all positive), at s0 = 0: the window
    ends where the first of them has grown `growth` times; a feature's index is its rise over the
    second half of the window over its rise over the first half (sims.studies.measures)."""
    lams = [float(x) for x in lams]

    def end(lam):  # where a summary with this group has grown `growth` times
        return optimize.brentq(
            lambda p: normalised_rise(lam, p) - growth, 0.0, math.pi / 2 - 1e-15, xtol=1e-15
        )

    phi_w = min(end(x) for x in lams)
    t_w = float(clock_of(phi_w))
    phi_h = phase_at(t_w / 2)

    def index(lam):
        half = normalised_rise(lam, phi_h)
        return float((normalised_rise(lam, phi_w) - half) / (half - 1.0))

    return t_w, max(index(x) for x in lams)


# -------------------------------------------------------------------------------- the race group
class Race(NamedTuple):
    """The neurons' blow-up race (module docstring): the last one's lag behind the first in the
    first one's clock, and the race group B = sqrt(I0) / (3 Delta)."""

    lag: float
    group: float
    blowup_steps: float  # the first neuron's blow-up time in steps of eta (nan without eta)


def race(cfg, data: Dataset, W0: np.ndarray, init_ratio: float, eta: float = float("nan")) -> Race:
    """The race of a diffusion run from W0 (init_ratio: I0 = sigma0^2 d / G_rr*, theory.law)."""
    nn = neurons(cfg, data, W0)
    first = int(np.argmin(nn.blowup))
    lag = float((nn.blowup.max() - nn.blowup[first]) / nn.clock[first])
    group = math.sqrt(init_ratio) / (3 * lag) if lag > 0 else float("inf")
    return Race(lag, group, float(nn.blowup[first] / eta))


# ------------------------------------------------------------------ C1's initial-alignment group
def alignment_group(cfg) -> float:
    """Z = sigma0 sigma_xi sqrt(d): every initial alignment of the classifier is Z times a number of
    order one (module docstring)."""
    return cfg.sigma0 * cfg.sigma_xi * math.sqrt(cfg.d)


def expected_max_abs_normal(m: int) -> float:
    """kappa'_m = E max_{r <= m} |g_r|, g_r i.i.d. N(0, 1)."""
    # P(max |g| <= t) = (2 Phi(t) - 1)^m
    return float(integrate.quad(lambda t: 1.0 - (2 * stats.norm.cdf(t) - 1.0) ** m, 0, np.inf)[0])


def log_factor(Z: float, m: int) -> float:
    """Lf = log(sqrt(m) / (kappa'_m Z)): the noise's e-folds from its initial size to order one."""
    return math.log(math.sqrt(m) / (expected_max_abs_normal(m) * Z))


def boundary_of(Z: float, n: int, m: int, frac: float = 0.5) -> float:
    """The n SNR^2 at which signal and noise reach order one together (theory.predict): the root of
    frac x Lf = Lf - log(x / n) / 2 (x = 2 + log(n / x) / Lf for frac = 1/2); nan if Lf <= 0."""
    lf = log_factor(Z, m)
    if lf <= 0:
        return float("nan")
    gap = lambda log_x: frac * math.exp(log_x) * lf - lf + 0.5 * (log_x - math.log(n))
    return float(math.exp(optimize.brentq(gap, math.log(1e-12), math.log(1e12), xtol=1e-14)))
