"""The synthetic study's plan: presets, the configuration of each run, and every cell of `fldm reproduce`.

Cells (kind "train", "ode" or "predict", see `sims.studies.sweep`), named by tuples:
- ("train", model, nsnr2, rep): the n SNR^2 sweep of figure (c), `replicates` seeds each;
- ("predict", model, nsnr2): theory predictions for seed 0 of that setting (`theory.predict`);
- ("early", model, nsnr2): the first eighth of seed 0's run, logged every step (the growth-phase ratio);
- ("ode", model, nsnr2): the reduced ODE at the paper's two settings `E1_NSNR2` (figures a, e);
- ("linear", model), ("linear-predict", model): from an `EARLY_SIGMA0` times smaller initialisation at
  the lower of the two settings, logged every step (the linearity index, figure b);
- ("phase", model, n, snr), ("boundary", n): the (n, SNR) grid of figure (d) and the predicted
  classification boundary for each n;
- ("vary", axis, value, nsnr2), ("vary-predict", ...): other widths m and dimensions d (figure f).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sims.config import TrainConfig
from sims.studies.sweep import Cache, cell_seed, run_cells

MODELS = ("diffusion", "classification")
E1_NSNR2 = (0.75, 6.75)  # the paper's synthetic figure
EARLY_SIGMA0 = (
    0.1  # the early-growth runs start from sigma0 times this (a longer, cleaner early phase)
)


@dataclass(frozen=True)
class Preset:
    n: int
    d: int
    m: int
    sigma0: float
    base_steps: int  # steps at n SNR^2 <= 2; more at higher SNR (see `steps_for`)
    max_factor: float  # cap on the step multiplier
    points_logged: int
    ratio_nsnr2: tuple  # the n SNR^2 sweep (figure c)
    replicates: int  # seeds per setting
    phase_n: tuple  # the (n, SNR) grid (figure d)
    phase_snr: tuple
    mnist: bool
    vary_m: tuple = ()  # other widths m for the stationary-ratio dependence (figure f)
    vary_d: tuple = ()  # other dimensions d for it
    vary_nsnr2: tuple = ()  # the n SNR^2 values of figure f

    @property
    def sweep_nsnr2(self) -> list:
        """The n SNR^2 values of figure (c): the sweep and the paper's two settings."""
        return sorted(set(self.ratio_nsnr2) | set(E1_NSNR2))


def _logspace(lo: float, hi: float, count: int) -> tuple:
    """`count` values from lo to hi, evenly spaced in log, each rounded to 3 significant digits."""
    return tuple(float(f"{v:.3g}") for v in np.logspace(math.log10(lo), math.log10(hi), count))


PRESETS = {
    "tiny": Preset(
        n=8,
        d=120,
        m=2,
        sigma0=0.01,
        base_steps=400,
        max_factor=3,
        points_logged=80,
        ratio_nsnr2=(0.1, 1.0, 10.0),
        replicates=1,
        phase_n=(4, 8),
        phase_snr=(0.15, 1.0),
        mnist=False,
        vary_m=(1,),
        vary_d=(60,),
        vary_nsnr2=(0.1, 10.0),
    ),
    "quick": Preset(
        n=20,
        d=2000,
        m=4,
        sigma0=0.01,
        base_steps=2000,
        max_factor=10,
        points_logged=300,
        ratio_nsnr2=_logspace(0.05, 50, 13),
        replicates=3,
        phase_n=(5, 10, 20, 40),
        phase_snr=_logspace(0.05, 1, 6),
        mnist=True,
        vary_m=(1, 2, 8),
        vary_d=(500, 8000),
        vary_nsnr2=(0.05, 0.5, 5.0, 50.0),
    ),
    "full": Preset(
        n=20,
        d=5000,
        m=8,
        sigma0=0.01,
        base_steps=4000,
        max_factor=20,
        points_logged=500,
        ratio_nsnr2=_logspace(0.01, 100, 17),
        replicates=5,
        phase_n=(5, 10, 20, 40, 80),
        phase_snr=_logspace(0.03, 1.5, 9),
        mnist=True,
        vary_m=(1, 2, 4, 16, 32),
        vary_d=(1000, 20000, 100000),
        vary_nsnr2=(0.01, 0.1, 1.0, 10.0, 100.0),
    ),
}


