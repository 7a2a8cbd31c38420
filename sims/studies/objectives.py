"""Section "objectives" of `fldm reproduce` (issue 13, part 1): is balanced learning the eps objective's doing?

For each diffusion objective (eps, x0, v, velocity) and schedule (single time, DDPM linear, cosine; T = 10),
the stationary point of every n·SNR² and seed (the alignment ODE, `research.stationary_cell`), its
signal/noise ratio and gains, and the early rate ratio; the plain classifier on the same data; gradient
descent checked against the stationary point at one n·SNR² (`research.Size.check_nsnr2`). Claims O1 and O2 of
`sims.studies.research_claims` (rules fixed before the numbers), one figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.studies import research, research_claims
from sims.studies.figures import figure
from sims.studies.measures import loglog_slope
from sims.studies.research import SIZES, aggregate, stationary_row, train_row
from sims.studies.sweep import divergence

COLORS = {"eps": "tab:green", "x0": "tab:purple", "v": "tab:orange", "velocity": "tab:brown"}
STYLES = {"single": "-", "ddpm-linear": "--", "cosine": ":"}


def preset_note(preset_name: str) -> str:
    """A prefix for the claims of a preset that runs only a small cell of the study ('' for full)."""
    if preset_name == "full":
        return ""
    size = SIZES[preset_name]
    return (
        f"[{preset_name} preset: a small cell of the study (n·SNR² = {', '.join(f'{v:g}' for v in size.nsnr2)}; "
        f"{', '.join(size.objectives)}; {', '.join(size.schedules)}; {size.replicates} seed) to exercise the "
        f"code; the study is the full preset's] "
    )


class ObjectivesSection:
    name = "objectives"

    def cells(self, preset_name: str, seed: int) -> dict:
        size = SIZES.get(preset_name)
        if size is None:
            return {}
        cells = {}
        for nsnr2 in size.nsnr2:
            for rep in range(size.replicates):
                s = research.seed(seed, nsnr2, rep)
                for objective in size.objectives:
                    for schedule in size.schedules:
                        cfg = research.diffusion_config(size, objective, schedule, nsnr2, s)
                        cells[("stationary", objective, schedule, nsnr2, rep)] = ("stationary", cfg)
                cells[("classifier", nsnr2, rep)] = (
                    "train",
                    research.classifier_configs(size, nsnr2, s)[0],
                )
        for objective in size.objectives:
            cfg = research.diffusion_config(
                size,
                objective,
                "single",
                size.check_nsnr2,
                research.seed(seed, size.check_nsnr2, 0),
            )
            cells[("check-stationary", objective)] = ("stationary", cfg)
            cells[("check", objective)] = ("train", research.check_config(cfg))
        return cells

    def report(self, preset_name: str, results: dict, out: Path) -> tuple[list, list]:
        size = SIZES[preset_name]
        series = {
            (o, s): [
                aggregate(
                    v,
                    [
                        stationary_row(results[("stationary", o, s, v, r)])
                        for r in range(size.replicates)
                    ],
                )
                for v in size.nsnr2
            ]
            for o in size.objectives
            for s in size.schedules
        }
        classifier = [
            aggregate(
                v,
                [
                    train_row(results[("classifier", v, r)], "classification")
                    for r in range(size.replicates)
                ],
            )
            for v in size.nsnr2
        ]
        check = descent_check(size, results)
        note = preset_note(preset_name)
        o1 = research_claims.objectives_verdict(series)
        o1["measured"]["early_rate_ratio"] = {
            f"{o}/{s}": {
                "slope": loglog_slope(
                    [r["nsnr2"] for r in rows], [r["initial_rate_ratio"] for r in rows]
                ),
                "values": {r["nsnr2"]: r["initial_rate_ratio"] for r in rows},
            }
            for (o, s), rows in series.items()
        }
        o1["measured"]["descent_check"] = check
        o2 = research_claims.x0_verdict(series[("x0", "single")], classifier)
        for entry in (o1, o2):
            entry["claim"] = note + entry["claim"]
        path, summary = fig_objectives(size, series, classifier, check, out)
        return [o1, o2], [(path.name, summary)]


def descent_check(size, results: dict) -> dict:
    """Gradient descent against the stationary point, per objective: both ratios and their relative gap."""
    out = {}
    for objective in size.objectives:
        gd = train_row(results[("check", objective)], "diffusion")
        ode = stationary_row(results[("check-stationary", objective)])
        if ode is None:
            out[objective] = {
                "stationary_not_reached": results[("check-stationary", objective)]["summary"][
                    "status"
                ]
            }
            continue
        if gd is None:
            out[objective] = {
                "stationary_ratio": ode["ratio"],
                "diverged": divergence(results[("check", objective)]),
            }
            continue
        out[objective] = {
            "stationary_ratio": ode["ratio"],
            "descent_ratio": gd["ratio"],
            "relative_gap": abs(gd["ratio"] / ode["ratio"] - 1),
            "descent_steps": gd["steps_run"],
            "descent_grad_norm": gd["final_grad_norm"],
        }
    return out


def fig_objectives(size, series: dict, classifier: list, check: dict, out: Path):
    """(a) stationary ratio against n·SNR² per objective and schedule (ODE: lines, and a dot at the check's
    setting; gradient descent there: circles),
    with the plain classifier; (b) signal and noise gains of the single-time series; (c) early rate ratio."""
    path = out / "fig_objectives.png"
    with figure(path, 1, 3, figsize=(16, 4.8)) as (fig, axes):
        ax = axes[0]
        for (o, s), rows in series.items():
            ax.plot(
                [r["nsnr2"] for r in rows],
                [r["ratio"] for r in rows],
                STYLES[s],
                color=COLORS[o],
                label=f"{o}, {s} (stationary point)",
            )
        x = [r["nsnr2"] for r in classifier]
        ax.plot(
            x,
            [r["ratio"] for r in classifier],
            "s",
            color="gray",
            mfc="none",
            label="classifier (descent)",
        )
        for o, c in check.items():
            if "stationary_ratio" in c:
                ax.plot([size.check_nsnr2], [c["stationary_ratio"]], ".", color=COLORS[o])
            if "descent_ratio" in c:
                ax.plot(
                    [size.check_nsnr2], [c["descent_ratio"]], "o", color=COLORS[o], mfc="none", ms=9
                )
        ref = np.array([min(x), max(x)])
        ax.plot(ref, ref, color="lightgray", lw=1, label="slope 1 (Θ(n·SNR²))")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="n·SNR²",
            ylabel="signal / noise (magnitudes)",
            title="(a) stationary ratio; circles: gradient descent",
        )
        ax.legend(fontsize=6)
        ax = axes[1]
        for o in size.objectives:
            rows = series[(o, "single")]
            xs = [r["nsnr2"] for r in rows]
            ax.plot(
                xs, [r["signal_gain"] for r in rows], "-", color=COLORS[o], label=f"{o}: signal"
            )
            ax.plot(xs, [r["noise_gain"] for r in rows], "--", color=COLORS[o], label=f"{o}: noise")
        ax.axhline(
            research_claims.LEARNED_GAIN, color="gray", lw=1, ls=":", label="learned threshold"
        )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="n·SNR²",
            ylabel="final / initial alignment",
            title="(b) gains at the stationary point (single time)",
        )
        ax.legend(fontsize=6)
        ax = axes[2]
        for (o, s), rows in series.items():
            ax.plot(
                [r["nsnr2"] for r in rows],
                [r["initial_rate_ratio"] for r in rows],
                STYLES[s],
                color=COLORS[o],
                label=f"{o}, {s}",
            )
        ax.set_yscale("symlog", linthresh=0.01)
        ax.set(
            xscale="log",
            xlabel="n·SNR²",
            ylabel="d signal / d noise at τ = 0 (signed summaries, as D1)",
            title="(c) early rate ratio",
        )
        ax.legend(fontsize=6)
    slopes = {
        f"{o}/{s}": loglog_slope([r["nsnr2"] for r in rows], [r["ratio"] for r in rows])
        for (o, s), rows in series.items()
    }
    return path, "stationary-ratio slopes: " + ", ".join(f"{k} {v:.2f}" for k, v in slopes.items())
