"""The paper's synthetic study: its cells, and the numbers claims D1, D2, C1 and E1 read from them.

Cells (kinds "train", "ode", "predict" of `sims.studies.sweep`), named by the small records below,
for the paper's two models (`sims.models.PAPER_PAIR`):
- Train(model, nsnr2, rep): the n SNR^2 sweep of figure (c), `replicates` seeds each;
- Predict(model, nsnr2): theory predictions for seed 0 of that setting (the model's theory);
- Early(model, nsnr2): the first eighth of seed 0's run, logged every step (the growth-phase ratio);
- Ode(model, nsnr2): the reduced ODE at the paper's two settings `E1_NSNR2` (figures a, e);
- Linear(model), LinearPredict(model): from an `EARLY_SIGMA0` times smaller initialisation at the
  lower of the two settings, logged every step (the linearity index, figure b);
- Phase(model, n, snr), Boundary(n): the (n, SNR) grid of figure (d) and the classifier's predicted
  boundary for each n;
- Vary(axis, value, nsnr2), VaryPredict(...): the denoiser at other widths m and dimensions d
  (figure f).

`measure` computes every table of the study once (`Synthetic`): the ratio table (a `RatioRow` per
model and n SNR^2), its fitted slopes, the linearity index, the phase table and its agreement with
the predicted winner, the stationary ratio's dependence on m and d, and the gains over
initialisation.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from sims import io
from sims.config import TrainConfig
from sims.models import PAPER_PAIR, Model
from sims.studies import presets
from sims.studies.cells import Cell, Study, cell_seed
from sims.studies.measures import (
    WINNER_RATIO,
    growth_ratio,
    linear_window,
    linearity,
    loglog_slope,
    mean,
)
from sims.studies.presets import E1_NSNR2, EARLY_SIGMA0, Preset, steps_for

DENOISER, CLASSIFIER = PAPER_PAIR


# ------------------------------------------------------------------------------------ cell names
@dataclass(frozen=True)
class Train:
    model: str
    nsnr2: float
    rep: int


@dataclass(frozen=True)
class Predict:
    model: str
    nsnr2: float


@dataclass(frozen=True)
class Early:
    model: str
    nsnr2: float


@dataclass(frozen=True)
class Ode:
    model: str
    nsnr2: float


@dataclass(frozen=True)
class Linear:
    model: str


@dataclass(frozen=True)
class LinearPredict:
    model: str


@dataclass(frozen=True)
class Phase:
    model: str
    n: int
    snr: float


@dataclass(frozen=True)
class Boundary:
    n: int


@dataclass(frozen=True)
class Vary:
    axis: str  # "m" or "d"
    value: int
    nsnr2: float


@dataclass(frozen=True)
class VaryPredict:
    axis: str
    value: int
    nsnr2: float


def config(
    preset: Preset,
    model: str,
    nsnr2: float,
    seed: int,
    n: int | None = None,
    m: int | None = None,
    d: int | None = None,
) -> TrainConfig:
    """A run of the preset's model at n SNR^2 = nsnr2 (n, m or d replaced where given)."""
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


