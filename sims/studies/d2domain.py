"""D2's domain: the diffusion model's stationary ratio over the plane of n·SNR² and the noise group,
for several widths m, from the exact reduced flow, with gradient descent checking a sample of cells.

The stationary-ratio law (theory.law) says the ratio depends on the signal group G_s =
(alpha/beta)^2 n_j ||mu||^2 / n and the noise group G_n = (alpha/beta)^2 ||xi||^2 / n (and m), with
G_s / G_n = n·SNR²/2 for the paper's data: it is Θ(n·SNR²) (local log-log slope near 1) where G_s is
small and saturates where G_s is large. This study measures the local slope over the plane (n·SNR²,
G_n).

Data: noise patches exactly orthogonal, of one norm sigma_xi sqrt(d), and balanced labels (`fldm
--data-noise orthogonal --labels balanced`): the law's premises, so the map tests the law where it
claims to be exact; the default projected noise departs from them by the patches' largest cosine
(theory.stationary solves the scalar equation there as an approximation). alpha = beta = 1/sqrt 2,
so G_n = sigma_xi^2 d / n: each row of the map sets sigma_xi = sqrt(G_n n / d).

Cells (the preset's `DomainGrid`):
- Point(m, G_n, n·SNR²), kind "d2-domain" (`point_cell`): theory.predict's stationary point (the
  exact reduced flow from the run's own initial weights, refined by Newton steps; its branch and
  Morse index), the initial alignments' magnitudes, the setting's groups and the law's ratio there.
  One seed per row (m, G_n): along a row only ||mu|| changes, so neighbouring points differ by
  n·SNR² alone.
- Check(m, G_n, n·SNR²), kind "train": gradient descent from the same data and weights until
  ||grad L|| < CHECK_TOL (at most CHECK_STEPS steps), at the grid's check cells.

`measure` gives the points, the local slope between neighbouring n·SNR² of each row (measured, and
the law's over the same interval), the descent checks, and the law's boundary (the G_s where its
local slope falls to THETA_SLOPE[0]) for each width over the range of G_n. The rules that read them
are D2's (sims.studies.claims.d2: DOMAIN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sims.config import TrainConfig
from sims.studies import presets
from sims.studies.cells import Outcome, Study, cell_seed
from sims.studies.presets import DomainGrid

KIND = "d2-domain"
CHECK_TOL = 1e-9  # descent checks stop once ||grad L|| < this ...
CHECK_STEPS = 200_000  # ... or after this many steps


@dataclass(frozen=True)
class Point:
    m: int
    noise_group: float
    nsnr2: float


@dataclass(frozen=True)
class Check:
    m: int
    noise_group: float
    nsnr2: float


def config(grid: DomainGrid, m: int, noise_group: float, nsnr2: float, seed: int) -> TrainConfig:
    """A point of the map: sigma_xi from G_n = sigma_xi^2 d / n (alpha = beta), orthogonal noise
    patches of one norm, balanced labels; the row's seed."""
    return TrainConfig(
        model="diffusion",
        n=grid.n,
        d=grid.d,
        m=m,
        nsnr2=nsnr2,
        sigma_xi=math.sqrt(noise_group * grid.n / grid.d),
        sigma0=grid.sigma0,
        data_noise="orthogonal",
        labels="balanced",
        seed=cell_seed(seed, KIND, m, noise_group),
    )


def cells(preset_name: str, seed: int) -> dict:
    grid = presets.get(preset_name).d2domain
    if grid is None:
        return {}
    out = {
        Point(m, g, v): (KIND, config(grid, m, g, v, seed))
        for m in grid.widths
        for g in grid.noise_groups
        for v in grid.nsnr2
    }
    for m, g, v in grid.checks:
        cfg = config(grid, m, g, v, seed)
        out[Check(m, g, v)] = (
            "train",
            cfg.replace(steps=CHECK_STEPS, log_every=CHECK_STEPS, tol=CHECK_TOL),
        )
    return out


def magnitudes(W: np.ndarray, data) -> tuple[float, float]:
    """(mean_j max_r |<w_r, mu_j>|, mean_i max_r |<w_r, xi_i>|)."""
    return (
        float(np.abs(W @ data.mu.T).max(axis=0).mean()),
        float(np.abs(W @ data.x2.T).max(axis=0).mean()),
    )


def point_cell(cfg: TrainConfig) -> Outcome:
    """A map point: theory.predict's stationary record on the run's data and initial weights, the
    initial alignments' magnitudes and the setting's groups (the law's ratio there is computed by
    `measure`, from the groups)."""
    from sims.train import prepare
    from theory import law
    from theory.predict import predict

    run = prepare(cfg)
    prediction = predict(cfg, run.data, run.W0)
    s = prediction.stationary
    G_s, G_n = law.setting_groups(cfg, run.data)
    s0, z0 = magnitudes(run.W0, run.data)
    summary = {
        "found": bool(s.found),
        "reason": s.reason or None,
        "branch": s.branch,
        "groups": s.groups,
        "morse_index": s.morse_index,
        "ratio": s.ratio if s.found else None,
        "signal": s.summary.signal if s.found else None,
        "noise": s.summary.noise if s.found else None,
        "initial_signal": s0,
        "initial_noise": z0,
        "G_s": G_s,
        "G_n": G_n,
        "eta": prediction.eta,
        "steps": s.steps,
        "descent_leaves_at_step": s.descent_leaves_at_step,
    }
    return Outcome(summary, {})


