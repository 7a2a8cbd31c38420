"""M1a, the project's (after Bonnaire, Urfin, Biroli & Mézard, NeurIPS 2025): the time to memorise
grows linearly with n while the time to generalise stays constant.

Their setting trains a score model on n samples with fresh noise at every step, so its memorisation
is of the training samples; here that is the exact loss (the limit of infinitely many noise draws)
and the memorisation of the noise patches xi_i, read as the data gap (sims.memorisation: the exact
loss on a fresh noise patch minus its mean on the training ones, in units of the exact loss's
attainable decrease). Design, fixed with the rule (sims.studies.memorise): two data laws held fixed
while n runs over a decade (presets.MEMORISE_N), the tied denoiser at d = 200, m = 4, sigma0 = 0.01,
alpha = beta = 1/sqrt 2, balanced labels, two seeds per n; the saturated law (G_s = 50, sigma_xi =
1) and the linear one (G_s = 0.125, ||xi||^2 = 5, G_n = 0.25 at n = 20), each in its regime of
theory.law at every n. tau_gen: the signal alignment reaches GEN_FRACTION of the exact loss's
stationary value; tau_mem: the data gap reaches MEM_GAP. The rule reads gradient descent on the
exact loss (run to twice the exact flow's settling time); the exact flow (theory.ode) is drawn as
the theory and its slopes reported beside.

What the theory says before any number (theory.predict's early rates): the signal grows at d<w,
mu_j>/dtau = k1/(2n) G_rr n_j ||mu||^2, the same at every n for a fixed law, and a noise patch at
k1/(2n) G_rr ||xi_i||^2, which falls like 1/n: a flat tau_gen and a tau_mem growing like n, unless
the stationary values or G_rr's growth move with n.

Seen before this rule was written (while building the measures and timing cells, d = 200, one seed
at n = 10, not in the grid): the exact flow's tau_gen 1.37 and tau_mem(data) 2.32 in the saturated
law, 22.4 and 19.4 in the linear one, descent on the exact loss within 3% of both; the data gap at
the end of training 1.8 and 2.7 (it exceeds the attainable decrease: big filters cost fresh
patches); with K = 1 fixed draws the data gap stays near 0.2 and tau_gen comes earlier (0.24 and
never) because the filters grow along the draws. MEM_GAP and GEN_FRACTION were in the code before
those numbers.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

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
from sims.studies.measures import loglog_slope
from sims.studies.memorise import (
    EXACT,
    GEN_FRACTION,
    LAWS,
    MEM_GAP,
    Grid,
    Memorised,
    departures,
    domain_sentence,
    left_flow,
    means,
    seeds,
)

FLAT_SLOPE = 0.2  # |log-log slope| of tau_gen against n at most this: flat
MIN_POINTS = 4  # a slope needs this many n whose every seed reached the time
FIGURE = "fig_memorise_n.png"

SPEC = Spec(
    id="M1a",
    claim="The time to memorise the training samples grows linearly with n while the time to "
    "generalise stays constant (Bonnaire, Urfin, Biroli & Mézard 2025), for the tied denoiser on "
    "the exact loss.",
    short="memorising takes time ∝ n, generalising a time flat in n",
    rule=(
        f"per data law, the log-log slopes against n of tau_mem (the data gap reaches {MEM_GAP:g} "
        f"of the exact loss's attainable decrease) and tau_gen (the signal reaches "
        f"{GEN_FRACTION:.0%} of its stationary value), each over the n at which every seed's "
        f"descent on the exact loss reached it (at least {MIN_POINTS}); a law reproduces the claim "
        f"if tau_mem's slope is in [{THETA_SLOPE[0]:g}, {THETA_SLOPE[1]:g}] and |tau_gen's| <= "
        f"{FLAT_SLOPE:g}; it widens the window if tau_mem's slope exceeds {FLAT_SLOPE:g} and "
        f"tau_gen's by at least {FLAT_SLOPE:g}. Holds if every law reproduces it; '{IN_PART}' if "
        f"some law reproduces it or widens the window; otherwise '{DOES_NOT}'."
    ),
    origin=PROJECT,
)
STUDY = memorise.STUDY


def law_slopes(rows: list[dict]) -> dict:
    """Slopes of tau_mem and tau_gen against n (rows: n, tau_gen, tau_mem), each over the reached
    n (nan with fewer than MIN_POINTS), and the law's reading."""
    out = {}
    for key in ("tau_mem", "tau_gen"):
        pts = [(r["n"], r[key]) for r in rows if np.isfinite(r[key])]
        out[f"{key}_slope"] = loglog_slope(*zip(*pts)) if len(pts) >= MIN_POINTS else np.nan
        out[f"{key}_points"] = len(pts)
    mem, gen = out["tau_mem_slope"], out["tau_gen_slope"]
    out["reproduces"] = bool(THETA_SLOPE[0] <= mem <= THETA_SLOPE[1] and abs(gen) <= FLAT_SLOPE)
    out["widens"] = bool(mem > FLAT_SLOPE and mem - gen >= FLAT_SLOPE)
    return out


