"""Features trained at one diffusion time, read by a linear probe: the study claim M2 reads.

Cells Time(k, nsnr2): single-time runs at the k-th of the T times of the DDPM linear schedule
(sims.schedules, T = presets.BEST_TIMES, (alpha_k, beta_k) from its midpoints), for n·SNR² in the
preset's values, n = 20, d = 200, m = 4, sigma0 = 0.01, sigma_xi = 1, random labels (the paper's
uniform labels), a few seeds whose data and initial weights are the same at every time. Each cell is
a sims.studies.memorise Group without descent on the exact loss: per seed the exact loss's flow to
its stationary point (theory.ode) and descent on K fixed draws for each K of presets.BEST_K (to
twice the flow's settling time, or its own stationary point). The final filters of every run are
read by B5's linear probe (sims.studies.probe: a logistic regression on the squared filter
responses <w, x^(p)>^2 of both patches, scored on fresh samples of the training law).

`measure` gives, per n·SNR², time and series (the exact loss, each K), the probe's mean accuracy
over the seeds and the runs' final draw gap (whether the draws were memorised).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from sims.schedules import schedule_times
from sims.studies import presets
from sims.studies.cells import Study, cell_seed
from sims.studies.memorise import EXACT, MODEL, Group, left_flow, records

SCHEDULE = "ddpm-linear"


@dataclass(frozen=True)
class Time:
    k: int  # the index of the time in the schedule's T times
    nsnr2: float


def times(size) -> tuple:
    """((alpha, beta), ...) of the T times of the schedule."""
    return tuple((a, b) for a, b, _ in schedule_times(SCHEDULE, size.times))


def cells(preset_name: str, seed: int, model: str = MODEL) -> dict:
    size = presets.get(preset_name).memorise
    out = {}
    for k in size.time_index:
        alpha, beta = times(size)[k]
        for v in size.nsnr2:
            out[Time(k, v)] = (
                "memorise",
                Group(
                    model=model,
                    regime=f"time {k + 1} of {size.times}",
                    n=size.best_n,
                    d=size.d,
                    m=size.m,
                    snr=math.sqrt(v / size.best_n),
                    sigma_xi=1.0,
                    sigma0=size.sigma0,
                    seeds=tuple(cell_seed(seed, "besttime", v, i) for i in range(size.probe_seeds)),
                    draws=size.probe_draws,
                    max_steps=size.max_steps,
                    alpha=alpha,
                    beta=beta,
                    labels="random",
                    probe=True,
                    descend_exact=False,
                ),
            )
    return out


class Probed(NamedTuple):
    """One series at one (time, n·SNR²): the probe's mean accuracy over the seeds (fresh samples of
    the training law), its training accuracy, and the runs' mean final draw gap."""

    accuracy: float
    train_accuracy: float
    draw_gap: float
    seeds: int


@dataclass(frozen=True)
class BestTime:
    """The study's numbers: (alpha, beta) of each time run, and per (k, n·SNR², K) the Probed
    reading (K = EXACT: the exact loss's flow)."""

    size: object
    times: dict  # k -> (alpha, beta)
    probed: dict  # (k, nsnr2, K) -> Probed
    preset_name: str
    left_the_flow: dict  # descent runs, and those whose loss rose (memorise.left_flow)
    unsettled_flows: list  # the exact flows that reached their time horizon, not ||grad L|| < GTOL

    def series(self, nsnr2: float, K: int) -> list:
        """[(k, alpha / beta, Probed)] over the times run, in the schedule's order."""
        return [
            (k, a / b, self.probed[(k, nsnr2, K)])
            for k, (a, b) in sorted(self.times.items())
            if (k, nsnr2, K) in self.probed
        ]


def measure(preset_name: str, results: dict, seed: int = 0) -> BestTime:
    size = presets.get(preset_name).memorise
    probed, all_times = {}, times(size)
    for name, cell in results.items():
        groups: dict = {}
        for r in records(cell):
            if "probe" in r.info and r.kind in ("flow", "fixed"):
                groups.setdefault(r.K, []).append(r)
        for K, runs in groups.items():
            probed[(name.k, name.nsnr2, K)] = Probed(
                accuracy=float(np.mean([r.info["probe"]["in_distribution"] for r in runs])),
                train_accuracy=float(np.mean([r.info["probe"]["train_accuracy"] for r in runs])),
                draw_gap=float(np.mean([r.draw_gap for r in runs])) if K != EXACT else np.nan,
                seeds=len(runs),
            )
    runs = {name: records(cell) for name, cell in results.items()}
    left = left_flow(SimpleNamespace(runs=runs), list(runs))
    unsettled = [
        f"time {name.k + 1}, n·SNR² = {name.nsnr2:g}, seed {r.seed}: ||grad L|| = "
        f"{r.info['grad_norm']:.2g} at tau = {r.tau_end:.3g}"
        for name, rs in runs.items()
        for r in rs
        if r.kind == "flow" and r.info.get("status") != "stationary"
    ]
    times_run = {k: all_times[k] for k in size.time_index}
    return BestTime(size, times_run, probed, preset_name, left, unsettled)


STUDY = Study("besttime", cells, measure)
