"""The Noisy-MNIST figures: learned filters as images, alignments over training, and the n SNR^2
sweep.

Filters. A filter w_r in R^784 acts on both patches, so its "signal half" and "noise half" are the
parts of w_r that came from each patch: w_r = X1^T a + X2^T b + rest, solved by least squares over
the 2n data rows (`decompose`). X1^T a (a combination of training images) is what the filter learned
from the images, X2^T b (a combination of noise patches) what it memorised, and `rest` (orthogonal
to all data) is the initialisation's part outside the data's span: gradient descent moves W only
inside the data span for the classifier (its rest is the initial one), and for the diffusion model
outside it only by rescaling (its rest is the initial one rescaled, so not "the initialisation").
`plot_filters` shows all four as 28 x 28 images on one colour scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.models import PAPER_PAIR
from sims.studies.figures import COLORS, figure
from sims.studies.mnist_data import CREDIT, SIDE


def decompose(w: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> dict[str, np.ndarray]:
    """w = X1^T a + X2^T b + rest by least squares over the 2n data rows: the filter's image part,
    noise part and the remainder orthogonal to all data (the surviving initialisation)."""
    coef, *_ = np.linalg.lstsq(np.vstack([x1, x2]).T, w, rcond=None)
    n = x1.shape[0]
    image_part, noise_part = x1.T @ coef[:n], x2.T @ coef[n:]
    return {
        "filter": w,
        "image": image_part,
        "noise": noise_part,
        "rest": w - image_part - noise_part,
    }


def make_figures(out: Path, result: dict, arrays: dict, shown: list, digits: tuple) -> dict:
    """{name: (file name relative to out, caption)} for the filter, alignment and sweep figures;
    filters and alignments at the n SNR^2 values `shown`."""
    repeats = _repeats(arrays)
    s = result.get("settings", {})
    settings = (
        f"n = {s['n']}, d = {s['d']}, m = {s['m']}, σ₀ = {s['sigma0']:g}, {s['steps']} steps, "
        f"{s['repeats']} repeat(s), digits {digits[0]} and {digits[1]}"
        if {"n", "d", "m", "sigma0", "steps", "repeats"} <= set(s)
        else None
    )
    plot_filters(out / "mnist_filters.png", arrays, shown, digits, settings)
    plot_alignment(out / "mnist_alignment.png", arrays, shown, result["runs"], settings)
    plot_sweep(out / "mnist_sweep.png", result["runs"], result["comparison"], settings)
    spread = f"mean of {repeats} repeats, band: min-max over them" if repeats > 1 else "one repeat"
    return {
        "filters": (
            "mnist_filters.png",
            f"Learned filters (repeat 0) as {SIDE}×{SIDE} images at n·SNR² = "
            f"{', '.join(f'{v:g}' for v in shown)}. "
            "Columns: the filter w, its image part (least-squares combination of the training "
            "images), "
            "its noise part (combination of the noise patches ξ_i), its part outside the data's "
            "span (the initial filter's part no gradient reaches: unchanged for the classifier, "
            "rescaled in training for diffusion). Every panel on one colour scale. "
            "Rows: diffusion (the neuron with the largest class-mean alignment), classification "
            "filters "
            f"of digit {digits[0]} and digit {digits[1]}. Percentages: share of ‖w‖². "
            + CREDIT
            + ".",
        ),
        "alignment": (
            "mnist_alignment.png",
            "Signal learning (alignment with the class-mean images μ_j) and noise memorisation ⟨w, "
            "ξ_i⟩ "
            f"over the iterations of gradient descent ({spread}); diffusion on a linear axis, "
            "classification on a log axis. " + CREDIT + ".",
        ),
        "sweep": (
            "mnist_sweep.png",
            "Final signal/noise ratio of both models and the classifier's held-out test accuracy "
            "against "
            f"n·SNR² (markers: each of the {repeats} repeat(s); line: median over them; dotted: "
            f"chance, "
            "accuracy 0.5). " + CREDIT + ".",
        ),
    }


def _by_model(runs) -> dict:
    """The runs (rows of mnist.json) of each model, by its name."""
    out: dict = {}
    for r in runs:
        out.setdefault(r["model"], []).append(r)
    return out


def _repeats(arrays: dict) -> int:
    return len({k.split("_repeat=")[1].split("/")[0] for k in arrays if "_repeat=" in k})


PARTS = {  # the four columns of plot_filters and their titles
    "filter": "filter w",
    "image": "image part",
    "noise": "noise part",
    "rest": "outside the data's span",
}


def plot_filters(path: Path, arrays: dict, shown: list, digits: tuple, settings=None) -> None:
    """Each shown filter and its three parts (`decompose`) as 28 x 28 images, every panel on one
    colour scale (one colorbar): the parts of a filter add up to it, and the rows are compared."""
    rows = []  # (n SNR^2, label, filter): each model's filters to show (its `top_filters`)
    for nsnr2 in shown:
        mu = arrays[f"data_nsnr2={nsnr2:g}/mu"]
        for model in PAPER_PAIR:
            filters = model.top_filters(arrays[f"{model.name}_nsnr2={nsnr2:g}_repeat=0/W"], mu)
            for j, w in enumerate(filters):
                label = model.name if len(filters) == 1 else f"{model.name}, digit {digits[j]}"
                rows.append((nsnr2, label, w))
    parts = []
    for nsnr2, _, w in rows:
        x1, x2 = (arrays[f"data_nsnr2={nsnr2:g}/{k}"] for k in ("x1", "x2"))
        parts.append(decompose(w, x1, x2))
    vmax = max(float(np.abs(p[k]).max()) for p in parts for k in PARTS) or 1.0
    height = 2.1 * len(rows) + 1.5
    with figure(
        path, len(rows), 4, figsize=(9.4, height), layout=None, squeeze=False, settings=settings
    ) as (fig, axes):
        fig.subplots_adjust(
            left=0.1,
            right=0.86,
            bottom=0.6 / height,
            top=1 - 0.85 / height,
            wspace=0.25,
            hspace=0.45,
        )  # a fixed layout (constrained layout costs ~3 s here); room for the caption below
        for i, (nsnr2, label, w) in enumerate(rows):
            total = float(w @ w) or 1.0
            for col, key in enumerate(PARTS):
                ax = axes[i, col]
                part = parts[i][key]
                image = ax.imshow(
                    part.reshape(SIDE, SIDE), cmap="RdBu_r", vmin=-vmax, vmax=vmax
                )  # one scale for every panel
                share = "" if key == "filter" else f" {100 * float(part @ part) / total:.0f}%"
                ax.set_title(f"{PARTS[key]}{share}", fontsize=8)
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_xlabel("pixel column", fontsize=6)
                if col == 0:
                    ax.set_ylabel(f"{label}\nn·SNR² = {nsnr2:g}\npixel row", fontsize=7)
        bar = fig.add_axes((0.89, 0.6 / height + 0.1, 0.02, 1 - 0.85 / height - 0.6 / height - 0.2))
        fig.colorbar(image, cax=bar, label="filter value (one scale for every panel)")
        fig.suptitle(
            "Noisy-MNIST filters: red > 0, blue < 0, every panel on one colour scale; % = share of "
            "‖w‖²; outside the data's span: the initial filter's part that no gradient reaches "
            "(unchanged for the classifier, rescaled in training for diffusion)\n"
            f"({CREDIT})",
            fontsize=8,
            wrap=True,
        )


def plot_alignment(path: Path, arrays: dict, shown: list, runs: list = (), settings=None) -> None:
    repeats = _repeats(arrays)
    by_model = _by_model(runs)
    size = (4.6 * len(shown), 7.2)
    with figure(path, 2, len(shown), figsize=size, squeeze=False, settings=settings) as (fig, axes):
        for col, nsnr2 in enumerate(shown):
            for row, model in enumerate(PAPER_PAIR):
                keys = [f"{model.name}_nsnr2={nsnr2:g}_repeat={r}" for r in range(repeats)]
                keys = [k for k in keys if f"{k}/steps" in arrays]
                ax = axes[row, col]
                steps = arrays[f"{keys[0]}/steps"]
                for q, marker in (("signal", "o"), ("noise", "s")):
                    stack = np.array([arrays[f"{k}/{q}"] for k in keys])
                    if len(keys) > 1:
                        ax.fill_between(
                            steps,
                            stack.min(axis=0),
                            stack.max(axis=0),
                            color=COLORS[q],
                            alpha=0.15,
                            lw=0,
                            label=f"{q}: min-max over {len(keys)} repeats",
                        )
                    every = max(1, len(steps) // 40)
                    ax.plot(
                        steps[::every],
                        stack.mean(axis=0)[::every],
                        marker,
                        ms=4,
                        mfc="none",
                        color=COLORS[q],
                        label=f"{q} = {getattr(model.look, q)}"
                        + (f", mean of {len(keys)} repeats" if len(keys) > 1 else ", one repeat"),
                    )
                if model.look.log_axis:
                    ax.set_yscale("log")
                etas = sorted(
                    {r["eta"] for r in by_model.get(model.name, []) if r["nsnr2"] == nsnr2}
                )
                eta = (
                    f" (η = {etas[0]:.3g})"
                    if len(etas) == 1
                    else (f" (η = {etas[0]:.3g} to {etas[-1]:.3g})" if etas else "")
                )
                ax.set_title(f"{model.name}, n·SNR² = {nsnr2:g}{eta}", fontsize=9)
                ax.set_xlabel("iteration")
                ax.set_ylabel("alignment" + (" (log scale)" if model.look.log_axis else ""))
                ax.legend(fontsize=6.5)
        fig.suptitle(
            f"Noisy-MNIST alignment over training; μ_j: class-mean image; the panels' η differ: "
            f"compare them in "
            f"τ = η·iteration\n({CREDIT})",
            fontsize=9,
        )


def plot_sweep(path: Path, runs: list, comparison: list, settings=None) -> None:
    repeats = max((r.get("repeats", 1) for r in comparison), default=1)
    with figure(path, 1, 2, figsize=(9.6, 4.1), settings=settings) as (fig, (ax_ratio, ax_acc)):
        x = [r["nsnr2"] for r in comparison]
        by_model = _by_model(runs)
        for model in PAPER_PAIR:
            sel = by_model.get(model.name, [])
            ax_ratio.plot(
                x,
                [r[f"{model.name}_ratio"] for r in comparison],
                "-",
                lw=1,
                color=model.look.color,
                label=f"{model.name}: median of {repeats} repeat(s)",
            )
            ax_ratio.plot(
                [r["nsnr2"] for r in sel],
                [r["ratio"] for r in sel],
                model.look.marker,
                color=model.look.color,
                mfc="none",
                ms=5,
                label=f"{model.name}: each repeat",
            )
        ax_ratio.axhline(1.0, color="grey", lw=0.6, ls=":", label="ratio 1")
        ax_ratio.set_xscale("log")
        ax_ratio.set_yscale("log")
        ax_ratio.set_xlabel("n·SNR² (log scale)")
        ax_ratio.set_ylabel("signal / noise learning, end (log scale)")
        ax_ratio.legend(fontsize=7)
        # the classifier's held-out test accuracy
        classifier = PAPER_PAIR[1]
        sel = by_model.get(classifier.name, [])
        color = classifier.look.color
        ax_acc.plot(
            x,
            [r[f"{classifier.name}_test_accuracy"] for r in comparison],
            "-",
            lw=1,
            color=color,
            label=f"median of {repeats} repeat(s)",
        )
        ax_acc.plot(
            [r["nsnr2"] for r in sel],
            [r["test_accuracy"] for r in sel],
            classifier.look.marker,
            color=color,
            mfc="none",
            ms=5,
            label="each repeat",
        )
        ax_acc.axhline(0.5, color="grey", lw=0.8, ls=":", label="chance (accuracy 0.5)")
        ax_acc.set_xscale("log")
        ax_acc.set_ylim(0.0, 1.02)
        ax_acc.set_xlabel("n·SNR² (log scale)")
        ax_acc.set_ylabel("classifier test accuracy (held-out images)")
        ax_acc.legend(fontsize=7, loc="lower right")
        fig.suptitle(f"Noisy-MNIST across n·SNR² ({CREDIT})", fontsize=9)
