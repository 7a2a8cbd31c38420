"""The diffusion objectives and schedules: the study claims O1 and O2 read.

For each diffusion objective (eps, x0, v, velocity) and schedule (single time, DDPM linear, cosine;
T = 10) of the preset (`presets.Research`), the stationary point of every n·SNR² and seed (the
alignment ODE, `research.stationary_cell`), its signal/noise ratio and gains, and the early rate
ratio; the plain classifier on the same data; gradient descent checked against the stationary point
at one n·SNR² (`Research.check_nsnr2`). Cells:
- Stationary(objective, schedule, nsnr2, rep), Classifier(nsnr2, rep): the sweep;
- CheckStationary(objective), Check(objective): the check (stationary point, and descent to it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sims import io
from sims.studies import presets, research
from sims.studies.cells import Study
from sims.studies.presets import Research
from sims.studies.research import (
    CLASSIFIER,
    DENOISER,
    Mean,
    aggregate,
    stationary_point,
    stationary_values,
    train_point,
)


@dataclass(frozen=True)
class Stationary:
    objective: str
    schedule: str
    nsnr2: float
    rep: int


@dataclass(frozen=True)
class Classifier:
    nsnr2: float
    rep: int


@dataclass(frozen=True)
class CheckStationary:
    objective: str


@dataclass(frozen=True)
class Check:
    objective: str


def cells(preset_name: str, seed: int) -> dict:
    size = presets.get(preset_name).research
    out = {}
    for nsnr2 in size.nsnr2:
        for rep in range(size.replicates):
            s = research.seed(seed, nsnr2, rep)
            for objective in size.objectives:
                for schedule in size.schedules:
                    cfg = research.diffusion_config(size, objective, schedule, nsnr2, s)
                    out[Stationary(objective, schedule, nsnr2, rep)] = ("stationary", cfg)
            out[Classifier(nsnr2, rep)] = (
                "train",
                research.classifier_configs(size, nsnr2, s)[0],
            )
    for objective in size.objectives:
        check_seed = research.seed(seed, size.check_nsnr2, 0)
        cfg = research.diffusion_config(size, objective, "single", size.check_nsnr2, check_seed)
        out[CheckStationary(objective)] = ("stationary", cfg)
        out[Check(objective)] = ("train", research.check_config(cfg))
    return out


@dataclass(frozen=True)
class Objectives:
    """The study's numbers: per (objective, schedule) a Mean per n·SNR² of the stationary points,
    the plain classifier's Means, the descent check per objective, and the note of a small
    preset."""

    size: Research
    series: dict  # (objective, schedule) -> [Mean]
    classifier: list  # [Mean]
    check: dict  # objective -> the check's numbers
    note: str


def descent_check(size: Research, results: dict) -> dict:
    """Gradient descent against the stationary point, per objective: both ratios and their relative
    gap. The gap and descent's final ||grad L|| are at rounding level (both runs stop at a gradient
    tolerance): they are stated as the bound they prove (io.resolved), "< 1e-9" and "< 1e-8"."""
    out = {}
    for objective in size.objectives:
        gd = train_point(results[Check(objective)], DENOISER)
        stationary = results[CheckStationary(objective)]
        ode = stationary_point(stationary)
        if ode is None:
            out[objective] = {"stationary_not_reached": stationary_values(stationary).status}
            continue
        if gd is None:
            out[objective] = {
                "stationary_ratio": ode.ratio,
                "diverged": results[Check(objective)].message,
            }
            continue
        out[objective] = {
            "stationary_ratio": ode.ratio,
            "descent_ratio": gd.ratio,
            "relative_gap": io.resolved(abs(gd.ratio / ode.ratio - 1), io.GAP_RESOLUTION),
            "descent_steps": gd.steps_run,
            "descent_grad_norm": io.resolved(gd.final_grad_norm, research.CHECK_TOL),
        }
    return out


def measure(preset_name: str, results: dict, seed: int = 0) -> Objectives:
    size = presets.get(preset_name).research
    reps = range(size.replicates)
    series: dict[tuple, list[Mean]] = {
        (o, s): [
            aggregate(v, [stationary_point(results[Stationary(o, s, v, r)]) for r in reps])
            for v in size.nsnr2
        ]
        for o in size.objectives
        for s in size.schedules
    }
    classifier = [
        aggregate(v, [train_point(results[Classifier(v, r)], CLASSIFIER) for r in reps])
        for v in size.nsnr2
    ]
    check = descent_check(size, results)
    return Objectives(size, series, classifier, check, research.preset_note(preset_name))


STUDY = Study("objectives", cells, measure)
