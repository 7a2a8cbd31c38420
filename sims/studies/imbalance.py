"""Imbalanced classes, a fraction P of +1 labels: the study claim B3 reads.

Cells Run(model, P, nsnr2, rep) for P and n SNR^2 of the preset (`presets.Beyond.imbalance`: the
full preset's grid is BALANCE at the paper's two settings; quick and tiny keep P = 0.95 at the
higher one, one seed), both models, with exactly round(P n) positives (balanced labels); seeds are
shared across P. Class -1 is the minority. Each class's signal gain is that of its own signal vector
(sims.studies.beyond.gain).
"""

from __future__ import annotations

from dataclasses import dataclass

from sims.models import PAPER_PAIR
from sims.studies import beyond, presets
from sims.studies.cells import Study, cell_seed
from sims.studies.measures import mean


@dataclass(frozen=True)
class Run:
    model: str
    P: float
    nsnr2: float
    rep: int


def cells(preset_name: str, seed: int) -> dict:
    balances, nsnr2_values, reps = presets.get(preset_name).beyond.imbalance
    return {
        Run(model, P, nsnr2, rep): (
            "train",
            beyond.config(
                preset_name,
                model,
                nsnr2,
                cell_seed(seed, "imbalance", model, nsnr2, rep),
                strong=2 * P,
                weak=2 * (1 - P),
                balance=P,
                labels="balanced",
            ),
        )
        for model in (m.name for m in PAPER_PAIR)
        for P in balances
        for nsnr2 in nsnr2_values
        for rep in range(reps)
    }


@dataclass(frozen=True)
class ModelCell:
    """One model at one (P, n SNR^2): runs finished, each class's signal gain, the noise gain, the
    final ratio, and the test error on each class of a model that reports one (else None)."""

    runs: str
    majority_gain: float
    minority_gain: float
    noise_gain: float
    ratio: float
    test_error_majority: float | None
    test_error_minority: float | None


@dataclass(frozen=True)
class ImbalanceRow:
    P: float
    nsnr2: float
    models: dict  # model name -> ModelCell

    def to_dict(self) -> dict:
        """As report.json holds it: one flat row, each model's numbers prefixed with its name."""
        out = {"P": self.P, "nsnr2": self.nsnr2}
        for name, cell in self.models.items():
            for k, v in vars(cell).items():
                if v is not None:
                    out[f"{name}_{k}"] = v
        return out


def measure(preset_name: str, results: dict, seed: int = 0) -> list[ImbalanceRow]:
    balances, nsnr2_values, reps = presets.get(preset_name).beyond.imbalance
    rows = []
    for P in balances:
        for nsnr2 in nsnr2_values:
            by_model = {}
            for model in PAPER_PAIR:
                runs = [results[Run(model.name, P, nsnr2, rep)] for rep in range(reps)]
                errors = [
                    r.run.test_error_by_class
                    for r in runs
                    if r.finished and r.run.test_error_by_class is not None
                ]
                by_model[model.name] = ModelCell(
                    runs=beyond.finished(runs),
                    majority_gain=beyond.gain(model, runs, [0]),
                    minority_gain=beyond.gain(model, runs, [1]),
                    noise_gain=beyond.noise_gain(model, runs),
                    ratio=beyond.mean_ratio(runs),
                    test_error_majority=mean([e[0] for e in errors]) if errors else None,
                    test_error_minority=mean([e[1] for e in errors]) if errors else None,
                )
            rows.append(ImbalanceRow(P, nsnr2, by_model))
    return rows


STUDY = Study("imbalance", cells, measure)
