"""Which stationary branch the exact diffusion flow reaches as the initialisation scale varies: the
race map that R2's domain reads.

At leading order every neuron blows up on its own clock (theory.early); the race group B =
sqrt(I0) / (3 Delta) sets the first neuron's saturation lead against the last one's lag, and sigma0
enters the branch only through it (through I0 = sigma0^2 d / G_rr*, theory.law). The map follows
the flow's end state (theory.predict, as the branch map sims.studies.branchmap) over sigma0 for each
n·SNR² and seed of `presets.RaceGrid`; a seed fixes the data and the standard normal draw of the
initial weights, so along one line (n·SNR², seed) only the scale sigma0 changes, and the lag Delta
is the line's own.

Cells, kind "predict": Start(nsnr2, rep, sigma0). `measure` reads each cell's stationary record
(branchmap.Branch), I0 (the prediction's regime) and, from the run's data and initial weights, the
lag and the race group (theory.early.race).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sims.config import TrainConfig
from sims.studies import presets
from sims.studies.branchmap import Branch
from sims.studies.cells import Study, cell_seed
from sims.studies.presets import RaceGrid
from sims.studies.synthetic import DENOISER
from sims.train import prepare
from theory import early

HORIZON = "no stationary point by step"  # theory.predict's reason when the flow ran out of time


@dataclass(frozen=True)
class Start:
    nsnr2: float
    rep: int
    sigma0: float


def config(grid: RaceGrid, nsnr2: float, sigma0: float, seed: int) -> TrainConfig:
    return TrainConfig(
        model=DENOISER.name, n=grid.n, d=grid.d, m=grid.m, nsnr2=nsnr2, sigma0=sigma0, seed=seed
    )


def cells(preset_name: str, seed: int) -> dict:
    grid = presets.get(preset_name).race
    if grid is None:
        return {}
    return {
        Start(v, rep, s0): ("predict", config(grid, v, s0, cell_seed(seed, "race", v, rep)))
        for v in grid.nsnr2
        for rep in range(grid.replicates)
        for s0 in grid.sigma0
    }


class Racer(NamedTuple):
    """One cell: where the flow ends (its state, as the branch map reads it) and the groups of its
    start."""

    nsnr2: float
    rep: int
    sigma0: float
    state: str  # branchmap.Branch.state: "symmetric", "asymmetric", "... saddle" or "none"
    reached: bool  # False: the flow ran out of time (no verdict on its branch)
    groups: list | None
    init_ratio: float  # I0
    lag: float  # the last neuron's blow-up lag, in the first one's clock
    race_group: float  # B = sqrt(I0) / (3 lag)
    blowup_steps: float  # the first neuron's leading-order blow-up, in steps of the run's eta
    reason: str | None


def racer(name: Start, cell, cfg: TrainConfig) -> Racer:
    record = cell.summary["stationary"]
    branch = Branch.of(record)
    I0 = cell.summary["regime"]["init_ratio"]
    run = prepare(cfg.replace(eta=1.0))  # its data and initial weights (no step size is computed)
    r = early.race(cfg, run.data, run.W0, I0, cell.summary["eta"])
    reached = branch.found or HORIZON not in (branch.reason or "")
    return Racer(
        name.nsnr2,
        name.rep,
        name.sigma0,
        branch.state,
        reached,
        branch.groups,
        I0,
        r.lag,
        r.group,
        r.blowup_steps,
        branch.reason,
    )


class RaceMap(NamedTuple):
    grid: RaceGrid
    cells: list  # [Racer]
    preset_name: str


def measure(preset_name: str, results: dict, seed: int = 0) -> RaceMap:
    grid = presets.get(preset_name).race
    plan = cells(preset_name, seed)
    return RaceMap(grid, [racer(k, results[k], plan[k][1]) for k in plan], preset_name)


STUDY = Study("race-map", cells, measure)
