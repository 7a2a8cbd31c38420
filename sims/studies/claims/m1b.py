"""M1b, the project's (after George, Veiga & Macris 2025, arXiv 2502.00336): more noise samples per
training sample amplify memorisation where the network is wider than the number of samples (m > n)
and reduce it where it is narrower (m < n), with a crossover at width m ≈ n.

Their memorisation is of the training samples (the learned score approaching the training set's
own), their width the number of random features p, and their noise samples m draws per sample;
here the width is the number of filters m, the draws K fixed draws per patch (K -> infinity: the
exact loss), and the memorisation of the training samples the data gap at the end of training
(sims.memorisation, in units of the exact loss's attainable decrease). Design, fixed with the rule
(sims.studies.memorise): n = presets.MEMORISE_WIDTH_N = 4, widths presets.MEMORISE_WIDTHS (two
below n, n, two above), K in presets.MEMORISE_K and the exact loss, the two data laws of M1a, two
seeds, the same data and initial-weight seeds at every width; every run to twice the exact flow's
settling time (or its own stationary point). The effect of more draws at width m is the final data
gap of the exact loss minus that of K = 1 (the fewest draws).

Seen before this rule was written (n = 10, m = 4, d = 200, one seed, both laws; a width below n):
final data gap 0.16 (K = 1), 1.1 (K = 16), 1.8 (exact) in the saturated law and 0.20, 0.73, 2.7 in
the linear one; the draw gap 24 and 2.9 (saturated) and 220 and 31 (linear) for K = 1 and 16. So at
m < n more draws already amplified data memorisation there; the rule below was written after that.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib

from sims.studies import memorise
from sims.studies.claims.base import (
    DOES_NOT,
    HOLDS,
    IN_PART,
    PROJECT,
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
    EXACT,
    Grid,
    Memorised,
    departures,
    domain_sentence,
    left_flow,
    means,
    ordered,
    seeds,
)

AMPLIFY = 0.1  # a final data gap this much larger with the exact loss than with K = 1: amplified
FIGURE = "fig_memorise_width.png"

SPEC = Spec(
    id="M1b",
    claim="More noise samples per training sample amplify the memorisation of the training samples "
    "where the width exceeds the number of samples (m > n) and reduce it where it falls short (m < "
    "n), a crossover at m ≈ n (George, Veiga & Macris 2025), for the tied denoiser.",
    short="more noise draws amplify memorising where m > n, reduce it where m < n",
    rule=(
        f"per data law and width m (n fixed), the effect of more draws is the final data gap "
        f"(mean over seeds, in units of the exact loss's attainable decrease) of the exact loss "
        f"minus that of K = 1: amplified above {AMPLIFY:g}, reduced below -{AMPLIFY:g}. A law "
        f"shows the claim's upper half if every m > n is amplified, its lower half if every m < n "
        f"is reduced. Holds if every law shows both halves; '{IN_PART}' if some law shows one; "
        f"otherwise '{DOES_NOT}'."
    ),
    origin=PROJECT,
)
STUDY = memorise.STUDY


def effect_of(gap: float) -> str:
    return "amplified" if gap > AMPLIFY else "reduced" if gap < -AMPLIFY else "neither"


def law_reading(n: int, widths: dict) -> dict:
    """{m: {K: final data gap}} (K = EXACT the exact loss) -> each width's effect and the halves."""
    effects = {}
    for m, gaps in widths.items():
        fixed = [K for K in gaps if K != EXACT]
        if EXACT in gaps and fixed:
            effects[m] = gaps[EXACT] - gaps[min(fixed)]
    above = [m for m in effects if m > n]
    below = [m for m in effects if m < n]
    upper = bool(above) and all(effect_of(effects[m]) == "amplified" for m in above)
    lower = bool(below) and all(effect_of(effects[m]) == "reduced" for m in below)
    amplified = sorted(m for m in effects if effect_of(effects[m]) == "amplified")
    tail = [
        m for m in amplified if all(effect_of(effects[w]) == "amplified" for w in effects if w >= m)
    ]
    return {
        "effect": effects,
        "reading": {m: effect_of(v) for m, v in effects.items()},
        "upper_half": upper,
        "lower_half": lower,
        "amplified_from_m": min(tail) if tail else None,
    }


def judged(n: int, laws: dict) -> Entry:
    """The rule on {law: {m: {K: final data gap}}} at n samples."""
    per = {law: law_reading(n, widths) for law, widths in laws.items()}
    verdict = judge(
        bool(per) and all(v["upper_half"] and v["lower_half"] for v in per.values()),
        any(v["upper_half"] or v["lower_half"] for v in per.values()),
    )
    return SPEC.entry(verdict, {"n": n, "per_law": per, "data_gap": laws})


def table(m: Memorised, law: str, field: str = "data_gap") -> dict:
    """{width: {K: the mean final `field`}} of the width cells of a law (descent runs)."""
    out = {}
    for w in m.size.widths:
        for (kind, K), mean in means(m.at(law, m.size.width_n, w)).items():
            if kind != "flow":
                out.setdefault(w, {})[K] = getattr(mean, field)
    return out


def per_seed(m: Memorised, law: str) -> dict:
    """{width: {"K = 1": [final data gap per seed], "exact": [...]}}: the seeds behind the
    means."""
    out = {}
    for w in m.size.widths:
        runs = m.at(law, m.size.width_n, w)
        fixed = [r.K for r in runs if r.kind == "fixed"]
        for r in runs:
            if r.kind == "exact" or (r.kind == "fixed" and r.K == min(fixed)):
                key = "exact" if r.kind == "exact" else f"K = {r.K}"
                out.setdefault(w, {}).setdefault(key, []).append(r.data_gap)
    return out


