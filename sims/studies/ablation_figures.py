"""The tying ablation's figures (claims U1 and U2): one layout, drawn for the series a claim
compares.

Columns: the two noise scales sigma_xi. Rows: (a) the signal/noise ratio at tau_read against
n·SNR²; (b) the signal and noise gains over initialisation there; (c) the growth shape: the
linearity index of every series' growth-shape flow (D1's measure: 1 for linear growth). The exact
gradient flow (seed means) is drawn as lines, gradient descent at the automatic step (seed 0) as
markers where it follows the flow (absent where its loss rose: it left the flow, and where it then
ends depends on rounding; absent where it diverged), the theory's closed forms in grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.studies.ablation import SERIES, SHAPE_NSNR2, TIED, Ablation
from sims.studies.claims.base import LEARNED_GAIN, Figure
from sims.studies.claims.d1 import LINEAR_INDEX
from sims.studies.figures import figure, wrap
from sims.studies.presets import EARLY_SIGMA0, PRESETS

FORMULA = "n_j‖μ‖²/‖ξ‖² (every model's early rate ratio)"


def _style(series, M: int) -> dict:
    return {"ls": "-" if (series.m or M) == M else "--", "lw": 1.8 if (series.m or M) == M else 1.2}


def draw(m: Ablation, path: Path, shown: tuple, growth: bool = True) -> Figure:
    """The figure for the series `shown` (sims.studies.ablation.Series), written to `path`; rows
    (a) and (b), and (c) if `growth`."""
    M, x = m.m, np.array(m.size.nsnr2)
    cols = m.size.sigma_xi
    steps = {v: s for (_, v), (s, _) in m.tau_read.items()}
    p = PRESETS[m.size.model]
    title = (
        f"{', '.join(s.label(M) for s in shown)}: n = {p.n}, d = {p.d}, σ0 = {p.sigma0:g}, "
        f"noise prediction at α = β = 1/√2 (exact loss), {m.size.replicates} seed(s); read at "
        f"τ_read = steps·η ({', '.join(f'{steps[v]} steps at n·SNR² = {v:g}' for v in x)}). "
        "Lines: exact gradient flow (seed mean); markers: gradient descent at the automatic step "
        "(seed 0), drawn where it follows the flow (not where its loss rose: it left the flow and "
        "its end depends on rounding; not where it diverged); grey: theory."
    )
    rows = 3 if growth else 2
    size = (8 * len(cols), 4 * rows)  # room for the legends of (a) and (b) beside their axes
    with figure(path, rows, len(cols), figsize=size, squeeze=False) as (fig, axes):
        fig.suptitle(wrap(title, int(13 * size[0])), fontsize=9)  # ~13 characters per inch
        for j, sx in enumerate(cols):
            theory = [m.theory[sx, v] for v in x]
            G_n = theory[0].G_n
            eff = theory[0].effective_nsnr2 / x[0]
            ax = axes[0, j]
            ax.plot(x, [t.rate_ratio for t in theory], color="grey", ls=":", lw=1.2, label=FORMULA)
            if TIED in shown:  # the tied law is drawn beside the tied series
                for width, ls in ((M, "-."), (1, (0, (1, 3)))):
                    fine, ratios = m.laws[sx, width]
                    ax.plot(
                        fine,
                        ratios,
                        color="grey",
                        ls=ls,
                        lw=1.2,
                        label=f"tied law, m = {width} (theory.law)",
                    )
            for s in shown:
                label, look = s.label(M), m.looks[s.label(M)]
                flows = m.flows[label, sx]
                ax.plot(x, [f.ratio for f in flows], color=look.color, label=label, **_style(s, M))
                ax.plot(
                    x,
                    [f.value("end_ratio") for f in flows],
                    color=look.color,
                    alpha=0.35,
                    lw=1,
                    ls=":",
                )
                for v, d in zip(x, m.descents[label, sx]):
                    if d.diverged is None and not d.loss_rises:
                        ax.plot(v, d.ratio, look.marker, color=look.color, ms=7)
            ax.set(
                xscale="log",
                yscale="log",
                xlabel="n·SNR² (log)",
                ylabel="signal / noise at τ_read (magnitudes)",
                title=wrap(
                    f"(a) σ_ξ = {sx:g}: noise group G_n = {G_n:.3g}, n·SNR_eff² = {eff:.3g} "
                    f"n·SNR²; faint dotted: the flow at 10 τ_read",
                    55,
                ),
            )
            ax.title.set_fontsize(9)
            ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # many entries
            ax = axes[1, j]
            for s in shown:
                label, look = s.label(M), m.looks[s.label(M)]
                flows = m.flows[label, sx]
                style = _style(s, M)
                ax.plot(
                    x,
                    [f.signal_gain for f in flows],
                    color=look.color,
                    marker="o",
                    label=f"{label}: signal",
                    **style,
                )
                ax.plot(
                    x,
                    [f.noise_gain for f in flows],
                    color=look.color,
                    marker="s",
                    mfc="none",
                    alpha=0.6,
                    label=f"{label}: noise",
                    **style,
                )
            ax.axhline(LEARNED_GAIN, color="grey", lw=1, ls=":", label="learned above this")
            ax.set(
                xscale="log",
                yscale="log",
                xlabel="n·SNR² (log)",
                ylabel="alignment at τ_read / at τ = 0 (flow)",
                title=f"(b) σ_ξ = {sx:g}: gains over initialisation (ξ: noise patches)",
            )
            ax.title.set_fontsize(9)
            ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # many entries
            if not growth:
                continue
            ax = axes[2, j]
            labels = [series.label(M) for series in SERIES]
            index = [m.linearity[label, sx].index for label in labels]
            bars = ax.bar(
                np.arange(len(labels)),
                index,
                color=[m.looks[label].color for label in labels],
            )
            for bar, label in zip(bars, labels):
                bar.set_alpha(0.5 if label.endswith("m = 1") else 1.0)
            for k, v in enumerate(index):
                ax.text(k, v, f"{v:.3g}", ha="center", va="bottom", fontsize=7)
            ax.axhline(1.0, color="grey", ls=":", lw=1.2, label="linear growth: 1")
            ax.axhline(
                LINEAR_INDEX,
                color="grey",
                ls="--",
                lw=1,
                label=f"D1's near-linear bound {LINEAR_INDEX:g}",
            )
            ax.set_xticks(np.arange(len(labels)), labels, rotation=25, ha="right", fontsize=7)
            ax.set(
                yscale="log",
                ylabel="linearity index (log)",
                title=wrap(
                    f"(c) σ_ξ = {sx:g}: growth shape, on each model's own summary, flow from "
                    f"{EARLY_SIGMA0:g} σ0 at n·SNR² = {SHAPE_NSNR2:g} (exponential: above 1)",
                    55,
                ),
            )
            ax.title.set_fontsize(9)
            ax.legend(fontsize=6)
    summary = "; ".join(
        f"{s.label(M)}, σ_ξ = {sx:g}: ratio "
        + ", ".join(f"{f.ratio:.3g}" for f in m.flows[s.label(M), sx])
        for s in shown
        for sx in cols
    )
    return Figure(
        path.name, f"ratios at τ_read over n·SNR² = {', '.join(f'{v:g}' for v in x)}: " + summary
    )
