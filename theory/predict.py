"""Predictions for one setting, computed from the model and the reduced dynamics (nothing is
fitted).

Time is tau = eta * step throughout (theory.ode); every "..._steps" value is tau / eta for the run's
eta.

Diffusion (x_t = alpha x0 + beta eps, c the output scale, k1 = sum_t weight_t 4 c alpha_t beta_t):
  * Early growth. At small alignments the gradient is dominated by the -4 c alpha beta sum_r a_r
    G_rr term of the loss (eq. E in sims.diffusion), so for orthogonal data
    (theory.derive.leading_rate)
        d<w_r, z>/dtau = k1 / (2n) * G_rr * n_z ||z||^2 + (higher order),
    n_z the number of patches equal to z: n_j for mu_j, 1 for xi_i. The ratio of signal to noise
    rates is n_j ||mu||^2 / ||xi_i||^2 (~ n SNR^2 / 2 with balanced classes). `initial_rates` are
    the exact d/dtau at tau = 0 of the summary quantities of sims.train.summarize; `leading_rates`
    the lowest order in sigma0 (the formula above plus a term 2 S_r <w_r, z>, smaller by ~ sqrt(n /
    d)); `rate_ratio_formula` = mean_j n_j ||mu_j||^2 / mean_i ||xi_i||^2.
  * Near-linear phase: the first tau at which a summary quantity departs by 10 % from its
    initial-rate line (from the ODE trajectory).
  * Stationary point: the flow's long-time state (theory.ode.long_flow, followed for as long as it
    describes descent with the run's eta, i.e. while the largest curvature stays below 2/eta),
    refined to grad L = 0, with its Morse index, branch and the scalar equation where that applies
    (theory.stationary). The stationary ratio is near 1 and moves weakly with n SNR^2 on the
    symmetric branch, where the scalar equation explains it; it is not the only branch
    (theory.stationary), and for some settings (e.g. m = 32, n SNR^2 = 67.5) the flow reaches no
    stationary point: two groups of neurons with opposite alignments grow without bound while their
    outputs nearly cancel, the loss still decreasing, and the curvature grows until descent with any
    fixed eta leaves the flow.

Classification (logistic loss, F_j = (1/m) sum_r sum_p <w_{j,r}, x^(p)>^2):
  * While the loss is near log 2, dl/df_i = -y_i / (2n) and the own-class alignments grow
    exponentially,
        d<w_{j,r}, mu_j>/dtau = lambda_s <w_{j,r}, mu_j>,    lambda_s = n_j ||mu||^2 / (m n),
        d<w_{y_i,r}, xi_i>/dtau = lambda_n <w_{y_i,r}, xi_i>, lambda_n = ||xi_i||^2 / (m n)
    (exact for orthogonal data at f = 0), so lambda_s / lambda_n = n_j ||mu||^2 / ||xi||^2.
  * A feature reaches order one when one filter alone gives margin 1: a^2 / m = 1, a = sqrt(m). From
    initial size a0 that takes T = log(sqrt(m) / a0) / lambda. The first feature to get there wins:
    once the margins are of order one the loss derivative decays and the other feature stops
    growing.
  * For any signal patches the exact rate of the signal part is the top eigenvalue of the linearised
    map (`linear_signal_rates`); the closed forms above and below assume Definition 2.1
    (`departures`), and `boundary_nsnr2` is None, with the reason, when the data depart from it.
  * Boundary: T_signal = T_noise, i.e. (n_j / n) n SNR^2 = log(sqrt(m)/a0_s) / log(sqrt(m)/a0_n),
    with the typical initial sizes a0 = sigma0 ||z|| kappa_m (kappa_m = E max_r |g_r| over m
    standard normals) and ||mu||^2 = (n SNR^2 / n) sigma_xi^2 d, ||xi||^2 = sigma_xi^2 d: the log
    factors move it away from n SNR^2 = 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
from scipy import integrate, optimize, stats

from sims import FldmError, io, models
from sims.config import TrainConfig
from sims.data import Dataset, label_index
from sims.diffusion import output_scale
from sims.models import summarize
from sims.train import prepare
from theory import law, reduced
from theory.ode import long_flow
from theory.stationary import Stationary, analyse

LINEAR_TOL = 0.1  # a 10 % departure from the initial-rate line ends the near-linear phase
GTOL = 1e-10  # ||grad L|| at which the ODE counts as stationary
ENDGAME_GTOL = (
    1e-6  # ||grad L|| below which a state without unstable directions is refined by Newton
)
RTOL, ATOL = (
    1e-7,
    1e-10,
)  # the long-time flow's tolerances: global error ~1e-5, far below descent's O(eta)
HORIZON_STEPS = 1e7  # longest ODE time, in steps of the run's eta
CONTINUE_FACTOR = 0.1  # past descent's instability the flow is followed to curvature 2/(this eta)


class Pair(NamedTuple):
    """One number for the signal and one for the noise (written as {"signal": .., "noise": ..})."""

    signal: float
    noise: float


class LinearRates(NamedTuple):
    """The classifier's exponential rates from the linearised flow (`linear_signal_rates`)."""

    signal: float  # mean over the classes
    signal_by_class: np.ndarray
    noise: float