def judged(laws: dict) -> Entry:
    """The rule on {law: [{"n", "tau_gen", "tau_mem"}]} (geometric means over seeds; nan where a
    seed did not reach it)."""
    per = {law: law_slopes(rows) for law, rows in laws.items()}
    verdict = judge(
        bool(per) and all(v["reproduces"] for v in per.values()),
        any(v["reproduces"] or v["widens"] for v in per.values()),
    )
    return SPEC.entry(verdict, {"per_law": per, "rows": laws})


def rows_of(m: Memorised, law: str, kind: str, K: int = EXACT) -> list[dict]:
    """Per n of the law (width m of the grid): tau_gen and tau_mem(data) of one kind of run."""
    out = []
    for n in m.size.n:
        mean = means(m.at(law, n, m.size.m)).get((kind, K))
        if mean is not None:
            out.append(
                {
                    "n": n,
                    "tau_gen": mean.tau_gen,
                    "tau_mem": mean.tau_mem_data,
                    "data_gap": mean.data_gap,
                    "tau_end": mean.tau_end,
                }
            )
    return out


def note(m: Memorised) -> str:
    return slice_note(
        m.preset_name,
        f"law {', '.join(m.size.laws)}, n = {', '.join(map(str, m.size.n))}, {m.size.seeds} seed",
    )


def verdict(m: Memorised) -> Entry:
    entry = judged({law: rows_of(m, law, "exact") for law in m.size.laws})
    measured = entry.measured
    measured["flow"] = {law: law_slopes(rows_of(m, law, "flow")) for law in m.size.laws}
    measured["fixed_draws"] = {
        law: {
            f"K = {K}": law_slopes(rows_of(m, law, "fixed", K))
            for K in m.size.draws
            if rows_of(m, law, "fixed", K)
        }
        for law in m.size.laws
    }
    measured["regimes"] = regimes(m)
    measured["left_the_flow"] = left_flow(
        m, [Grid(law, n, m.size.m) for law in m.size.laws for n in m.size.n]
    )
    entry = SPEC.entry(entry.verdict, measured, note=note(m))
    return replace(entry, domain=domain(m, entry))


def regimes(m: Memorised) -> dict:
    """The regime theory.law gives each law at each n (its groups), from the flow runs."""
    out = {}
    for law in m.size.laws:
        for n in m.size.n:
            flows = [r for r in m.at(law, n, m.size.m) if r.kind == "flow"]
            if flows and flows[0].info.get("regime"):
                reg = flows[0].info["regime"]
                # sorted: a cell read from the cache holds its json's sorted keys, a fresh one not
                groups = dict(sorted(reg["groups"].items()))
                out.setdefault(law, {})[n] = {"regime": reg["d2"], **groups}
    return out


