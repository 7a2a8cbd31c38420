"""The synthetic study's figures (a)-(f), each made from a finished `Study` and returned with a one-line
summary; and `figure`, the one helper that every figure of both studies is drawn with.

Theory (`theory.predict`, the reduced ODE of `theory.ode`) is drawn as lines, simulation as markers.
"""

from __future__ import annotations

import textwrap
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure

from sims import io
from sims.studies.measures import (
    fitted_slopes,
    linearity_measures,
    local_slopes,
    phase_agreement,
    phase_table,
    ratio_table,
    seed_curves,
    stationary_dependence,
    term,
)
from sims.studies.plan import E1_NSNR2, MODELS, Study
from sims.studies.sweep import completed

COLORS = {"signal": "tab:red", "noise": "tab:blue"}
MODEL_COLORS = {
    "diffusion": "tab:purple",
    "classification": "tab:orange",
}  # a model's end-of-training ratio
HEADLINE = {  # each model's headline alignments, as sims.models summarises them (Diffusion/Classification.summary)
    "diffusion": {"signal": "mean_j max_r ⟨w_r, μ_j⟩", "noise": "mean_i max_r ⟨w_r, ξ_i⟩"},
    "classification": {
        "signal": "mean_j max_r |⟨w_(j,r), μ_j⟩|",
        "noise": "mean_i max_r |⟨w_(y_i,r), ξ_i⟩|",
    },
}


@contextmanager
def figure(
    path: Path,
    rows: int = 1,
    cols: int = 1,
    *,
    figsize,
    layout: str | None = "constrained",
    squeeze: bool = True,
):
    """`with figure(path, rows, cols, figsize=...) as (fig, axes):` a new figure from matplotlib's object API
    (no pyplot state, nothing to close), written atomically to `path` as PNG when the block ends."""
    fig = Figure(figsize=figsize, layout=layout)
    yield fig, fig.subplots(rows, cols, squeeze=squeeze)
    io.write_figure(path, fig)


