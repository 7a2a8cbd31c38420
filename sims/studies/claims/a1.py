"""A1, the project's: does training the classifier on noised inputs remove its phase transition?

Read from the augment study (sims.studies.augment; the research rules' design and amendments:
sims.studies.claims.o1): the augmented classifier at research.AUGMENT with fresh draws every step
(--noise resampled, K = 16), the preset's n·SNR² sweep and seeds, run for the same tau = eta * steps
as the plain classifier on the same data (its auto eta is smaller by the model's eta_factor); in the
full preset also over the (n, SNR) phase grid, with the share of cells where the two winners agree.
Figure: both classifiers' ratios and test errors, and their winners over the grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.studies import augment
from sims.studies.augment import KINDS, Augment, crossing
from sims.studies.claims.base import (
    BOTH_LEARNED_RATIO,
    DOES_NOT,
    HOLDS,
    IN_PART,
    LEARNED_GAIN,
    PROJECT,
    Entry,
    Figure,
    Spec,
    both_learned,
    g,
    learned,
    outcome,
    span,
)
from sims.studies.figures import figure
from sims.studies.measures import WINNER_RATIO
from sims.studies.presets import PRESETS
from sims.studies.research import AUGMENT

MARKERS = {"plain": ("s", "gray"), "augmented": ("o", "tab:blue")}
BOTH = (
    f"both features learned (each final alignment > {LEARNED_GAIN:g}x its initial value, ratio "
    f"between "
    f"{BOTH_LEARNED_RATIO[0]:g} and {BOTH_LEARNED_RATIO[1]:g})"
)

SPEC = Spec(
    id="A1",
    claim=f"Training the classifier on noised inputs x_t = α x0 + β ε (α = β = {AUGMENT[0]:.4g}, "
    f"diffusion's default time; fresh draws every step) removes its phase transition: it learns "
    f"both "
    f"features at every n·SNR², as diffusion does.",
    short="noise augmentation removes the classifier's phase transition",
    rule=(
        f"holds if the augmented classifier has {BOTH} at every n·SNR² of the sweep; '{DOES_NOT}' "
        f"if it "
        f"keeps both ends of the plain classifier's transition: at the lowest n·SNR² the noise "
        f"wins "
        f"(ratio < {WINNER_RATIO:g}) and the signal is not learned, at the highest the signal wins "
        f"(ratio > {WINNER_RATIO:g}) and the noise is not learned; '{IN_PART}' otherwise (the "
        f"transition is moved or softened, but not removed)."
    ),
    origin=PROJECT,
)
STUDY = augment.STUDY


def judged(rows: list) -> Entry:
    """The rule on the augmented classifier's rows (nsnr2, ratio, signal_gain, noise_gain), sorted
    by n·SNR² here."""
    rows = sorted(rows, key=lambda r: r.nsnr2)
    per = [
        {"nsnr2": r.nsnr2, "outcome": outcome(r), "ratio": r.ratio, "both_learned": both_learned(r)}
        for r in rows
    ]
    low, high = rows[0], rows[-1]
    keeps_transition = (
        low.ratio < WINNER_RATIO
        and not learned(low.signal_gain)
        and high.ratio > WINNER_RATIO
        and not learned(high.noise_gain)
    )
    verdict = (
        HOLDS if all(p["both_learned"] for p in per) else DOES_NOT if keeps_transition else IN_PART
    )
    return SPEC.entry(verdict, {"keeps_both_ends": keeps_transition, "per_nsnr2": per})


def verdict(m: Augment) -> Entry:
    entry = judged(m.rows["augmented"])
    entry.measured.update(
        {
            "crossing_nsnr2": {kind: crossing(m.rows[kind]) for kind in KINDS},
            "test_error": {
                kind: {r.nsnr2: r.value("test_error") for r in m.rows[kind]} for kind in KINDS
            },
            "plain_classifier": [
                {
                    "nsnr2": r.nsnr2,
                    "ratio": r.ratio,
                    "signal_gain": r.signal_gain,
                    "noise_gain": r.noise_gain,
                }
                for r in m.rows["plain"]
            ],
            "diffusion_eps_ratio": {r.nsnr2: r.ratio for r in m.denoiser},
        }
    )
    if m.grid is not None:
        entry.measured["phase_grid_same_winner"] = m.grid.same_winner
    return SPEC.entry(entry.verdict, entry.measured, note=m.note)


def paragraph(e: dict) -> str:
    m = e["measured"]
    cross = m["crossing_nsnr2"]
    grid = m.get("phase_grid_same_winner")
    grid_text = (
        f"; the same winner in {grid['same']} of {grid['cells']} (n, SNR) cells" if grid else ""
    )
    per = m["per_nsnr2"]
    return (
        f"Its final ratio is {span(p['ratio'] for p in per)} over n·SNR² = "
        f"{span(p['nsnr2'] for p in per)} (the plain classifier's "
        f"{span(p['ratio'] for p in m['plain_classifier'])}, eps diffusion's "
        f"{span(m['diffusion_eps_ratio'].values())}); its ratio crosses 1 at n·SNR² = "
        f"{g(cross['augmented'])} against {g(cross['plain'])} for the plain classifier{grid_text}; "
        f"both "
        f"ends keep one feature alone: {m['keeps_both_ends']}."
    )


def figures(m: Augment, out: Path) -> list[Figure]:
    return [fig_augment(m, out)]


def fig_augment(m: Augment, out: Path) -> Figure:
    """(a) final ratio against n·SNR²: plain and augmented classifier (descent: markers), eps
    diffusion (stationary point: line); (b) their test errors; (c, d) winners over the (n, SNR) grid
    (full preset)."""
    path = out / "fig_augment.png"
    size, grid = m.size, m.grid
    rows = {**m.rows, "diffusion": m.denoiser}
    cols = 4 if grid is not None else 2
    with figure(path, 1, cols, figsize=(4.2 * cols, 4.2)) as (fig, axes):
        ax = axes[0]
        for kind in KINDS:
            marker, color = MARKERS[kind]
            ax.plot(
                [r.nsnr2 for r in rows[kind]],
                [r.ratio for r in rows[kind]],
                marker,
                color=color,
                mfc="none",
                label=f"{kind} classifier (descent)",
            )
        ax.plot(
            [r.nsnr2 for r in rows["diffusion"]],
            [r.ratio for r in rows["diffusion"]],
            "-",
            color="tab:green",
            label="diffusion, eps (stationary point)",
        )
        ax.axhline(WINNER_RATIO, color="lightgray", lw=1)
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
                [r.nsnr2 for r in rows[kind]],
                [r.value("test_error") for r in rows[kind]],
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
            p = PRESETS[size.model]
            for ax, kind in zip(axes[2:], KINDS):
                image = np.log10(grid.ratio[kind])
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
        f"{kind}: ratio {min(r.ratio for r in rows[kind]):.3g} to "
        f"{max(r.ratio for r in rows[kind]):.3g}"
        for kind in (*KINDS, "diffusion")
    )
    return Figure(path.name, text)
