"""What the research studies share (the diffusion objectives and schedules, O1 and O2; the
noise-augmented classifier, A1; D2 under other readings, R1): the configuration of each run, the
"stationary" cell kind, and the points their rules read.

Every run of one n·SNR² and seed (each diffusion objective and schedule, the plain and the augmented
classifier) is built from the same seed, hence the same data and the same initial weights (each
model's own shape), so the rows compare paired runs. Alignments are read as magnitudes (research
rules, amendment 1): signal = mean_j max_r |<w_r, mu_j>|, noise = mean_i max_r |<w_r, xi_i>| (a
summary that reads |.|, as the classifier's, already is one).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sims import models
from sims.config import TrainConfig
from sims.models import Model
from sims.studies import presets
from sims.studies.cells import Cell, Outcome, cell_seed
from sims.studies.presets import PRESETS, Research, steps_for
from sims.train import prepare
from theory import reduced
from theory.ode import flow
from theory.predict import GTOL, HORIZON_STEPS, summary_rates

DENOISER, CLASSIFIER = models.PAPER_PAIR
AUGMENT = (2**-0.5, 2**-0.5)  # A1's noise level: diffusion's default time x_t = (x0 + eps) / sqrt 2
NOISE_SAMPLES = 16  # K draws per step of the augmented classifier
# velocity's single time: the linear-path point with alpha / beta = 1, as the default
VELOCITY_SINGLE = (0.5, 0.5)
CHECK_TOL = 1e-8  # the check descends until ||grad L|| < this ...
CHECK_STEPS = 200_000  # ... or this many steps


def seed(base: int, nsnr2: float, rep: int, n: int | None = None) -> int:
    """The seed of every row at (n·SNR², rep) (and n for the phase grid): paired runs share data and
    W0."""
    return (
        cell_seed(base, "research", nsnr2, rep)
        if n is None
        else cell_seed(base, "research-phase", n, nsnr2)
    )


def preset_note(preset_name: str) -> str:
    """A prefix for the claims of a preset that runs only a small cell of the study ('' for
    full)."""
    if preset_name == "full":
        return ""
    size = presets.get(preset_name).research
    return (
        f"[{preset_name} preset: a small cell of the study (n·SNR² = "
        f"{', '.join(f'{v:g}' for v in size.nsnr2)}; {', '.join(size.objectives)}; "
        f"{', '.join(size.schedules)}; {size.replicates} seed) to exercise the code; the study is "
        f"the "
        f"full preset's] "
    )


def base_config(
    size: Research, model: str, nsnr2: float, seed_: int, n: int | None = None
) -> TrainConfig:
    p = PRESETS[size.model]
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
    size: Research, objective: str, schedule: str, nsnr2: float, seed_: int
) -> TrainConfig:
    path = (
        dict(zip(("alpha", "beta"), VELOCITY_SINGLE))
        if (objective, schedule) == ("velocity", "single")
        else {}
    )
    return base_config(size, DENOISER.name, nsnr2, seed_).replace(
        objective=objective, schedule=schedule, **path
    )


def check_config(cfg: TrainConfig) -> TrainConfig:
    """The gradient-descent check of a stationary cell: descent until ||grad L|| < CHECK_TOL."""
    return cfg.replace(steps=CHECK_STEPS, log_every=CHECK_STEPS // 100, tol=CHECK_TOL)


def classifier_configs(size: Research, nsnr2: float, seed_: int, n: int | None = None) -> tuple:
    """(plain, augmented) classifiers on the same data, with the same eta (the augmented one's auto
    eta, smaller by its eta_factor) and steps, so that both run for the same tau = eta * steps."""
    plain = base_config(size, CLASSIFIER.name, nsnr2, seed_, n)
    augmented = plain.replace(augment=AUGMENT, noise="resampled", noise_samples=NOISE_SAMPLES)
    eta = prepare(augmented).eta
    return plain.replace(eta=eta), augmented.replace(eta=eta)


# -------------------------------------------------------------------------------- the stationary
# cell
def magnitudes(signal: np.ndarray, noise: np.ndarray) -> tuple[float, float]:
    """(mean_j max_r |<w_r, mu_j>|, mean_i max_r |<w_r, xi_i>|) of diffusion alignments (m, 2), (m,
    n)."""
    return float(np.abs(signal).max(axis=0).mean()), float(np.abs(noise).max(axis=0).mean())


def stationary_cell(cfg: TrainConfig) -> Outcome:
    """The diffusion run's stationary point: the alignment ODE (exact gradient flow, theory.ode)
    from the run's data and W0 until ||grad L|| < GTOL or tau = HORIZON_STEPS eta (as
    theory.predict), with the initial and final magnitudes and the signed summary there. The early
    rate ratio is that of the paper's claim D1 (theory.predict.summary_rates: the signed summaries'
    d/dtau at tau = 0); at initialisation the largest |alignment| may be a negative one that first
    shrinks, so magnitudes have no useful early rate."""
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
    signed = models.summarize(cfg.model, s1, z1, run.data.y)
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
    return Outcome(summary, {"signal0": s0, "noise0": z0, "signal": s1, "noise": z1})


# -----------------------------------------------------------------------------------------------
# points
class TrainPoint(NamedTuple):
    """A finished train cell's final ratio and gains, as magnitudes (its last logged step), and what
    descent did; test_error for a model that reports one."""

    ratio: float
    signal_gain: float
    noise_gain: float
    signal: float
    noise: float
    test_error: float | None
    final_grad_norm: float
    steps_run: int


class StationaryPoint(NamedTuple):
    """A stationary cell's numbers (`stationary_cell`)."""

    ratio: float
    signal_gain: float
    noise_gain: float
    signal: float
    noise: float
    initial_rate_ratio: float
    status: str
    grad_norm: float


