"""Further study: correlated signals, cos(mu_+1, mu_-1) = C (claims B1, B2 of sims.studies.beyond_claims).

Cells, for C in SIGNAL_COS and n SNR^2 in the paper's two settings (full preset; quick and tiny: C = 0.5 at
the low setting, one seed), both models:
- ("correlated", model, C, nsnr2, rep): the run (seeds shared across C: the same noise draws and initial
  weights at every C, so that C alone changes);
- ("correlated-early", model, C, nsnr2): the first eighth of seed 0's run, logged every step (growth phase);
- ("correlated-predict", model, C, nsnr2): theory.predict for seed 0 (exact for any data: the initial rates
  from the gradient and the reduced ODE's stationary point).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.studies import beyond, beyond_claims
from sims.studies.beyond_claims import SIGNAL_COS
from sims.studies.figures import figure
from sims.studies.measures import GROWTH_FRACTION, growth_ratio
from sims.studies.plan import E1_NSNR2, MODELS, PRESETS
from sims.studies.sweep import cell_seed, completed

FIGURE = "fig_correlated.png"


class Correlated:
    name = "correlated"

    def grid(self, preset_name: str) -> tuple[tuple, tuple, int]:
        """(C values, n SNR^2 values, seeds) of the preset."""
        if beyond.small(preset_name):
            return (0.5,), (E1_NSNR2[0],), 1
        return SIGNAL_COS, E1_NSNR2, PRESETS[preset_name].replicates

    def cells(self, preset_name: str, seed: int) -> dict:
        cos_values, nsnr2_values, reps = self.grid(preset_name)
        cells = {}
        for model in MODELS:
            for C in cos_values:
                for nsnr2 in nsnr2_values:
                    for rep in range(reps):
                        cfg = beyond.config(
                            preset_name,
                            model,
                            nsnr2,
                            cell_seed(seed, "correlated", model, nsnr2, rep),
                            signal_cos=C,
                        )
                        cells[("correlated", model, C, nsnr2, rep)] = ("train", cfg)
                        if rep == 0:
                            early = cfg.replace(steps=max(20, cfg.steps // 8), log_every=1)
                            cells[("correlated-early", model, C, nsnr2)] = ("train", early)
                            cells[("correlated-predict", model, C, nsnr2)] = ("predict", cfg)
        return cells

    def rows(self, preset_name: str, results: dict) -> list[dict]:
        """One row per (C, n SNR^2): each model's measured and predicted ratios and gains."""
        cos_values, nsnr2_values, reps = self.grid(preset_name)
        rows = []
        for C in cos_values:
            for nsnr2 in nsnr2_values:
                row = {"C": C, "nsnr2": nsnr2}
                for model in MODELS:
                    runs = [results[("correlated", model, C, nsnr2, rep)] for rep in range(reps)]
                    early = results[("correlated-early", model, C, nsnr2)]
                    pred = results[("correlated-predict", model, C, nsnr2)]["summary"]
                    row[f"{model}_runs"] = beyond.finished(runs)
                    row[f"{model}_ratio"] = beyond.mean_summary(runs, "ratio")
                    row[f"{model}_signal_gain"] = beyond.gain(model, runs, [0, 1])
                    row[f"{model}_noise_gain"] = beyond.noise_gain(model, runs)
                    row[f"{model}_growth_ratio"] = (
                        growth_ratio(early["arrays"], runs[0]["arrays"])
                        if completed(early) and completed(runs[0])
                        else float("nan")
                    )
                    if model == "diffusion":
                        row["diffusion_seed0_ratio"] = (
                            runs[0]["summary"]["ratio"] if completed(runs[0]) else float("nan")
                        )
                        row["diffusion_seed0_grad_norm"] = (
                            runs[0]["summary"]["final_grad_norm"]
                            if completed(runs[0])
                            else float("nan")
                        )
                        row["diffusion_predicted_growth_ratio"] = pred.get("initial_rate_ratio")
                        row["diffusion_predicted_stationary_ratio"] = pred.get(
                            "stationary", {}
                        ).get("ratio")
                    else:
                        row["classification_predicted_rate_ratio"] = pred.get("linear_rate_ratio")
                        row["classification_test_error"] = beyond.mean_summary(runs, "test_error")
                rows.append(row)
        return rows

    def report(self, preset_name: str, results: dict, out: Path) -> tuple[list, list]:
        rows = self.rows(preset_name, results)
        b1 = beyond_claims.b1(
            [
                {
                    k: r[k]
                    for k in (
                        "C",
                        "nsnr2",
                        "diffusion_ratio",
                        "diffusion_signal_gain",
                        "diffusion_noise_gain",
                        "classification_ratio",
                    )
                }
                for r in rows
            ]
        )
        b2 = beyond_claims.b2(
            [
                {
                    "C": r["C"],
                    "nsnr2": r["nsnr2"],
                    "growth_ratio": r["diffusion_growth_ratio"],
                    "predicted_growth_ratio": r["diffusion_predicted_growth_ratio"],
                    "stationary_ratio": r["diffusion_seed0_ratio"],
                    "predicted_stationary_ratio": r["diffusion_predicted_stationary_ratio"],
                    "seed0_final_grad_norm": r["diffusion_seed0_grad_norm"],
                }
                for r in rows
            ]
        )
        b1["measured"]["rows"] = rows
        return [b1, b2], [(FIGURE, self.figure(rows, out / FIGURE))]

    def figure(self, rows: list[dict], path: Path) -> str:
        """Growth-phase and final signal/noise ratios against C: simulation as markers, theory as lines."""
        colors = dict(zip(sorted({r["nsnr2"] for r in rows}), ("tab:blue", "tab:red", "tab:green")))
        marker = {"diffusion": "o", "classification": "^"}
        with figure(path, 1, 2, figsize=(11, 4.5)) as (fig, axes):
            for ax, (kind, theory, title) in zip(
                axes,
                (
                    (
                        "growth_ratio",
                        "predicted_growth_ratio",
                        f"growth phase ({GROWTH_FRACTION:.0%} of the way to the end)",
                    ),
                    (
                        "ratio",
                        "predicted_stationary_ratio",
                        "end of training (diffusion: stationary)",
                    ),
                ),
            ):
                for nsnr2, color in colors.items():
                    sel = sorted((r for r in rows if r["nsnr2"] == nsnr2), key=lambda r: r["C"])
                    C = [r["C"] for r in sel]
                    for model in MODELS:
                        ax.plot(
                            C,
                            [r[f"{model}_{kind}"] for r in sel],
                            marker[model],
                            color=color,
                            mfc="none",
                            ms=8,
                            label=f"{model}, n·SNR² = {nsnr2:g}: simulation",
                        )
                    pred = [
                        np.nan if r[f"diffusion_{theory}"] is None else r[f"diffusion_{theory}"]
                        for r in sel
                    ]
                    ax.plot(
                        C, pred, "x-", color=color, label=f"diffusion, n·SNR² = {nsnr2:g}: theory"
                    )
                ax.axhline(1.0, color="k", lw=0.5)
                ax.set_yscale("log")
                ax.set_xlabel("C = cos(μ₊₁, μ₋₁)")
                ax.set_ylabel("signal learning / noise learning")
                ax.set_title(f"Correlated signals: {title}", fontsize=9)
                ax.legend(fontsize=6)
        return "; ".join(
            f"C={r['C']:g}, n·SNR²={r['nsnr2']:g}: diffusion ratio {r['diffusion_ratio']:.3g} "
            f"(growth {r['diffusion_growth_ratio']:.3g}), classification {r['classification_ratio']:.3g}"
            for r in rows
        )


SECTION = Correlated()