def cells(preset_name: str, seed: int) -> dict:
    """Every cell of the study (module docstring): {name: (kind, config)}."""
    p = presets.get(preset_name)
    out: dict = {}
    for model in (m.name for m in PAPER_PAIR):
        for nsnr2 in p.sweep_nsnr2:
            for rep in range(p.replicates):
                cfg = config(p, model, nsnr2, cell_seed(seed, "ratio", model, nsnr2, rep))
                out[Train(model, nsnr2, rep)] = ("train", cfg)
            cfg0 = config(p, model, nsnr2, cell_seed(seed, "ratio", model, nsnr2, 0))
            out[Predict(model, nsnr2)] = ("predict", cfg0)
            early = cfg0.replace(steps=max(20, cfg0.steps // 8), log_every=1)
            out[Early(model, nsnr2)] = ("train", early)
            if nsnr2 in E1_NSNR2:
                out[Ode(model, nsnr2)] = ("ode", cfg0)
            if nsnr2 == E1_NSNR2[0]:
                small = cfg0.replace(sigma0=cfg0.sigma0 * EARLY_SIGMA0, log_every=1)
                out[Linear(model)] = ("train", small)
                out[LinearPredict(model)] = ("predict", small)
        for n in p.phase_n:
            for snr in p.phase_snr:
                cfg = config(p, model, n * snr**2, cell_seed(seed, "phase", model, n, snr), n=n)
                out[Phase(model, n, snr)] = ("train", cfg)
    for n in p.phase_n:  # the classifier's predicted boundary
        cfg = config(p, CLASSIFIER.name, 1.0, cell_seed(seed, "phase", CLASSIFIER.name, n, 0), n=n)
        out[Boundary(n)] = ("predict", cfg)
    for axis, values in (("m", p.vary_m), ("d", p.vary_d)):
        for value in values:
            for nsnr2 in p.vary_nsnr2:
                vary_seed = cell_seed(seed, "vary", axis, value, nsnr2)
                cfg = config(p, DENOISER.name, nsnr2, vary_seed, **{axis: value})
                out[Vary(axis, value, nsnr2)] = ("train", cfg)
                out[VaryPredict(axis, value, nsnr2)] = ("predict", cfg)
    return out


# ---------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class RatioRow:
    """One model at one n SNR^2 of the sweep: the measured final ratio (mean, min and max over the
    seeds that finished), final alignments and growth-phase ratio (seed 0), and the model's
    predictions (its theory's reading of the Predict cell)."""

    nsnr2: float
    runs: int  # seeds that finished
    diverged: int  # seeds that diverged
    final_ratio: float
    final_ratio_min: float
    final_ratio_max: float
    final_signal: float
    final_noise: float
    growth_ratio: float
    converged_grad_norm: float
    test_error: float | None  # the mean test error of a model that reports one
    predicted: Any  # the model's theory's reading (theory.predict: DiffusionReading, ...)

    def to_dict(self) -> dict:
        """As report.json's ratio_table holds it: the predictions as predicted_* (none of None)."""
        out = {k: v for k, v in asdict(self).items() if k != "predicted"}
        out["converged_grad_norm"] = io.resolved(self.converged_grad_norm, io.GRAD_RESOLUTION)
        if self.test_error is None:
            del out["test_error"]
        out.update({f"predicted_{k}": v for k, v in self.predicted._asdict().items()})
        return out


class Linearity(NamedTuple):
    """The linearity index of one model's small-initialisation run (measures: `linearity`)."""

    signal: float
    noise: float
    window_step: int | None
    sigma0: float
    index: float


class SeedCurves(NamedTuple):
    """The headline alignments of the finished seeds of one setting over their (shared) logged
    steps; the last mean is the seed mean of the final summaries (RatioRow's final_signal,
    final_noise)."""

    steps: np.ndarray
    seeds: int
    eta: tuple  # (min, max) over the seeds
    signal_mean: np.ndarray
    signal_min: np.ndarray
    signal_max: np.ndarray
    noise_mean: np.ndarray
    noise_min: np.ndarray
    noise_max: np.ndarray


class PhaseTable(NamedTuple):
    """Final ratio and test error over the (n, SNR) grid (rows: SNR, columns: n) per model, and the
    classifier's predicted boundary n SNR^2 for each n."""

    ratio: dict  # model name -> (SNR, n) array
    test_error: dict
    boundary_nsnr2: list

    def to_dict(self) -> dict:
        grid = {m: {"ratio": self.ratio[m], "test_error": self.test_error[m]} for m in self.ratio}
        return {"grid": grid, "boundary_nsnr2": self.boundary_nsnr2}


class StationaryPoint(NamedTuple):
    """The denoiser's stationary ratio at one n SNR^2 of the m or d series: simulated and
    predicted."""

    nsnr2: float
    simulated: float
    predicted: float | None


@dataclass(frozen=True)
class Synthetic:
    """Every table of the study, computed once from its cells (module docstring)."""

    preset: Preset
    cells: dict  # name -> (kind, config)
    results: dict  # name -> Cell
    rows: dict  # model name -> [RatioRow per n SNR^2]
    slopes: dict  # "diffusion_growth", "diffusion_final", "classification_final" -> log-log slope
    linearity: dict  # model name -> Linearity
    phase: PhaseTable
    agreement: dict  # {"agree", "cells"}: classifier cells where the predicted winner is simulated
    dependence: dict  # axis -> value -> {"rows": [StationaryPoint], "slope"}
    gains: list  # the denoiser's (signal, noise) final over initial alignment per n SNR^2

    def train_runs(self, model: str, nsnr2: float) -> list[Cell]:
        return [self.results[Train(model, nsnr2, rep)] for rep in range(self.preset.replicates)]

    def seed_curves(self, model: str, nsnr2: float) -> SeedCurves | None:
        runs = [r for r in self.train_runs(model, nsnr2) if r.finished]
        if not runs:
            return None
        stacks = {
            q: np.array([getattr(r.trace, f"{q}_max") for r in runs]) for q in ("signal", "noise")
        }
        return SeedCurves(
            steps=runs[0].trace.steps,
            seeds=len(runs),
            eta=(min(r.run.eta for r in runs), max(r.run.eta for r in runs)),
            **{
                f"{q}_{stat}": getattr(stacks[q], stat)(axis=0)
                for q in ("signal", "noise")
                for stat in ("mean", "min", "max")
            },
        )


# -------------------------------------------------------------------------------------- measures
def _extreme(pick, values) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(pick(values)) if values else float("nan")


def ratio_rows(p: Preset, results: dict, model: Model) -> list[RatioRow]:
    """The ratio table of one model (RatioRow per n SNR^2 of the sweep)."""
    rows = []
    for nsnr2 in p.sweep_nsnr2:
        all_runs = [results[Train(model.name, nsnr2, rep)] for rep in range(p.replicates)]
        runs = [r for r in all_runs if r.finished]
        early = results[Early(model.name, nsnr2)]
        errors = [r.run.test_error for r in runs if r.run.test_error is not None]
        rows.append(
            RatioRow(
                nsnr2=nsnr2,
                runs=len(runs),
                diverged=len(all_runs) - len(runs),
                final_ratio=mean([r.run.ratio for r in runs]),
                final_ratio_min=_extreme(min, [r.run.ratio for r in runs]),
                final_ratio_max=_extreme(max, [r.run.ratio for r in runs]),
                final_signal=mean([r.run.signal for r in runs]),
                final_noise=mean([r.run.noise for r in runs]),
                growth_ratio=growth_ratio(early.trace, runs[0].trace)
                if runs and early.finished
                else float("nan"),
                converged_grad_norm=mean([r.run.final_grad_norm for r in runs]),
                test_error=mean(errors) if errors else None,
                predicted=model.theory.read(results[Predict(model.name, nsnr2)].summary),
            )
        )
    return rows


def linearity_of(results: dict, cells_: dict, model: str) -> Linearity:
    """The linearity index of signal and noise on the small-initialisation run (measures:
    `linearity`)."""
    res = results[Linear(model)]
    if not res.finished:
        return Linearity(float("nan"), float("nan"), None, float("nan"), float("nan"))
    t = res.trace
    k = linear_window(t)
    signal, noise = linearity(t.signal_max, k), linearity(t.noise_max, k)
    return Linearity(
        signal=signal,
        noise=noise,
        window_step=int(t.steps[k]),
        sigma0=cells_[Linear(model)][1].sigma0,
        index=float(np.nanmax([signal, noise])),
    )


def phase_table(p: Preset, results: dict) -> PhaseTable:
    ratio, error = {}, {}
    for model in PAPER_PAIR:
        ratio[model.name] = np.full((len(p.phase_snr), len(p.phase_n)), np.nan)
        error[model.name] = np.full_like(ratio[model.name], np.nan)
        for j, n in enumerate(p.phase_n):
            for i, snr in enumerate(p.phase_snr):
                res = results[Phase(model.name, n, snr)]
                if res.finished:
                    ratio[model.name][i, j] = res.run.ratio
                    test_error = res.run.test_error
                    error[model.name][i, j] = np.nan if test_error is None else test_error
    boundary = [
        CLASSIFIER.theory.read(results[Boundary(n)].summary).boundary_nsnr2 for n in p.phase_n
    ]
    return PhaseTable(ratio, error, boundary)


def phase_agreement(p: Preset, table: PhaseTable) -> dict:
    """In how many classifier cells of the grid the predicted winner is the simulated one."""
    agree = count = 0
    for j, n in enumerate(p.phase_n):
        b = table.boundary_nsnr2[j]
        for i, snr in enumerate(p.phase_snr):
            r = table.ratio[CLASSIFIER.name][i, j]
            if b is None or not np.isfinite(r):
                continue
            count += 1
            agree += (n * snr**2 > b) == (r > WINNER_RATIO)
    return {"agree": int(agree), "cells": int(count)}


def stationary_dependence(p: Preset, results: dict, rows: list[RatioRow]) -> dict:
    """The denoiser's stationary ratio (simulated and predicted) against n SNR^2 for other m and
    d."""
    out = {}
    base = {r.nsnr2: r for r in rows}
    for axis, values, default in (("m", p.vary_m, p.m), ("d", p.vary_d, p.d)):
        series = {}
        for value in sorted(set(values) | {default}):
            points = []
            for nsnr2 in p.vary_nsnr2 if value != default else sorted(base):
                if value == default:
                    row = base[nsnr2]
                    sim, pred = row.final_ratio, row.predicted.stationary_ratio
                else:
                    res = results[Vary(axis, value, nsnr2)]
                    sim = res.run.ratio if res.finished else float("nan")
                    reading = DENOISER.theory.read(results[VaryPredict(axis, value, nsnr2)].summary)
                    pred = reading.stationary_ratio
                points.append(StationaryPoint(nsnr2, sim, pred))
            x = [r.nsnr2 for r in points]
            series[value] = {
                "rows": points,
                "slope": loglog_slope(x, [r.simulated for r in points]),
            }
        out[axis] = series
    return out


def initial_alignment(results: dict, p: Preset, model: str, nsnr2: float, q: str) -> float:
    """Mean over seeds of the headline alignment q ("signal" or "noise") at initialisation."""
    runs = [results[Train(model, nsnr2, rep)] for rep in range(p.replicates)]
    vals = [getattr(r.trace, f"{q}_max")[0] for r in runs if r.finished]
    return float(np.mean(vals)) if vals else float("nan")


def measure(preset_name: str, results: dict, seed: int = 0) -> Synthetic:
    """Every table of the study from its finished cells (module docstring)."""
    p = presets.get(preset_name)
    plan = cells(preset_name, seed)
    rows = {model.name: ratio_rows(p, results, model) for model in PAPER_PAIR}
    x = [r.nsnr2 for r in rows[DENOISER.name]]
    slopes = {
        "diffusion_growth": loglog_slope(x, [r.growth_ratio for r in rows[DENOISER.name]]),
        "diffusion_final": loglog_slope(x, [r.final_ratio for r in rows[DENOISER.name]]),
        "classification_final": loglog_slope(x, [r.final_ratio for r in rows[CLASSIFIER.name]]),
    }
    phase = phase_table(p, results)
    gains = [
        (
            r.final_signal / initial_alignment(results, p, DENOISER.name, r.nsnr2, "signal"),
            r.final_noise / initial_alignment(results, p, DENOISER.name, r.nsnr2, "noise"),
        )
        for r in rows[DENOISER.name]
    ]
    return Synthetic(
        preset=p,
        cells=plan,
        results=results,
        rows=rows,
        slopes=slopes,
        linearity={m.name: linearity_of(results, plan, m.name) for m in PAPER_PAIR},
        phase=phase,
        agreement=phase_agreement(p, phase),
        dependence=stationary_dependence(p, results, rows[DENOISER.name]),
        gains=gains,
    )


STUDY = Study("synthetic", cells, measure)
