"""Shared pieces of the studies beyond Definition 2.1 (issue 14): run settings and the measures their rules
read (sims.studies.beyond_claims states the rules and defines the measures in words).

The sections (`correlated`, `imbalance`, `features`, `probe`) run on the presets of sims.studies.plan: the
full preset runs their grids, quick and tiny one small cell of each (`small`).
"""

from __future__ import annotations

import numpy as np

from sims.config import TrainConfig
from sims.studies.plan import PRESETS, Preset
from sims.studies.sweep import completed


def small(preset_name: str) -> bool:
    """Whether the preset keeps one small cell of each study (quick, tiny) instead of its grid (full)."""
    return preset_name != "full"


def steps_for(preset: Preset, strong: float, weak: float) -> int:
    """Steps that reach the stationary phase (as sims.studies.plan.steps_for) when the largest signal weight
    n_f ||mu_f||^2 is that of a balanced one-feature class at n SNR^2 = strong (it sets the auto step size)
    and the smallest that at n SNR^2 = weak (it sets the slowest growth)."""
    return int(preset.base_steps * min(max(1.0, strong / 2.0, 0.1 / weak), preset.max_factor))


def config(
    preset_name: str,
    model: str,
    nsnr2: float,
    seed: int,
    *,
    strong: float = 1.0,
    weak: float = 1.0,
    **options,
) -> TrainConfig:
    """A run of the preset at n SNR^2 = nsnr2 (of ||mu||) with the data options given; strong and weak scale
    nsnr2 to the largest and smallest signal weight (see steps_for). With no options and strong = weak = 1
    it is the run sims.studies.plan.config makes (at another seed)."""
    p = PRESETS[preset_name]
    steps = steps_for(p, nsnr2 * strong, nsnr2 * weak)
    return TrainConfig(
        model=model,
        n=p.n,
        d=p.d,
        m=p.m,
        nsnr2=nsnr2,
        sigma0=p.sigma0,
        steps=steps,
        log_every=max(1, steps // p.points_logged),
        seed=seed,
        **options,
    )


# ------------------------------------------------------------------------------------------- measures
def alignment(model: str, signal: np.ndarray, column: int, magnitude: bool = False) -> float:
    """The summary alignment with one signal vector (column of the logged signal array at one step):
    diffusion max_r <w_r, mu> (max_r |<w_r, mu>| if magnitude); classification max_r |<w_{j,r}, mu>| over
    the filters of the vector's own class j = column % 2."""
    if model == "classification":
        return float(np.abs(signal[column % 2, :, column]).max())
    values = signal[:, column]
    return float((np.abs(values) if magnitude else values).max())


def noise_magnitude(model: str, noise: np.ndarray, noise_max0: float) -> float:
    """The initial noise alignment's magnitude: diffusion mean_i max_r |<w_r, xi_i>|; classification its
    headline value (already |.| over own-class filters)."""
    return noise_max0 if model == "classification" else float(np.mean(np.abs(noise).max(axis=0)))


def gain(model: str, runs: list[dict], columns: list[int]) -> float:
    """Final over initial alignment (beyond_claims docstring) with the signal columns given, averaged over
    the columns and over the runs that finished: mean final / mean initial magnitude."""
    runs = [r for r in runs if completed(r)]
    if not runs:
        return float("nan")
    final = np.mean(
        [np.mean([alignment(model, r["arrays"]["signal"][-1], c) for c in columns]) for r in runs]
    )
    first = np.mean(
        [
            np.mean([alignment(model, r["arrays"]["signal"][0], c, True) for c in columns])
            for r in runs
        ]
    )
    return float(final / first)


def noise_gain(model: str, runs: list[dict]) -> float:
    """Final headline noise alignment over its initial magnitude, averaged over the finished runs."""
    runs = [r for r in runs if completed(r)]
    if not runs:
        return float("nan")
    final = np.mean([r["arrays"]["noise_max"][-1] for r in runs])
    first = np.mean(
        [noise_magnitude(model, r["arrays"]["noise"][0], r["arrays"]["noise_max"][0]) for r in runs]
    )
    return float(final / first)


def mean_summary(runs: list[dict], key: str) -> float:
    """Mean of a summary value over the finished runs (nan if none)."""
    values = [r["summary"][key] for r in runs if completed(r) and r["summary"].get(key) is not None]
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def finished(runs: list[dict]) -> str:
    """'k/n' runs that finished (did not diverge)."""
    return f"{sum(completed(r) for r in runs)}/{len(runs)}"


def response_asymmetry(runs: list[dict], k: int) -> float:
    """How differently the trained filters respond to the two classes' feature k, as a linear probe on
    squared responses sees it: max over filters w of |<w, mu_{+1,k}>^2 - <w, mu_{-1,k}>^2| over the largest
    <w, mu_{j,k}>^2 (0: every filter responds equally to both classes), mean over the finished runs."""
    values = []
    for r in runs:
        if completed(r):
            signal = r["arrays"]["signal"][-1]
            sq = signal.reshape(-1, signal.shape[-1])[:, 2 * k : 2 * k + 2] ** 2
            values.append(np.abs(sq[:, 0] - sq[:, 1]).max() / max(sq.max(), 1e-300))
    return float(np.mean(values)) if values else float("nan")