def note(m: Memorised) -> str:
    return slice_note(
        m.preset_name,
        f"widths {', '.join(map(str, m.size.widths))}, K = "
        f"{', '.join(map(str, m.size.width_draws))}",
    )


def verdict(m: Memorised) -> Entry:
    entry = judged(m.size.width_n, {law: table(m, law) for law in m.size.laws})
    measured = entry.measured
    measured["draw_gap"] = {law: table(m, law, "draw_gap") for law in m.size.laws}
    measured["tau_mem_data"] = {law: table(m, law, "tau_mem_data") for law in m.size.laws}
    measured["per_seed"] = {law: per_seed(m, law) for law in m.size.laws}
    measured["left_the_flow"] = left_flow(
        m, [Grid(law, m.size.width_n, w) for law in m.size.laws for w in m.size.widths]
    )
    entry = SPEC.entry(entry.verdict, measured, note=note(m))
    return replace(entry, domain=domain(m, entry))


def domain(m: Memorised, entry: Entry) -> dict:
    per = entry.measured["per_law"]
    n = m.size.width_n
    regions = [
        {
            "where": f"{law} law, m {side} n",
            "verdict": HOLDS if v[half] else DOES_NOT,
            "cells": len([w for w in v["effect"] if (w > n if side == ">" else w < n)]),
            "bounds": {"m": [w for w in v["effect"] if (w > n if side == ">" else w < n)]},
        }
        for law, v in per.items()
        for side, half in ((">", "upper_half"), ("<", "lower_half"))
    ]
    shown = [r["where"] for r in regions if r["verdict"] == HOLDS]
    return described_record(
        "memorise",
        {
            "headline": (f"reproduced for {', '.join(shown)}" if shown else "reproduced nowhere")
            + f" (n = {n}, m = {min(m.size.widths)} to {max(m.size.widths)})",
            "groups": {"m / n": "width over training samples"},
            "regions": regions,
            "measured_over": (
                f"n = {n}; m = {', '.join(map(str, m.size.widths))}; K = "
                f"{', '.join(map(str, m.size.width_draws))} and the exact loss; d = {m.size.d}, "
                f"sigma0 = {m.size.sigma0:g}, alpha = beta"
            ),
        },
        note=note(m),
    )


def paragraph(e: dict) -> str:
    m = e["measured"]
    parts = []
    for law, v in m["per_law"].items():
        eff = ", ".join(f"m = {w}: {g(x)} ({v['reading'][w]})" for w, x in ordered(v["effect"]))
        parts.append(
            f"{law}: {eff}; amplified from m = {v['amplified_from_m']}"
            if v["amplified_from_m"] is not None
            else f"{law}: {eff}; amplified at no width onwards"
        )
    seeds = "; ".join(
        f"{law} m = {w}: {', '.join(f'{k} ' + ', '.join(g(x) for x in v) for k, v in per.items())}"
        for law, widths in m.get("per_seed", {}).items()
        for w, per in ordered(widths)
    )
    return (
        f"At n = {m['n']}, the final data gap of the exact loss minus that of K = 1, by width: "
        f"{'; '.join(parts)}. Final data gaps seed by seed: {seeds or 'n/a'}. "
        f"{domain_sentence(e)} {departures(m.get('left_the_flow'))}"
    )


def figures(m: Memorised, out: Path) -> list[Figure]:
    entry = verdict(m)
    path = Path(out) / FIGURE
    laws, n = m.size.laws, m.size.width_n
    cmap = matplotlib.colormaps["viridis"]
    title = (
        f"M1b: memorisation of the training samples at the end of training against the "
        f"draws K "
        f"per patch, by width m; tied denoiser, d = {m.size.d}, σ0 = {m.size.sigma0:g}, α "
        f"= β, "
        f"{seeds(m.size.seeds)} (mean); amplified if exact − (K = 1) > {AMPLIFY:g}"
    )
    with figure(
        path, 1, len(laws), figsize=(max(7.0, 6 * len(laws)), 4.8), squeeze=False, title=title
    ) as (
        fig,
        axes,
    ):
        for ax, law in zip(axes[0], laws):
            gaps = table(m, law)
            Ks = sorted({K for per in gaps.values() for K in per if K != EXACT})
            at_exact = 4 * max(Ks) if Ks else 1  # where the exact loss is drawn (K -> infinity)
            for i, (w, per) in enumerate(sorted(gaps.items())):
                color = cmap(i / max(1, len(gaps) - 1))
                ks = [K for K in Ks if K in per]
                style = "-" if w > n else "--" if w < n else "-."
                ax.plot(
                    ks,
                    [per[K] for K in ks],
                    style,
                    marker="o",
                    color=color,
                    label=f"m = {w} ({'>' if w > n else '<' if w < n else '='} n)",
                )
                if EXACT in per:
                    ax.plot([at_exact], [per[EXACT]], "*", ms=10, color=color)
            ax.axhline(0, color="k", lw=0.5)
            ax.set(
                xscale="log",
                xlabel="fixed draws K (log; ★ at the right: the exact loss, K → ∞)",
                ylabel="final data gap (units of the attainable decrease)",
                title=f"{law} law, n = {n}",
            )
            ax.legend(fontsize=7)
    summary = "; ".join(
        f"{law}: effect by m {', '.join(f'{w}: {g(x)}' for w, x in ordered(v['effect']))}"
        for law, v in entry.measured["per_law"].items()
    )
    return [Figure(FIGURE, summary)]
