"""Where the classifier's phase transition is where theory.predict puts it: the boundary map that
C1's domain reads.

The predicted boundary depends on the setting only through the initial-alignment group Z = sigma0
sigma_xi sqrt(d), n and m (theory.early.boundary_of): the map sweeps n·SNR² at each Z of
`presets.BoundaryGrid`, Z reached through sigma0 (sigma_xi = 1) and, for a few values, through
sigma_xi (sigma0 fixed; its own seeds), so the same Z by two routes checks that Z is what matters.

Cells, kind "train", the classifier (default data, auto eta):
- Point(via, z, nsnr2): `steps_for` steps (the grid's base_steps and max_factor), read at the end
  (final ratio, test error); one seed per (via, n·SNR²), shared by every Z of that route;
- Onset(via, z): at n·SNR² = E1_NSNR2[0], logged every step for a quarter of base_steps: the
  linearity index of the early growth (sims.studies.measures).
`measure` gives each column (via, Z) its rows, predicted boundary, simulated transition and
linearity index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sims.config import TrainConfig
from sims.models import PAPER_PAIR
from sims.studies import presets
from sims.studies.cells import Study, cell_seed
from sims.studies.measures import WINNER_RATIO, linear_window, linearity
from sims.studies.presets import E1_NSNR2, BoundaryGrid
from theory import early

CLASSIFIER = PAPER_PAIR[1]
SIGMA0, SIGMA_XI = "sigma0", "sigma_xi"  # the two routes to Z


@dataclass(frozen=True)
class Point:
    via: str
    z: float
    nsnr2: float


@dataclass(frozen=True)
class Onset:
    via: str
    z: float


def steps(grid: BoundaryGrid, nsnr2: float) -> int:
    """presets.steps_for with the grid's base_steps and max_factor."""
    return int(grid.base_steps * min(max(1.0, nsnr2 / 2.0, 0.1 / nsnr2), grid.max_factor))


def config(grid: BoundaryGrid, via: str, z: float, nsnr2: float, seed: int) -> TrainConfig:
    """The classifier at Z = z, reached through sigma0 (sigma_xi = 1) or sigma_xi (sigma0 =
    grid.sigma0)."""
    root = math.sqrt(grid.d)
    sigma0, sigma_xi = (z / root, 1.0) if via == SIGMA0 else (grid.sigma0, z / (grid.sigma0 * root))
    count = steps(grid, nsnr2)
    return TrainConfig(
        model=CLASSIFIER.name,
        n=grid.n,
        d=grid.d,
        m=grid.m,
        nsnr2=nsnr2,
        sigma0=sigma0,
        sigma_xi=sigma_xi,
        steps=count,
        log_every=max(1, count // 100),
        seed=seed,
    )


def columns(grid: BoundaryGrid) -> list[tuple[str, float]]:
    return [(SIGMA0, z) for z in grid.by_sigma0] + [(SIGMA_XI, z) for z in grid.by_sigma_xi]


def cells(preset_name: str, seed: int) -> dict:
    grid = presets.get(preset_name).boundary
    if grid is None:
        return {}
    out = {}
    for via, z in columns(grid):
        for x in grid.nsnr2:
            out[Point(via, z, x)] = (
                "train",
                config(grid, via, z, x, cell_seed(seed, "boundary", via, x)),
            )
        onset = config(grid, via, z, E1_NSNR2[0], cell_seed(seed, "onset", via))
        out[Onset(via, z)] = ("train", onset.replace(steps=grid.base_steps // 4, log_every=1))
    return out


class Row(NamedTuple):
    nsnr2: float
    ratio: float  # final signal / noise (nan: diverged)
    test_error: float
    predicted_winner: str | None  # by the predicted boundary (None where there is none)


class Column(NamedTuple):
    """One (route, Z): its rows over n·SNR², the predicted boundary, the simulated transition
    (between the largest n·SNR² the noise wins and the smallest the signal wins) and the linearity
    index of the early growth."""

    via: str
    z: float
    sigma0: float
    sigma_xi: float
    log_factor: float  # theory.early.log_factor
    boundary: float  # theory.early.boundary_of (nan: none)
    rows: list
    transition: tuple  # (lo, hi): noise wins at lo, signal at hi (None where not seen)
    linearity_index: float


def transition(rows: list[Row]) -> tuple:
    """(largest n·SNR² where the noise wins, smallest where the signal wins), finished rows."""
    noise = [r.nsnr2 for r in rows if np.isfinite(r.ratio) and r.ratio < WINNER_RATIO]
    signal = [r.nsnr2 for r in rows if np.isfinite(r.ratio) and r.ratio > WINNER_RATIO]
    return (max(noise) if noise else None, min(signal) if signal else None)


def column(grid: BoundaryGrid, via: str, z: float, results: dict, plan: dict) -> Column:
    b = early.boundary_of(z, grid.n, grid.m)
    rows = []
    for x in grid.nsnr2:
        cell = results[Point(via, z, x)]
        ok = cell.finished
        winner = None if not np.isfinite(b) else "signal" if x > b else "noise"
        rows.append(
            Row(
                x,
                cell.run.ratio if ok else float("nan"),
                cell.run.test_error if ok else float("nan"),
                winner,
            )
        )
    onset = results[Onset(via, z)]
    index = float("nan")
    if onset.finished:
        t = onset.trace
        k = linear_window(t)
        index = max(linearity(t.signal_max, k), linearity(t.noise_max, k))
    cfg = plan[Point(via, z, grid.nsnr2[0])][1]
    return Column(
        via,
        z,
        cfg.sigma0,
        cfg.sigma_xi,
        early.log_factor(z, grid.m),
        b,
        rows,
        transition(rows),
        index,
    )


class BoundaryMap(NamedTuple):
    grid: BoundaryGrid
    columns: list  # [Column]
    preset_name: str


def measure(preset_name: str, results: dict, seed: int = 0) -> BoundaryMap:
    grid = presets.get(preset_name).boundary
    plan = cells(preset_name, seed)
    return BoundaryMap(
        grid, [column(grid, via, z, results, plan) for via, z in columns(grid)], preset_name
    )


STUDY = Study("boundary-map", cells, measure)
