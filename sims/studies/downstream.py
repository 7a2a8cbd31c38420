"""Further study: a linear probe of each model's learned features (claim B5 of sims.studies.beyond_claims).

It reads the runs of the features study (sims.studies.features: same cells, computed once and cached), whose
"probe" cells fit the probe of sims.studies.probe on the training set and score it on fresh samples of the
training law (in distribution) and on fresh samples that carry only the weak or rare feature (out of
distribution). As context it reports how differently the filters respond to the two classes
(sims.studies.beyond.response_asymmetry): a probe on squared responses cannot tell classes apart that
every filter answers alike.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.studies import beyond, beyond_claims, features
from sims.studies.figures import figure
from sims.studies.plan import MODELS
from sims.studies.sweep import completed

FIGURE = "fig_probe.png"
TESTS = {"in_distribution": "training law", "out_of_distribution": "only the weak/rare feature"}


def mean_probe(runs: list[dict], key: str) -> float:
    values = [r["summary"]["probe"][key] for r in runs if completed(r)]
    return float(np.mean(values)) if values else float("nan")


class Downstream:
    name = "probe"

    def cells(self, preset_name: str, seed: int) -> dict:
        return features.cells(preset_name, seed)

    def rows(self, preset_name: str, results: dict) -> list[dict]:
        scenarios, nsnr2_values, _ = features.grid(preset_name)
        rows = []
        for scenario in scenarios:
            for nsnr2 in nsnr2_values:
                row = {"scenario": scenario, "nsnr2": nsnr2}
                for model in MODELS:
                    runs = features.runs(preset_name, results, scenario, model, nsnr2)
                    row[f"{model}_ood"] = mean_probe(runs, "out_of_distribution")
                    row[f"{model}_in_distribution"] = mean_probe(runs, "in_distribution")
                    row[f"{model}_train_accuracy"] = mean_probe(runs, "train_accuracy")
                    row[f"{model}_probe_converged"] = all(
                        r["summary"]["probe"]["converged"] for r in runs if completed(r)
                    )
                    if model == "classification":  # the classifier's own test error, for comparison
                        row["classification_test_error"] = beyond.mean_summary(runs, "test_error")
                    row[f"{model}_response_asymmetry_strong"] = beyond.response_asymmetry(runs, 0)
                    row[f"{model}_response_asymmetry_second"] = beyond.response_asymmetry(runs, 1)
                rows.append(row)
        return rows

    def report(self, preset_name: str, results: dict, out: Path) -> tuple[list, list]:
        rows = self.rows(preset_name, results)
        return [beyond_claims.b5(rows)], [(FIGURE, self.figure(rows, out / FIGURE))]

    def figure(self, rows: list[dict], path: Path) -> str:
        """Probe accuracy against n SNR^2 per scenario: both models, both test sets."""
        scenarios = sorted({r["scenario"] for r in rows}, key=list(beyond_claims.SCENARIOS).index)
        colors = {"diffusion": "tab:purple", "classification": "tab:orange"}
        style = {"in_distribution": "s--", "out_of_distribution": "o-"}
        with figure(
            path, 1, len(scenarios), figsize=(5.5 * len(scenarios), 4.5), squeeze=False
        ) as (fig, axes):
            for ax, scenario in zip(axes[0], scenarios):
                sel = [r for r in rows if r["scenario"] == scenario]
                x = [r["nsnr2"] for r in sel]
                for model in MODELS:
                    for test, label in TESTS.items():
                        key = "ood" if test == "out_of_distribution" else test
                        ax.plot(
                            x,
                            [r[f"{model}_{key}"] for r in sel],
                            style[test],
                            color=colors[model],
                            mfc="none" if test == "in_distribution" else None,
                            label=f"{model}: {label}",
                        )
                ax.axhline(0.5, color="k", lw=0.5)
                ax.set_xscale("log")
                ax.set_ylim(0.4, 1.02)
                ax.set_xlabel("n·SNR² (of ||μ||, the strong feature)")
                ax.set_ylabel("linear probe test accuracy")
                ax.set_title(
                    f"{scenario} feature: probe on ⟨w, x⁽ᵖ⁾⟩² (L2 {beyond_claims.PROBE_L2:g})",
                    fontsize=9,
                )
                ax.legend(fontsize=6)
        return "; ".join(
            f"{r['scenario']} n·SNR²={r['nsnr2']:g}: weak/rare-only accuracy diffusion "
            f"{r['diffusion_ood']:.3f}, classification {r['classification_ood']:.3f}"
            for r in rows
        )


SECTION = Downstream()
