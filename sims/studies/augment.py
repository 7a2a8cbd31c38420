"""Section "augment" of `fldm reproduce` (issue 13, part 2): is balanced learning the noised inputs' doing?

The classifier trained on x_t = alpha x0 + beta eps (alpha = beta = 1/sqrt 2, fresh draws every step; sims.
classification.loss_and_grad_augmented_resampled) beside the plain classifier on the same data, with the same
eta and steps, and the eps diffusion model's stationary point, over the n·SNR² sweep; in the full preset
also over the (n, SNR) phase grid. Claim A1 of `sims.studies.research_claims` (rule fixed before the
numbers), one figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.studies import research, research_claims
from sims.studies.figures import figure
from sims.studies.objectives import preset_note
from sims.studies.research import SIZES, aggregate, stationary_row, train_row

KINDS = ("plain", "augmented")
MARKERS = {"plain": ("s", "gray"), "augmented": ("o", "tab:blue")}


class AugmentSection:
    name = "augment"

    def cells(self, preset_name: str, seed: int) -> dict:
        size = SIZES.get(preset_name)
        if size is None:
            return {}
        cells = {}
        for nsnr2 in size.nsnr2:
            for rep in range(size.replicates):
                s = research.seed(seed, nsnr2, rep)
                for kind, cfg in zip(KINDS, research.classifier_configs(size, nsnr2, s)):
                    cells[(kind, nsnr2, rep)] = ("train", cfg)
                cells[("diffusion", nsnr2, rep)] = (
                    "stationary",
                    research.diffusion_config(size, "eps", "single", nsnr2, s),
                )
        if size.phase:
            p = size.preset
            for n in p.phase_n:
                for snr in p.phase_snr:
                    nsnr2 = n * snr**2
                    configs = research.classifier_configs(
                        size, nsnr2, research.seed(seed, nsnr2, 0, n=n), n=n
                    )
                    for kind, cfg in zip(KINDS, configs):
                        cells[("phase", kind, n, snr)] = ("train", cfg)
        return cells

    def report(self, preset_name: str, results: dict, out: Path) -> tuple[list, list]:
        size = SIZES[preset_name]
        reps = range(size.replicates)
        rows = {
            kind: [
                aggregate(v, [train_row(results[(kind, v, r)], "classification") for r in reps])
                for v in size.nsnr2
            ]
            for kind in KINDS
        }
        rows["diffusion"] = [
            aggregate(v, [stationary_row(results[("diffusion", v, r)]) for r in reps])
            for v in size.nsnr2
        ]
        entry = research_claims.augmented_verdict(rows["augmented"])
        entry["claim"] = preset_note(preset_name) + entry["claim"]
        grid = phase_grid(size, results) if size.phase else None
        entry["measured"].update(
            {
                "crossing_nsnr2": {kind: crossing(rows[kind]) for kind in KINDS},
                "test_error": {
                    kind: {r["nsnr2"]: r.get("test_error") for r in rows[kind]} for kind in KINDS
                },
                "plain_classifier": [
                    {k: r[k] for k in ("nsnr2", "ratio", "signal_gain", "noise_gain")}
                    for r in rows["plain"]
                ],
                "diffusion_eps_ratio": {r["nsnr2"]: r["ratio"] for r in rows["diffusion"]},
            }
        )
        if grid is not None:
            entry["measured"]["phase_grid_same_winner"] = grid["same_winner"]
        path, summary = fig_augment(size, rows, grid, out)
        return [entry], [(path.name, summary)]


def crossing(rows: list) -> float:
    """The n·SNR² where the ratio first crosses WINNER_RATIO upward, interpolated in log-log (nan if never)."""
    x = np.log([r["nsnr2"] for r in rows])
    y = np.log([r["ratio"] for r in rows]) - np.log(research_claims.WINNER_RATIO)
    for i in range(len(x) - 1):
        if y[i] < 0 <= y[i + 1]:
            return float(np.exp(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i])))
    return float("nan")


def phase_grid(size, results: dict) -> dict:
    """Final ratio of each classifier over the (n, SNR) grid (rows: SNR, columns: n), and the share of cells
    where the plain and the augmented classifier have the same winner."""
    p = size.preset
    ratio = {kind: np.full((len(p.phase_snr), len(p.phase_n)), np.nan) for kind in KINDS}
    for kind in KINDS:
        for j, n in enumerate(p.phase_n):
            for i, snr in enumerate(p.phase_snr):
                row = train_row(results[("phase", kind, n, snr)], "classification")
                if row is not None:
                    ratio[kind][i, j] = row["ratio"]
    both = np.isfinite(ratio["plain"]) & np.isfinite(ratio["augmented"])
    same = (ratio["plain"] > research_claims.WINNER_RATIO) == (
        ratio["augmented"] > research_claims.WINNER_RATIO
    )
    return {
        "ratio": ratio,
        "same_winner": {"cells": int(both.sum()), "same": int((same & both).sum())},
    }


def fig_augment(size, rows: dict, grid: dict | None, out: Path):
    """(a) final ratio against n·SNR²: plain and augmented classifier (descent: markers), eps diffusion
    (stationary point: line); (b) their test errors; (c, d) winners over the (n, SNR) grid (full preset)."""
    path = out / "fig_augment.png"
    cols = 4 if grid is not None else 2
    with figure(path, 1, cols, figsize=(4.2 * cols, 4.2)) as (fig, axes):
        ax = axes[0]
        for kind in KINDS:
            marker, color = MARKERS[kind]
            ax.plot(
                [r["nsnr2"] for r in rows[kind]],
                [r["ratio"] for r in rows[kind]],
                marker,
                color=color,
                mfc="none",
                label=f"{kind} classifier (descent)",
            )
        ax.plot(
            [r["nsnr2"] for r in rows["diffusion"]],
            [r["ratio"] for r in rows["diffusion"]],
            "-",
            color="tab:green",
            label="diffusion, eps (stationary point)",
        )
        ax.axhline(research_claims.WINNER_RATIO, color="lightgray", lw=1)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="n·SNR²",
            ylabel="signal / noise",
            title="(a) final ratio",
        )
        ax.legend(fontsize=7)
        ax = axes[1]
        for kind in KINDS:
            marker, color = MARKERS[kind]
            ax.plot(
                [r["nsnr2"] for r in rows[kind]],
                [r.get("test_error", np.nan) for r in rows[kind]],
                marker + "-",
                color=color,
                mfc="none",
                label=f"{kind} classifier",
            )
        ax.set(
            xscale="log",
            xlabel="n·SNR²",
            ylabel="test error (clean inputs)",
            title="(b) test error",
        )
        ax.legend(fontsize=7)
        if grid is not None:
            p = size.preset
            for ax, kind in zip(axes[2:], KINDS):
                image = np.log10(grid["ratio"][kind])
                im = ax.imshow(
                    image, origin="lower", cmap="coolwarm", vmin=-2, vmax=2, aspect="auto"
                )
                ax.set_xticks(range(len(p.phase_n)), [str(n) for n in p.phase_n])
                ax.set_yticks(range(len(p.phase_snr)), [f"{s:.2g}" for s in p.phase_snr])
                ax.set(
                    xlabel="n",
                    ylabel="SNR",
                    title=f"({'c' if kind == 'plain' else 'd'}) {kind}: log10 ratio",
                )
            fig.colorbar(im, ax=axes[2:], shrink=0.8)
    text = "; ".join(
        f"{kind}: ratio {min(r['ratio'] for r in rows[kind]):.3g} to {max(r['ratio'] for r in rows[kind]):.3g}"
        for kind in (*KINDS, "diffusion")
    )
    return path, text
