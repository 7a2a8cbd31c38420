"""A strong common feature plus a weak or rare one: the study claims B4 and B5 read.

Cells Run(scenario, model, nsnr2, rep) of the probe kind (sims.studies.probe: the run, and a linear
probe of its features), for the scenarios and n SNR^2 of the preset (`presets.Beyond.features`: the
full preset runs both SCENARIOS over FEATURE_NSNR2; quick and tiny the weak scenario at n SNR^2 =
10, one seed), both models, exact feature shares (balanced labels). The second feature (k = 2) is
the weak or rare one; its gain is the mean over the two classes (sims.studies.beyond.gain on columns
2, 3).

`measure` gives, per scenario and n SNR^2, each model's gains (`GainCell`, B4) and its probe's
accuracies and the filters' response asymmetry (`ProbeCell`, B5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sims.models import PAPER_PAIR
from sims.studies import beyond, presets
from sims.studies.cells import Study, cell_seed
from sims.studies.presets import SCENARIOS
from sims.studies.probe import KIND, ProbeResult


@dataclass(frozen=True)
class Run:
    scenario: str
    model: str
    nsnr2: float
    rep: int


def cells(preset_name: str, seed: int) -> dict:
    scenarios, nsnr2_values, reps = presets.get(preset_name).beyond.features
    out = {}
    for scenario in scenarios:
        spec = SCENARIOS[scenario]
        # n_f ||mu_f||^2 per class, / (n/2)
        weights = [p * s**2 for s, p in zip(spec["strengths"], spec["freqs"])]
        for model in (m.name for m in PAPER_PAIR):
            for nsnr2 in nsnr2_values:
                for rep in range(reps):
                    cfg = beyond.config(
                        preset_name,
                        model,
                        nsnr2,
                        cell_seed(seed, "features", scenario, model, nsnr2, rep),
                        strong=max(weights),
                        weak=min(weights),
                        labels="balanced",
                        features=len(weights),
                        feature_strengths=spec["strengths"],
                        feature_freqs=spec["freqs"],
                    )
                    out[Run(scenario, model, nsnr2, rep)] = (KIND, cfg)
    return out


@dataclass(frozen=True)
class GainCell:
    """One model at one (scenario, n SNR^2): the second and the strong feature's gains, the noise
    gain."""

    gain: float
    strong_gain: float
    noise_gain: float
    runs: str


@dataclass(frozen=True)
class ProbeCell:
    """One model at one (scenario, n SNR^2): its probe's mean accuracies (ood: only the weak or rare
    feature), whether every probe fit converged, the mean test error of a model that reports one,
    and how differently its filters answer the two classes' strong and second feature."""

    ood: float
    in_distribution: float
    train_accuracy: float
    probe_converged: bool
    test_error: float | None
    response_asymmetry_strong: float
    response_asymmetry_second: float


@dataclass(frozen=True)
class FeatureRow:
    scenario: str
    nsnr2: float
    gains: dict  # model name -> GainCell
    probes: dict  # model name -> ProbeCell

    def gain_dict(self) -> dict:
        """B4's row as report.json holds it: n·SNR² and each model's gains, prefixed with its
        name."""
        out = {"nsnr2": self.nsnr2}
        for name, cell in self.gains.items():
            out.update({f"{name}_{k}": v for k, v in vars(cell).items()})
        return out

    def probe_dict(self) -> dict:
        """B5's row as report.json holds it."""
        out = {"scenario": self.scenario, "nsnr2": self.nsnr2}
        for name, cell in self.probes.items():
            out.update({f"{name}_{k}": v for k, v in vars(cell).items() if v is not None})
        return out


def _mean_probe(runs, field: str) -> float:
    values = [getattr(ProbeResult.of(r), field) for r in runs if r.finished]
    return float(np.mean(values)) if values else float("nan")


def measure(preset_name: str, results: dict, seed: int = 0) -> list[FeatureRow]:
    scenarios, nsnr2_values, reps = presets.get(preset_name).beyond.features
    rows = []
    for scenario in scenarios:
        for nsnr2 in nsnr2_values:
            gains, probes = {}, {}
            for model in PAPER_PAIR:
                runs = [results[Run(scenario, model.name, nsnr2, rep)] for rep in range(reps)]
                gains[model.name] = GainCell(
                    gain=beyond.gain(model, runs, [2, 3]),
                    strong_gain=beyond.gain(model, runs, [0, 1]),
                    noise_gain=beyond.noise_gain(model, runs),
                    runs=beyond.finished(runs),
                )
                probes[model.name] = ProbeCell(
                    ood=_mean_probe(runs, "out_of_distribution"),
                    in_distribution=_mean_probe(runs, "in_distribution"),
                    train_accuracy=_mean_probe(runs, "train_accuracy"),
                    probe_converged=all(ProbeResult.of(r).converged for r in runs if r.finished),
                    test_error=beyond.mean_test_error(runs),
                    response_asymmetry_strong=beyond.response_asymmetry(runs, 0),
                    response_asymmetry_second=beyond.response_asymmetry(runs, 1),
                )
            rows.append(FeatureRow(scenario, nsnr2, gains, probes))
    return rows


STUDY = Study("features", cells, measure)
