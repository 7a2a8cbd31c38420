"""M1c, the project's: more fixed noise draws delay the memorisation of the draws, and the time to
memorise them grows like n·K.

The expectation, written before any number: the fixed-draw loss weighs each of its 2nK draws by
1/(2nK), so the force that aligns a filter with one draw eps_p (the term -2c beta^2 <w_r, eps_p>^3
of the loss on it, absent from its expectation) is 2nK times weaker than a patch's whole loss, and a
filter's alignment with a draw grows like 1/(tau_c - tau) with tau_c proportional to nK (times
slowly varying factors: the largest initial alignment over the draws grows like sqrt(log(nK))).
Read on the n x K grid of sims.studies.memorise (presets.MEMORISE_N x presets.MEMORISE_K, the cells
with 2nK <= presets.MAX_DRAWS; m = 4, the two data laws of M1a, two seeds): tau_mem(draws), where
the draw gap (the exact loss minus the loss on the draws, in units of the exact loss's attainable
decrease, from 0 at initialisation) reaches MEM_GAP, fitted as log tau = a log n + b log K + c over
the cells where every seed reached it.

Seen before this rule was written (n = 10, d = 200, one seed): tau_mem(draws) 0.17 (K = 1) and 0.97
(K = 16) in the saturated law, 0.26 and 2.7 in the linear one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np

from sims.studies import memorise
from sims.studies.claims.base import (
    DOES_NOT,
    HOLDS,
    IN_PART,
    PROJECT,
    THETA_SLOPE,
    Entry,
    Figure,
    Spec,
    described_record,
    g,
    slice_note,
    verdict as judge,
)
from sims.studies.figures import figure
from sims.studies.memorise import (
    MEM_GAP,
    Grid,
    Memorised,
    departures,
    domain_sentence,
    left_flow,
    means,
    seeds,
)

DELAY_SLOPE = 0.2  # an exponent of K above this: more draws delay memorising them
MIN_CELLS = 4  # a fit needs this many (n, K) cells, with at least two n and two K
FIGURE = "fig_memorise_draws.png"

SPEC = Spec(
    id="M1c",
    claim="More fixed noise draws delay the memorisation of the draws: the time to memorise them "
    "grows like n·K (n samples, K draws of each patch), for the tied denoiser.",
    short="memorising the fixed draws takes time ∝ n·K",
    rule=(
        f"per data law, tau_mem(draws) (the draw gap reaches {MEM_GAP:g} of the exact loss's "
        f"attainable decrease; geometric mean over seeds, every seed reaching it) fitted as log "
        f"tau = a log n + b log K + c over at least {MIN_CELLS} (n, K) cells with two n and two "
        f"K; a law reproduces the claim if a and b are both in [{THETA_SLOPE[0]:g}, "
        f"{THETA_SLOPE[1]:g}], and more draws delay memorisation there if b > {DELAY_SLOPE:g}. "
        f"Holds if every law reproduces it; '{IN_PART}' if more draws delay memorisation in some "
        f"law; otherwise '{DOES_NOT}'."
    ),
    origin=PROJECT,
)
STUDY = memorise.STUDY


def fit(cells: list[dict]) -> dict:
    """a, b, c of log tau = a log n + b log K + c over cells {"n", "K", "tau"} with a finite tau
    (nan without MIN_CELLS of them over two n and two K)."""
    ok = [c for c in cells if np.isfinite(c["tau"]) and c["tau"] > 0]
    nan = float("nan")
    if len(ok) < MIN_CELLS or len({c["n"] for c in ok}) < 2 or len({c["K"] for c in ok}) < 2:
        return {"a": nan, "b": nan, "c": nan, "cells": len(ok)}
    X = np.array([[np.log(c["n"]), np.log(c["K"]), 1.0] for c in ok])
    y = np.log([c["tau"] for c in ok])
    a, b, c = np.linalg.lstsq(X, y, rcond=None)[0]
    return {"a": float(a), "b": float(b), "c": float(c), "cells": len(ok)}


def judged(laws: dict) -> Entry:
    """The rule on {law: [{"n", "K", "tau"}]} (tau nan where a seed did not reach it)."""
    per = {}
    for law, cells in laws.items():
        f = fit(cells)
        f["reproduces"] = bool(
            THETA_SLOPE[0] <= f["a"] <= THETA_SLOPE[1]
            and THETA_SLOPE[0] <= f["b"] <= THETA_SLOPE[1]
        )
        f["delays"] = bool(f["b"] > DELAY_SLOPE)
        per[law] = f
    verdict = judge(
        bool(per) and all(v["reproduces"] for v in per.values()),
        any(v["delays"] for v in per.values()),
    )
    return SPEC.entry(verdict, {"per_law": per, "cells": laws})


def cells_of(m: Memorised, law: str) -> list[dict]:
    """The n x K grid's fixed-draw runs of a law: tau_mem(draws), the final draw gap and draw
    cosine, and the shortest run's last tau (censoring)."""
    out = []
    for n in m.size.n:
        for (kind, K), mean in means(m.at(law, n, m.size.m)).items():
            if kind == "fixed":
                out.append(
                    {
                        "n": n,
                        "K": K,
                        "tau": mean.tau_mem_draws,
                        "draw_gap": mean.draw_gap,
                        "draw_cosine": mean.draw_cosine,
                        "tau_end": mean.tau_end,
                    }
                )
    return out


