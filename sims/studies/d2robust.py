"""D2 under other readings of the paper: the study claim R1 reads.

The stationary (or end-of-training) signal/noise ratio against n·SNR² for the exact loss, resampled
and fixed noise draws, other diffusion times (α, β), widths m and dimensions d, and the ratio at the
end of the growth phase, for the preset's size (`presets.Robustness`). Cells, for each n·SNR² (one
seed each, shared by every series of that n·SNR²; the width and dimension series draw their own
data):
- Exact(nsnr2), AlphaBeta(a, b, nsnr2), Width(m, nsnr2), Dimension(d, nsnr2): stationary cells;
- Growth(nsnr2): descent on the exact loss logged every step over the first eighth of its run;
- Resampled(k, nsnr2), Fixed(k, nsnr2): descent with K drawn noise samples, fresh or fixed;
- FixedLong(k, nsnr2): the fixed-draw runs continued (added after R1's numbers were seen; in no
  rule).
`measure` reads every series as magnitudes, one `Reading` per n·SNR².
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sims import io
from sims.studies import presets
from sims.studies.cells import Cell, Study, cell_seed
from sims.studies.measures import growth_window
from sims.studies.presets import Robustness
from sims.studies.research import (
    DENOISER,
    magnitudes,
    stationary_point,
    stationary_values,
    train_point,
)
from sims.studies.synthetic import config
from theory.predict import GTOL

DRAW_TOL = 1e-8  # fixed draws: descent stops once ||grad L|| < this
MAX_DRAW_STEPS = 5000  # descent with drawn noise runs at most this many steps
LAST_SHARE = 0.1  # resampled draws: the mean over this last share of the logged points
GROWTH = "growth phase"  # the one series that is not read at a stationary point / end of training
LONG = "{}, {} steps (not in the rule)"


@dataclass(frozen=True)
class Exact:
    nsnr2: float


@dataclass(frozen=True)
class Growth:
    nsnr2: float


@dataclass(frozen=True)
class Resampled:
    k: int
    nsnr2: float


@dataclass(frozen=True)
class Fixed:
    k: int
    nsnr2: float


@dataclass(frozen=True)
class FixedLong:
    k: int
    nsnr2: float


@dataclass(frozen=True)
class AlphaBeta:
    alpha: float
    beta: float
    nsnr2: float


@dataclass(frozen=True)
class Width:
    m: int
    nsnr2: float


@dataclass(frozen=True)
class Dimension:
    d: int
    nsnr2: float


def series_labels(size: Robustness) -> list[tuple]:
    """(label, cell kind, cell name for an n·SNR²) of every series, in the table's order; the growth
    phase last."""
    out = [("exact loss", Exact, Exact)]
    out += [(f"resampled K = {k}", Resampled, _at(Resampled, k)) for k in size.resampled]
    out += [(f"fixed K = {k}", Fixed, _at(Fixed, k)) for k in size.fixed]
    out += [
        (f"(α, β) = ({a:g}, {b:g})", AlphaBeta, _at(AlphaBeta, a, b)) for a, b in size.alpha_beta
    ]
    out += [(f"m = {m}", Width, _at(Width, m)) for m in size.widths]
    out += [(f"d = {d}", Dimension, _at(Dimension, d)) for d in size.dimensions]
    return out + [(GROWTH, Growth, Growth)]


def _at(kind, *values):
    """The cell name of a series at one n·SNR²: kind(*values, nsnr2)."""
    return lambda nsnr2: kind(*values, nsnr2)


def draw_steps(steps: int) -> int:
    return min(steps, MAX_DRAW_STEPS)


def cells(preset_name: str, seed: int) -> dict:
    size = presets.get(preset_name).robustness
    p, out = presets.PRESETS[size.model], {}
    for v in size.nsnr2:
        s = cell_seed(seed, "d2-robustness", v)
        base = config(p, DENOISER.name, v, s)
        out[Exact(v)] = ("stationary", base)
        out[Growth(v)] = ("train", base.replace(steps=max(20, base.steps // 8), log_every=1))
        steps = draw_steps(base.steps)
        drawn = base.replace(steps=steps, log_every=max(1, steps // p.points_logged))
        for k in size.resampled:
            out[Resampled(k, v)] = ("train", drawn.replace(noise="resampled", noise_samples=k))
        for k in size.fixed:
            fixed = drawn.replace(noise="fixed", noise_samples=k, tol=DRAW_TOL)
            out[Fixed(k, v)] = ("train", fixed)
            long_log = max(1, size.long_steps // p.points_logged)
            out[FixedLong(k, v)] = (
                "train",
                fixed.replace(steps=size.long_steps, log_every=long_log),
            )
        for a, b in size.alpha_beta:
            out[AlphaBeta(a, b, v)] = ("stationary", base.replace(alpha=a, beta=b))
        for m in size.widths:
            out[Width(m, v)] = ("stationary", config(p, DENOISER.name, v, s, m=m))
        for d in size.dimensions:
            out[Dimension(d, v)] = ("stationary", config(p, DENOISER.name, v, s, d=d))
    return out


# --------------------------------------------------------------------------------------- readings
class GrowthPoint(NamedTuple):
    """The exact loss at the end of its growth phase."""

    ratio: float
    signal_gain: float
    noise_gain: float
    signal: float
    noise: float
    step: int
    increment_ratio: float


class DrawnPoint(NamedTuple):
    """Resampled draws: the mean magnitudes over the last LAST_SHARE of the logged points."""

    ratio: float
    signal_gain: float
    noise_gain: float
    signal: float
    noise: float
    final_grad_norm: float
    steps_run: int


class NotReached(NamedTuple):
    """A cell that reached no stationary point or diverged: no numbers, and why (the ODE's status or
    the divergence's message). (A stationary cell whose ODE solver gave up returns the state it
    stopped at, possibly the initial one: it is not read.)"""

    ratio: float
    signal_gain: float
    noise_gain: float
    not_reached: str


class Reading(NamedTuple):
    """One series at one n·SNR²: the point read there (or why there is none)."""

    nsnr2: float
    point: NamedTuple

    @property
    def ratio(self) -> float:
        return self.point.ratio

    @property
    def signal_gain(self) -> float:
        return self.point.signal_gain

    @property
    def noise_gain(self) -> float:
        return self.point.noise_gain

    def to_dict(self) -> dict:
        """As report.json holds it: n·SNR² and the point's fields (those it has), its ||grad L|| as
        the bound it proves where it is at rounding level (io.resolved: a decade above the flow's
        GTOL, else GRAD_RESOLUTION)."""
        fields = {k: v for k, v in self.point._asdict().items() if v is not None}
        if "grad_norm" in fields:
            # a stationary point of the flow, which stops at GTOL by its solver's gradient: the
            # norm recomputed at its end lands on either side of GTOL (9.99999e-11, 1.00000e-10)
            fields["grad_norm"] = io.resolved(fields["grad_norm"], 10 * GTOL)
        if "final_grad_norm" in fields:
            fields["final_grad_norm"] = io.resolved(fields["final_grad_norm"], io.GRAD_RESOLUTION)
        return {"nsnr2": self.nsnr2, **fields}


def not_reached(cell: Cell) -> NotReached:
    nan = float("nan")
    return NotReached(nan, nan, nan, cell.message or cell.summary.get("status"))


def _gains(sig: np.ndarray, noi: np.ndarray, at) -> dict:
    return {
        "ratio": float(sig[at] / noi[at]),
        "signal_gain": float(sig[at] / sig[0]),
        "noise_gain": float(noi[at] / noi[0]),
        "signal": float(sig[at]),
        "noise": float(noi[at]),
    }


def magnitude_series(cell: Cell) -> tuple[np.ndarray, np.ndarray]:
    """Per logged step, (signal, noise) magnitudes of a diffusion train cell
    (research.magnitudes)."""
    t = cell.trace
    pairs = np.array([magnitudes(s, z) for s, z in zip(t.signal, t.noise)])
    return pairs[:, 0], pairs[:, 1]


def drawn_point(cell: Cell) -> DrawnPoint | None:
    """Resampled draws: the mean magnitudes over the last LAST_SHARE of the logged points."""
    if not cell.finished:
        return None
    sig, noi = magnitude_series(cell)
    last = max(1, int(round(LAST_SHARE * len(sig))))
    sig = np.append(sig, sig[-last:].mean())
    noi = np.append(noi, noi[-last:].mean())
    run = cell.run
    return DrawnPoint(
        **_gains(sig, noi, -1), final_grad_norm=run.final_grad_norm, steps_run=run.steps_run
    )


def growth_point(early: Cell, exact: Cell) -> GrowthPoint | None:
    """The exact loss at the end of its growth phase: where signal or noise has first grown
    GROWTH_FRACTION of the way to its stationary value (measures.growth_window), read on the early
    descent run."""
    if not early.finished:
        return None
    sig, noi = magnitude_series(early)
    stationary = stationary_values(exact)
    k = growth_window(sig, noi, stationary.signal, stationary.noise)
    return GrowthPoint(
        **_gains(sig, noi, k),
        step=int(early.trace.steps[k]),
        increment_ratio=float((sig[k] - sig[0]) / (noi[k] - noi[0])),
    )


def read(name, results: dict) -> NamedTuple | None:
    """The point a series' cell gives (None: not reached)."""
    cell = results[name]
    if isinstance(name, Growth):
        return growth_point(cell, results[Exact(name.nsnr2)])
    if isinstance(name, Resampled):
        return drawn_point(cell)
    if isinstance(name, (Fixed, FixedLong)):
        return train_point(cell, DENOISER)
    return stationary_point(cell) if stationary_values(cell).status == "stationary" else None


@dataclass(frozen=True)
class Robust:
    """The study's numbers: each series (label -> [Reading per n·SNR²]) and its cell kind, and the
    fixed-draw series run longer (not in the rule)."""

    size: Robustness
    series: dict
    kinds: dict  # label -> the cell kind of the series (Exact, Resampled, ..., FixedLong)
    longer: dict
    preset_name: str


def measure(preset_name: str, results: dict, seed: int = 0) -> Robust:
    size = presets.get(preset_name).robustness

    def readings(name_at) -> list[Reading]:
        out = []
        for v in size.nsnr2:
            point = read(name_at(v), results)
            out.append(Reading(v, point if point is not None else not_reached(results[name_at(v)])))
        return out

    series = {label: readings(name_at) for label, _, name_at in series_labels(size)}
    kinds = {label: kind for label, kind, _ in series_labels(size)}
    steps = f"{size.long_steps:,}".replace(",", " ")
    longer = {}
    for k in size.fixed:
        label = LONG.format(f"fixed K = {k}", steps)
        longer[label] = readings(_at(FixedLong, k))
        kinds[label] = FixedLong
    return Robust(size, series, kinds, longer, preset_name)


STUDY = Study("d2-robustness", cells, measure)
