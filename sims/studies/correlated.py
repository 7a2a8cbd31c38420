"""Correlated signals, cos(mu_+1, mu_-1) = C: the study claims B1 and B2 read.

Cells, for C and n SNR^2 of the preset (`presets.Beyond.correlated`: the full preset's grid is
SIGNAL_COS at the paper's two settings; quick and tiny keep C = 0.5 at the lower one, one seed),
both models:
- Run(model, C, nsnr2, rep): the run (seeds shared across C: the same noise draws and initial
  weights at every C, so that C alone changes);
- Early(model, C, nsnr2): the first eighth of seed 0's run, logged every step (growth phase);
- Predict(model, C, nsnr2): the model's theory for seed 0 (exact for any data: the initial rates
  from the gradient and the reduced ODE's stationary point).
`measure` gives one `CorrelatedRow` per (C, n SNR^2): each model's measured and predicted ratios and
gains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sims import io
from sims.models import PAPER_PAIR
from sims.studies import beyond, presets
from sims.studies.cells import Study, cell_seed
from sims.studies.measures import growth_ratio


@dataclass(frozen=True)
class Run:
    model: str
    C: float
    nsnr2: float
    rep: int


@dataclass(frozen=True)
class Early:
    model: str
    C: float
    nsnr2: float


@dataclass(frozen=True)
class Predict:
    model: str
    C: float
    nsnr2: float


def cells(preset_name: str, seed: int) -> dict:
    cos_values, nsnr2_values, reps = presets.get(preset_name).beyond.correlated
    out = {}
    for model in (m.name for m in PAPER_PAIR):
        for C in cos_values:
            for nsnr2 in nsnr2_values:
                for rep in range(reps):
                    run_seed = cell_seed(seed, "correlated", model, nsnr2, rep)
                    cfg = beyond.config(preset_name, model, nsnr2, run_seed, signal_cos=C)
                    out[Run(model, C, nsnr2, rep)] = ("train", cfg)
                    if rep == 0:
                        early = cfg.replace(steps=max(20, cfg.steps // 8), log_every=1)
                        out[Early(model, C, nsnr2)] = ("train", early)
                        out[Predict(model, C, nsnr2)] = ("predict", cfg)
    return out


@dataclass(frozen=True)
class ModelCell:
    """One model at one (C, n SNR^2): finished runs ('k/n'), final ratio (mean of the seeds), gains,
    growth-phase ratio (seed 0), seed 0's final ratio and gradient norm, the mean test error of a
    model that reports one, and its theory's reading of seed 0's prediction."""

    runs: str
    ratio: float
    signal_gain: float
    noise_gain: float
    growth_ratio: float
    seed0_ratio: float
    seed0_grad_norm: float
    test_error: float | None
    predicted: Any

    def to_dict(self, prefix: str) -> dict:
        out = {
            f"{prefix}_{k}": getattr(self, k)
            for k in ("runs", "ratio", "signal_gain", "noise_gain", "growth_ratio")
        }
        out[f"{prefix}_seed0_ratio"] = self.seed0_ratio
        out[f"{prefix}_seed0_grad_norm"] = io.resolved(self.seed0_grad_norm, io.GRAD_RESOLUTION)
        if self.test_error is not None:
            out[f"{prefix}_test_error"] = self.test_error
        out.update({f"{prefix}_predicted_{k}": v for k, v in self.predicted._asdict().items()})
        return out


@dataclass(frozen=True)
class CorrelatedRow:
    C: float
    nsnr2: float
    models: dict  # model name -> ModelCell

    def to_dict(self) -> dict:
        """As report.json holds it: one flat row, each model's numbers prefixed with its name."""
        out = {"C": self.C, "nsnr2": self.nsnr2}
        for name, cell in self.models.items():
            out.update(cell.to_dict(name))
        return out


def measure(preset_name: str, results: dict, seed: int = 0) -> list[CorrelatedRow]:
    cos_values, nsnr2_values, reps = presets.get(preset_name).beyond.correlated
    rows = []
    for C in cos_values:
        for nsnr2 in nsnr2_values:
            by_model = {}
            for model in PAPER_PAIR:
                runs = [results[Run(model.name, C, nsnr2, rep)] for rep in range(reps)]
                early = results[Early(model.name, C, nsnr2)]
                seed0 = runs[0]
                by_model[model.name] = ModelCell(
                    runs=beyond.finished(runs),
                    ratio=beyond.mean_ratio(runs),
                    signal_gain=beyond.gain(model, runs, [0, 1]),
                    noise_gain=beyond.noise_gain(model, runs),
                    growth_ratio=growth_ratio(early.trace, seed0.trace)
                    if early.finished and seed0.finished
                    else float("nan"),
                    seed0_ratio=seed0.run.ratio if seed0.finished else float("nan"),
                    seed0_grad_norm=seed0.run.final_grad_norm if seed0.finished else float("nan"),
                    test_error=beyond.mean_test_error(runs),
                    predicted=model.theory.read(results[Predict(model.name, C, nsnr2)].summary),
                )
            rows.append(CorrelatedRow(C, nsnr2, by_model))
    return rows


STUDY = Study("correlated", cells, measure)