def note(m: Memorised) -> str:
    return slice_note(
        m.preset_name,
        f"n = {', '.join(map(str, m.size.n))}, K = {', '.join(map(str, m.size.draws))}",
    )


def verdict(m: Memorised) -> Entry:
    entry = judged({law: cells_of(m, law) for law in m.size.laws})
    entry.measured["left_the_flow"] = left_flow(
        m, [Grid(law, n, m.size.m) for law in m.size.laws for n in m.size.n]
    )
    entry = SPEC.entry(entry.verdict, entry.measured, note=note(m))
    per = entry.measured["per_law"]
    held = [law for law, v in per.items() if v["reproduces"]]
    delayed = [law for law, v in per.items() if v["delays"]]
    nK = [c["n"] * c["K"] for cells in entry.measured["cells"].values() for c in cells]
    dom = {
        "headline": (
            f"reproduced for the {', '.join(held)} law" if held else "reproduced for no law"
        )
        + (f"; more draws delay memorising them for {', '.join(delayed)}" if delayed else "")
        + (f" (n·K = {min(nK)} to {max(nK)})" if nK else ""),
        "groups": {"n·K": "training samples times draws per patch"},
        "regions": [
            {
                "where": f"{law} law",
                "verdict": HOLDS if v["reproduces"] else IN_PART if v["delays"] else DOES_NOT,
                "cells": v["cells"],
                "bounds": {"n·K": [min(nK), max(nK)]} if nK else {},
            }
            for law, v in per.items()
        ],
        "measured_over": (
            f"n = {', '.join(map(str, m.size.n))}; K = {', '.join(map(str, m.size.draws))} with "
            f"2nK <= {m.size.max_draws}; m = {m.size.m}, d = {m.size.d}"
        ),
    }
    return replace(entry, domain=described_record("memorise", dom, note=note(m)))


def paragraph(e: dict) -> str:
    m = e["measured"]
    fits = "; ".join(
        f"{law}: a = {g(v['a'])} (n), b = {g(v['b'])} (K) over {v['cells']} cells"
        for law, v in m["per_law"].items()
    )
    censored = sum(
        1
        for cells in m["cells"].values()
        for c in cells
        if c["tau"] is None or not np.isfinite(c["tau"])
    )
    return (
        f"tau_mem(draws) fitted as n^a K^b: {fits}; {censored} (n, K) cells where some seed did "
        f"not memorise its draws within the run (left out of the fit). "
        f"{domain_sentence(e)} {departures(m.get('left_the_flow'))}"
    )


def figures(m: Memorised, out: Path) -> list[Figure]:
    entry = verdict(m)
    path = Path(out) / FIGURE
    laws = m.size.laws
    cmap = matplotlib.colormaps["plasma"]
    Ks = list(m.size.draws)
    title = (
        f"M1c: time to memorise the fixed draws (draw gap {MEM_GAP:g}); markers: descent "
        f"on "
        f"the fixed-draw loss, lines: the fitted power law; tied denoiser, d = {m.size.d}, "
        f"m = {m.size.m}, σ0 = {m.size.sigma0:g}, α = β, {seeds(m.size.seeds)}"
    )
    with figure(
        path, 1, len(laws), figsize=(max(7.0, 6 * len(laws)), 4.8), squeeze=False, title=title
    ) as (
        fig,
        axes,
    ):
        for ax, law in zip(axes[0], laws):
            cells = cells_of(m, law)
            f = entry.measured["per_law"][law]
            for i, K in enumerate(Ks):
                sel = [c for c in cells if c["K"] == K and np.isfinite(c["tau"])]
                color = cmap(i / max(1, len(Ks) - 1) * 0.85)
                ax.plot(
                    [c["n"] * K for c in sel],
                    [c["tau"] for c in sel],
                    "o",
                    mfc="none",
                    color=color,
                    label=f"K = {K} (descent)",
                )
                if np.isfinite(f["a"]):
                    ns = np.array(m.size.n, float)
                    ax.plot(
                        ns * K, np.exp(f["c"]) * ns ** f["a"] * K ** f["b"], "-", lw=1, color=color
                    )
            ax.set(
                xscale="log",
                yscale="log",
                xlabel="n·K (log)",
                ylabel="τ_mem (draws) (log)",
                title=f"{law} law: fit n^{g(f['a'])} K^{g(f['b'])} (lines) over {f['cells']} cells",
            )
            ax.legend(fontsize=7)
    summary = "; ".join(
        f"{law}: a = {g(v['a'])}, b = {g(v['b'])} over {v['cells']} cells"
        for law, v in entry.measured["per_law"].items()
    )
    return [Figure(FIGURE, summary)]