class MapPoint(NamedTuple):
    """One point of the map: its groups, the flow's stationary state, the law's ratio."""

    m: int
    noise_group: float
    nsnr2: float
    G_s: float
    G_n: float
    found: bool
    branch: str | None
    morse_index: int | None
    ratio: float  # the flow's stationary ratio (the headline signed summary, as D2 reads it)
    law_ratio: float
    signal_gain: float  # stationary signal summary over its initial magnitude
    noise_gain: float
    reason: str | None

    @classmethod
    def of(cls, key: Point, s: dict) -> MapPoint:
        from sims import symmetric

        nan = float("nan")
        return cls(
            key.m,
            key.noise_group,
            key.nsnr2,
            s["G_s"],
            s["G_n"],
            s["found"],
            s["branch"],
            s["morse_index"],
            s["ratio"] if s["found"] else nan,
            symmetric.stationary(s["G_s"], s["G_n"], key.m).ratio,
            s["signal"] / s["initial_signal"] if s["found"] else nan,
            s["noise"] / s["initial_noise"] if s["found"] else nan,
            s["reason"],
        )


class SlopeCell(NamedTuple):
    """The local log-log slope of the stationary ratio against n·SNR² between two neighbouring
    points of a row, measured (the flow) and by the law over the same interval; G_s and n·SNR² are
    the geometric midpoints."""

    m: int
    noise_group: float
    nsnr2: float
    G_s: float
    slope: float
    law_slope: float
    ends: tuple  # the two MapPoints


class CheckRow(NamedTuple):
    """Gradient descent against the flow's stationary point at one cell."""

    m: int
    noise_group: float
    nsnr2: float
    flow_ratio: float
    descent_ratio: float
    relative_gap: float
    grad_norm: float
    steps_run: int
    message: str | None  # why descent has no ratio (diverged), else None


class DomainMap(NamedTuple):
    grid: DomainGrid
    points: dict  # (m, G_n, n·SNR²) -> MapPoint
    slopes: list  # SlopeCell, row by row
    checks: list  # CheckRow
    boundary: dict  # m -> [(G_n, the law's boundary G_s there)] (nan where it has none in range)
    preset_name: str


def _slope(a: float, b: float, x: float, y: float) -> float:
    ok = all(np.isfinite(v) and v > 0 for v in (a, b, x, y))
    return math.log(b / a) / math.log(y / x) if ok else float("nan")


def law_boundaries(grid: DomainGrid) -> dict:
    """m -> [(G_n, G_s*)] along the map's range of G_n (the grid's G_n, or boundary_per_decade a
    decade), G_s* searched in [1e-3, 1e3]."""
    from theory import law

    lo, hi = min(grid.noise_groups), max(grid.noise_groups)
    if grid.boundary_per_decade and hi > lo:
        values = np.geomspace(lo, hi, round(grid.boundary_per_decade * math.log10(hi / lo)) + 1)
    else:
        values = sorted(grid.noise_groups)
    return {
        m: [(float(g), law.boundary(float(g), m, lo=1e-3, hi=1e3)) for g in values]
        for m in grid.widths
    }


def measure(preset_name: str, results: dict, seed: int = 0) -> DomainMap:
    grid = presets.get(preset_name).d2domain
    points = {
        (k.m, k.noise_group, k.nsnr2): MapPoint.of(k, cell.summary)
        for k, cell in results.items()
        if isinstance(k, Point)
    }
    slopes = []
    for m in grid.widths:
        for g in grid.noise_groups:
            row = [points[(m, g, v)] for v in grid.nsnr2]
            for a, b in zip(row, row[1:]):
                slopes.append(
                    SlopeCell(
                        m,
                        g,
                        math.sqrt(a.nsnr2 * b.nsnr2),
                        math.sqrt(a.G_s * b.G_s),
                        _slope(a.ratio, b.ratio, a.nsnr2, b.nsnr2),
                        _slope(a.law_ratio, b.law_ratio, a.nsnr2, b.nsnr2),
                        (a, b),
                    )
                )
    checks = []
    for k, cell in results.items():
        if not isinstance(k, Check):
            continue
        flow = points[(k.m, k.noise_group, k.nsnr2)]
        if not cell.finished:
            checks.append(
                CheckRow(
                    k.m,
                    k.noise_group,
                    k.nsnr2,
                    flow.ratio,
                    float("nan"),
                    float("nan"),
                    float("nan"),
                    0,
                    cell.message,
                )
            )
            continue
        run = cell.run
        checks.append(
            CheckRow(
                k.m,
                k.noise_group,
                k.nsnr2,
                flow.ratio,
                run.ratio,
                abs(run.ratio / flow.ratio - 1),
                run.final_grad_norm,
                run.steps_run,
                None,
            )
        )
    return DomainMap(grid, points, slopes, checks, law_boundaries(grid), preset_name)


STUDY = Study("d2-domain", cells, measure)
