"""Predictions for one setting, computed from the model and the reduced dynamics (nothing is fitted).

Time is tau = eta * step throughout (theory.ode); every "..._steps" value is tau / eta for the run's eta.

Diffusion (x_t = alpha x0 + beta eps, c the output scale, k1 = sum_t weight_t 4 c alpha_t beta_t):
  * Early growth. At small alignments the gradient is dominated by the -4 c alpha beta sum_r a_r G_rr term
    of the loss (eq. E in sims.diffusion), so for orthogonal data (theory.derive.leading_rate)
        d<w_r, z>/dtau = k1 / (2n) * G_rr * n_z ||z||^2 + (higher order),
    n_z the number of patches equal to z: n_j for mu_j, 1 for xi_i. The ratio of signal to noise rates is
    n_j ||mu||^2 / ||xi_i||^2 (~ n SNR^2 / 2 with balanced classes). `initial_rates` are the exact
    d/dtau at tau = 0 of the summary quantities of sims.train.summarize; `leading_rates` the lowest order
    in sigma0 (the formula above plus a term 2 S_r <w_r, z>, smaller by ~ sqrt(n / d));
    `rate_ratio_formula` = mean_j n_j ||mu_j||^2 / mean_i ||xi_i||^2.
  * Near-linear phase: the first tau at which a summary quantity departs by 10 % from its initial-rate
    line (from the ODE trajectory).
  * Stationary point: the ODE's long-time state, refined by scipy.optimize.root on grad L = 0, its
    stability from the Hessian of the reduced loss (the flow's Jacobian is -Hessian) with the gauge
    directions Rc -> Rc Omega removed, and the alignments and signal/noise ratio there.
  * Mechanism of the stationary ratio (`scalar_equation`). At a stationary point where R R^T has rank
    s, dL/dG vanishes on the range of R R^T (`dL_dG_on_surviving`). With orthogonal data each patch
    direction z (repeated n_z times, a_z = (<w_r, z>)_r) then satisfies
        n_z ||z||^2 * dT/da(a_z; G) + 2n (dL/dG) a_z = 0,
    T the one-patch loss of eq. (E). In every stationary point found the neurons share their data-span
    part, R's sum has died (s = m - 1) and dL/dG = nu 1 1^T / m on the rest, so this is one scalar
    equation whose root a(w) depends on the patch only through w = n_z ||z||^2 and increases with it.
    Hence the ratio is 1 when n_j ||mu||^2 = ||xi||^2 (n SNR^2 = 2 with balanced classes), below 1 below
    it and above 1 above it, exactly 1 when nu = 0 (m = 1: theory.derive.stationary_m1), and it tends
    (slowly) to 1 as d grows at fixed n SNR^2, since both weights grow like d.

Classification (logistic loss, F_j = (1/m) sum_r sum_p <w_{j,r}, x^(p)>^2):
  * While the loss is near log 2, dl/df_i = -y_i / (2n) and the own-class alignments grow exponentially,
        d<w_{j,r}, mu_j>/dtau = lambda_s <w_{j,r}, mu_j>,    lambda_s = n_j ||mu||^2 / (m n),
        d<w_{y_i,r}, xi_i>/dtau = lambda_n <w_{y_i,r}, xi_i>, lambda_n = ||xi_i||^2 / (m n)
    (exact for orthogonal data at f = 0), so lambda_s / lambda_n = n_j ||mu||^2 / ||xi||^2.
  * A feature reaches order one when one filter alone gives margin 1: a^2 / m = 1, a = sqrt(m). From
    initial size a0 that takes T = log(sqrt(m) / a0) / lambda. The first feature to get there wins: once the
    margins are of order one the loss derivative decays and the other feature stops growing.
  * For any signal patches the exact rate of the signal part is the top eigenvalue of the linearised map
    (`linear_signal_rates`); the closed forms above and below assume Definition 2.1 (`departures`), and
    `boundary_nsnr2` is None, with the reason, when the data depart from it.
  * Boundary: T_signal = T_noise, i.e. (n_j / n) n SNR^2 = log(sqrt(m)/a0_s) / log(sqrt(m)/a0_n), with the
    typical initial sizes a0 = sigma0 ||z|| kappa_m (kappa_m = E max_r |g_r| over m standard normals) and
    ||mu||^2 = (n SNR^2 / n) sigma_xi^2 d, ||xi||^2 = sigma_xi^2 d: the log factors move it away from
    n SNR^2 = 2.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy as sp
from scipy import integrate, optimize, stats

from sims import io
from sims.config import TrainConfig
from sims.data import Dataset, label_index
from sims.diffusion import output_scale
from sims.models import summarize
from sims.train import prepare
from theory import derive, reduced
from theory.ode import flow

LINEAR_TOL = 0.1        # a 10 % departure from the initial-rate line ends the near-linear phase
GTOL = 1e-10            # ||grad L|| at which the ODE counts as stationary
HORIZON_STEPS = 1e7     # longest ODE time, in steps of the run's eta


def predict(cfg: TrainConfig, data: Dataset | None = None) -> dict:
    """All predictions for the setting of cfg (JSON-serialisable), from the run sims.train.prepare builds."""
    run = prepare(cfg, data)
    return PREDICTORS[cfg.model](cfg, run.data, run.W0, run.eta)


def stationary_ratio(cfg: TrainConfig, data: Dataset | None = None) -> float:
    """The predicted signal/noise ratio (sims.train.summarize) at the diffusion stationary point
    (nan if the ODE found none)."""
    stat = predict(cfg.replace(model="diffusion"), data)["stationary"]
    return float(stat["ratio"]) if stat["found"] else float("nan")


# ----------------------------------------------------------------------------------------- diffusion

def patch_weights(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The weight n_z ||z||^2 of each patch direction z: (n_f ||mu_f||^2 per signal vector f, ||xi_i||^2 per
    sample i), n_f the number of samples whose signal patch is mu_f (n_j, the samples with label j, for
    Definition 2.1 data). For orthogonal data the early rates and the stationary alignments of both models
    depend on a patch only through it."""
    signals = data.signals
    counts = np.bincount(data.signal_index, minlength=signals.shape[0])
    return counts * np.sum(signals**2, axis=1), np.sum(data.x2**2, axis=1)