def steps_for(preset: Preset, nsnr2: float) -> int:
    """Steps that reach the stationary phase at every n SNR^2. With the auto step size, eta shrinks like
    1 / (n SNR^2) once the signal sets the curvature (sims.config.auto_eta), so the same time tau = eta * step
    takes proportionally more steps at high n SNR^2; at low n SNR^2 the signal's own growth rate falls
    like n SNR^2, so it needs more time there too (0.1 / n SNR^2 more, from where that exceeds 1)."""
    return int(preset.base_steps * min(max(1.0, nsnr2 / 2.0, 0.1 / nsnr2), preset.max_factor))


def config(
    preset: Preset,
    model: str,
    nsnr2: float,
    seed: int,
    n: int | None = None,
    m: int | None = None,
    d: int | None = None,
) -> TrainConfig:
    steps = steps_for(preset, nsnr2)
    d = d or preset.d
    # the same initial weight norm sigma0^2 d at every d (auto_eta does not look at the weights)
    sigma0 = preset.sigma0 * math.sqrt(preset.d / d)
    return TrainConfig(
        model=model,
        n=n or preset.n,
        d=d,
        m=m or preset.m,
        nsnr2=nsnr2,
        sigma0=sigma0,
        steps=steps,
        log_every=max(1, steps // preset.points_logged),
        seed=seed,
    )


class Study:
    """All cells of one reproduce run (see the module docstring), computed once by `run` and then read by
    the measures, the figures and the claims."""

    def __init__(
        self, preset: Preset, seed: int, cache: Cache, executor=None, jobs: int = 1, progress=True
    ):
        self.preset, self.seed = preset, seed
        self.cache, self.executor, self.jobs, self.progress = cache, executor, jobs, progress
        self.cells: dict[tuple, tuple[str, TrainConfig]] = {}
        p = preset
        for model in MODELS:
            for nsnr2 in p.sweep_nsnr2:
                for rep in range(p.replicates):
                    cfg = config(p, model, nsnr2, cell_seed(seed, "ratio", model, nsnr2, rep))
                    self.add(("train", model, nsnr2, rep), "train", cfg)
                cfg0 = config(p, model, nsnr2, cell_seed(seed, "ratio", model, nsnr2, 0))
                self.add(("predict", model, nsnr2), "predict", cfg0)
                self.add(
                    ("early", model, nsnr2),
                    "train",
                    cfg0.replace(steps=max(20, cfg0.steps // 8), log_every=1),
                )
                if nsnr2 in E1_NSNR2:
                    self.add(("ode", model, nsnr2), "ode", cfg0)
                if nsnr2 == E1_NSNR2[0]:
                    small = cfg0.replace(sigma0=cfg0.sigma0 * EARLY_SIGMA0, log_every=1)
                    self.add(("linear", model), "train", small)
                    self.add(("linear-predict", model), "predict", small)
            for n in p.phase_n:
                for snr in p.phase_snr:
                    nsnr2 = n * snr**2
                    cfg = config(p, model, nsnr2, cell_seed(seed, "phase", model, n, snr), n=n)
                    self.add(("phase", model, n, snr), "train", cfg)
                if model == "classification":
                    cfgb = config(p, model, 1.0, cell_seed(seed, "phase", model, n, 0), n=n)
                    self.add(("boundary", n), "predict", cfgb)
        for axis, values in (("m", p.vary_m), ("d", p.vary_d)):
            for value in values:
                for nsnr2 in p.vary_nsnr2:
                    cfg = config(
                        p,
                        "diffusion",
                        nsnr2,
                        cell_seed(seed, "vary", axis, value, nsnr2),
                        **{axis: value},
                    )
                    self.add(("vary", axis, value, nsnr2), "train", cfg)
                    self.add(("vary-predict", axis, value, nsnr2), "predict", cfg)
        self.results: dict[tuple, dict] = {}

    def add(self, name, kind, cfg):
        self.cells[name] = (kind, cfg)

    def run(self) -> None:
        names = list(self.cells)  # run_cells schedules the long ones first
        out = run_cells(
            [self.cells[k] for k in names],
            self.cache,
            executor=self.executor,
            jobs=self.jobs,
            progress=self.progress,
            label="reproduce",
        )
        self.results = dict(zip(names, out))

    def get(self, *name) -> dict:
        return self.results[tuple(name)]

    def train_runs(self, model, nsnr2):
        return [self.get("train", model, nsnr2, rep) for rep in range(self.preset.replicates)]
