"""The tying ablation's figures (claims U1 and U2): one layout, drawn for the series a claim
compares.

Columns: the two noise scales sigma_xi. Rows: (a) the signal/noise ratio at tau_read against
n·SNR²; (b) the signal and noise gains over initialisation there; (c) the growth: the
growth-phase ratio over the rate-ratio formula n_j ||mu||^2 / ||xi||^2 against n·SNR², and the
linearity index of the growth-shape flows (in the legend). The exact gradient flow (seed means) is
drawn as lines, gradient descent at the automatic step (seed 0) as markers (hollow where its loss
rose: it left the flow; absent where it diverged), the theory's closed forms in grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sims.studies.ablation import TIED, Ablation
from sims.studies.claims.base import LEARNED_GAIN, Figure
from sims.studies.figures import figure, wrap
from sims.studies.presets import PRESETS

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
        "(seed 0; hollow: its loss rose, it left the flow; missing: it diverged); grey: theory."
    )
    rows = 3 if growth else 2
    size = (5.5 * len(cols), 4 * rows)
    with figure(path, rows, len(cols), figsize=size, squeeze=False) as (fig, axes):
        fig.suptitle(wrap(title, 150), fontsize=9)
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
                    if d.diverged is None:
                        ax.plot(
                            v,
                            d.ratio,
                            look.marker,
                            color=look.color,
                            mfc="none" if d.loss_rises else look.color,
                            ms=7,
                        )
            ax.set(
                xscale="log",
                yscale="log",
                xlabel="n·SNR² (log)",
                ylabel="signal / noise at τ_read (magnitudes)",
                title=wrap(
                    f"(a) σ_ξ = {sx:g}: noise group G_n = {G_n:.3g}, n·SNR_eff² = {eff:.3g} "
                    f"n·SNR²; faint dotted: the flow at 10 τ_read",
                    70,
                ),
            )
            ax.legend(fontsize=6)
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
            ax.legend(fontsize=6)
            if not growth:
                continue
            ax = axes[2, j]
            ax.axhline(1.0, color="grey", ls=":", lw=1.2, label=f"theory: {FORMULA}")
            for s in shown:
                label, look = s.label(M), m.looks[s.label(M)]
                lin = m.linearity[label, sx].index
                ax.plot(
                    x,
                    [
                        f.value("growth_ratio") / t.rate_ratio
                        for f, t in zip(m.flows[label, sx], theory)
                    ],
                    color=look.color,
                    marker=look.marker,
                    label=f"{label} (linearity index {lin:.3g}; 1: linear)",
                    **_style(s, M),
                )
            ax.set(
                xscale="log",
                yscale="log",
                xlabel="n·SNR² (log)",
                ylabel="growth-phase ratio / formula (flow)",
                title=f"(c) σ_ξ = {sx:g}: early growth, on each model's own summary",
            )
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
