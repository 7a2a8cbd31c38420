"""Further study: imbalanced classes, a fraction P of +1 labels (claim B3 of sims.studies.beyond_claims).

Cells ("imbalance", model, P, nsnr2, rep) for P in BALANCE and n SNR^2 in the paper's two settings (full
preset; quick and tiny: P = 0.95 at the high setting, one seed), both models, with exactly round(P n)
positives (balanced labels); seeds are shared across P. Class -1 is the minority. Each class's signal
gain is that of its own signal vector (sims.studies.beyond.gain).
"""

from __future__ import annotations

from pathlib import Path

from sims.studies import beyond, beyond_claims
from sims.studies.beyond_claims import BALANCE
from sims.studies.claims import LEARNED_GAIN
from sims.studies.figures import figure
from sims.studies.plan import E1_NSNR2, MODELS, PRESETS
from sims.studies.sweep import cell_seed, completed

FIGURE = "fig_imbalance.png"


class Imbalance:
    name = "imbalance"

    def grid(self, preset_name: str) -> tuple[tuple, tuple, int]:
        """(P values, n SNR^2 values, seeds) of the preset."""
        if beyond.small(preset_name):
            return (0.95,), (E1_NSNR2[1],), 1
        return BALANCE, E1_NSNR2, PRESETS[preset_name].replicates

    def cells(self, preset_name: str, seed: int) -> dict:
        balances, nsnr2_values, reps = self.grid(preset_name)
        return {
            ("imbalance", model, P, nsnr2, rep): (
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
            for model in MODELS
            for P in balances
            for nsnr2 in nsnr2_values
            for rep in range(reps)
        }

    def rows(self, preset_name: str, results: dict) -> list[dict]:
        balances, nsnr2_values, reps = self.grid(preset_name)
        rows = []
        for P in balances:
            for nsnr2 in nsnr2_values:
                row = {"P": P, "nsnr2": nsnr2}
                for model in MODELS:
                    runs = [results[("imbalance", model, P, nsnr2, rep)] for rep in range(reps)]
                    row[f"{model}_runs"] = beyond.finished(runs)
                    row[f"{model}_majority_gain"] = beyond.gain(model, runs, [0])
                    row[f"{model}_minority_gain"] = beyond.gain(model, runs, [1])
                    row[f"{model}_noise_gain"] = beyond.noise_gain(model, runs)
                    row[f"{model}_ratio"] = beyond.mean_summary(runs, "ratio")
                    if model == "classification":
                        errors = [r["summary"]["test_error_by_class"] for r in runs if completed(r)]
                        row["classification_test_error_majority"] = _mean([e[0] for e in errors])
                        row["classification_test_error_minority"] = _mean([e[1] for e in errors])
                rows.append(row)
        return rows

    def report(self, preset_name: str, results: dict, out: Path) -> tuple[list, list]:
        rows = self.rows(preset_name, results)
        return [beyond_claims.b3(rows)], [(FIGURE, self.figure(rows, out / FIGURE))]

    def figure(self, rows: list[dict], path: Path) -> str:
        """Each class's signal gain against P, per model: minority filled, majority open."""
        colors = dict(zip(sorted({r["nsnr2"] for r in rows}), ("tab:blue", "tab:red")))
        with figure(path, 1, 2, figsize=(11, 4.5)) as (fig, axes):
            for ax, model in zip(axes, MODELS):
                for nsnr2, color in colors.items():
                    sel = sorted((r for r in rows if r["nsnr2"] == nsnr2), key=lambda r: r["P"])
                    P = [r["P"] for r in sel]
                    ax.plot(
                        P,
                        [r[f"{model}_minority_gain"] for r in sel],
                        "o-",
                        color=color,
                        label=f"minority (y = -1), n·SNR² = {nsnr2:g}",
                    )
                    ax.plot(
                        P,
                        [r[f"{model}_majority_gain"] for r in sel],
                        "s--",
                        mfc="none",
                        color=color,
                        label=f"majority (y = +1), n·SNR² = {nsnr2:g}",
                    )
                ax.axhline(
                    LEARNED_GAIN,
                    color="k",
                    lw=0.8,
                    ls=":",
                    label=f"learned: gain > {LEARNED_GAIN:g}",
                )
                ax.set_yscale("log")
                ax.set_xlabel("P = fraction of +1 labels")
                ax.set_ylabel("signal alignment gain over initialisation")
                ax.set_title(f"{model}: is each class's signal learned?", fontsize=9)
                ax.legend(fontsize=6)
        return "; ".join(
            f"P={r['P']:g}, n·SNR²={r['nsnr2']:g}: minority gain diffusion "
            f"{r['diffusion_minority_gain']:.3g}, classification {r['classification_minority_gain']:.3g}"
            for r in rows
        )


def _mean(values) -> float:
    values = [v for v in values if v is not None and v == v]
    return sum(values) / len(values) if values else float("nan")


SECTION = Imbalance()