HEADLINE = [0, 1]  # the signal columns of the headline summary: the first feature of each class (sims.models)


def departures(cfg: TrainConfig, data: Dataset) -> list[str]:
    """How the data depart from Definition 2.1 (empty when they do not): the closed-form formulas of this
    module (the rate ratio formula, the classification rates, boundary and winner) assume it; the rates
    from the gradient, the ODE and the stationary point hold for any data."""
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
    s = summarize("diffusion", signal, noise, y)
    return s.signal, s.noise


def summary_rates(red, Wr, y) -> tuple[float, float]:
    """d/dtau of (mean_j max_r <w_r, mu_j>, mean_i max_r <w_r, xi_i>) along the flow at Wr."""
    signal, noise = reduced.alignments(red, Wr)
    dsignal, dnoise = reduced.alignments(red, -reduced.loss_and_grad(red, Wr)[1])
    rs, rn = signal[:, HEADLINE].argmax(axis=0), noise.argmax(axis=0)
    return (float(np.mean(dsignal[rs, HEADLINE])), float(np.mean(dnoise[rn, np.arange(noise.shape[1])])))


def leading_rates(cfg: TrainConfig, data: Dataset, W0: np.ndarray) -> tuple[float, float]:
    """The lowest-order rates k1/(2n) (G_rr n_z ||z||^2 + 2 S_r <w_r, z>) (theory.derive.leading_rate,
    S_r = sum of <w_r, x> over all 2n patches) of the summary quantities, each with the neuron r that is
    largest at initialisation. For d >> n the first term dominates."""
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
    return float(np.mean(signal)), float(np.mean(noise))


def hessian(red, Wr, h: float = 1e-6) -> np.ndarray:
    """Hessian of the reduced loss by central differences of the exact gradient."""
    x0 = Wr.ravel()
    H = np.empty((x0.size, x0.size))
    for i in range(x0.size):
        e = np.zeros_like(x0)
        e[i] = h * max(1.0, abs(x0[i]))
        gp = reduced.loss_and_grad(red, (x0 + e).reshape(Wr.shape))[1].ravel()
        gm = reduced.loss_and_grad(red, (x0 - e).reshape(Wr.shape))[1].ravel()
        H[:, i] = (gp - gm) / (2 * e[i])
    return (H + H.T) / 2


def flow_eigenvalues(red, Wr) -> np.ndarray:
    """Eigenvalues of the flow's Jacobian (= -Hessian) at Wr, without the gauge directions."""
    H = hessian(red, Wr)
    gauge = reduced.gauge_directions(red, Wr)
    if gauge.shape[0]:
        _, _, Vt = np.linalg.svd(gauge, full_matrices=True)
        P = Vt[gauge.shape[0]:].T          # orthonormal complement of the gauge directions
        H = P.T @ H @ P
    return -np.linalg.eigvalsh(H)[::-1]


