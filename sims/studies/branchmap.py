"""The stationary state theory.predict finds over widths m and n·SNR²: the study claim R2 reads.

Cells Map(m, nsnr2) of the predict kind over the preset's grid (`presets.BranchGrid`: n, d, widths
and n·SNR² values; sigma0 = 0.01, the defaults otherwise; one seed per cell). `measure` reads each
cell's stationary record: its branch, surviving rank and Morse index, or no stationary point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from sims.config import TrainConfig
from sims.studies import presets
from sims.studies.cells import Study, cell_seed
from sims.studies.presets import BranchGrid
from sims.studies.synthetic import DENOISER


@dataclass(frozen=True)
class Map:
    m: int
    nsnr2: float


def cells(preset_name: str, seed: int) -> dict:
    grid = presets.get(preset_name).branch
    return {
        Map(m, v): (
            "predict",
            TrainConfig(
                model=DENOISER.name,
                n=grid.n,
                d=grid.d,
                m=m,
                nsnr2=v,
                sigma0=0.01,
                seed=cell_seed(seed, "branch-map", m, v),
            ),
        )
        for m in grid.widths
        for v in grid.nsnr2
    }


class Branch(NamedTuple):
    """What a map cell's stationary record (theory.stationary.Stationary, as its to_dict()) says."""

    found: bool
    branch: str | None  # "symmetric" or "asymmetric"
    morse_index: int | None
    groups: list | None  # the neuron group sizes
    surviving_rank: int | None
    signed_ratio: float | None  # the headline (signed) summary's ratio
    abs_ratio: float | None  # the same with |alignments|
    reason: str | None  # why there is no stationary point

    @classmethod
    def of(cls, record: dict) -> Branch:
        return cls(
            found=bool(record.get("found")),
            branch=record.get("branch"),
            morse_index=record.get("morse_index"),
            groups=record.get("groups"),
            surviving_rank=record.get("surviving_rank"),
            signed_ratio=record.get("ratio"),
            abs_ratio=(record.get("summary_abs") or {}).get("ratio"),
            reason=record.get("reason") or None,
        )

    @property
    def state(self) -> str:
        """ "symmetric", "asymmetric" or "none" (no stationary point), and " saddle" appended when
        its Morse index is not 0."""
        if not self.found:
            return "none"
        return self.branch + ("" if self.morse_index == 0 else " saddle")


class BranchMap(NamedTuple):
    """The grid and what each cell's stationary record says."""

    grid: BranchGrid
    cells: dict  # (m, nsnr2) -> Branch
    preset_name: str


def measure(preset_name: str, results: dict, seed: int = 0) -> BranchMap:
    grid = presets.get(preset_name).branch
    branches = {
        (m, v): Branch.of(results[Map(m, v)].summary["stationary"])
        for m in grid.widths
        for v in grid.nsnr2
    }
    return BranchMap(grid, branches, preset_name)


STUDY = Study("branch-map", cells, measure)