def domain(m: Memorised, entry: Entry) -> dict:
    per = entry.measured["per_law"]
    regions = [
        {
            "where": f"{law} law ({LAWS[law].mu2:g} = ||mu||^2)",
            "verdict": HOLDS if v["reproduces"] else IN_PART if v["widens"] else DOES_NOT,
            "cells": v["tau_mem_points"],
            "bounds": {"n": [min(m.size.n), max(m.size.n)]},
        }
        for law, v in per.items()
    ]
    held = [law for law, v in per.items() if v["reproduces"]]
    wide = [law for law, v in per.items() if v["widens"] and not v["reproduces"]]
    return described_record(
        "memorise",
        {
            "headline": (
                f"reproduced for the {', '.join(held)} law" if held else "reproduced for no law"
            )
            + (f"; the window widens for the {', '.join(wide)} law" if wide else "")
            + f" (n = {min(m.size.n)} to {max(m.size.n)}, exact loss)",
            "groups": {"n": "training samples, at a fixed data law"},
            "regions": regions,
            "measured_over": (
                f"n = {', '.join(map(str, m.size.n))}; d = {m.size.d}, m = {m.size.m}, sigma0 = "
                f"{m.size.sigma0:g}, alpha = beta; the exact loss (fixed draws are reported "
                f"beside, outside the rule)"
            ),
        },
        note=note(m),
    )


def paragraph(e: dict) -> str:
    m = e["measured"]
    laws = "; ".join(
        f"{law}: tau_mem slope {g(v['tau_mem_slope'])} (over {v['tau_mem_points']} n), "
        f"tau_gen slope {g(v['tau_gen_slope'])}"
        for law, v in m["per_law"].items()
    )
    flow = "; ".join(
        f"{law}: {g(v['tau_mem_slope'])} and {g(v['tau_gen_slope'])}"
        for law, v in m.get("flow", {}).items()
    )
    fixed = "; ".join(
        f"{law} {k}: {g(v['tau_mem_slope'])}"
        for law, per in m.get("fixed_draws", {}).items()
        for k, v in sorted(per.items(), key=lambda kv: int(kv[0].split("= ")[1]))
    )
    left = m.get("left_the_flow", {})
    return (
        f"Descent on the exact loss, slopes against n: {laws}. The exact flow (theory): {flow}. "
        f"With fixed draws (in no rule), tau_mem(data)'s slope: {fixed or 'n/a'}. "
        f"{domain_sentence(e)} {departures(left)}"
    )


def figures(m: Memorised, out: Path) -> list[Figure]:
    entry = verdict(m)
    path = Path(out) / FIGURE
    laws = m.size.laws
    title = (
        f"M1a: time to memorise the data (gap {MEM_GAP:g}) and to generalise (signal "
        f"{GEN_FRACTION:.0%} of stationary) against n; tied denoiser, d = {m.size.d}, m = "
        f"{m.size.m}, σ0 = {m.size.sigma0:g}, α = β, {seeds(m.size.seeds)} "
        f"(geometric mean)"
    )
    with figure(
        path, 1, len(laws), figsize=(max(7.0, 6 * len(laws)), 4.8), squeeze=False, title=title
    ) as (
        fig,
        axes,
    ):
        for ax, law in zip(axes[0], laws):
            for key, marker, color, label in (
                ("tau_gen", "o", "tab:blue", "τ_gen"),
                ("tau_mem", "s", "tab:red", "τ_mem (data)"),
            ):
                rows = rows_of(m, law, "exact")
                flow = rows_of(m, law, "flow")
                ax.plot(
                    [r["n"] for r in flow],
                    [r[key] for r in flow],
                    "-",
                    color=color,
                    label=f"{label}: exact flow (theory)",
                )
                ax.plot(
                    [r["n"] for r in rows],
                    [r[key] for r in rows],
                    marker,
                    mfc="none",
                    color=color,
                    ls="none",
                    label=f"{label}: descent, exact loss",
                )
            per = entry.measured["per_law"][law]
            ax.set(
                xscale="log",
                yscale="log",
                xlabel="n (log)",
                ylabel="τ = η·step (log)",
                title=f"{law} law: slopes τ_mem {g(per['tau_mem_slope'])}, "
                f"τ_gen {g(per['tau_gen_slope'])}",
            )
            n = np.array(m.size.n, float)
            first = [r["tau_mem"] for r in rows_of(m, law, "exact") if np.isfinite(r["tau_mem"])]
            if first:
                ax.plot(n, first[0] * n / n[0], ":", color="gray", lw=1, label="∝ n")
            ax.legend(fontsize=7)
    summary = "; ".join(
        f"{law}: tau_mem slope {g(v['tau_mem_slope'])}, tau_gen slope {g(v['tau_gen_slope'])}"
        for law, v in entry.measured["per_law"].items()
    )
    return [Figure(FIGURE, summary)]
