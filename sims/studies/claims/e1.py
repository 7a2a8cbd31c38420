"""E1, the paper's: its synthetic figure, at n·SNR² = 0.75 and 6.75 — diffusion learns both
features, classification learns one (the noise at the lower setting, the signal at the higher).

Read from the synthetic study (sims.studies.synthetic): both models' final ratio (mean of the seeds)
at the paper's two settings. Figures (a), the paper's synthetic figure with the reduced ODE
overlaid, and (e), the reduced ODE against gradient descent neuron by neuron.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.models import Model
from sims.studies import synthetic
from sims.studies.cells import Trace
from sims.studies.claims.base import (
    BOTH_LEARNED_RATIO,
    BOTH_RATIO,
    IN_PART,
    OTHERWISE,
    PAPER,
    Entry,
    Figure,
    Spec,
    g,
    verdict as judge,
)
from sims.studies.figures import (
    COLORS,
    EARLY_SHARE,
    ODE_RESOLUTION,
    figure,
    settings_of,
    study_settings,
    wrap,
)
from sims.studies.measures import WINNER_RATIO
from sims.studies.presets import E1_NSNR2
from sims.studies.synthetic import CLASSIFIER, DENOISER, Ode, RatioRow, Synthetic, Train

LOW, HIGH = (f"{v:g}" for v in E1_NSNR2)

SPEC = Spec(
    id="E1",
    claim=f"Synthetic figure at n·SNR² = {LOW} and {HIGH}: diffusion learns both; classification "
    f"learns "
    f"one (noise at {LOW}, signal at {HIGH}).",
    short=f"the synthetic figure (n·SNR² = {LOW}, {HIGH}): diffusion both, classification one",
    rule=(
        f"holds if at n·SNR² = {LOW} and {HIGH} diffusion learns both features ({BOTH_RATIO}) "
        f"while "
        f"classification learns noise at {LOW} (ratio < {WINNER_RATIO:g}) and signal at {HIGH} "
        f"(ratio > "
        f"{WINNER_RATIO:g}); '{IN_PART}' if only one model behaves as claimed; {OTHERWISE}"
    ),
    origin=PAPER,
)
STUDY = synthetic.STUDY


def _at_e1(rows: dict) -> dict[tuple, RatioRow]:
    """{(model name, n·SNR²): RatioRow} at the paper's two settings, from {model name:
    [RatioRow]}."""
    return {
        (m.name, r.nsnr2): r
        for m in synthetic.PAPER_PAIR
        for r in rows[m.name]
        if r.nsnr2 in E1_NSNR2
    }


def judged(rows: dict) -> Entry:
    """The rule on the ratio table ({model name: [RatioRow]}), which holds the paper's two
    settings."""
    at = _at_e1(rows)
    low, high = E1_NSNR2
    diff_ok = all(
        BOTH_LEARNED_RATIO[0] < at[(DENOISER.name, v)].final_ratio < BOTH_LEARNED_RATIO[1]
        for v in E1_NSNR2
    )
    cls_ok = (
        at[(CLASSIFIER.name, low)].final_ratio
        < WINNER_RATIO
        < at[(CLASSIFIER.name, high)].final_ratio
    )
    measured = {}
    for (m, v), r in at.items():
        measured[f"{m}_{v}"] = {
            "ratio": r.final_ratio,
            "signal": r.final_signal,
            "noise": r.final_noise,
        }
        if r.test_error is not None:
            measured[f"{m}_{v}"]["test_error"] = r.test_error
    return SPEC.entry(judge(diff_ok and cls_ok, diff_ok or cls_ok), measured)


def verdict(s: Synthetic) -> Entry:
    return judged(s.rows)


def paragraph(e: dict) -> str:
    parts = []
    for model in synthetic.PAPER_PAIR:
        for v in E1_NSNR2:
            r = e["measured"][f"{model.name}_{v}"]
            parts.append(
                f"{model.name} at n·SNR² = {v:g}: ratio {g(r['ratio'])} (signal {g(r['signal'])}, "
                f"noise {g(r['noise'])})"
            )
    return "Final signal/noise ratio, mean of the seeds: " + "; ".join(parts) + "."


def figures(s: Synthetic, out: Path) -> list[Figure]:
    return [fig_synthetic(s, out), fig_ode_vs_gd(s, out)]


def fig_synthetic(s: Synthetic, out: Path) -> Figure:
    """(a) the headline alignments over iterations, both models, n SNR^2 = 0.75 and 6.75, like with
    like: seed 0's gradient descent (markers) and the reduced ODE of seed 0 (line: the same data,
    initial weights and eta), with the min-max band of descent over the seeds for the spread; the
    diffusion panels' inset zooms into the first EARLY_SHARE of the run, where D1's near-linear
    growth is."""
    path = out / "fig_synthetic.png"
    p = s.preset
    settings = settings_of(p) + f", {p.replicates} seeds; steps per panel in its title"
    with figure(path, 2, 2, figsize=(14, 7.8), settings=settings) as (fig, axes):
        for i, model in enumerate(synthetic.PAPER_PAIR):
            for j, nsnr2 in enumerate(E1_NSNR2):
                ax = axes[i, j]
                curves = s.seed_curves(model.name, nsnr2)
                seed0 = s.results[Train(model.name, nsnr2, 0)]
                ode = s.results[Ode(model.name, nsnr2)]
                inset = None
                if not model.look.log_axis and seed0.finished:
                    inset = ax.inset_axes([0.42, 0.1, 0.55, 0.45])
                for q in ("signal", "noise"):
                    if curves is not None:
                        ax.fill_between(
                            curves.steps,
                            getattr(curves, f"{q}_min"),
                            getattr(curves, f"{q}_max"),
                            color=COLORS[q],
                            alpha=0.15,
                            lw=0,
                            label=f"{q}: gradient descent, min-max over {curves.seeds} seeds",
                        )
                    if seed0.finished:
                        t = seed0.trace
                        every = max(1, len(t.steps) // 40)
                        style = dict(ms=4, mfc="none", color=COLORS[q])
                        values = getattr(t, f"{q}_max")
                        ax.plot(
                            t.steps[::every],
                            values[::every],
                            "o",
                            label=f"{q}: gradient descent, seed 0",
                            **style,
                        )
                        if inset is not None:
                            early = t.steps <= EARLY_SHARE * t.steps[-1]
                            step = max(1, early.sum() // 25)
                            inset.plot(t.steps[early][::step], values[early][::step], "o", **style)
                    if ode.finished:
                        line = dict(lw=1, color=COLORS[q])
                        b = ode.trace
                        ax.plot(
                            b.steps,
                            getattr(b, f"{q}_max"),
                            "-",
                            label=f"{q}: reduced ODE, seed 0 (same data, W0, η)",
                            **line,
                        )
                        if inset is not None:
                            early = b.steps <= EARLY_SHARE * seed0.trace.steps[-1]
                            inset.plot(b.steps[early], getattr(b, f"{q}_max")[early], "-", **line)
                if inset is not None:
                    inset.set_title(
                        f"first {EARLY_SHARE:.0%} of the run (linear axes)", fontsize=7, pad=2
                    )
                    inset.tick_params(labelsize=6)
                    ax.indicate_inset_zoom(inset, edgecolor="gray")
                eta = (
                    f"η = {seed0.run.eta:.3g}, {seed0.run.steps_run} steps"
                    if seed0.finished
                    else ""
                )
                ax.set_title(
                    f"{model.name}, n·SNR² = {nsnr2} (seed 0: {eta or 'no finished run'})",
                    fontsize=9,
                )
                ax.set_xlabel("iteration")
                scale = " (log scale)" if model.look.log_axis else ""
                ax.set_ylabel(
                    f"signal = {model.look.signal}\nnoise = {model.look.noise}{scale}"
                    if j == 0
                    else f"alignment{scale}",
                    fontsize=8,
                )
                if model.look.log_axis:
                    ax.set_yscale("log")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(
            handles, labels, loc="outside right center", fontsize=7
        )  # one legend: six entries
        fig.suptitle(
            wrap(
                "Signal and noise learning (as in the paper's Figure 2), like with like: seed 0's "
                "gradient descent (markers) and the reduced ODE of seed 0 (lines); the band is "
                "descent's spread over the seeds. The panels' step sizes η differ (auto η shrinks "
                "as n·SNR² grows): compare panels in τ = η·iteration, not in iterations.",
                110,
            ),
            fontsize=9,
        )
    at = _at_e1(s.rows)
    text = "; ".join(
        f"{m} n·SNR²={v}: signal {r.final_signal:.3g}, noise {r.final_noise:.3g}, "
        f"ratio {r.final_ratio:.3g} (means over {r.runs} seeds)"
        for (m, v), r in at.items()
    )
    return Figure(path.name, text)


def _drawn_alignments(model: Model, trace: Trace, reference: Trace) -> dict:
    """The individual alignments fig_ode_vs_gd draws, (T, m) each, with their names: the alignment
    of every filter that answers class +1 (`class_alignments`) with mu_{+1} and with the noise patch
    xi_i those filters align with most (|.|) at the end of the `reference` run."""
    sig, noi = model.class_alignments(trace.signal, trace.noise)
    i = int(
        np.argmax(
            np.abs(model.class_alignments(reference.signal, reference.noise)[1][-1]).max(axis=0)
        )
    )
    w = model.look.filter
    return {f"⟨{w}, μ₊₁⟩": sig[:, :, 0], f"⟨{w}, ξ_{i + 1}⟩": noi[:, :, i]}


def fig_ode_vs_gd(s: Synthetic, out: Path) -> Figure:
    """(e) reduced ODE against gradient descent (seed 0), individual alignments of every neuron, and
    their residual ODE - GD, one setting per model."""
    path = out / "fig_ode_vs_gd.png"
    nsnr2 = E1_NSNR2[0]
    notes = []
    with figure(
        path,
        2,
        2,
        figsize=(11, 7.3),
        squeeze=False,
        settings=study_settings(s.preset),
    ) as (fig, axes):
        for col, model in enumerate(synthetic.PAPER_PAIR):
            ax, ax_r = axes[0, col], axes[1, col]
            gd, ode = s.results[Train(model.name, nsnr2, 0)], s.results[Ode(model.name, nsnr2)]
            if not (gd.finished and ode.finished):
                continue
            a, b = gd.trace, ode.trace
            drawn_gd = _drawn_alignments(model, a, a)
            drawn_ode = _drawn_alignments(model, b, a)
            every = max(1, len(a.steps) // 30)
            for (name, vals), q, marker in zip(drawn_gd.items(), ("signal", "noise"), ("o", "s")):
                ode_vals = drawn_ode[name]
                for r in range(vals.shape[1]):
                    ax.plot(
                        a.steps[::every],
                        vals[::every, r],
                        marker,
                        ms=3,
                        mfc="none",
                        color=COLORS[q],
                        label=f"{name}, gradient descent" if r == 0 else None,
                    )
                    ax.plot(
                        b.steps,
                        ode_vals[:, r],
                        "-",
                        lw=1,
                        color=COLORS[q],
                        label=f"{name}, reduced ODE" if r == 0 else None,
                    )
                    residual = np.interp(a.steps, b.steps, ode_vals[:, r]) - vals[:, r]
                    # below the ODE's own accuracy the residual is the solver's error, which moves
                    # with the BLAS kernel: drawn on a grid of that size (0 where it is below)
                    step = ODE_RESOLUTION * np.max(np.abs(vals))
                    residual = np.round(residual / step) * step if step > 0 else residual
                    ax_r.plot(
                        a.steps,
                        residual,
                        "-",
                        lw=1,
                        color=COLORS[q],
                        label=f"{name}: ODE − GD" if r == 0 else None,
                    )
            n_common = min(len(a.steps), len(b.steps))
            if np.array_equal(a.steps[:n_common], b.steps[:n_common]):
                for q in ("signal", "noise"):
                    ours, theirs = getattr(a, q)[:n_common], getattr(b, q)[:n_common]
                    gap = np.max(np.abs(ours - theirs))
                    scale = np.max(np.abs(ours)) + 1e-300
                    notes.append(
                        f"{model.name}: max |ODE - GD| over every {q} alignment {gap:.3g} "
                        f"({gap / scale:.2%} "
                        f"of its largest |alignment|)"
                    )
            m = s.preset.m
            ax.set_title(
                f"{model.name}, n·SNR² = {nsnr2}, seed 0: each of the m = {m} neurons", fontsize=9
            )
            ax.set_xlabel("iteration")
            ax.set_ylabel("alignment")
            ax.legend(fontsize=7)
            ax_r.axhline(0.0, color="k", lw=0.5)
            ax_r.set_title(f"{model.name}: residual of the same alignments", fontsize=9)
            ax_r.set_xlabel("iteration")
            ax_r.set_ylabel("reduced ODE − gradient descent")
            ax_r.legend(fontsize=7)
    return Figure(path.name, "; ".join(notes))
