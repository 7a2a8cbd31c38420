"""The noise-augmented classifier: the study claim A1 reads.

The classifier trained on x_t = alpha x0 + beta eps (research.AUGMENT, fresh draws every step;
sims.classification.loss_and_grad_augmented_resampled) beside the plain classifier on the same data,
with the same eta and steps, and the eps diffusion model's stationary point, over the preset's
n·SNR² sweep (`presets.Research`); in the full preset also over the (n, SNR) phase grid. Cells:
- Classifier(kind, nsnr2, rep) for kind in KINDS, Denoiser(nsnr2, rep): the sweep;
- Phase(kind, n, snr): the phase grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sims.studies import presets, research
from sims.studies.cells import Study
from sims.studies.measures import WINNER_RATIO
from sims.studies.presets import Research
from sims.studies.research import CLASSIFIER, aggregate, stationary_point, train_point

KINDS = ("plain", "augmented")


@dataclass(frozen=True)
class Classifier:
    kind: str  # in KINDS
    nsnr2: float
    rep: int


@dataclass(frozen=True)
class Denoiser:
    nsnr2: float
    rep: int


@dataclass(frozen=True)
class Phase:
    kind: str
    n: int
    snr: float


def cells(preset_name: str, seed: int) -> dict:
    size = presets.get(preset_name).research
    out = {}
    for nsnr2 in size.nsnr2:
        for rep in range(size.replicates):
            s = research.seed(seed, nsnr2, rep)
            for kind, cfg in zip(KINDS, research.classifier_configs(size, nsnr2, s)):
                out[Classifier(kind, nsnr2, rep)] = ("train", cfg)
            out[Denoiser(nsnr2, rep)] = (
                "stationary",
                research.diffusion_config(size, "eps", "single", nsnr2, s),
            )
    if size.phase:
        p = presets.PRESETS[size.model]
        for n in p.phase_n:
            for snr in p.phase_snr:
                nsnr2 = n * snr**2
                configs = research.classifier_configs(
                    size, nsnr2, research.seed(seed, nsnr2, 0, n=n), n=n
                )
                for kind, cfg in zip(KINDS, configs):
                    out[Phase(kind, n, snr)] = ("train", cfg)
    return out


class PhaseGrid(NamedTuple):
    """Final ratio of each classifier over the (n, SNR) grid (rows: SNR, columns: n), and in how
    many cells the plain and the augmented classifier have the same winner."""

    ratio: dict  # kind -> (SNR, n) array
    same_winner: dict  # {"cells", "same"}


@dataclass(frozen=True)
class Augment:
    """The study's numbers: per kind a research.Mean per n·SNR² (and the eps denoiser's stationary
    points), the phase grid (full preset) and the note of a small preset."""

    size: Research
    rows: dict  # kind -> [Mean]
    denoiser: list  # [Mean]
    grid: PhaseGrid | None
    note: str


def crossing(rows: list) -> float:
    """The n·SNR² where the ratio first crosses WINNER_RATIO upward, interpolated in log-log (nan if
    never)."""
    x = np.log([r.nsnr2 for r in rows])
    y = np.log([r.ratio for r in rows]) - np.log(WINNER_RATIO)
    for i in range(len(x) - 1):
        if y[i] < 0 <= y[i + 1]:
            return float(np.exp(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i])))
    return float("nan")


def phase_grid(size: Research, results: dict) -> PhaseGrid:
    p = presets.PRESETS[size.model]
    ratio = {kind: np.full((len(p.phase_snr), len(p.phase_n)), np.nan) for kind in KINDS}
    for kind in KINDS:
        for j, n in enumerate(p.phase_n):
            for i, snr in enumerate(p.phase_snr):
                point = train_point(results[Phase(kind, n, snr)], CLASSIFIER)
                if point is not None:
                    ratio[kind][i, j] = point.ratio
    both = np.isfinite(ratio["plain"]) & np.isfinite(ratio["augmented"])
    same = (ratio["plain"] > WINNER_RATIO) == (ratio["augmented"] > WINNER_RATIO)
    return PhaseGrid(ratio, {"cells": int(both.sum()), "same": int((same & both).sum())})


def measure(preset_name: str, results: dict, seed: int = 0) -> Augment:
    size = presets.get(preset_name).research
    reps = range(size.replicates)
    rows = {
        kind: [
            aggregate(v, [train_point(results[Classifier(kind, v, r)], CLASSIFIER) for r in reps])
            for v in size.nsnr2
        ]
        for kind in KINDS
    }
    denoiser = [
        aggregate(v, [stationary_point(results[Denoiser(v, r)]) for r in reps]) for v in size.nsnr2
    ]
    grid = phase_grid(size, results) if size.phase else None
    return Augment(size, rows, denoiser, grid, research.preset_note(preset_name))


STUDY = Study("augment", cells, measure)