@dataclass(frozen=True)
class DiffusionPrediction:
    """The diffusion predictions of the module docstring; `to_dict()` is the JSON `fldm predict`
    prints."""

    nsnr2: float
    eta: float
    initial: Pair  # the summary alignments at tau = 0
    initial_rates: Pair  # their exact d/dtau at tau = 0
    initial_rate_ratio: float
    leading_rates: Pair  # the lowest order in sigma0
    rate_ratio_formula: float  # mean_j n_j ||mu_j||^2 / mean_i ||xi_i||^2 (Definition 2.1)
    not_definition_2_1: list  # how the data depart from Definition 2.1 (`departures`)
    linear_phase_tau: Pair
    linear_phase_steps: Pair
    ode_status: str
    ode_tau_end: float
    stationary: Stationary
    regime: law.Regime  # where the setting stands against the stationary-ratio law (theory.law)
    model: str = "diffusion"

    def to_dict(self) -> dict:
        return io.plain(self)


@dataclass(frozen=True)
class ClassificationPrediction:
    """The classification predictions of the module docstring; `to_dict()` is the JSON of `fldm
    predict`."""

    nsnr2: float
    eta: float
    rates: Pair  # the exponential rates lambda_s, lambda_n (class and sample means)
    rate_ratio: float
    initial: Pair  # the typical initial own-class alignments
    order_one_level: float
    time_to_order_one_tau: Pair
    time_to_order_one_steps: Pair
    winner: str
    boundary_nsnr2: float | None  # None when the data depart from Definition 2.1 (then the reason:)
    boundary_not_applicable: str | None
    linear_rates: LinearRates  # the exact rates of the linearised flow, for any signal patches
    linear_rate_ratio: float
    not_definition_2_1: list
    regime: law.Regime  # not covered: the stationary-ratio law is the diffusion model's
    model: str = "classification"

    def to_dict(self) -> dict:
        return io.plain(self)


def predict(
    cfg: TrainConfig, data: Dataset | None = None, W0: np.ndarray | None = None
) -> DiffusionPrediction | ClassificationPrediction:
    """All predictions for the setting of cfg, from the run sims.train.prepare builds (`data` and
    `W0` override the configured ones)."""
    reduced.check(cfg)
    model = models.get(cfg.model)
    if model.theory.predict is None:
        raise FldmError(
            f"the theory does not reach the {cfg.model} model: there is no prediction for it"
        )
    run = prepare(cfg, data, W0)
    return model.theory.predict(cfg, run.data, run.W0, run.eta)


def stationary_ratio(cfg: TrainConfig, data: Dataset | None = None) -> float:
    """The predicted signal/noise ratio (sims.models summary) at the diffusion stationary point (nan
    if the flow reached none)."""
    stat = predict(cfg.replace(model="diffusion"), data).stationary
    return stat.ratio if stat.found else float("nan")


# -----------------------------------------------------------------------------------------
# diffusion