def dL_dG(red, Wr, eps: float = 1e-7) -> np.ndarray:
    """The symmetric derivative dL/dG + (dL/dG)^T of the diffusion loss, G = W W^T (m x m).

    The gradient along an added direction orthogonal to everything, W -> [W, eps I], is (dL/dG sym) eps
    evaluated at G + eps^2 I; so this is exact up to O(eps^2).
    """
    m = Wr.shape[0]
    pad = lambda X: np.hstack([X, np.zeros((X.shape[0], m))])
    aug = reduced.Reduced(**{**red.__dict__, "x1": pad(red.x1), "x2": pad(red.x2), "mu": pad(red.mu)})
    grad = reduced.loss_and_grad(aug, np.hstack([Wr, eps * np.eye(m)]))[1]
    return grad[:, -m:] / eps


def stationary_point(red, Wr_end, y) -> dict:
    """Refine the ODE's long-time state to grad L = 0 and describe the stationary point."""
    shape = Wr_end.shape
    fun = lambda x: reduced.loss_and_grad(red, x.reshape(shape))[1].ravel()
    sol = optimize.root(fun, Wr_end.ravel(), method="lm", options={"xtol": 1e-15, "ftol": 1e-15})
    res_end = np.linalg.norm(fun(Wr_end.ravel()))
    Wr = Wr_end
    if sol.success and np.linalg.norm(sol.fun) <= res_end and \
            np.linalg.norm(sol.x - Wr_end.ravel()) <= 1e-3 * max(1.0, np.linalg.norm(Wr_end)):
        Wr = sol.x.reshape(shape)
    signal, noise = reduced.alignments(red, Wr)
    ratio = summarize("diffusion", signal, noise, y)
    eig = flow_eigenvalues(red, Wr)
    scale = max(np.abs(eig).max(), 1e-300)
    C = reduced.orthogonal_gram(red, Wr)
    c_eig, c_vec = np.linalg.eigh(C)
    surviving = c_eig > 1e-8 * max(c_eig.max(), 1e-300)
    N = dL_dG(red, Wr)
    P = c_vec[:, surviving]
    return {"found": True, "signal": signal, "noise": noise, "ratio": ratio.ratio,
            "summary_signal": ratio.signal, "summary_noise": ratio.noise,
            "residual": float(np.linalg.norm(fun(Wr.ravel()))), "refined": Wr is not Wr_end,
            "max_eigenvalue": float(eig[0]), "min_eigenvalue": float(eig[-1]),
            "stable": bool(eig[0] <= 1e-6 * scale), "eigenvalues": eig,
            "orthogonal_gram_eigenvalues": c_eig, "surviving_rank": int(surviving.sum()),
            "dL_dG": N, "dL_dG_on_surviving": float(np.linalg.norm(P.T @ N @ P)) if P.size else 0.0,
            "state": Wr}


@lru_cache(maxsize=None)
def one_patch_force(m: int):
    """dT/da_1 of the one-patch loss T (eq. E, theory.derive.paper_patch_loss) as a numpy function of
    (a_1..a_m, upper-triangle G entries, alpha, beta, c)."""
    a, G = derive.align_symbols(m), derive.gram_symbols(m)
    upper = [G[r, s] for r in range(m) for s in range(r, m)]
    expr = sp.diff(derive.paper_patch_loss(m), a[0])
    return sp.lambdify([a, upper, derive.alpha, derive.beta, derive.c], expr, "numpy")


