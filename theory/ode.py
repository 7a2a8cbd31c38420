"""The gradient flow of the reduced alignment system, integrated with scipy.integrate.solve_ivp.

Time convention (one place): tau = eta * step. Gradient descent with step size eta, W_{k+1} = W_k - eta
grad L(W_k), is the forward-Euler discretisation of dW/dtau = -grad L(W); as eta -> 0 the logged step k
follows the flow at tau = eta k. The flow is integrated in the reduced coordinates of theory.reduced, so
its cost does not depend on d (apart from building the basis once).

    run_ode(cfg, data=None, W0=None) -> sims.train.Result   the flow, logged at the steps train logs
    flow(red, Wr0, taus)                                     the flow at given times
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from sims import DivergenceError, FldmError, classification
from sims.config import TrainConfig
from sims.data import Dataset, draw_classes
from sims.descent import EXPLODE
from sims.train import Result, prepare
from theory import reduced
from theory.reduced import Reduced

RTOL, ATOL = 1e-9, 1e-12
BIG = 1e8  # |weights| beyond this count as a blow-up


class Flow:
    """dWr/dtau = -grad L(Wr) on flattened states, with terminal events for blow-up and (optionally)
    for reaching ||grad L|| < gtol."""

    def __init__(self, red: Reduced, shape: tuple, loss0: float, gtol: float = 0.0, progress=None):
        self.red, self.shape, self.gtol, self.progress = red, shape, gtol, progress
        self.limit = EXPLODE * max(abs(loss0), 1.0)
        self._last = None

    def grad(self, y):
        """grad L at the flattened state y (the last evaluation is cached: events reuse it)."""
        if self._last is None or not np.array_equal(self._last[0], y):
            self._last = (y.copy(), reduced.loss_and_grad(self.red, y.reshape(self.shape)))
        return self._last[1]

    def velocity(self, tau, y):
        if self.progress is not None:
            self.progress(tau)
        return -self.grad(y)[1].ravel()

    def events(self):
        def blow_up(tau, y):
            if not np.all(np.isfinite(y)):
                return -1.0
            return min(BIG - np.abs(y).max(), self.limit - abs(self.grad(y)[0]))

        def stationary(tau, y):
            return np.linalg.norm(self.grad(y)[1]) - self.gtol

        blow_up.terminal = stationary.terminal = True
        return [blow_up] + ([stationary] if self.gtol > 0 else [])


def flow(red: Reduced, Wr0: np.ndarray, taus, *, gtol: float = 0.0, method: str = "LSODA",
         rtol: float = RTOL, atol: float = ATOL, progress=None):
    """The flow from Wr0 at the increasing times `taus` (taus[0] >= 0); progress(tau), if given, is called
    with the time of every evaluation of the velocity (the solver's trial times: not always increasing).

    Returns (taus reached, states (T, *Wr0.shape), status) with status "ok", "stationary" (||grad L|| fell
    below gtol at the last returned time, which is then the event time) or "blow-up at tau=...".
    LSODA switches by itself between a non-stiff (Adams) and a stiff (BDF) method: the flow is stiff near
    the stationary point, where the curvatures along signal and noise directions differ by ~ n SNR^2.
    """
    taus = np.asarray(taus, dtype=float)
    if taus.ndim != 1 or taus.size == 0 or taus[0] < 0 or np.any(np.diff(taus) < 0):
        raise FldmError("ODE times must be a non-empty increasing sequence of tau >= 0")
    y0 = np.asarray(Wr0, dtype=float).ravel()
    if taus[-1] == 0:
        return taus, np.repeat(Wr0[None], taus.size, axis=0), "ok"
    f = Flow(red, Wr0.shape, reduced.loss_and_grad(red, Wr0)[0], gtol, progress)
    sol = solve_ivp(f.velocity, (0.0, taus[-1]), y0, method=method, t_eval=taus, rtol=rtol, atol=atol,
                    events=f.events())
    t, Y = sol.t, sol.y.T
    status = "ok"
    if sol.status == 1 and sol.t_events[0].size:
        status = f"blow-up at tau={sol.t_events[0][0]:.6g}"
    elif sol.status == 1:
        t, Y = np.append(t, sol.t_events[1][0]), np.vstack([Y, sol.y_events[1][0]])
        status = "stationary"
    elif sol.status < 0:
        status = f"solver failed at tau={sol.t[-1] if sol.t.size else 0:.6g}: {sol.message}"
    return t, Y.reshape((-1,) + Wr0.shape), status


def logged_steps(steps: int, log_every: int) -> np.ndarray:
    """The steps sims.train.train logs: every log_every-th and the last."""
    k = np.arange(0, steps + 1, log_every)
    return k if k[-1] == steps else np.append(k, steps)


def run_ode(cfg: TrainConfig, data: Dataset | None = None, W0: np.ndarray | None = None, progress=None) -> Result:
    """The reduced ODE for the setting of `cfg`, as a sims.train.Result that overlays train(cfg).

    Same data, W0 (from the same seeds as train, or the ones given) and eta (cfg.eta or auto_eta); the
    state is recorded at tau = eta * step for the steps train logs, with loss, ||grad L|| (the norm of the
    full d-dimensional gradient, which equals the reduced one) and alignment arrays of the same shapes.
    W is the d-dimensional weight matrix at the end. cfg.tol > 0 stops once ||grad L|| < tol, as train does.
    Raises sims.DivergenceError if the flow blows up. extra: eta, tau_end, ode_status, reduced_dim, and
    the model's metrics computed in the reduced space (`REDUCED_METRICS`). progress(k), if given, is
    called with the step k = tau / eta the solver has reached, as sims.train.train calls it.
    """
    rngs, data, W0, eta = prepare(cfg, data, W0)  # exactly as train builds its run
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
    extra = {"eta": eta, "tau_end": float(taus[-1]), "ode_status": status, "reduced_dim": int(Wr0.size)}
    if cfg.model in REDUCED_METRICS:
        extra.update(REDUCED_METRICS[cfg.model](cfg, red, states[-1], data, rngs["test"]))
    return Result(config=cfg, steps=steps.astype(int), loss=np.array([v[0] for v in lg]),
                  grad_norm=np.array([np.linalg.norm(v[1]) for v in lg]), signal=signal, noise=noise,
                  W=W, data=data, converged=converged, extra=extra)


def fresh_error_rate(red: Reduced, A: np.ndarray, data: Dataset, n_test: int, rng: np.random.Generator) -> float:
    """Classification error on n_test fresh samples, drawn without forming d-dimensional vectors.

    A fresh sample has x1 = a signal vector of its class (mu_y for Definition 2.1; sims.data.draw_classes)
    and noise xi ~ N(0, sigma_xi^2 (I - P)) (P projects onto the signal vectors;
    isotropic data: P = 0), so the filter responses <w_{j,r}, xi> are Gaussian with covariance
    sigma_xi^2 W (I - P) W^T = sigma_xi^2 (G - (W q)(W q)^T), G = W W^T, q an orthonormal basis of the mu's.
    The error has the same law as sims.classification.error_rate on sims.data.fresh_samples (it is not the
    same sample).
    """
    sigma_xi = data.noise_scale
    Wf = A.reshape(-1, A.shape[-1])                                   # (2m, k) data-span part
    Rf = red.R.reshape(-1, red.d)
    G = Wf @ Wf.T + Rf @ Rf.T                                         # exact: R is orthogonal to span(Q)
    if data.noise != "isotropic":
        q, _ = np.linalg.qr(red.mu.T)                                 # the mu's, in reduced coordinates
        Wq = Wf @ q
        G = G - Wq @ Wq.T
    cov = sigma_xi**2 * (G + G.T) / 2
    vals, vecs = np.linalg.eigh(cov)
    noise = rng.standard_normal((n_test, len(vals))) * np.sqrt(np.clip(vals, 0, None)) @ vecs.T
    y, rows = draw_classes(data, n_test, rng)                         # the law of data's labels and features
    m = A.shape[1]
    h = (red.mu[rows] @ Wf.T) ** 2 + noise**2                         # (n_test, 2m) squared responses
    f = (h[:, :m].sum(axis=1) - h[:, m:].sum(axis=1)) / m
    return float(np.mean(y * f <= 0))



def classification_metrics(cfg: TrainConfig, red: Reduced, A: np.ndarray, data: Dataset,
                           rng: np.random.Generator) -> dict:
    """The classifier's test error (fresh samples drawn in the reduced space) and training error."""
    return {"test_error": fresh_error_rate(red, A, data, cfg.n_test, rng),
            "train_error": classification.error_rate(A, red.x1, red.x2, red.y)}


# the models' metrics (sims.models: `metrics`), computed without d-dimensional vectors
REDUCED_METRICS = {"classification": classification_metrics}