def fig_synthetic(study: Study, out: Path) -> tuple[Path, str]:
    """(a) the headline alignments over iterations, both models, n SNR^2 = 0.75 and 6.75: the mean over seeds
    (markers) with its min-max band, and the reduced ODE of seed 0 (line)."""
    path = out / "fig_synthetic.png"
    with figure(path, 2, 2, figsize=(10, 7.4)) as (fig, axes):
        for i, model in enumerate(MODELS):
            for j, nsnr2 in enumerate(E1_NSNR2):
                ax = axes[i, j]
                curves, ode = seed_curves(study, model, nsnr2), study.get("ode", model, nsnr2)
                for q in ("signal", "noise"):
                    if curves is not None:
                        steps = curves["steps"]
                        every = max(1, len(steps) // 40)
                        ax.fill_between(
                            steps,
                            curves[f"{q}_min"],
                            curves[f"{q}_max"],
                            color=COLORS[q],
                            alpha=0.15,
                            lw=0,
                            label=f"{q}: min-max over {curves['seeds']} seeds",
                        )
                        ax.plot(
                            steps[::every],
                            curves[f"{q}_mean"][::every],
                            "o",
                            ms=4,
                            mfc="none",
                            color=COLORS[q],
                            label=f"{q}: gradient descent, seed mean",
                        )
                    if completed(ode):
                        ax.plot(
                            ode["arrays"]["steps"],
                            ode["arrays"][f"{q}_max"],
                            "-",
                            lw=1,
                            color=COLORS[q],
                            label=f"{q}: reduced ODE, seed 0",
                        )
                eta = f"η = {curves['eta'][0]:.3g}" + (
                    f" to {curves['eta'][1]:.3g} over seeds"
                    if curves and curves["eta"][1] != curves["eta"][0]
                    else ""
                )
                ax.set_title(
                    f"{model}, n·SNR² = {nsnr2} ({eta if curves else 'no finished run'})",
                    fontsize=9,
                )
                ax.set_xlabel("iteration")
                scale = " (log scale)" if model == "classification" else ""
                ax.set_ylabel(
                    f"signal = {HEADLINE[model]['signal']}\nnoise = {HEADLINE[model]['noise']}{scale}"
                    if j == 0
                    else f"alignment{scale}",
                    fontsize=8,
                )
                if model == "classification":
                    ax.set_yscale("log")
                ax.legend(fontsize=6)
        fig.suptitle(
            "Signal and noise learning (as in the paper's Figure 2). The panels' step sizes η differ (auto η "
            "shrinks as n·SNR² grows):\ncompare panels in τ = η·iteration, not in iterations",
            fontsize=9,
        )
    rows = {(m, r["nsnr2"]): r for m, table in ratio_table(study).items() for r in table}
    text = "; ".join(
        f"{m} n·SNR²={v}: signal {rows[(m, v)]['final_signal']:.3g}, noise {rows[(m, v)]['final_noise']:.3g}, "
        f"ratio {rows[(m, v)]['final_ratio']:.3g} (means over {rows[(m, v)]['runs']} seeds)"
        for m in MODELS
        for v in E1_NSNR2
    )
    return path, text


def fig_early_growth(study: Study, out: Path) -> tuple[Path, str]:
    """(b) early growth: near-linear (diffusion) against exponential (classification), with predicted rates."""
    path = out / "fig_early_growth.png"
    lin = linearity_measures(study)
    with figure(path, 1, 2, figsize=(11, 4.8)) as (fig, axes):
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
                ax.plot(
                    steps[::every],
                    a[f"{q}_max"][: k + 1][::every],
                    "o",
                    ms=4,
                    mfc="none",
                    color=COLORS[q],
                    label=f"{q} = {HEADLINE[model][q]}: gradient descent",
                )
                if model == "diffusion":
                    rate = pred["initial_rates"][q]
                    ax.plot(
                        steps,
                        a[f"{q}_max"][0] + rate * tau,
                        "-",
                        color=COLORS[q],
                        label=f"{q}: predicted rate {rate:.3g} per unit τ",
                    )
                else:
                    rate = pred["rates"][q]
                    ax.plot(
                        steps,
                        a[f"{q}_max"][0] * np.exp(rate * tau),
                        "-",
                        color=COLORS[q],
                        label=f"{q}: predicted ∝ exp({rate:.3g} τ)",
                    )
            cfg = study.cells[("linear", model)][1]
            ax.set_title(
                f"{model}, n·SNR² = {E1_NSNR2[0]}, σ₀ = {cfg.sigma0:g}, seed 0: linearity index "
                f"{lin[model]['index']:.2f}",
                fontsize=9,
            )
            ax.set_xlabel(f"iteration (τ = η·iteration, η = {res['summary']['eta']:.3g})")
            ax.set_ylabel("alignment" + (" (log scale)" if model == "classification" else ""))
            if model == "classification":
                ax.set_yscale("log")
            ax.legend(fontsize=7)
        fig.suptitle(_wrap("Linearity index: " + term("linearity index") + "."), fontsize=8)
    return path, "; ".join(f"{m}: linearity index {lin[m]['index']:.2f}" for m in MODELS)


def _wrap(text: str, width: int = 150) -> str:
    return "\n".join(textwrap.wrap(text, width))


def fig_ratio(study: Study, out: Path) -> tuple[Path, str]:
    """(c) signal/noise ratio against n SNR^2 (diffusion growth phase and stationary, classification end) with
    the seeds' spread and the theory; below, the local log-log slopes (the claims read one fit over the sweep)."""
    path = out / "fig_ratio.png"
    rows = ratio_table(study)
    slopes = fitted_slopes(rows)
    reps = study.preset.replicates
    x = np.array([r["nsnr2"] for r in rows["diffusion"]])
    series = [  # model, measured key, theory key, colour, marker, label, theory label, slope key
        (
            "diffusion",
            "growth_ratio",
            "predicted_growth_ratio",
            "tab:green",
            "s",
            "diffusion, growth phase (seed 0)",
            "diffusion: predicted initial rate ratio (seed 0)",
            "diffusion_growth",
        ),
        (
            "diffusion",
            "final_ratio",
            "predicted_stationary_ratio",
            MODEL_COLORS["diffusion"],
            "o",
            f"diffusion, end (mean of {reps} seeds, bars: min-max)",
            "diffusion: predicted stationary ratio (seed 0)",
            "diffusion_final",
        ),
        (
            "classification",
            "final_ratio",
            "predicted_rate_ratio",
            MODEL_COLORS["classification"],
            "^",
            f"classification, end (mean of {reps} seeds, bars: min-max)",
            "classification: predicted ratio of the exponential rates λ_s/λ_n, seed 0 (the theory predicts the "
            "rates and the winner, not the final ratio)",
            "classification_final",
        ),
    ]
    local = {}
    with figure(path, 2, 1, figsize=(8, 8.5)) as (fig, (ax, ax_s)):
        for model, key, pkey, color, marker, label, plabel, skey in series:
            y = np.array([r[key] for r in rows[model]], dtype=float)
            if key == "final_ratio":
                lo = np.array([r["final_ratio_min"] for r in rows[model]], dtype=float)
                hi = np.array([r["final_ratio_max"] for r in rows[model]], dtype=float)
                ax.errorbar(
                    x,
                    y,
                    yerr=[y - lo, hi - y],
                    fmt=marker,
                    color=color,
                    mfc="none",
                    ms=7,
                    capsize=2,
                    label=label,
                )
            else:
                ax.plot(x, y, marker, color=color, mfc="none", ms=7, label=label)
            yp = np.array(
                [np.nan if r.get(pkey) is None else r[pkey] for r in rows[model]], dtype=float
            )
            ax.plot(
                x,
                yp,
                "-" if model == "diffusion" else "--",
                color=color,
                lw=1.2,
                label=_wrap(plabel, 70),
            )
            mid, sl = local_slopes(x, y)
            local[skey] = sl
            ax_s.plot(
                mid,
                sl,
                marker + "-",
                color=color,
                mfc="none",
                ms=6,
                lw=1,
                label=f"{label.split(' (')[0]}"
                + (
                    f" (one fit over the sweep: {slopes[skey]:.2f})" if skey in CLAIM_SLOPES else ""
                ),
            )
        ref = x / x[0] * rows["diffusion"][0]["growth_ratio"]
        ax.plot(x, ref, ":", color="gray", label="Θ(n·SNR²) reference, slope 1")
        b = rows["classification"][0].get("predicted_boundary_nsnr2")
        if b is not None and np.isfinite(b):
            for a in (ax, ax_s):
                a.axvline(
                    b,
                    color="tab:orange",
                    ls="-.",
                    lw=1,
                    label=f"predicted classification boundary n·SNR² = {b:.3g}"
                    if a is ax
                    else None,
                )
        ax.axhline(1.0, color="k", lw=0.5)
        ax.set_yscale("log")
        ax.set_ylabel("signal / noise learning (log scale)")
        ax.set_title(
            f"Signal/noise ratio (n={study.preset.n}, d={study.preset.d}, m={study.preset.m})",
            fontsize=9,
        )
        ax.legend(fontsize=6.5)
        ax_s.axhline(1.0, color="gray", ls=":", lw=1, label="slope 1: Θ(n·SNR²)")
        ax_s.axhline(0.0, color="k", lw=0.5)
        ax_s.set_ylabel("local log-log slope\n(between neighbouring points)")
        ax_s.set_title(
            "Local slope of each measured curve: one straight-line fit hides a curve that levels off",
            fontsize=9,
        )
        ax_s.legend(fontsize=6.5)
        for a in (ax, ax_s):
            a.set_xscale("log")
            a.set_xlabel("n·SNR² (log scale)")
    spans = ", ".join(
        f"{k} {np.nanmin(v):.2f} to {np.nanmax(v):.2f}" for k, v in local.items() if len(v)
    )
    return path, (
        ", ".join(f"{k} slope {slopes[k]:.2f}" for k in CLAIM_SLOPES)
        + f" (one fit over the sweep, read by {', '.join(CLAIM_SLOPES.values())}); local slopes: {spans}"
    )


CLAIM_SLOPES = {
    "diffusion_growth": "D1",
    "diffusion_final": "D2",
}  # the whole-sweep fits the claims read


def _text_colour(rgba) -> str:
    """Black on light cells, white on dark ones (relative luminance of the cell's colour)."""
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def fig_phase(study: Study, out: Path) -> tuple[Path, str]:
    """(d) phase diagram over (n, SNR): classification ratio and test error, diffusion ratio. Both ratio panels
    share one logarithmic colour scale, centred on 1 and labelled in ratios (the numbers in the cells)."""
    path = out / "fig_phase.png"
    p = study.preset
    table = phase_table(study)
    ns, snrs = np.array(p.phase_n), np.array(p.phase_snr)
    b = np.array([np.nan if v is None else v for v in table["boundary_nsnr2"]], dtype=float)
    ratios = [table["grid"][m]["ratio"] for m in MODELS]
    finite = np.concatenate([r[np.isfinite(r) & (r > 0)] for r in ratios])
    lim = float(np.max(np.abs(np.log10(finite)))) if finite.size else 1.0
    lim = max(lim, 1e-3)
    ratio_norm = LogNorm(vmin=10.0**-lim, vmax=10.0**lim)
    panels = [
        (
            ratios[1],
            "classification: signal/noise",
            "RdBu_r",
            ratio_norm,
            "signal / noise (log colour scale)",
        ),
        (
            table["grid"]["classification"]["test_error"],
            "classification: test error",
            "viridis",
            Normalize(0.0, 0.5),
            "test error",
        ),
        (
            ratios[0],
            "diffusion: signal/noise (same colour scale as the left panel)",
            "RdBu_r",
            ratio_norm,
            "signal / noise (log colour scale)",
        ),
    ]
    with figure(path, 1, 3, figsize=(15, 4.8)) as (fig, axes):
        for ax, (vals, title, cmap, norm, unit) in zip(axes, panels):
            shown = (
                np.where(np.isfinite(vals) & (vals > 0), vals, np.nan)
                if isinstance(norm, LogNorm)
                else vals
            )
            im = ax.pcolormesh(
                np.arange(len(ns) + 1),
                np.arange(len(snrs) + 1),
                np.ma.masked_invalid(shown),
                cmap=cmap,
                norm=norm,
                shading="flat",
            )
            fig.colorbar(im, ax=ax, label=unit)
            for i in range(len(snrs)):
                for j in range(len(ns)):
                    if np.isfinite(vals[i, j]):
                        colour = _text_colour(colormaps[cmap](norm(vals[i, j])))
                        ax.text(
                            j + 0.5,
                            i + 0.5,
                            f"{vals[i, j]:.2g}",
                            ha="center",
                            va="center",
                            fontsize=8,
                            color=colour,
                        )
            # predicted boundary SNR = sqrt(b(n) / n), drawn in grid coordinates (log-spaced SNR axis)
            snr_b = np.sqrt(b / ns)
            yb = np.interp(np.log(snr_b), np.log(snrs), np.arange(len(snrs))) + 0.5
            ax.plot(np.arange(len(ns)) + 0.5, yb, "--", color="gold", lw=2.5)
            ax.plot(
                np.arange(len(ns)) + 0.5,
                yb,
                "k--",
                lw=1.2,
                label="predicted classification boundary",
            )
            ax.set_xticks(np.arange(len(ns)) + 0.5, [str(v) for v in ns])
            ax.set_yticks(np.arange(len(snrs)) + 0.5, [f"{v:.3g}" for v in snrs])
            ax.set_xlabel("n (training samples)")
            ax.set_ylabel("SNR (log-spaced)")
            ax.set_title(title, fontsize=9)
            ax.legend(fontsize=6, loc="upper left")
    agree = phase_agreement(study)
    return (
        path,
        f"predicted winner agrees with simulation in {agree['agree']}/{agree['cells']} classification cells",
    )


def _drawn_alignments(model: str, arrays: dict, reference: dict) -> dict:
    """The individual alignments fig_ode_vs_gd draws, (T, m) each, with their names: every neuron's alignment
    with mu_{+1} and with one noise patch (diffusion: xi_1; classification: class +1's filters, with the
    xi_i they align with most at the end of the `reference` run)."""
    sig, noi = arrays["signal"], arrays["noise"]
    if model == "diffusion":
        return {"⟨w_r, μ₊₁⟩": sig[:, :, 0], "⟨w_r, ξ_1⟩": noi[:, :, 0]}
    i = int(np.argmax(np.abs(reference["noise"][-1, 0]).max(axis=0)))
    return {"⟨w_(+1,r), μ₊₁⟩": sig[:, 0, :, 0], f"⟨w_(+1,r), ξ_{i + 1}⟩": noi[:, 0, :, i]}


def fig_ode_vs_gd(study: Study, out: Path) -> tuple[Path, str]:
    """(e) reduced ODE against gradient descent (seed 0), individual alignments of every neuron, and their
    residual ODE - GD, one setting per model."""
    path = out / "fig_ode_vs_gd.png"
    nsnr2 = E1_NSNR2[0]
    notes = []
    with figure(path, 2, 2, figsize=(11, 7), squeeze=False) as (fig, axes):
        for col, model in enumerate(MODELS):
            ax, ax_r = axes[0, col], axes[1, col]
            gd, ode = study.get("train", model, nsnr2, 0), study.get("ode", model, nsnr2)
            if not (completed(gd) and completed(ode)):
                continue
            a, b = gd["arrays"], ode["arrays"]
            drawn_gd = _drawn_alignments(model, a, a)
            drawn_ode = _drawn_alignments(model, b, a)
            every = max(1, len(a["steps"]) // 30)
            for (name, vals), q, marker in zip(drawn_gd.items(), ("signal", "noise"), ("o", "s")):
                ode_vals = drawn_ode[name]
                for r in range(vals.shape[1]):
                    ax.plot(
                        a["steps"][::every],
                        vals[::every, r],
                        marker,
                        ms=3,
                        mfc="none",
                        color=COLORS[q],
                        label=f"{name}, gradient descent" if r == 0 else None,
                    )
                    ax.plot(
                        b["steps"],
                        ode_vals[:, r],
                        "-",
                        lw=1,
                        color=COLORS[q],
                        label=f"{name}, reduced ODE" if r == 0 else None,
                    )
                    residual = np.interp(a["steps"], b["steps"], ode_vals[:, r]) - vals[:, r]
                    ax_r.plot(
                        a["steps"],
                        residual,
                        "-",
                        lw=1,
                        color=COLORS[q],
                        label=f"{name}: ODE − GD" if r == 0 else None,
                    )
            n_common = min(len(a["steps"]), len(b["steps"]))
            if np.array_equal(a["steps"][:n_common], b["steps"][:n_common]):
                for q in ("signal", "noise"):
                    gap = np.max(np.abs(a[q][:n_common] - b[q][:n_common]))
                    scale = np.max(np.abs(a[q][:n_common])) + 1e-300
                    notes.append(
                        f"{model}: max |ODE - GD| over every {q} alignment {gap:.3g} ({gap / scale:.2%} "
                        f"of its largest |alignment|)"
                    )
            m = study.preset.m
            ax.set_title(
                f"{model}, n·SNR² = {nsnr2}, seed 0: each of the m = {m} neurons", fontsize=9
            )
            ax.set_xlabel("iteration")
            ax.set_ylabel("alignment")
            ax.legend(fontsize=7)
            ax_r.axhline(0.0, color="k", lw=0.5)
            ax_r.set_title(f"{model}: residual of the same alignments", fontsize=9)
            ax_r.set_xlabel("iteration")
            ax_r.set_ylabel("reduced ODE − gradient descent")
            ax_r.legend(fontsize=7)
    return path, "; ".join(notes)


def fig_stationary(study: Study, out: Path) -> tuple[Path, str]:
    """(f) how the diffusion stationary ratio depends on the width m and the dimension d."""
    path = out / "fig_stationary.png"
    rows = ratio_table(study)
    dep = stationary_dependence(study, rows)
    cmap = colormaps["viridis"]
    notes = []
    p = study.preset
    with figure(path, 1, 2, figsize=(11, 4.8)) as (fig, axes):
        for ax, axis in zip(axes, ("m", "d")):
            default = p.m if axis == "m" else p.d
            seeds = lambda v: f"mean of {p.replicates} seeds" if v == default else "one seed"  # noqa: E731
            items = sorted(dep[axis].items())
            for i, (value, series) in enumerate(items):
                color = cmap(i / max(1, len(items) - 1))
                x = [r["nsnr2"] for r in series["rows"]]
                ax.plot(x, [r["predicted"] for r in series["rows"]], "-", color=color)
                ax.plot(
                    x,
                    [r["simulated"] for r in series["rows"]],
                    "o",
                    mfc="none",
                    color=color,
                    label=f"{axis} = {value}: {seeds(value)}; one fit over the sweep: slope {series['slope']:.2f}",
                )
                notes.append(f"{axis}={value} slope {series['slope']:.2f}")
            ys = np.array(
                [
                    r[k]
                    for _, series in items
                    for r in series["rows"]
                    for k in ("predicted", "simulated")
                    if r[k] is not None
                ],
                dtype=float,
            )
            ys = ys[np.isfinite(ys) & (ys > 0)]
            xs = np.array([r["nsnr2"] for _, series in items for r in series["rows"]], dtype=float)
            if ys.size:
                lo, hi = ys.min() / 1.5, ys.max() * 1.5
                # the slope-1 guide from the lowest data point, clipped to the data's range (no stretched axis)
                x0 = xs.min()
                x1 = min(xs.max(), x0 * hi / ys.min())
                guide = np.geomspace(x0, x1, 20)
                ax.plot(
                    guide,
                    ys.min() * guide / x0,
                    ":",
                    color="gray",
                    label="Θ(n·SNR²) reference, slope 1 (clipped to the data's range)",
                )
                ax.set_ylim(lo, hi)
            ax.plot([], [], "o", mfc="none", color="k", label="markers: gradient descent")
            ax.plot([], [], "-", color="k", label="lines: predicted stationary ratio (theory)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("n·SNR² (log scale)")
            ax.set_ylabel("stationary signal / noise learning\n(diffusion, log scale)")
            fixed = f"d = {study.preset.d}" if axis == "m" else f"m = {study.preset.m}"
            ax.set_title(
                f"diffusion stationary ratio for several {axis} ({fixed}, n = {study.preset.n})",
                fontsize=9,
            )
            ax.legend(fontsize=6, loc="lower right")
    return path, ", ".join(notes)


FIGURES = (fig_synthetic, fig_early_growth, fig_ratio, fig_phase, fig_ode_vs_gd, fig_stationary)
