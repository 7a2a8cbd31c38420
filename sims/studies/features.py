"""Further study: a strong common feature plus a weak or rare one (claim B4 of sims.studies.beyond_claims).

Cells ("features", scenario, model, nsnr2, rep) of the probe kind (sims.studies.probe: the run, and a
linear probe of its features, which the downstream study reads): for both SCENARIOS, n SNR^2 in FEATURE_NSNR2
(full preset; quick and tiny: the weak scenario at n SNR^2 = 10, one seed), both models, exact feature
shares (balanced labels). The second feature (k = 2) is the weak or rare one; its gain is the mean over
the two classes (sims.studies.beyond.gain on columns 2, 3).
"""

from __future__ import annotations

from pathlib import Path

from sims.studies import beyond, beyond_claims, probe
from sims.studies.beyond_claims import FEATURE_NSNR2, SCENARIOS
from sims.studies.claims import LEARNED_GAIN
from sims.studies.figures import figure
from sims.studies.plan import MODELS, PRESETS
from sims.studies.sweep import cell_seed

FIGURE = "fig_features.png"
SMALL = ("weak", 10.0)  # the one cell of the quick and tiny presets


def grid(preset_name: str) -> tuple[tuple, tuple, int]:
    """(scenarios, n SNR^2 values, seeds) of the preset."""
    if beyond.small(preset_name):
        return (SMALL[0],), (SMALL[1],), 1
    return tuple(SCENARIOS), FEATURE_NSNR2, PRESETS[preset_name].replicates


def cells(preset_name: str, seed: int) -> dict:
    """The runs both the features and the downstream study read."""
    scenarios, nsnr2_values, reps = grid(preset_name)
    out = {}
    for scenario in scenarios:
        spec = SCENARIOS[scenario]
        weights = [
            p * s**2 for s, p in zip(spec["strengths"], spec["freqs"])
        ]  # n_f ||mu_f||^2 per class, / (n/2)
        for model in MODELS:
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
                    out[("features", scenario, model, nsnr2, rep)] = (probe.KIND, cfg)
    return out


def runs(preset_name: str, results: dict, scenario: str, model: str, nsnr2: float) -> list[dict]:
    return [
        results[("features", scenario, model, nsnr2, rep)] for rep in range(grid(preset_name)[2])
    ]


class Features:
    name = "features"

    def cells(self, preset_name: str, seed: int) -> dict:
        return cells(preset_name, seed)

    def rows(self, preset_name: str, results: dict) -> dict:
        """Per scenario, one row per n SNR^2: each model's gains of the strong and the second feature."""
        scenarios, nsnr2_values, _ = grid(preset_name)
        out = {}
        for scenario in scenarios:
            out[scenario] = []
            for nsnr2 in nsnr2_values:
                row = {"nsnr2": nsnr2}
                for model in MODELS:
                    rr = runs(preset_name, results, scenario, model, nsnr2)
                    row[f"{model}_gain"] = beyond.gain(model, rr, [2, 3])
                    row[f"{model}_strong_gain"] = beyond.gain(model, rr, [0, 1])
                    row[f"{model}_noise_gain"] = beyond.noise_gain(model, rr)
                    row[f"{model}_runs"] = beyond.finished(rr)
                out[scenario].append(row)
        return out

    def report(self, preset_name: str, results: dict, out: Path) -> tuple[list, list]:
        rows = self.rows(preset_name, results)
        return [beyond_claims.b4(rows)], [(FIGURE, self.figure(rows, out / FIGURE))]

    def figure(self, rows: dict, path: Path) -> str:
        """Gain of the second (weak or rare) feature and of the strong one against n SNR^2, per scenario."""
        colors = {"diffusion": "tab:purple", "classification": "tab:orange"}
        with figure(path, 1, len(rows), figsize=(5.5 * len(rows), 4.5), squeeze=False) as (
            fig,
            axes,
        ):
            for ax, (scenario, table) in zip(axes[0], rows.items()):
                x = [r["nsnr2"] for r in table]
                for model in MODELS:
                    ax.plot(
                        x,
                        [r[f"{model}_gain"] for r in table],
                        "o-",
                        color=colors[model],
                        label=f"{model}: {scenario} feature",
                    )
                    ax.plot(
                        x,
                        [r[f"{model}_strong_gain"] for r in table],
                        "s--",
                        mfc="none",
                        color=colors[model],
                        label=f"{model}: strong feature",
                    )
                ax.axhline(
                    LEARNED_GAIN,
                    color="k",
                    lw=0.8,
                    ls=":",
                    label=f"learned: gain > {LEARNED_GAIN:g}",
                )
                spec = SCENARIOS[scenario]
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_xlabel("n·SNR² (of ||μ||, the strong feature)")
                ax.set_ylabel("alignment gain over initialisation")
                ax.set_title(
                    f"{scenario}: strengths {spec['strengths']}, frequencies {spec['freqs']}",
                    fontsize=9,
                )
                ax.legend(fontsize=6)
        return "; ".join(
            f"{s} n·SNR²={r['nsnr2']:g}: second-feature gain diffusion {r['diffusion_gain']:.3g}, "
            f"classification {r['classification_gain']:.3g}"
            for s, t in rows.items()
            for r in t
        )


SECTION = Features()
