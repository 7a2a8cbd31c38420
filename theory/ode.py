"""The gradient flow of the reduced alignment system, integrated with scipy.integrate.solve_ivp.

Time convention (one place): tau = eta * step. Gradient descent with step size eta, W_{k+1} = W_k -
eta grad L(W_k), is the forward-Euler discretisation of dW/dtau = -grad L(W); as eta -> 0 the logged
step k follows the flow at tau = eta k. The flow is integrated in the reduced coordinates of
theory.reduced, so its cost does not depend on d (apart from building the basis once).

    run_ode(cfg, data=None, W0=None) -> sims.train.Result   the flow, logged at the steps train logs
    flow(red, Wr0, taus)                                     the flow at given times (LSODA)
    long_flow(red, Wr0, taus, gtol, eta)                     the flow to its stationary point (RKC,
        theory.rkc)
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from sims import DivergenceError, FldmError, classification, models
from sims.config import TrainConfig
from sims.data import Dataset, draw_classes
from sims.descent import EXPLODE
from sims.train import Result, prepare
from theory import reduced, rkc
from theory.reduced import Reduced

RTOL, ATOL = 1e-9, 1e-12
POWER_ITERATIONS, POWER_TOL = 50, 1e-3  # the top curvature's power iteration (`TopCurvature`)
RHO_EVERY = 5  # long_flow re-estimates the top curvature every this many steps
BIG = 1e8  # |weights| beyond this count as a blow-up
MAX_EVALS = (
    10**5
)  # gradient evaluations after which the solver gives up (a flow too stiff to follow: minutes)


class Flow:
    """dWr/dtau = -grad L(Wr) on flattened states, with terminal events for blow-up, for running out
    of MAX_EVALS gradient evaluations and (optionally) for reaching ||grad L|| < gtol."""

    def __init__(
        self,
        red: Reduced,
        shape: tuple,
        loss0: float,
        gtol: float = 0.0,
        progress=None,
        end: float = 0.0,
    ):
        self.red, self.shape, self.gtol, self.progress = red, shape, gtol, progress
        self.limit = EXPLODE * max(abs(loss0), 1.0)
        self._last = None
        self.evals, self.end, self.gave_up_at = 0, end, None

    def grad(self, y):
        """grad L at the flattened state y (the last evaluation is cached: events reuse it)."""
        if self._last is None or not np.array_equal(self._last[0], y):
            self._last = (y.copy(), reduced.loss_and_grad(self.red, y.reshape(self.shape)))
        return self._last[1]

    def velocity(self, tau, y):
        self.evals += 1
        if self.evals > MAX_EVALS and self.gave_up_at is None:
            self.gave_up_at = tau
        if self.progress is not None:
            self.progress(tau)
        return -self.grad(y)[1].ravel()

    def events(self):
        def blow_up(tau, y):
            if not np.all(np.isfinite(y)):
                return -1.0
            return min(BIG - np.abs(y).max(), self.limit - abs(self.grad(y)[0]))

        def out_of_budget(tau, y):  # continuous in tau: crosses zero at the time the budget ran out
            return (self.end + 1.0 if self.gave_up_at is None else self.gave_up_at) - tau

        def stationary(tau, y):
            return np.linalg.norm(self.grad(y)[1]) - self.gtol

        blow_up.terminal = out_of_budget.terminal = stationary.terminal = True
        return [blow_up, out_of_budget] + ([stationary] if self.gtol > 0 else [])


def flow(
    red: Reduced,
    Wr0: np.ndarray,
    taus,
    *,
    gtol: float = 0.0,
    method: str = "LSODA",
    rtol: float = RTOL,
    atol: float = ATOL,
    progress=None,
    jacobian: bool = False,
):
    """The flow from Wr0 at the increasing times `taus` (taus[0] >= 0); progress(tau), if given, is
    called with the time of every evaluation of the velocity (the solver's trial times: not always
    increasing). jacobian: give the solver the velocity's Jacobian, -Hessian, from the model's
    closed-form Hessian products (where it has them; else the solver's own differences): 3 to 5
    times fewer evaluations where the flow is stiff (the untied denoiser at m = 4: 2.7 s -> 0.7 s).

    Returns (taus reached, states (T, *Wr0.shape), status) with status "ok", "stationary" (||grad
    L|| fell below gtol at the last returned time, which is then the event time), "blow-up at
    tau=..." or "solver ..." (failed, or gave up after MAX_EVALS gradient evaluations). LSODA
    switches by itself between a non-stiff (Adams) and a stiff (BDF) method: the flow is stiff near
    the stationary point, where the curvatures along signal and noise directions differ by ~ n
    SNR^2.
    """
    taus = np.asarray(taus, dtype=float)
    if taus.ndim != 1 or taus.size == 0 or taus[0] < 0 or np.any(np.diff(taus) < 0):
        raise FldmError("ODE times must be a non-empty increasing sequence of tau >= 0")
    y0 = np.asarray(Wr0, dtype=float).ravel()
    if taus[-1] == 0:
        return taus, np.repeat(Wr0[None], taus.size, axis=0), "ok"
    f = Flow(red, Wr0.shape, reduced.loss_and_grad(red, Wr0)[0], gtol, progress, end=taus[-1])
    jac = None
    product = red.model.hessian_product(red.cfg, red.x1, red.x2, red.d) if jacobian else None
    if product is not None:
        p = y0.size
        identity = np.eye(p).reshape((p,) + Wr0.shape)
        jac = lambda tau, y: -product(y.reshape(Wr0.shape), identity).reshape(p, p)
    sol = solve_ivp(
        f.velocity,
        (0.0, taus[-1]),
        y0,
        method=method,
        t_eval=taus,
        rtol=rtol,
        atol=atol,
        events=f.events(),
        jac=jac,
    )
    t, Y = sol.t, sol.y.T
    status = "ok"
    if sol.status == 1 and sol.t_events[0].size:
        status = f"blow-up at tau={sol.t_events[0][0]:.6g}"
    elif sol.status == 1 and sol.t_events[1].size:
        status = (
            f"solver gave up after {MAX_EVALS} gradient evaluations at "
            f"tau={sol.t_events[1][0]:.6g} "
            f"(the flow is too stiff to follow at these scales)"
        )
    elif sol.status == 1:
        t, Y = np.append(t, sol.t_events[2][0]), np.vstack([Y, sol.y_events[2][0]])
        status = "stationary"
    elif sol.status < 0:
        status = f"solver failed at tau={sol.t[-1] if sol.t.size else 0:.6g}: {sol.message}"
    return t, Y.reshape((-1,) + Wr0.shape), status


class TopCurvature:
    """y -> an estimate of the Hessian eigenvalue of largest magnitude of the reduced loss at the
    flattened state y: power iteration on Hessian-vector products, warm-started from the last
    estimate's vector (the curvature changes little from one step of the flow to the next), stopped
    when the Rayleigh quotient changes by less than POWER_TOL (relative)."""

    def __init__(self, red: Reduced, shape: tuple):
        self.product, self.shape, self.v = reduced.hessian_product(red), shape, None

    def __call__(self, y) -> float:
        Wr = y.reshape(self.shape)
        v = self.v if self.v is not None else np.random.default_rng(0).standard_normal(y.size)
        v = v / np.linalg.norm(v)
        lam = None
        for _ in range(POWER_ITERATIONS):
            with np.errstate(over="ignore", invalid="ignore"):  # beyond float64: inf, said below
                Hv = self.product(Wr, v.reshape(self.shape)).ravel()
                new = float(v @ Hv)
                norm = np.linalg.norm(Hv)
            if not np.isfinite(norm):
                return math.inf  # a curvature beyond float64's range (theory.rkc stops there)
            if norm == 0:
                break
            v = Hv / norm
            if lam is not None and abs(new - lam) <= POWER_TOL * abs(new):
                lam = new
                break
            lam = new
        self.v = v
        return lam if lam is not None else 0.0


def long_flow(
    red: Reduced,
    Wr0: np.ndarray,
    taus,
    *,
    gtol: float,
    eta: float,
    rtol: float = RTOL,
    atol: float = ATOL,
):
    """The flow from Wr0 at the increasing times `taus` with theory.rkc, for as long as it describes
    gradient descent with step size eta, until it is stationary.

    Returns (taus reached, states, status, top curvature at the last state). Status: "ok" (taus[-1]
    reached), "stationary" (||grad L|| < gtol), "unstable at tau=..." (the largest Hessian
    eigenvalue reached 2 / eta: descent with this eta leaves the flow there, by oscillating or
    diverging; the flow is not followed further) or "blow-up at tau=...". Its cost does not grow
    with the stiffness as LSODA's does (no Jacobian factorisations): the stages per step grow like
    the square root of the stiffness.
    """
    taus = np.asarray(taus, dtype=float)
    if taus.ndim != 1 or taus.size == 0 or taus[0] < 0 or np.any(np.diff(taus) < 0):
        raise FldmError("ODE times must be a non-empty increasing sequence of tau >= 0")
    shape = Wr0.shape
    top = TopCurvature(red, shape)
    limit = EXPLODE * max(abs(reduced.loss_and_grad(red, Wr0)[0]), 1.0)
    last = {}

    def velocity(y):
        loss, grad = reduced.loss_and_grad(red, y.reshape(shape))
        last.update(loss=loss)
        return -grad.ravel()

    def rho(y):  # refreshed every RHO_EVERY steps: the curvature changes slowly along the flow
        last["calls"] = last.get("calls", -1) + 1
        if last["calls"] % RHO_EVERY == 0:
            last["top"] = top(y)
        return abs(last["top"])

    def stop(tau, y, Fy):
        if not np.all(np.isfinite(y)) or np.abs(y).max() > BIG or abs(last["loss"]) > limit:
            return f"blow-up at tau={tau:.6g}"
        if np.linalg.norm(Fy) < gtol:
            return "stationary"
        if eta * last["top"] >= 2.0:
            return f"unstable at tau={tau:.6g}"
        return ""

    t, Y, status, _ = rkc.integrate(
        velocity, np.asarray(Wr0, dtype=float).ravel(), taus, rho, rtol=rtol, atol=atol, stop=stop
    )
    return t, Y.reshape((-1,) + shape), status, last.get("top", float("nan"))


def logged_steps(steps: int, log_every: int) -> np.ndarray:
    """The steps sims.train.train logs: every log_every-th and the last."""
    k = np.arange(0, steps + 1, log_every)
    return k if k[-1] == steps else np.append(k, steps)


def run_ode(
    cfg: TrainConfig, data: Dataset | None = None, W0: np.ndarray | None = None, progress=None
) -> Result:
    """The reduced ODE for the setting of `cfg`, as a sims.train.Result that overlays train(cfg).

    Same data, W0 (from the same seeds as train, or the ones given) and eta (cfg.eta or auto_eta);
    the state is recorded at tau = eta * step for the steps train logs, with loss, ||grad L|| (the
    norm of the full d-dimensional gradient, which equals the reduced one) and alignment arrays of
    the same shapes. W is the d-dimensional weight matrix at the end. cfg.tol > 0 stops once ||grad
    L|| < tol, as train does. Raises sims.DivergenceError if the flow blows up. extra: eta, tau_end,
    ode_status, reduced_dim, and the model's metrics computed in the reduced space (its theory's
    `reduced_metrics`). progress(k), if given, is called with the step k = tau / eta the solver has
    reached, as sims.train.train calls it.
    """
    reduced.check(cfg)
    rngs, data, W0, eta, *_ = prepare(cfg, data, W0)  # exactly as train builds its run
    red, Wr0 = reduced.reduce(cfg, data, W0)

    steps = logged_steps(cfg.steps, cfg.log_every)
    at_step = None if progress is None else (lambda tau: progress(tau / eta))
    taus, states, status = flow(red, Wr0, eta * steps, gtol=cfg.tol, progress=at_step)
    if status.startswith("blow-up") or status.startswith("solver"):
        raise DivergenceError(f"the alignment ODE stopped: {status}")
    converged = status == "stationary"
    steps = steps[: len(taus)]
    if converged:  # the event time, as the first step at or after it
        steps = np.append(steps[: len(taus) - 1], int(np.ceil(taus[-1] / eta - 1e-9)))
    lg = [reduced.loss_and_grad(red, Wr) for Wr in states]
    signal, noise = reduced.alignments(red, states)
    W = reduced.lift(red, states[-1])
    extra = {
        "eta": eta,
        "tau_end": float(taus[-1]),
        "ode_status": status,
        "reduced_dim": int(Wr0.size),
    }
    metrics = models.get(cfg.model).theory.reduced_metrics
    if metrics is not None:
        extra.update(metrics(cfg, red, states[-1], data, rngs["test"]))
    return Result(
        config=cfg,
        steps=steps.astype(int),
        loss=np.array([v[0] for v in lg]),
        grad_norm=np.array([np.linalg.norm(v[1]) for v in lg]),
        signal=signal,
        noise=noise,
        W=W,
        data=data,
        converged=converged,
        extra=extra,
    )


def fresh_error_rate(
    red: Reduced, A: np.ndarray, data: Dataset, n_test: int, rng: np.random.Generator
) -> float:
    """Classification error on n_test fresh samples, drawn without forming d-dimensional vectors.

    A fresh sample has x1 = a signal vector of its class (mu_y for Definition 2.1;
    sims.data.draw_classes) and noise xi ~ N(0, sigma_xi^2 (I - P)) (P projects onto the signal
    vectors; isotropic data: P = 0), so the filter responses <w_{j,r}, xi> are Gaussian with
    covariance sigma_xi^2 W (I - P) W^T = sigma_xi^2 (G - (W q)(W q)^T), G = W W^T, q an orthonormal
    basis of the mu's. The error has the same law as sims.classification.error_rate on
    sims.data.fresh_samples (it is not the same sample).
    """
    sigma_xi = data.noise_scale
    Wf = A.reshape(-1, A.shape[-1])  # (2m, k) data-span part
    Rf = red.R.reshape(-1, red.d)
    G = Wf @ Wf.T + Rf @ Rf.T  # exact: R is orthogonal to span(Q)
    if data.noise != "isotropic":
        q, _ = np.linalg.qr(red.mu.T)  # the mu's, in reduced coordinates
        Wq = Wf @ q
        G = G - Wq @ Wq.T
    cov = sigma_xi**2 * (G + G.T) / 2
    vals, vecs = np.linalg.eigh(cov)
    noise = rng.standard_normal((n_test, len(vals))) * np.sqrt(np.clip(vals, 0, None)) @ vecs.T
    y, rows = draw_classes(data, n_test, rng)  # the law of data's labels and features
    m = A.shape[1]
    h = (red.mu[rows] @ Wf.T) ** 2 + noise**2  # (n_test, 2m) squared responses
    f = (h[:, :m].sum(axis=1) - h[:, m:].sum(axis=1)) / m
    return float(np.mean(y * f <= 0))


def classification_metrics(
    cfg: TrainConfig, red: Reduced, A: np.ndarray, data: Dataset, rng: np.random.Generator
) -> dict:
    """The classifier's test error (fresh samples drawn in the reduced space) and training error."""
    return {
        "test_error": fresh_error_rate(red, A, data, cfg.n_test, rng),
        "train_error": classification.error_rate(A, red.x1, red.x2, red.y),
    }