def scalar_equation(cfg: TrainConfig, data: Dataset, red, Wr) -> dict | None:
    """The mechanism behind the stationary ratio, checked at a stationary point Wr.

    When every neuron has the same data-span component (A's rows equal, a_z = a 1 for each patch
    direction z) and dL/dG has 1 as an eigenvector, N 1 = nu 1, the stationarity of A along a direction z
    (orthogonal data, z repeated n_z times) is one scalar equation in a = <w_r, z>:
        psi_w(a) = w / (2n) * phi(a) + nu a = 0,   w = n_z ||z||^2,   phi(a) = sum_t weight_t dT/da_1(a 1, G).
    phi is increasing from -k1 G_rr < 0, so the root a(w) is unique and increases with w: a patch's
    alignment depends on the patch only through its weight n_z ||z||^2 (n_j ||mu||^2 for mu_j, ||xi_i||^2
    for xi_i). nu = 0 (all of R survives, e.g. m = 1) makes every root the same: ratio 1.
    Returns the roots, the alignments found and nu; None when the premises do not hold.
    """
    m, k = Wr.shape[0], red.k
    A = Wr[:, :k]
    Z = np.vstack([data.signals, data.x2])
    K = Z @ Z.T
    off = K - np.diag(np.diag(K))
    if np.ptp(A, axis=0).max() > 1e-7 * max(1.0, np.abs(A).max()) or np.abs(off).max() > 1e-9 * K.max():
        return None
    N = dL_dG(red, Wr)
    ones = np.ones(m)
    nu = float(ones @ N @ ones / m)
    if np.linalg.norm(N @ ones - nu * ones) > 1e-6 * max(1.0, np.abs(N).max()):
        return None
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

    w_signal, w_noise = patch_weights(data)
    signal, noise = reduced.alignments(red, Wr)
    roots_s = np.array([root(w) if w > 0 else np.nan for w in w_signal])
    roots_n = np.array([root(w) for w in w_noise])
    present = w_signal > 0
    err = max(np.abs(roots_s[present] - signal[0, present]).max(), np.abs(roots_n - noise[0]).max())
    return {"nu": nu, "signal_weights": w_signal, "noise_weights": w_noise, "signal_roots": roots_s,
            "noise_roots": roots_n, "max_abs_error": float(err)}


def linear_phase(taus, values, rate, value0) -> float:
    """First tau at which values depart from value0 + rate tau by more than LINEAR_TOL of rate tau."""
    taus, values = np.asarray(taus), np.asarray(values)
    off = np.abs(values - value0 - rate * taus) > LINEAR_TOL * np.abs(rate) * taus
    off[0] = False
    return float(taus[np.argmax(off)]) if off.any() else float("nan")


def predict_diffusion(cfg, data, W0, eta) -> dict:
    red, Wr0 = reduced.reduce(cfg, data, W0)
    y = data.y
    rate_s, rate_n = summary_rates(red, Wr0, y)
    lead_s, lead_n = leading_rates(cfg, data, W0)
    w_signal, w_noise = patch_weights(data)
    formula = float(np.mean(w_signal[HEADLINE]) / np.mean(w_noise))
    s0, n0 = summary_pair(red, Wr0, y)

    # one ODE solve on a log grid: the near-linear phase, then the long-time state
    horizon = HORIZON_STEPS * eta
    taus = np.concatenate([[0.0], np.geomspace(1e-3 * eta, horizon, 1200)])
    t, states, status = flow(red, Wr0, taus, gtol=GTOL, rtol=1e-8, atol=1e-11)
    pairs = np.array([summary_pair(red, Wr, y) for Wr in states])
    lin_s = linear_phase(t, pairs[:, 0], rate_s, s0)
    lin_n = linear_phase(t, pairs[:, 1], rate_n, n0)
    out = {"model": "diffusion", "nsnr2": data.nsnr2, "eta": eta,
           "initial": {"signal": s0, "noise": n0},
           "initial_rates": {"signal": rate_s, "noise": rate_n},
           "initial_rate_ratio": rate_s / rate_n,
           "leading_rates": {"signal": lead_s, "noise": lead_n},
           "rate_ratio_formula": formula,
           "not_definition_2_1": departures(cfg, data),
           "linear_phase_tau": {"signal": lin_s, "noise": lin_n},
           "linear_phase_steps": {"signal": lin_s / eta, "noise": lin_n / eta},
           "ode_status": status, "ode_tau_end": float(t[-1])}
    if status.startswith("blow-up") or status.startswith("solver"):
        out["stationary"] = {"found": False, "reason": f"the alignment ODE stopped: {status}", "ratio": float("nan")}
        return io.plain(out)
    stat = stationary_point(red, states[-1], y)
    stationary_state = stat.pop("state")
    stat["tau"] = float(t[-1])
    stat["steps"] = float(t[-1] / eta)
    stat["reached_gtol"] = status == "stationary"
    stat["scalar_equation"] = scalar_equation(cfg, data, red, stationary_state)
    out["stationary"] = stat
    return io.plain(out)


# ------------------------------------------------------------------------------------ classification

def expected_max_abs_normal(m: int) -> float:
    """kappa_m = E max_{r <= m} |g_r|, g_r i.i.d. N(0, 1)."""
    # P(max |g| <= t) = (2 Phi(t) - 1)^m
    return float(integrate.quad(lambda t: 1.0 - (2 * stats.norm.cdf(t) - 1.0) ** m, 0, np.inf)[0])


def order_one_time(a0: float, rate: float, level: float) -> float:
    """T = log(level / a0) / rate: exponential growth from a0 to the order-one level (0 if already there)."""
    return max(math.log(level / a0), 0.0) / rate


