"""Diffusion-time schedules: the times ((alpha, beta, weight), ...) that the loss sums over.

A schedule is a list of noise levels x_t = alpha_t x0 + beta_t eps with loss weights summing to 1,
so that its loss is on the scale of one time (`sims.diffusion.loss_and_grad_times` sums weight *
loss over them).

- "single": the one time (alpha, beta) given, weight 1 (the paper's setting).
- "ddpm-linear": DDPM's schedule (Ho et al. 2020, Sec. 4): beta_s rising linearly from 1e-4 to 0.02
  over s = 1..1000, alpha_bar_t = prod_{s <= t} (1 - beta_s), alpha = sqrt(alpha_bar_t), beta =
  sqrt(1 - alpha_bar_t).
- "cosine": Nichol & Dhariwal 2021, eq. 17: alpha_bar(t) = f(t) / f(0), f(t) = cos^2((t/1000 + s)/(1
  + s) pi/2), s = 0.008, discretised as they do (improved-diffusion's betas_for_alpha_bar): beta_t =
  1 - alpha_bar(t) / alpha_bar(t - 1) clipped to at most 0.999, alpha_bar_t = prod_{s <= t} (1 -
  beta_s); only t = 1000 is clipped.
Both use the 1000 training steps of their papers; T = num_times of them are taken at the midpoints
of T equal bins, t_k = ceil((k - 1/2) 1000 / T), k = 1..T (T = 1000 gives every step, T = 1 the
middle one). The exact loss costs T single-time losses, so the command line's default is T =
DEFAULT_NUM_TIMES.

Weights: uniform, 1/T each. This is the "simple" loss of each objective on its own target: for eps
it is L_simple of Ho et al. 2020 (eq. 14, t uniform); for v, uniform weights on ||v - v_hat||^2 are
Salimans & Ho 2022's "SNR + 1" weighting; for x0 the same uniform weighting of its own target; for
velocity, t drawn from the schedule with a uniform weight on the velocity loss (as in rectified
flow; see below).

Velocity (flow matching) regresses eps - x0, the derivative of the linear path x_t = (1 - t) x0 + t
eps, so its times must lie on that path (alpha + beta = 1). A VP schedule is applied to it by
keeping its noise levels: each (alpha_k, beta_k) maps to the point of the linear path with the same
signal-to-noise ratio alpha/beta, t_k = beta_k / (alpha_k + beta_k). For the cosine schedule this is
the "cosmap" timestep distribution of Esser et al. 2024 (Stable Diffusion 3, Sec. 3.1), t = 1 - 1/(1
+ tan(pi u / 2)). "single" is taken literally for every objective (velocity then needs alpha + beta
= 1 itself).
"""

from __future__ import annotations

import numpy as np

from sims import FldmError
from sims.diffusion import check_objective

KINDS = ("single", "ddpm-linear", "cosine")
STEPS = 1000  # training steps of both discrete schedules
DDPM_BETAS = (1e-4, 0.02)  # DDPM linear schedule: first and last beta_s
COSINE_S = 0.008  # cosine schedule offset
COSINE_MAX_BETA = 0.999  # cosine schedule clip on beta_t
DEFAULT_NUM_TIMES = (
    10  # T when a discrete schedule is asked for without num_times (cost grows like T)
)


def alpha_bar(kind: str) -> np.ndarray:
    """alpha_bar_t for t = 1 .. STEPS (entry t - 1) of the discrete schedule `kind`."""
    if kind == "ddpm-linear":
        betas = np.linspace(*DDPM_BETAS, STEPS)
    elif kind == "cosine":
        t = np.arange(STEPS + 1) / STEPS
        f = np.cos((t + COSINE_S) / (1 + COSINE_S) * np.pi / 2) ** 2
        betas = np.minimum(1 - f[1:] / f[:-1], COSINE_MAX_BETA)
    else:
        raise FldmError(f"unknown discrete schedule {kind!r}: choose ddpm-linear or cosine")
    return np.cumprod(1 - betas)


def schedule_times(
    kind: str,
    num_times: int = 1,
    objective: str = "eps",
    *,
    alpha: float | None = None,
    beta: float | None = None,
) -> tuple:
    """((alpha, beta, weight), ...) of the schedule `kind` with num_times times and weights
    1/num_times.

    alpha and beta are used by kind "single" only (its one time); see the module docstring for the
    rest.
    """
    if kind not in KINDS:
        raise FldmError(f"unknown schedule {kind!r}: choose one of {', '.join(KINDS)}")
    check_objective(objective)
    if isinstance(num_times, bool) or not isinstance(num_times, (int, np.integer)) or num_times < 1:
        raise FldmError(f"the number of diffusion times must be an integer >= 1, got {num_times!r}")
    if kind == "single":
        if num_times != 1:
            raise FldmError(f"the single schedule has one time, got num_times = {num_times}")
        if alpha is None or beta is None:
            raise FldmError("the single schedule needs alpha and beta")
        return ((float(alpha), float(beta), 1.0),)
    if num_times > STEPS:
        raise FldmError(f"the {kind} schedule has {STEPS} steps, got num_times = {num_times}")
    # t_k = ceil((k - 1/2) STEPS / T): midpoints of T equal bins of the steps 1..STEPS
    steps = np.ceil((np.arange(1, num_times + 1) - 0.5) * STEPS / num_times).astype(int)
    abar = alpha_bar(kind)[steps - 1]
    alphas, betas = np.sqrt(abar), np.sqrt(1 - abar)
    if objective == "velocity":
        # the linear-path point with the same alpha/beta: t = beta / (alpha + beta)
        alphas, betas = alphas / (alphas + betas), betas / (alphas + betas)
    return tuple((float(a), float(b), 1.0 / num_times) for a, b in zip(alphas, betas))
