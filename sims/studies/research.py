"""What the two research sections of issue 13 share (`sims.studies.objectives`, `sims.studies.augment`):
their size per preset, the configuration of each row, the "stationary" cell kind, and the rows the rules of
`sims.studies.research_claims` read.

Every row of one n·SNR² and seed (each diffusion objective and schedule, the plain and the augmented
classifier) is built from the same seed, hence the same data and the same initial weights (each model's
own shape), so the rows compare paired runs. Alignments are read as magnitudes (research_claims, amendment
1): signal = mean_j max_r |<w_r, mu_j>|, noise = mean_i max_r |<w_r, xi_i>| (the classifier's summary of
sims.models already is one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sims import models
from sims.config import TrainConfig
from sims.studies.plan import E1_NSNR2, PRESETS, steps_for
from sims.studies.research_claims import AUGMENT
from sims.studies.sweep import cell_seed, completed, register
from sims.train import prepare
from theory import reduced
from theory.ode import flow
from theory.predict import GTOL, HORIZON_STEPS, summary_rates

OBJECTIVES = ("eps", "x0", "v", "velocity")
SCHEDULES = ("single", "ddpm-linear", "cosine")
VELOCITY_SINGLE = (
    0.5,
    0.5,
)  # velocity's single time: the linear-path point with alpha / beta = 1, as the default
CHECK_TOL = 1e-8  # the check descends until ||grad L|| < this ...
CHECK_STEPS = 200_000  # ... or this many steps
NOISE_SAMPLES = 16  # K draws per step of the augmented classifier


@dataclass(frozen=True)
class Size:
    """One preset of the research sections."""

    model: str  # the preset (sims.studies.plan.PRESETS) whose n, d, m, sigma0 and steps are used
    nsnr2: tuple  # the n·SNR² sweep
    replicates: int  # seeds per n·SNR²
    objectives: tuple
    schedules: tuple
    phase: bool  # the (n, SNR) grid of the augmented classifier
    check_nsnr2: float  # where gradient descent is checked against the stationary point

    @property
    def preset(self):
        return PRESETS[self.model]


SIZES = {
    "tiny": Size("tiny", (0.1, 10.0), 1, ("eps", "x0"), ("single",), False, 0.1),
    "quick": Size("quick", E1_NSNR2, 1, ("eps", "x0"), ("single",), False, E1_NSNR2[0]),
    "full": Size(
        "quick", PRESETS["quick"].sweep_nsnr2, 3, OBJECTIVES, SCHEDULES, True, E1_NSNR2[0]
    ),
}


def seed(base: int, nsnr2: float, rep: int, n: int | None = None) -> int:
    """The seed of every row at (n·SNR², rep) (and n for the phase grid): paired runs share data and W0."""
    return (
        cell_seed(base, "research", nsnr2, rep)
        if n is None
        else cell_seed(base, "research-phase", n, nsnr2)
    )


def base_config(
    size: Size, model: str, nsnr2: float, seed_: int, n: int | None = None
) -> TrainConfig:
    p = size.preset
    steps = steps_for(p, nsnr2)
    return TrainConfig(
        model=model,
        n=n or p.n,
        d=p.d,
        m=p.m,
        nsnr2=nsnr2,
        sigma0=p.sigma0,
        steps=steps,
        log_every=max(1, steps // p.points_logged),
        seed=seed_,
    )


def diffusion_config(
    size: Size, objective: str, schedule: str, nsnr2: float, seed_: int
) -> TrainConfig:
    path = (
        dict(zip(("alpha", "beta"), VELOCITY_SINGLE))
        if (objective, schedule) == ("velocity", "single")
        else {}
    )
    return base_config(size, "diffusion", nsnr2, seed_).replace(
        objective=objective, schedule=schedule, **path
    )


def check_config(cfg: TrainConfig) -> TrainConfig:
    """The gradient-descent check of a stationary cell: descent until ||grad L|| < CHECK_TOL."""
    return cfg.replace(steps=CHECK_STEPS, log_every=CHECK_STEPS // 100, tol=CHECK_TOL)


def classifier_configs(size: Size, nsnr2: float, seed_: int, n: int | None = None) -> tuple:
    """(plain, augmented) classifiers on the same data, with the same eta (the augmented one's auto eta,
    smaller by its eta_factor) and steps, so that both run for the same tau = eta * steps."""
    plain = base_config(size, "classification", nsnr2, seed_, n)
    augmented = plain.replace(augment=AUGMENT, noise="resampled", noise_samples=NOISE_SAMPLES)
    eta = prepare(augmented).eta
    return plain.replace(eta=eta), augmented.replace(eta=eta)


# -------------------------------------------------------------------------------- the stationary cell
def magnitudes(signal: np.ndarray, noise: np.ndarray) -> tuple[float, float]:
    """(mean_j max_r |<w_r, mu_j>|, mean_i max_r |<w_r, xi_i>|) of diffusion alignments (m, 2), (m, n)."""
    return float(np.abs(signal).max(axis=0).mean()), float(np.abs(noise).max(axis=0).mean())


def stationary_cell(cfg: TrainConfig) -> dict:
    """The diffusion run's stationary point: the alignment ODE (exact gradient flow, theory.ode) from the
    run's data and W0 until ||grad L|| < GTOL or tau = HORIZON_STEPS eta (as theory.predict), with the
    initial and final magnitudes and the signed summary there. The early rate ratio is that of the paper's
    claim D1 (theory.predict.summary_rates: the signed summaries' d/dtau at tau = 0); at initialisation the
    largest |alignment| may be a negative one that first shrinks, so magnitudes have no useful early rate."""
    run = prepare(cfg)
    red, Wr0 = reduced.reduce(cfg, run.data, run.W0)
    taus, states, status = flow(
        red, Wr0, [0.0, HORIZON_STEPS * run.eta], gtol=GTOL, rtol=1e-8, atol=1e-11
    )
    s0, z0 = reduced.alignments(red, Wr0)
    s1, z1 = reduced.alignments(red, states[-1])
    loss, grad = reduced.loss_and_grad(red, states[-1])
    (sig0, noi0), (sig, noi) = magnitudes(s0, z0), magnitudes(s1, z1)
    rate_s, rate_n = summary_rates(red, Wr0, run.data.y)
    signed = models.summarize("diffusion", s1, z1, run.data.y)
    summary = {
        "status": status,
        "tau": float(taus[-1]),
        "eta": run.eta,
        "loss": float(loss),
        "grad_norm": float(np.linalg.norm(grad)),
        "initial_signal": sig0,
        "initial_noise": noi0,
        "signal": sig,
        "noise": noi,
        "ratio": sig / noi,
        "signal_gain": sig / sig0,
        "noise_gain": noi / noi0,
        "initial_rate_ratio": rate_s / rate_n,
        "signed_ratio": signed.ratio,
    }
    return {"arrays": {"signal0": s0, "noise0": z0, "signal": s1, "noise": z1}, "summary": summary}


register("stationary", stationary_cell)


# ----------------------------------------------------------------------------------------------- rows
def train_row(cell: dict, model: str) -> dict | None:
    """ratio and gains of a finished train cell, as magnitudes (None if it diverged)."""
    if not completed(cell):
        return None
    a = cell["arrays"]
    if model == "classification":
        sig0, noi0, sig, noi = (
            a["signal_max"][0],
            a["noise_max"][0],
            a["signal_max"][-1],
            a["noise_max"][-1],
        )
    else:
        (sig0, noi0), (sig, noi) = (
            magnitudes(a["signal"][0], a["noise"][0]),
            magnitudes(a["signal"][-1], a["noise"][-1]),
        )
    extra = {
        k: cell["summary"][k]
        for k in ("test_error", "final_grad_norm", "steps_run")
        if k in cell["summary"]
    }
    return {
        "ratio": sig / noi,
        "signal_gain": sig / sig0,
        "noise_gain": noi / noi0,
        "signal": sig,
        "noise": noi,
        **extra,
    }


REACHED = (
    "stationary",
    "ok",
)  # theory.ode.flow's statuses: ||grad L|| < GTOL, or the horizon tau reached


def stationary_row(cell: dict) -> dict | None:
    """The numbers of a stationary cell; None where the ODE stopped short (blow-up, or the solver gave up),
    whose last state is wherever the solver stopped, possibly the initial one, and is not read."""
    if cell["summary"]["status"] not in REACHED:
        return None
    keys = (
        "ratio",
        "signal_gain",
        "noise_gain",
        "signal",
        "noise",
        "initial_rate_ratio",
        "status",
        "grad_norm",
    )
    return {k: cell["summary"][k] for k in keys}


def aggregate(nsnr2: float, rows: list) -> dict:
    """One row per n·SNR² for the rules: geometric means over seeds of ratio and gains (and of the other
    positive numbers), arithmetic means of the rest; `runs` counts the rows that finished."""
    rows = [r for r in rows if r is not None]
    out = {"nsnr2": nsnr2, "runs": len(rows)}
    for key in rows[0] if rows else {}:
        values = np.array([r[key] for r in rows], dtype=object)
        if all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            v = values.astype(float)
            out[key] = float(np.exp(np.mean(np.log(v)))) if np.all(v > 0) else float(np.mean(v))
        else:
            out[key] = (
                [str(v) for v in values] if len(set(map(str, values))) > 1 else str(values[0])
            )
    if not rows:
        out.update(ratio=float("nan"), signal_gain=float("nan"), noise_gain=float("nan"))
    return out
