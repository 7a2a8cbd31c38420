"""The synthetic study's figures (a)-(f), each made from a finished `Study` and returned with a one-line
summary; and `figure`, the one helper that every figure of both studies is drawn with.

Theory (`theory.predict`, the reduced ODE of `theory.ode`) is drawn as lines, simulation as markers.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from sims import io
from sims.studies.measures import (fitted_slopes, linearity_measures, phase_agreement, phase_table, ratio_table,
                                   stationary_dependence)
from sims.studies.plan import E1_NSNR2, MODELS, Study
from sims.studies.sweep import completed

COLORS = {"signal": "tab:red", "noise": "tab:blue"}


@contextmanager
def figure(path: Path, rows: int = 1, cols: int = 1, *, figsize, layout: str | None = "constrained",
           squeeze: bool = True):
    """`with figure(path, rows, cols, figsize=...) as (fig, axes):` a new figure from matplotlib's object API
    (no pyplot state, nothing to close), written atomically to `path` as PNG when the block ends."""
    fig = Figure(figsize=figsize, layout=layout)
    yield fig, fig.subplots(rows, cols, squeeze=squeeze)
    io.write_figure(path, fig)


def fig_synthetic(study: Study, out: Path) -> tuple[Path, str]:
    """(a) max_r <w_r, mu> and max_r <w_r, xi> over iterations, both models, n SNR^2 = 0.75 and 6.75."""
    path = out / "fig_synthetic.png"
    with figure(path, 2, 2, figsize=(10, 7)) as (fig, axes):
        for i, model in enumerate(MODELS):
            for j, nsnr2 in enumerate(E1_NSNR2):
                ax = axes[i, j]
                gd, ode = study.get("train", model, nsnr2, 0), study.get("ode", model, nsnr2)
                for q in ("signal", "noise"):
                    if completed(gd):
                        a = gd["arrays"]
                        every = max(1, len(a["steps"]) // 40)
                        ax.plot(a["steps"][::every], a[f"{q}_max"][::every], "o", ms=4, mfc="none", color=COLORS[q],
                                label=f"{q}: gradient descent")
                    if completed(ode):
                        ax.plot(ode["arrays"]["steps"], ode["arrays"][f"{q}_max"], "-", color=COLORS[q],
                                label=f"{q}: reduced ODE")
                ax.set_title(f"{model}, n·SNR² = {nsnr2}")
                ax.set_xlabel("iteration")
                ax.set_ylabel("max_r ⟨w_r, μ⟩ (signal), max_r ⟨w_r, ξ_i⟩ (noise)" if j == 0 else "alignment")
                if model == "classification":
                    ax.set_yscale("log")
                ax.legend(fontsize=7)
    rows = {(m, r["nsnr2"]): r for m, table in ratio_table(study).items() for r in table}
    text = "; ".join(f"{m} n·SNR²={v}: ratio {rows[(m, v)]['final_ratio']:.3g}" for m in MODELS for v in E1_NSNR2)
    return path, text


def fig_early_growth(study: Study, out: Path) -> tuple[Path, str]:
    """(b) early growth: near-linear (diffusion) against exponential (classification), with predicted rates."""
    path = out / "fig_early_growth.png"
    lin = linearity_measures(study)
    with figure(path, 1, 2, figsize=(11, 4.2)) as (fig, axes):
        for ax, model in zip(axes, MODELS):
            res, pred = study.get("linear", model), study.get("linear-predict", model)["summary"]
            if not completed(res):
                continue
            a = res["arrays"]
            k = lin[model]["window_step"]
            steps = a["steps"][: k + 1]
            tau = res["summary"]["eta"] * steps
            every = max(1, len(steps) // 40)
            for q in ("signal", "noise"):
                ax.plot(steps[::every], a[f"{q}_max"][: k + 1][::every], "o", ms=4, mfc="none", color=COLORS[q],
                        label=f"{q}: gradient descent")
                if model == "diffusion":
                    rate = pred["initial_rates"][q]
                    ax.plot(steps, a[f"{q}_max"][0] + rate * tau, "-", color=COLORS[q],
                            label=f"{q}: predicted rate {rate:.3g} per unit τ")
                else:
                    rate = pred["rates"][q]
                    ax.plot(steps, a[f"{q}_max"][0] * np.exp(rate * tau), "-", color=COLORS[q],
                            label=f"{q}: predicted ∝ exp({rate:.3g} τ)")
            cfg = study.cells[("linear", model)][1]
            ax.set_title(f"{model}, n·SNR² = {E1_NSNR2[0]}, σ₀ = {cfg.sigma0:g}: linearity index "
                         f"{lin[model]['index']:.2f}", fontsize=9)
            ax.set_xlabel(f"iteration (τ = η·iteration, η = {res['summary']['eta']:.3g})")
            ax.set_ylabel("alignment (max over neurons)")
            if model == "classification":
                ax.set_yscale("log")
            ax.legend(fontsize=7)
    return path, "; ".join(f"{m}: linearity index {lin[m]['index']:.2f}" for m in MODELS)


def fig_ratio(study: Study, out: Path) -> tuple[Path, str]:
    """(c) signal/noise ratio against n SNR^2: diffusion growth phase and stationary, classification end."""
    path = out / "fig_ratio.png"
    rows = ratio_table(study)
    slopes = fitted_slopes(rows)
    x = np.array([r["nsnr2"] for r in rows["diffusion"]])
    series = [
        ("diffusion", "growth_ratio", "predicted_growth_ratio", "tab:green", "diffusion, growth phase", "s"),
        ("diffusion", "final_ratio", "predicted_stationary_ratio", "tab:purple", "diffusion, stationary", "o"),
        ("classification", "final_ratio", None, "tab:orange", "classification, end of training", "^"),
    ]
    with figure(path, figsize=(7.5, 5.5)) as (fig, ax):
        for model, key, pkey, color, label, marker in series:
            y = np.array([r[key] for r in rows[model]])
            slope = slopes[f"{model}_{'growth' if key == 'growth_ratio' else 'final'}"]
            ax.plot(x, y, marker, color=color, mfc="none", ms=7, label=f"{label} (simulation; fitted slope {slope:.2f})")
            if pkey is not None:
                yp = np.array([np.nan if r[pkey] is None else r[pkey] for r in rows[model]], dtype=float)
                ax.plot(x, yp, "-", color=color, label=f"{label} (theory)")
        ref = x / x[0] * rows["diffusion"][0]["growth_ratio"]
        ax.plot(x, ref, ":", color="gray", label="Θ(n·SNR²) reference, slope 1")
        b = rows["classification"][0].get("predicted_boundary_nsnr2")
        if b is not None and np.isfinite(b):
            ax.axvline(b, color="tab:orange", ls="--", lw=1, label=f"predicted classification boundary {b:.3g}")
        ax.axhline(1.0, color="k", lw=0.5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n·SNR²")
        ax.set_ylabel("signal learning / noise learning")
        ax.set_title(f"Signal/noise ratio (n={study.preset.n}, d={study.preset.d}, m={study.preset.m}; "
                     f"mean of {study.preset.replicates} seeds)", fontsize=9)
        ax.legend(fontsize=7)
    return path, ", ".join(f"{k} slope {v:.2f}" for k, v in slopes.items())


def fig_phase(study: Study, out: Path) -> tuple[Path, str]:
    """(d) phase diagram over (n, SNR): classification winner and test error, diffusion ratio."""
    path = out / "fig_phase.png"
    p = study.preset
    table = phase_table(study)
    ns, snrs = np.array(p.phase_n), np.array(p.phase_snr)
    b = np.array([np.nan if v is None else v for v in table["boundary_nsnr2"]], dtype=float)
    panels = [(table["grid"]["classification"]["ratio"], "classification: log10(signal/noise)", "RdBu_r", True),
              (table["grid"]["classification"]["test_error"], "classification: test error", "viridis", False),
              (table["grid"]["diffusion"]["ratio"], "diffusion: log10(signal/noise)", "RdBu_r", True)]
    with figure(path, 1, 3, figsize=(15, 4.5)) as (fig, axes):
        for ax, (vals, title, cmap, log) in zip(axes, panels):
            shown = np.log10(vals) if log else vals
            lim = np.nanmax(np.abs(shown)) if log else None
            im = ax.pcolormesh(np.arange(len(ns) + 1), np.arange(len(snrs) + 1), shown, cmap=cmap,
                               vmin=-lim if log else 0, vmax=lim if log else 0.5, shading="flat")
            fig.colorbar(im, ax=ax)
            for i in range(len(snrs)):
                for j in range(len(ns)):
                    if np.isfinite(vals[i, j]):
                        ax.text(j + 0.5, i + 0.5, f"{vals[i, j]:.2g}", ha="center", va="center", fontsize=6)
            # predicted boundary SNR = sqrt(b(n) / n), drawn in grid coordinates (log-spaced SNR axis)
            snr_b = np.sqrt(b / ns)
            yb = np.interp(np.log(snr_b), np.log(snrs), np.arange(len(snrs))) + 0.5
            ax.plot(np.arange(len(ns)) + 0.5, yb, "k--", lw=1.5, label="predicted classification boundary")
            ax.set_xticks(np.arange(len(ns)) + 0.5, [str(v) for v in ns])
            ax.set_yticks(np.arange(len(snrs)) + 0.5, [f"{v:.3g}" for v in snrs])
            ax.set_xlabel("n (training samples)")
            ax.set_ylabel("SNR")
            ax.set_title(title, fontsize=9)
            ax.legend(fontsize=6, loc="upper left")
    agree = phase_agreement(study)
    return path, f"predicted winner agrees with simulation in {agree['agree']}/{agree['cells']} classification cells"


def fig_ode_vs_gd(study: Study, out: Path) -> tuple[Path, str]:
    """(e) reduced ODE against gradient descent, individual alignments, one setting per model."""
    path = out / "fig_ode_vs_gd.png"
    nsnr2 = E1_NSNR2[0]
    notes = []
    with figure(path, 1, 2, figsize=(11, 4.2)) as (fig, axes):
        for ax, model in zip(axes, MODELS):
            gd, ode = study.get("train", model, nsnr2, 0), study.get("ode", model, nsnr2)
            if not (completed(gd) and completed(ode)):
                continue
            a, b = gd["arrays"], ode["arrays"]
            sig_gd = a["signal"].reshape(len(a["steps"]), -1)
            sig_ode = b["signal"].reshape(len(b["steps"]), -1)
            noi_gd = a["noise"].reshape(len(a["steps"]), -1)
            noi_ode = b["noise"].reshape(len(b["steps"]), -1)
            every = max(1, len(a["steps"]) // 30)
            for c in range(min(4, sig_gd.shape[1])):
                ax.plot(a["steps"][::every], sig_gd[::every, c], "o", ms=3, mfc="none", color=COLORS["signal"])
                ax.plot(b["steps"], sig_ode[:, c], "-", lw=1, color=COLORS["signal"])
            for c in range(min(4, noi_gd.shape[1])):
                ax.plot(a["steps"][::every], noi_gd[::every, c], "s", ms=3, mfc="none", color=COLORS["noise"])
                ax.plot(b["steps"], noi_ode[:, c], "-", lw=1, color=COLORS["noise"])
            ax.plot([], [], "ko", mfc="none", label="gradient descent (markers)")
            ax.plot([], [], "k-", label="reduced ODE (lines)")
            ax.plot([], [], "-", color=COLORS["signal"], label="⟨w, μ_j⟩")
            ax.plot([], [], "-", color=COLORS["noise"], label="⟨w, ξ_i⟩")
            n_common = min(len(a["steps"]), len(b["steps"]))
            if np.array_equal(a["steps"][:n_common], b["steps"][:n_common]):
                gap = np.max(np.abs(a["signal"][:n_common] - b["signal"][:n_common]))
                scale = np.max(np.abs(a["signal"][:n_common])) + 1e-300
                notes.append(f"{model}: max |ODE - GD| signal alignment {gap:.3g} ({gap / scale:.2%} of max)")
            ax.set_title(f"{model}, n·SNR² = {nsnr2}: individual alignments")
            ax.set_xlabel("iteration")
            ax.set_ylabel("alignment ⟨w_r, ·⟩")
            ax.legend(fontsize=7)
    return path, "; ".join(notes)


def fig_stationary(study: Study, out: Path) -> tuple[Path, str]:
    """(f) how the diffusion stationary ratio depends on the width m and the dimension d."""
    path = out / "fig_stationary.png"
    rows = ratio_table(study)
    dep = stationary_dependence(study, rows)
    cmap = colormaps["viridis"]
    notes = []
    with figure(path, 1, 2, figsize=(11, 4.5)) as (fig, axes):
        for ax, axis in zip(axes, ("m", "d")):
            items = sorted(dep[axis].items())
            for i, (value, series) in enumerate(items):
                color = cmap(i / max(1, len(items) - 1))
                x = [r["nsnr2"] for r in series["rows"]]
                ax.plot(x, [r["predicted"] for r in series["rows"]], "-", color=color, label=f"{axis} = {value}: theory")
                ax.plot(x, [r["simulated"] for r in series["rows"]], "o", mfc="none", color=color,
                        label=f"{axis} = {value}: gradient descent (slope {series['slope']:.2f})")
                notes.append(f"{axis}={value} slope {series['slope']:.2f}")
            x = np.array(study.preset.vary_nsnr2 or [r["nsnr2"] for r in rows["diffusion"]])
            ax.plot(x, x / x[0] * 0.3, ":", color="gray", label="Θ(n·SNR²) reference, slope 1")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("n·SNR²")
            ax.set_ylabel("stationary signal / noise learning (diffusion)")
            fixed = f"d = {study.preset.d}" if axis == "m" else f"m = {study.preset.m}"
            ax.set_title(f"diffusion stationary ratio for several {axis} ({fixed}, n = {study.preset.n})", fontsize=9)
            ax.legend(fontsize=6)
    return path, ", ".join(notes)


FIGURES = (fig_synthetic, fig_early_growth, fig_ratio, fig_phase, fig_ode_vs_gd, fig_stationary)
