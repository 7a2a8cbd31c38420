"""What the studies beyond Definition 2.1 share (correlated signals, imbalance, weak and rare
features, the probe; claims B1-B5): the configuration of a run and the measures their rules read.

Measures (each rule states what it reads in words):
- gain of an alignment: its final value over its initial magnitude, both averaged over seeds: the
  model's `feature_alignment` (final) over the same with |.| (initial). For a feature k (B4) the
  value is the mean over the two classes (columns 2k, 2k + 1); for a class (B3) that class's own
  signal (one column).
- noise gain: the final headline noise alignment over its initial magnitude.
"""

from __future__ import annotations

import numpy as np

from sims.config import TrainConfig
from sims.models import Model
from sims.studies import presets
from sims.studies.cells import Cell, Trace
from sims.studies.measures import mean
from sims.studies.presets import Preset


def steps_for(preset: Preset, strong: float, weak: float) -> int:
    """Steps that reach the stationary phase (as presets.steps_for) when the largest signal weight
    n_f ||mu_f||^2 is that of a balanced one-feature class at n SNR^2 = strong (it sets the auto
    step size) and the smallest that at n SNR^2 = weak (it sets the slowest growth)."""
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
    """A run of the preset at n SNR^2 = nsnr2 (of ||mu||) with the data options given; strong and
    weak scale nsnr2 to the largest and smallest signal weight (see steps_for). With no options and
    strong = weak = 1 it is the run sims.studies.synthetic.config makes (at another seed)."""
    p = presets.get(preset_name)
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


def initial_noise(model: Model, trace: Trace) -> float:
    """The initial headline noise alignment's magnitude: the headline itself where the model's
    summary reads |.|; else mean_i max_r |<w_r, xi_i>| over the filters that answer class +1 (all of
    a denoiser's)."""
    if not model.signed:
        return float(trace.noise_max[0])
    noise = model.class_alignments(trace.signal[:1], trace.noise[:1])[1][0]
    return float(np.mean(np.abs(noise).max(axis=0)))


def gain(model: Model, runs: list[Cell], columns: list[int]) -> float:
    """Final over initial alignment (module docstring) with the signal columns given, averaged over
    the columns and over the runs that finished: mean final / mean initial magnitude."""
    traces = [r.trace for r in runs if r.finished]
    if not traces:
        return float("nan")
    final = np.mean(
        [np.mean([model.feature_alignment(t.signal[-1], c) for c in columns]) for t in traces]
    )
    first = np.mean(
        [np.mean([model.feature_alignment(t.signal[0], c, True) for c in columns]) for t in traces]
    )
    return float(final / first)


def noise_gain(model: Model, runs: list[Cell]) -> float:
    """Final headline noise alignment over its initial magnitude, averaged over the finished
    runs."""
    traces = [r.trace for r in runs if r.finished]
    if not traces:
        return float("nan")
    final = np.mean([t.noise_max[-1] for t in traces])
    first = np.mean([initial_noise(model, t) for t in traces])
    return float(final / first)


def mean_ratio(runs: list[Cell]) -> float:
    """Mean of the final ratio over the finished runs (nan if none)."""
    return mean([r.run.ratio for r in runs if r.finished])


def mean_test_error(runs: list[Cell]) -> float | None:
    """Mean test error over the finished runs of a model that reports one; None for one that does
    not."""
    errors = [r.run.test_error for r in runs if r.finished and r.run.test_error is not None]
    return mean(errors) if errors else None


def finished(runs: list[Cell]) -> str:
    """'k/n' runs that finished (did not diverge)."""
    return f"{sum(r.finished for r in runs)}/{len(runs)}"


def response_asymmetry(runs: list[Cell], k: int) -> float:
    """How differently the trained filters respond to the two classes' feature k, as a linear probe
    on squared responses sees it: max over filters w of |<w, mu_{+1,k}>^2 - <w, mu_{-1,k}>^2| over
    the largest <w, mu_{j,k}>^2 (0: every filter responds equally to both classes), mean over the
    finished runs."""
    values = []
    for r in runs:
        if r.finished:
            signal = r.trace.signal[-1]
            sq = signal.reshape(-1, signal.shape[-1])[:, 2 * k : 2 * k + 2] ** 2
            values.append(np.abs(sq[:, 0] - sq[:, 1]).max() / max(sq.max(), 1e-300))
    return float(np.mean(values)) if values else float("nan")