def train_point(cell: Cell, model: Model) -> TrainPoint | None:
    """Ratio and gains of a finished train cell, as magnitudes (None if it diverged)."""
    if not cell.finished:
        return None
    t = cell.trace
    if model.signed:
        (sig0, noi0), (sig, noi) = (
            magnitudes(t.signal[0], t.noise[0]),
            magnitudes(t.signal[-1], t.noise[-1]),
        )
    else:  # its headline summary already reads magnitudes
        sig0, noi0, sig, noi = t.signal_max[0], t.noise_max[0], t.signal_max[-1], t.noise_max[-1]
    run = cell.run
    return TrainPoint(
        ratio=sig / noi,
        signal_gain=sig / sig0,
        noise_gain=noi / noi0,
        signal=sig,
        noise=noi,
        test_error=run.test_error,
        final_grad_norm=run.final_grad_norm,
        steps_run=run.steps_run,
    )


REACHED = (
    "stationary",
    "ok",
)  # theory.ode.flow's statuses: ||grad L|| < GTOL, or the horizon reached


def stationary_values(cell: Cell) -> StationaryPoint:
    """The numbers of a stationary cell, wherever its ODE stopped (`status` says where)."""
    return StationaryPoint(**{k: cell.summary[k] for k in StationaryPoint._fields})


def stationary_point(cell: Cell) -> StationaryPoint | None:
    """The numbers of a stationary cell; None where the ODE stopped short (blow-up, or the solver
    gave up), whose last state is wherever the solver stopped, possibly the initial one, and is not
    read."""
    values = stationary_values(cell)
    return values if values.status in REACHED else None


class Mean(NamedTuple):
    """One n·SNR² of a series: the means over the seeds that finished (`aggregate`) of a point's
    fields."""

    nsnr2: float
    runs: int  # the seeds that finished
    point: NamedTuple | None  # the means, of the points' type (None if no seed finished)

    def value(self, field: str):
        """The mean of one field of the points (nan if no seed finished)."""
        return getattr(self.point, field) if self.point is not None else float("nan")

    @property
    def ratio(self) -> float:
        return self.value("ratio")

    @property
    def signal_gain(self) -> float:
        return self.value("signal_gain")

    @property
    def noise_gain(self) -> float:
        return self.value("noise_gain")


def aggregate(nsnr2: float, points: list) -> Mean:
    """One n·SNR² for the rules: geometric means over seeds of ratio and gains (and of the other
    positive numbers), arithmetic means of the rest; a text field is kept if the seeds agree, else
    listed; None where no seed has the field; `runs` counts the points that were reached."""
    points = [p for p in points if p is not None]
    if not points:
        return Mean(nsnr2, 0, None)
    means = {}
    for key in points[0]._fields:
        values = np.array([getattr(p, key) for p in points], dtype=object)
        if all(v is None for v in values):
            means[key] = None
        elif all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            v = values.astype(float)
            means[key] = float(np.exp(np.mean(np.log(v)))) if np.all(v > 0) else float(np.mean(v))
        else:
            means[key] = (
                [str(v) for v in values] if len(set(map(str, values))) > 1 else str(values[0])
            )
    return Mean(nsnr2, len(points), type(points[0])(**means))