def boundary_nsnr2(cfg: TrainConfig, data: Dataset | None = None) -> float:
    """The n SNR^2 at which signal and noise reach order one at the same time (module docstring).

    Uses the class-averaged n_j / n = 1/2, n and d of `data` if given (else of cfg), and the typical initial
    sizes sigma0 ||z|| kappa_m. nan if the noise is already of order one at initialisation.
    """
    n, d, m = cfg.n, cfg.d, cfg.m
    frac = 0.5
    if data is not None:
        n, d = data.n, data.d
    kappa, level = expected_max_abs_normal(m), math.sqrt(m)
    a0_noise = cfg.sigma0 * cfg.sigma_xi * math.sqrt(d) * kappa
    log_noise = math.log(level / a0_noise)
    if log_noise <= 0:
        return float("nan")

    def gap(log_x):  # lambda_s/lambda_n * log(level/a0_n) - log(level/a0_s): increasing in x
        x = math.exp(log_x)
        a0_signal = cfg.sigma0 * cfg.sigma_xi * math.sqrt(x * d / n) * kappa
        return frac * x * log_noise - math.log(level / a0_signal)

    return float(math.exp(optimize.brentq(gap, math.log(1e-12), math.log(1e12), xtol=1e-14)))


def linear_signal_rates(data: Dataset, m: int) -> np.ndarray:
    """The exponential rate of each class's signal learning at f = 0, for any signal patches: while
    dl/df_i = -y_i / (2n), the own-class filters follow dw_{j,r}/dtau = M_j w_{j,r} with, on the span of the
    signal patches, M_j = s_j / (m n) sum_i y_i x1_i x1_i^T (s_j = +1, -1 the second layer), so the signal
    part grows like exp(lambda_j tau), lambda_j the largest eigenvalue of M_j (that of the n x n matrix
    s_j diag(y) X1 X1^T / (m n)). Equals n_j ||mu||^2 / (m n) for Definition 2.1 data."""
    K = np.diag(data.y.astype(float)) @ (data.x1 @ data.x1.T) / (m * data.n)
    return np.array([np.linalg.eigvals(sign * K).real.max() for sign in (1.0, -1.0)])


def predict_classification(cfg, data, W0, eta) -> dict:
    m, n = cfg.m, data.n
    own = label_index(data.y)
    w_signal, w_noise = patch_weights(data)
    w_signal = w_signal[HEADLINE]
    lam_s = w_signal / (m * n)                                         # per class j
    lam_n = w_noise / (m * n)                                          # per sample i
    signal0 = np.abs(np.einsum("jrd,jd->jr", W0, data.mu)).max(axis=1)  # max_r |<w_{j,r}, mu_j>|
    noise0 = np.abs(np.einsum("ird,id->ir", W0[own], data.x2)).max(axis=1)
    level = math.sqrt(m)
    T_s = float(np.mean([order_one_time(a, l, level) for a, l in zip(signal0, lam_s) if l > 0] or [np.inf]))
    T_n = float(np.mean([order_one_time(a, l, level) for a, l in zip(noise0, lam_n)]))
    out = {"model": "classification", "nsnr2": data.nsnr2, "eta": eta,
           "rates": {"signal": float(np.mean(lam_s)), "noise": float(np.mean(lam_n))},
           "rate_ratio": float(np.mean(lam_s) / np.mean(lam_n)),
           "initial": {"signal": float(np.mean(signal0)), "noise": float(np.mean(noise0))},
           "order_one_level": level,
           "time_to_order_one_tau": {"signal": T_s, "noise": T_n},
           "time_to_order_one_steps": {"signal": T_s / eta, "noise": T_n / eta},
           "winner": "signal" if T_s < T_n else "noise",
           "boundary_nsnr2": boundary_nsnr2(cfg, data)}
    lam_lin = linear_signal_rates(data, m)
    out["linear_rates"] = {"signal": float(np.mean(lam_lin)), "signal_by_class": lam_lin,
                           "noise": float(np.mean(lam_n))}
    out["linear_rate_ratio"] = float(np.mean(lam_lin) / np.mean(lam_n))
    out["not_definition_2_1"] = departures(cfg, data)
    if out["not_definition_2_1"]:  # the closed forms assume Definition 2.1: no number rather than a wrong one
        out["boundary_nsnr2"] = None
        out["boundary_not_applicable"] = "the boundary formula assumes Definition 2.1; these data have " + \
            "; ".join(out["not_definition_2_1"])
    return io.plain(out)


PREDICTORS = {"diffusion": predict_diffusion, "classification": predict_classification}