def patch_weights(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The weight n_z ||z||^2 of each patch direction z: (n_f ||mu_f||^2 per signal vector f,
    ||xi_i||^2 per sample i), n_f the number of samples whose signal patch is mu_f (n_j, the samples
    with label j, for Definition 2.1 data). For orthogonal data the early rates and the stationary
    alignments of both models depend on a patch only through it."""
    signals = data.signals
    counts = np.bincount(data.signal_index, minlength=signals.shape[0])
    return counts * np.sum(signals**2, axis=1), np.sum(data.x2**2, axis=1)


HEADLINE = [
    0,
    1,
]  # the signal columns of the headline summary: the first feature of each class (sims.models)


def departures(cfg: TrainConfig, data: Dataset) -> list[str]:
    """How the data depart from Definition 2.1 (empty when they do not): the closed-form formulas of
    this module (the rate ratio formula, the classification rates, boundary and winner) assume it;
    the rates from the gradient, the ODE and the stationary point hold for any data."""
    out = []
    signals = data.signals
    if data.num_features > 1:
        out.append(f"{data.num_features} features per class")
    S = signals @ signals.T
    off = S - np.diag(np.diag(S))
    if np.abs(off).max() > 1e-12 * np.abs(S).max():
        cos = S[0, 1] / np.sqrt(S[0, 0] * S[1, 1])
        out.append(f"signal vectors not orthogonal (cos(mu_+1, mu_-1) = {cos:.3g})")
    if not np.array_equal(data.x1, signals[data.signal_index]):
        out.append("signal patches are not the signal vectors")
    if data.balance != 0.5:
        out.append(f"imbalanced classes (P(y = +1) = {data.balance:g})")
    return out


def summary_pair(red, Wr, y) -> tuple[float, float]:
    signal, noise = reduced.alignments(red, Wr)
    s = summarize(red.cfg.model, signal, noise, y)
    return s.signal, s.noise


def summary_rates(red, Wr, y) -> Pair:
    """d/dtau of (mean_j max_r <w_r, mu_j>, mean_i max_r <w_r, xi_i>) along the flow at Wr."""
    signal, noise = reduced.alignments(red, Wr)
    dsignal, dnoise = reduced.alignments(red, -reduced.loss_and_grad(red, Wr)[1])
    rs, rn = signal[:, HEADLINE].argmax(axis=0), noise.argmax(axis=0)
    return Pair(
        float(np.mean(dsignal[rs, HEADLINE])), float(np.mean(dnoise[rn, np.arange(noise.shape[1])]))
    )


def leading_rates(cfg: TrainConfig, data: Dataset, W0: np.ndarray) -> Pair:
    """The lowest-order rates k1/(2n) (G_rr n_z ||z||^2 + 2 S_r <w_r, z>)
    (theory.derive.leading_rate, S_r = sum of <w_r, x> over all 2n patches) of the summary
    quantities, each with the neuron r that is largest at initialisation. For d >> n the first term
    dominates."""
    c = output_scale(cfg.m, cfg.scale)
    k1 = sum(4 * c * a * b * w for a, b, w in cfg.diffusion_times)
    g = np.sum(W0 * W0, axis=1)
    n = data.n
    w_signal, w_noise = patch_weights(data)
    w_signal = w_signal[HEADLINE]
    S = (data.x1 + data.x2).sum(axis=0) @ W0.T
    s_align, n_align = W0 @ data.mu.T, W0 @ data.x2.T
    rs, rn = s_align.argmax(axis=0), n_align.argmax(axis=0)
    signal = k1 / (2 * n) * (g[rs] * w_signal + 2 * S[rs] * s_align[rs, [0, 1]])
    noise = k1 / (2 * n) * (g[rn] * w_noise + 2 * S[rn] * n_align[rn, np.arange(n)])
    return Pair(float(np.mean(signal)), float(np.mean(noise)))


def linear_phase(taus, values, rate, value0) -> float:
    """First tau at which values depart from value0 + rate tau by more than LINEAR_TOL of rate
    tau."""
    taus, values = np.asarray(taus), np.asarray(values)
    off = np.abs(values - value0 - rate * taus) > LINEAR_TOL * np.abs(rate) * taus
    off[0] = False
    return float(taus[np.argmax(off)]) if off.any() else float("nan")


def stopped(
    red, Wr, status: str, tau: float, eta: float, leaves: float | None
) -> Stationary | None:
    """The record of a flow that stopped before any stationary point (None if it did not). `leaves`:
    the step at which descent with this eta leaves the flow (None if it does not before this
    point)."""
    if status.startswith("blow-up"):
        return Stationary(
            found=False,
            reason=f"the alignment ODE stopped: {status}",
            tau=tau,
            steps=tau / eta,
            descent_leaves_at_step=leaves,
        )
    if status.startswith("unstable"):
        signal, noise = reduced.alignments(red, Wr)
        biggest = max(np.abs(signal).max(), np.abs(noise).max())
        return Stationary(
            found=False,
            tau=tau,
            steps=tau / eta,
            descent_leaves_at_step=leaves,
            reason=(
                f"gradient descent with eta = {eta:.4g} leaves the flow at step ~{leaves:.3g} (the "
                f"largest "
                f"curvature of the loss reaches 2/eta there), and the flow reaches no stationary "
                f"point "
                f"before its curvature passes 2/({CONTINUE_FACTOR:g} eta) at step ~{tau / eta:.3g} "
                f"(max "
                f"|alignment| {biggest:.3g}): its alignments grow without bound"
            ),
        )
    return None


def long_time_state(
    cfg, data, red, Wr, status: str, tau: float, eta: float, leaves: float | None = None
) -> Stationary:
    """What the flow's long-time state is: a stationary point (theory.stationary) or why there is
    none.

    The flow is followed to ||grad L|| < ENDGAME_GTOL. If the state there has no unstable direction
    (Morse index 0) it lies ~ ||grad L|| / lambda_min from the minimum, deep in its quadratic basin,
    and Newton steps (theory.stationary.refine) reach the point the flow converges to; the flow's
    remaining time to ||grad L|| = GTOL, log(||grad L|| / GTOL) / lambda_min (its slowest decay
    rate), is added to `tau` and `steps`. Otherwise (a plateau near a saddle) the flow is followed
    on to ||grad L|| < GTOL. `leaves`: the step where descent with eta left the flow on the way
    (`follow`), or None.
    """
    if (record := stopped(red, Wr, status, tau, eta, leaves)) is not None:
        return record
    weights = patch_weights(data)
    if status == "stationary":
        stat = analyse(cfg, data, red, Wr, weights, eta=eta, tau=tau, reached_gtol=True)
        slowest = -stat.max_eigenvalue
        if stat.morse_index == 0 and stat.residual <= GTOL and slowest > 0:
            grad = np.linalg.norm(reduced.loss_and_grad(red, Wr)[1])
            tau += max(math.log(grad / GTOL), 0.0) / slowest
            return replace(stat, tau=tau, steps=tau / eta, descent_leaves_at_step=leaves)
        t, states, status, more = follow(
            red, Wr, [0.0, max(HORIZON_STEPS * eta - tau, 0.0)], GTOL, eta, leaves is not None
        )
        leaves = leaves if more is None else tau / eta + more
        Wr, tau = states[-1], tau + float(t[-1])
        if (record := stopped(red, Wr, status, tau, eta, leaves)) is not None:
            return record
    stat = analyse(
        cfg, data, red, Wr, weights, eta=eta, tau=tau, reached_gtol=status == "stationary"
    )
    stat = replace(stat, descent_leaves_at_step=leaves)
    if status != "stationary" and stat.residual > GTOL:
        stat = replace(
            stat,
            found=False,
            reason=f"no stationary point by step {HORIZON_STEPS:.3g} "
            f"(||grad L|| = {stat.residual:.3g} there)"
            + (
                ""
                if leaves is None
                else f"; gradient descent with eta = {eta:.4g} leaves the flow at "
                f"step ~{leaves:.3g}"
            ),
        )
    return stat


def follow(red, Wr0, taus, gtol: float, eta: float, past: bool):
    """The flow at the times `taus` (theory.ode.long_flow) to ||grad L|| < gtol. The stationary
    point it reaches does not depend on eta; descent with step eta follows it only while the largest
    curvature stays below 2/eta. Where it passes that, the step is noted and the flow is followed on
    while its curvature stays below 2/(CONTINUE_FACTOR eta) (`past`: it already passed, follow at
    that limit). Returns (taus, states, status, the step where descent leaves the flow or None)."""
    limit = CONTINUE_FACTOR * eta if past else eta
    t, states, status, _ = long_flow(red, Wr0, taus, gtol=gtol, eta=limit, rtol=RTOL, atol=ATOL)
    if past or not status.startswith("unstable"):
        return t, states, status, None
    leaves = float(t[-1]) / eta
    later = np.asarray(taus, dtype=float)
    later = np.concatenate([[0.0], later[later > t[-1]] - t[-1]])
    if len(later) == 1:  # the horizon is reached
        return t, states, status, leaves
    t2, states2, status, _ = long_flow(
        red, states[-1], later, gtol=gtol, eta=CONTINUE_FACTOR * eta, rtol=RTOL, atol=ATOL
    )
    return (
        np.concatenate([t, t[-1] + t2[1:]]),
        np.concatenate([states, states2[1:]]),
        status,
        leaves,
    )


def predict_diffusion(cfg, data, W0, eta) -> DiffusionPrediction:
    red, Wr0 = reduced.reduce(cfg, data, W0)
    y = data.y
    rates = summary_rates(red, Wr0, y)
    w_signal, w_noise = patch_weights(data)
    s0, n0 = summary_pair(red, Wr0, y)

    # one flow on a log grid: the near-linear phase, then the long-time state
    horizon = HORIZON_STEPS * eta
    taus = np.concatenate([[0.0], np.geomspace(1e-3 * eta, horizon, 1200)])
    t, states, status, leaves = follow(red, Wr0, taus, ENDGAME_GTOL, eta, False)
    pairs = np.array([summary_pair(red, Wr, y) for Wr in states])
    lin = Pair(
        linear_phase(t, pairs[:, 0], rates.signal, s0),
        linear_phase(t, pairs[:, 1], rates.noise, n0),
    )
    return DiffusionPrediction(
        nsnr2=data.nsnr2,
        eta=eta,
        initial=Pair(s0, n0),
        initial_rates=rates,
        initial_rate_ratio=rates.signal / rates.noise,
        leading_rates=leading_rates(cfg, data, W0),
        rate_ratio_formula=float(np.mean(w_signal[HEADLINE]) / np.mean(w_noise)),
        not_definition_2_1=departures(cfg, data),
        linear_phase_tau=lin,
        linear_phase_steps=Pair(lin.signal / eta, lin.noise / eta),
        ode_status=status,
        ode_tau_end=float(t[-1]),
        stationary=long_time_state(cfg, data, red, states[-1], status, float(t[-1]), eta, leaves),
        regime=law.regime_of(cfg, data),
    )


# ------------------------------------------------------------------------------------
# classification


def expected_max_abs_normal(m: int) -> float:
    """kappa_m = E max_{r <= m} |g_r|, g_r i.i.d. N(0, 1)."""
    # P(max |g| <= t) = (2 Phi(t) - 1)^m
    return float(integrate.quad(lambda t: 1.0 - (2 * stats.norm.cdf(t) - 1.0) ** m, 0, np.inf)[0])


def order_one_time(a0: float, rate: float, level: float) -> float:
    """T = log(level / a0) / rate: exponential growth from a0 to the order-one level (0 if already
    there)."""
    return max(math.log(level / a0), 0.0) / rate


def boundary_nsnr2(cfg: TrainConfig, data: Dataset | None = None) -> float:
    """The n SNR^2 at which signal and noise reach order one at the same time (module docstring).

    Uses the class-averaged n_j / n = 1/2, n, d and the noise scale of `data` if given (else of
    cfg), and the typical initial sizes sigma0 ||z|| kappa_m. nan if the noise is already of order
    one at initialisation.
    """
    n, d, m, sigma_xi = cfg.n, cfg.d, cfg.m, cfg.sigma_xi
    frac = 0.5
    if data is not None:  # its noise scale: the generator's, or estimated from loaded noise patches
        n, d, sigma_xi = data.n, data.d, data.noise_scale
    kappa, level = expected_max_abs_normal(m), math.sqrt(m)
    a0_noise = cfg.sigma0 * sigma_xi * math.sqrt(d) * kappa
    log_noise = math.log(level / a0_noise)
    if log_noise <= 0:
        return float("nan")

    def gap(log_x):  # lambda_s/lambda_n * log(level/a0_n) - log(level/a0_s): increasing in x
        x = math.exp(log_x)
        a0_signal = cfg.sigma0 * sigma_xi * math.sqrt(x * d / n) * kappa
        return frac * x * log_noise - math.log(level / a0_signal)

    return float(math.exp(optimize.brentq(gap, math.log(1e-12), math.log(1e12), xtol=1e-14)))


def linear_signal_rates(data: Dataset, m: int) -> np.ndarray:
    """The exponential rate of each class's signal learning at f = 0, for any signal patches: while
    dl/df_i = -y_i / (2n), the own-class filters follow dw_{j,r}/dtau = M_j w_{j,r} with, on the
    span of the signal patches, M_j = s_j / (m n) sum_i y_i x1_i x1_i^T (s_j = +1, -1 the second
    layer), so the signal part grows like exp(lambda_j tau), lambda_j the largest eigenvalue of M_j
    (that of the n x n matrix s_j diag(y) X1 X1^T / (m n)). Equals n_j ||mu||^2 / (m n) for
    Definition 2.1 data."""
    K = np.diag(data.y.astype(float)) @ (data.x1 @ data.x1.T) / (m * data.n)
    return np.array([np.linalg.eigvals(sign * K).real.max() for sign in (1.0, -1.0)])


def predict_classification(cfg, data, W0, eta) -> ClassificationPrediction:
    m, n = cfg.m, data.n
    own = label_index(data.y)
    w_signal, w_noise = patch_weights(data)
    w_signal = w_signal[HEADLINE]
    lam_s = w_signal / (m * n)  # per class j
    lam_n = w_noise / (m * n)  # per sample i
    signal0 = np.abs(np.einsum("jrd,jd->jr", W0, data.mu)).max(axis=1)  # max_r |<w_{j,r}, mu_j>|
    noise0 = np.abs(np.einsum("ird,id->ir", W0[own], data.x2)).max(axis=1)
    level = math.sqrt(m)
    T_s = float(
        np.mean([order_one_time(a, l, level) for a, l in zip(signal0, lam_s) if l > 0] or [np.inf])
    )
    T_n = float(np.mean([order_one_time(a, l, level) for a, l in zip(noise0, lam_n)]))
    lam_lin = linear_signal_rates(data, m)
    beyond = departures(cfg, data)
    return ClassificationPrediction(
        nsnr2=data.nsnr2,
        eta=eta,
        rates=Pair(float(np.mean(lam_s)), float(np.mean(lam_n))),
        rate_ratio=float(np.mean(lam_s) / np.mean(lam_n)),
        initial=Pair(float(np.mean(signal0)), float(np.mean(noise0))),
        order_one_level=level,
        time_to_order_one_tau=Pair(T_s, T_n),
        time_to_order_one_steps=Pair(T_s / eta, T_n / eta),
        winner="signal" if T_s < T_n else "noise",
        # the closed forms assume Definition 2.1: no number rather than a wrong one
        boundary_nsnr2=None if beyond else boundary_nsnr2(cfg, data),
        boundary_not_applicable=(
            "the boundary formula assumes Definition 2.1; these data have " + "; ".join(beyond)
        )
        if beyond
        else None,
        linear_rates=LinearRates(float(np.mean(lam_lin)), lam_lin, float(np.mean(lam_n))),
        linear_rate_ratio=float(np.mean(lam_lin) / np.mean(lam_n)),
        not_definition_2_1=beyond,
        regime=law.not_covered("the stationary-ratio law is the diffusion model's (D2)"),
    )


# -------------------------------------------------------------------- what the studies read (typed)
class DiffusionReading(NamedTuple):
    """The numbers of a diffusion prediction (its to_dict()) that the studies read."""

    growth_ratio: float | None  # initial_rate_ratio: the exact early rate ratio (D1)
    stationary_ratio: float | None  # the stationary point's ratio (D2); None if there is none
    early_rates: Pair  # initial_rates: the early growth is linear at these rates


class ClassificationReading(NamedTuple):
    """The numbers of a classification prediction (its to_dict()) that the studies read."""

    winner: str | None  # "signal" or "noise"
    boundary_nsnr2: float | None  # None where the data depart from Definition 2.1
    rate_ratio: float | None  # lambda_s / lambda_n of Definition 2.1
    linear_rate_ratio: float | None  # the same from the linearised flow, for any signal patches
    early_rates: Pair  # rates: the early growth is exponential at these rates


def read_diffusion(p: dict) -> DiffusionReading:
    return DiffusionReading(
        growth_ratio=p.get("initial_rate_ratio"),
        stationary_ratio=p.get("stationary", {}).get("ratio"),
        early_rates=Pair(**p["initial_rates"]),
    )


def read_classification(p: dict) -> ClassificationReading:
    return ClassificationReading(
        winner=p.get("winner"),
        boundary_nsnr2=p.get("boundary_nsnr2"),
        rate_ratio=p.get("rate_ratio"),
        linear_rate_ratio=p.get("linear_rate_ratio"),
        early_rates=Pair(**p["rates"]),
    )
