"""U1, the project's (reviewer 5's ablation): does balanced learning survive untying the denoiser's
layers?

The paper's denoiser ties its layers, f(W, u) = c sum_r <w_r, u>^2 w_r; the untied denoiser
(sims.untied) has its own output layer V, f = c sum_r <w_r, u>^2 v_r, trained on the same loss.
Design, fixed with the rule (sims.studies.ablation): the quick preset's model (n = 20, d = 2000,
sigma0 = 0.01, noise prediction at alpha = beta = 1/sqrt 2, exact loss), widths m = 4 and m = 1,
noise scales sigma_xi = 1 and 0.05 (noise groups G_n ~ 99 and ~ 0.25: the tied law saturated, and
linear for n·SNR² <= 5), n·SNR² = 0.05, 0.5, 5, 50, three seeds per point shared by every model
(the same data; the untied first layer is the tied W0, V drawn after it). Every model is read on
its exact gradient flow at tau_read = steps_for(n·SNR²) eta (the paper-pair runs' length at the
automatic step eta, the same for every model on these data), as magnitudes of the first layer's
alignments, seed means (geometric) of ratio and gains; gradient descent at the automatic step is
run beside it on seed 0 (its checks say where it left the flow).

Seen before this rule was written: the untied model's early theory (theory.untied: exponential
growth at a rate proportional to sigma0, each neuron's rate ratio tending to the tied one, no early
winner; cancelling neuron pairs at m >= 2 whose curvature keeps growing at d = 500); one run at d
= 500, m = 2, n·SNR² = 0.5, sigma_xi = 1 (3000 steps of the automatic step: the untied flow at tau
= 54 had signal 3.01, noise 3.04, ratio 0.99, still moving; descent's loss rose from step 1238; the
fixed-output model settled at signal 1.61, noise 1.93, ratio 0.84); the tied law at the study's
points (theory.law: ratio 0.47 to 1.10 at sigma_xi = 1, saturated; 0.029, 0.28, 2.1, 7.9 at
sigma_xi = 0.05, m = 4); while timing the cells (statuses only): the untied m = 4 flow is not
stationary by 10 tau_read at n·SNR² = 0.05 and 50 for either sigma_xi, its descent diverges at
sigma_xi = 0.05 for n·SNR² <= 5 (its loss rises at 50), the m = 1 flows are stationary, and the
untied m = 1 descent diverged at sigma_xi = 0.05 (the tiny model) until its step size gained the
"stationary" limit (sims.models.Untied.stationary_filters). The quick and tiny presets' slice was
run only to find its cost (about 4 s of CPU) and that it runs; its numbers were not read. No ratio
or gain of the study was seen.

Added after the numbers were seen, in no rule: at m = 1 and sigma_xi = 0.05 the untied and tied
ratios agreed to 4 digits, so the flow cells also keep their filters and output rows at tau_read
and the report gives, per point, where the untied m = 1 flow ends against the tied one
(`ablation.single_neuron_directions`); the paragraphs read the context block (descent, the flow past
tau_read, the growth shape, the effective SNR), which the rule does not.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from sims.studies import ablation
from sims.studies.ablation import PAIRS, Ablation
from sims.studies.claims.base import (
    AGREEMENT,
    DOES_NOT,
    HOLDS,
    IN_PART,
    LEARNED_GAIN,
    PROJECT,
    Entry,
    Figure,
    Region,
    Spec,
    domain_record,
    g,
    outcome,
    span,
)
from sims.studies.presets import PRESETS

FOLLOW_FACTOR = 2.0  # the untied ratio within this factor of the tied one: it follows it
FIGURE = "fig_ablation_untied.png"

SPEC = Spec(
    id="U1",
    claim="Balanced learning survives untying: where the tied denoiser learns both features, the "
    "untied denoiser (its own output layer, trained on the same loss, from the same first layer) "
    "learns both too, with a signal/noise ratio that follows the tied model's.",
    short="untied denoiser: balanced learning survives",
    rule=(
        f"read on the exact gradient flow at tau_read, seed means; the points are every "
        f"(sigma_xi, n·SNR², m = 1 or 4) where the tied denoiser learns both features (signal and "
        f"noise each > {LEARNED_GAIN:g}x their initial values); holds if at every point the "
        f"untied denoiser of that width learns both and its ratio is within a factor "
        f"{FOLLOW_FACTOR:g} of the tied one; '{IN_PART}' if it learns both at every point but its "
        f"ratio departs by more somewhere, or if both hold at >= {AGREEMENT:.0%} of the points; "
        f"otherwise '{DOES_NOT}' (also when the tied denoiser learns both nowhere)."
    ),
    origin=PROJECT,
)
STUDY = ablation.STUDY


def judged(pairs: list) -> Entry:
    """The rule on pairs = [(where, untied point, tied point)], points with ratio, signal_gain and
    noise_gain (seed means; nan where no seed was read)."""
    points = [(w, u, t) for w, u, t in pairs if outcome(t) == "both"]
    survive = [outcome(u) == "both" for _, u, _ in points]
    follow = [bool(1 / FOLLOW_FACTOR <= u.ratio / t.ratio <= FOLLOW_FACTOR) for _, u, t in points]
    both = [s and f for s, f in zip(survive, follow)]
    share = float(np.mean(both)) if points else 0.0
    holds = bool(points) and all(both)
    in_part = bool(points) and (all(survive) or share >= AGREEMENT)
    verdict = HOLDS if holds else IN_PART if in_part else DOES_NOT
    return SPEC.entry(
        verdict,
        {
            "points": len(points),
            "survives_at": int(sum(survive)),
            "follows_at": int(sum(follow)),
            "both_share": share,
            "tied_not_both": [w for w, _, t in pairs if outcome(t) != "both"],
            "per_point": [
                {
                    **w,
                    "tied_outcome": outcome(t),
                    "untied_outcome": outcome(u),
                    "tied_ratio": t.ratio,
                    "untied_ratio": u.ratio,
                    "untied_over_tied": u.ratio / t.ratio,
                    "untied_gains": [u.signal_gain, u.noise_gain],
                }
                for w, u, t in pairs
            ],
        },
    )


def pairs_of(m: Ablation) -> list:
    """[(where, untied Mean, tied Mean)] for every point of the sweep and both widths."""
    out = []
    for untied, tied in PAIRS:
        width = untied.m or m.m
        for sx in m.size.sigma_xi:
            for u, t in zip(m.flows[untied.label(m.m), sx], m.flows[tied.label(m.m), sx]):
                out.append(({"sigma_xi": sx, "nsnr2": u.nsnr2, "m": width}, u, t))
    return out


def note(m: Ablation) -> str:
    """The prefix of a preset that runs a small slice ('' for full)."""
    if m.preset_name == "full":
        return ""
    return (
        f"[{m.preset_name} preset: a small slice (the {m.size.model} model, n·SNR² = "
        f"{', '.join(f'{v:g}' for v in m.size.nsnr2)}, {m.size.replicates} seed) to exercise the "
        f"code; the study is the full preset's] "
    )


def context(m: Ablation) -> dict:
    """What the rule does not read: each series' readings at the flow's end (LATE tau_read), whether
    it became stationary, where descent at the automatic step left the flow, its checks, the
    growth shape and growth-phase ratios, and the theory at each point."""
    series = {}
    for (label, sx), means in m.flows.items():
        rows = []
        for mean, descent, leaves in zip(means, m.descents[label, sx], m.leaves[label, sx]):
            th = m.theory[sx, mean.nsnr2]
            rows.append(
                {
                    "nsnr2": mean.nsnr2,
                    "seeds": mean.runs,
                    "ratio": mean.ratio,
                    "signal_gain": mean.signal_gain,
                    "noise_gain": mean.noise_gain,
                    "end_ratio": mean.value("end_ratio"),
                    "stationary_share": mean.value("stationary"),
                    "growth_ratio_over_formula": mean.value("growth_ratio") / th.rate_ratio,
                    "w_norm_growth_after_read": mean.value("w_norm_growth"),
                    "descent_leaves_step": leaves,
                    # once its loss rises descent has left the flow, and where it ends depends on
                    # rounding (1 ulp of eta moved it by 1.5%): no ratio, and whether it rose
                    "descent_ratio": None if descent.loss_rises else descent.ratio,
                    "descent_loss_rose": descent.loss_rises > 0,
                    "descent_diverged": descent.diverged,
                }
            )
        series[f"{label}, sigma_xi = {sx:g}"] = rows
    return {
        "series": series,
        "linearity_index": {
            f"{label}, sigma_xi = {sx:g}": lin.index for (label, sx), lin in m.linearity.items()
        },
        "theory": {
            f"sigma_xi = {sx:g}, n·SNR² = {v:g}": th._asdict() for (sx, v), th in m.theory.items()
        },
        "tau_read_steps": {f"n·SNR² = {v:g}": steps for (_, v), (steps, _) in m.tau_read.items()},
        "m = 1, seed 0, where the untied flow is at tau_read (added after the numbers)": {
            f"sigma_xi = {sx:g}, n·SNR² = {v:g}": d for (sx, v), d in m.directions.items()
        },
    }


UNTIED_OUTSIDE = (
    "the early growth is derived for any data and width (theory.untied: exponential at a rate "
    "proportional to sigma0, each neuron's rate ratio tending to the tied one as d grows); no law "
    "of the untied stationary point is derived, so outside the measured points the late ratio is "
    "not predicted"
)
UNSETTLED = (
    "; at m >= 2 the untied flow did not settle where it was followed (to 10 tau_read), so its "
    "reading depends on the time it is read"
)


def domain(
    m: Ablation, outside: str = UNTIED_OUTSIDE, widths: str = "m = 1 and {}", verdict: str = ""
) -> dict:
    """Where the verdict was measured (`widths` formatted with the preset's width), and what is
    known outside it, as a domain record (claims.base.domain_record): one region, the measured
    ranges of the noise group and n·SNR², with the entry's `verdict`."""
    p = PRESETS[m.size.model]
    G_n = [m.theory[sx, m.size.nsnr2[0]].G_n for sx in m.size.sigma_xi]
    over = (
        f"n = {p.n}, d = {p.d}, {widths.format(p.m)}, sigma0 = {p.sigma0:g}, noise prediction "
        f"at alpha = beta = 1/sqrt 2 on the exact loss, Definition 2.1 data with sigma_xi = "
        f"{', '.join(f'{v:g}' for v in m.size.sigma_xi)} (noise group G_n = "
        f"{', '.join(g(v) for v in G_n)}), n·SNR² = {', '.join(f'{v:g}' for v in m.size.nsnr2)}, "
        f"{m.size.replicates} seed(s), read on the gradient flow at tau_read (the paper-pair "
        f"runs' length)"
    )
    outside = outside + (UNSETTLED if outside == UNTIED_OUTSIDE and unsettled(m) else "")
    region = Region(
        verdict or HOLDS,
        {"G_n": (min(G_n), max(G_n)), "n·SNR²": (min(m.size.nsnr2), max(m.size.nsnr2))},
    )
    return domain_record(
        "ablation",
        {"G_n": "(α/β)² ‖ξ‖²/n, the noise group of theory.law"},
        [region],
        "the verdict's own rule, read at every measured point (no separate domain rule)",
        {"measured": over, "outside": outside},
        short=f"measured at G_n = {', '.join(g(v) for v in G_n)}; outside: not predicted",
    )


def unsettled(m: Ablation) -> bool:
    """Whether no seed's untied flow at the preset's width became stationary by 10 tau_read."""
    label = ablation.UNTIED.label(m.m)  # the untied series at the preset's width
    shares = [f.value("stationary") for sx in m.size.sigma_xi for f in m.flows[label, sx]]
    return bool(shares) and all(v == 0 for v in shares)


def verdict(m: Ablation) -> Entry:
    entry = judged(pairs_of(m))
    measured = {**entry.measured, "context (not in the rule)": context(m)}
    entry = SPEC.entry(entry.verdict, measured, note=note(m))
    return replace(entry, domain=domain(m, verdict=entry.verdict))


def _series(ctx: dict, model: str, single: bool | None = None) -> dict:
    """The context's series of one model (all widths, or only m = 1 / only m > 1)."""
    return {
        k: rows
        for k, rows in ctx["series"].items()
        if k.startswith(model + ",") and (single is None or ("m = 1," in k) == single)
    }


def _sigma(key: str) -> str:
    return key.rpartition("sigma_xi = ")[2]


def paragraph(e: dict) -> str:
    m = e["measured"]
    rows, ctx = m["per_point"], m["context (not in the rule)"]
    where = lambda r: f"(σ_ξ = {g(r['sigma_xi'])}, n·SNR² = {g(r['nsnr2'])}, m = {r['m']})"
    per_width = "; ".join(
        f"m = {w}: {span(r['untied_over_tied'] for r in rows if r['m'] == w)}"
        for w in sorted({r["m"] for r in rows}, reverse=True)
    )
    missing = ", ".join(where(r) for r in m["tied_not_both"])
    text = (
        f"The tied denoiser learns both features at {m['points']} of {len(rows)} points"
        f"{f' (not at {missing})' if missing else ''}; there the untied one learns both at "
        f"{m['survives_at']} and its ratio is within a factor {FOLLOW_FACTOR:g} of the tied one "
        f"at {m['follows_at']} (untied over tied: {per_width})."
    )
    single = next((v for k, v in ctx.items() if k.startswith("m = 1, seed 0")), {})
    by_sigma = {}
    for k, d in single.items():
        by_sigma.setdefault(k.split(",")[0].partition("= ")[2], []).append(d)
    for sx, ds in by_sigma.items():
        same = all(d.get("cos_untied_tied", 0) > ablation.SAME_DIRECTION for d in ds)
        text += (
            f" At m = 1, σ_ξ = {sx}, the untied flow ends with v_r along w_r (|cos| "
            f"{span(d.get('cos_w_v') for d in ds)}), w_r at |cos| "
            f"{span(d.get('cos_untied_tied') for d in ds)} to the tied filter and ‖w_r‖²‖v_r‖ = "
            f"{span(d.get('output_scale') for d in ds)} ‖w_tied‖³"
            + (
                ": the tied filter with its norm split between the two layers, hence the tied "
                "ratio."
                if same
                else ": another point with the tied output's size."
            )
        )
    wide = _series(ctx, "untied", single=False)
    for k, series in wide.items():
        diverged = sum(1 for r in series if r["descent_diverged"])
        rises = sum(1 for r in series if r["descent_loss_rose"])
        text += (
            f" {k.partition(', sigma_xi')[0].capitalize()} at σ_ξ = {_sigma(k)}: stationary by "
            f"10 τ_read in a share {span(r['stationary_share'] for r in series)} of the seeds, its "
            f"largest filter norm growing {span(r['w_norm_growth_after_read'] for r in series)} "
            f"times from τ_read to 10 τ_read while its ratio moves by a factor "
            f"{span(r['end_ratio'] / r['ratio'] for r in series)}; descent at the automatic step "
            f"leaves the flow at step "
            f"{span(r['descent_leaves_step'] for r in series if r['descent_leaves_step'])} "
            f"(diverging at {diverged} of {len(series)} n·SNR², its loss rising at {rises})."
        )
    lin = ctx["linearity_index"]
    shape = "; ".join(
        f"{name} {span(v for k, v in lin.items() if k.startswith(name + ','))}"
        for name in ("diffusion", "untied", "fixed-output", "classification")
    )
    text += f" Linearity index of the early growth (1: linear): {shape}."
    theory = ctx["theory"]
    factors, clean, effective, eff = {}, {}, {}, {}
    for k, t in theory.items():
        sx, _, v = k.partition(", n·SNR² = ")
        sx = sx.partition("= ")[2]
        factors.setdefault(sx, []).append(t["effective_nsnr2"] / float(v))
        eff.setdefault(sx, []).append(t["effective_nsnr2"])
        for r in rows:
            if g(r["sigma_xi"]) == sx and g(r["nsnr2"]) == v and r["m"] != 1:
                clean.setdefault(sx, []).append(r["untied_ratio"] / t["rate_ratio"])
                effective.setdefault(sx, []).append(r["untied_ratio"] / t["effective_nsnr2"])
    if factors:
        sx = min(factors, key=lambda k: max(factors[k]))  # the noise scale where they differ most
        text += (
            f" Effective SNR: at σ_ξ = {sx} the noised input's n·SNR_eff² is {span(factors[sx])} "
            f"of n·SNR² ({span(eff[sx])} over the sweep"
            + "".join(f"; {span(f)} at σ_ξ = {k}" for k, f in factors.items() if k != sx)
            + f"); there the untied ratio (m > 1) is {span(clean.get(sx, []))} times the clean "
            f"formula n_j‖μ‖²/‖ξ‖² and {span(effective.get(sx, []))} times n·SNR_eff²: read "
            "against the noised input's SNR, the same learning looks far more signal-dominated "
            "than that SNR suggests."
        )
    return text + in_domain(e)


def in_domain(e: dict) -> str:
    """The entry's domain in a sentence (where the answer was measured, what is known outside)."""
    d = (e.get("domain") or {}).get("measured") or {}
    return f" Measured at {d['measured']}; outside: {d['outside']}." if d else ""


def figures(m: Ablation, out: Path) -> list[Figure]:
    from sims.studies.ablation_figures import draw  # it imports the claims' thresholds

    return [
        draw(
            m,
            Path(out) / FIGURE,
            (ablation.TIED, ablation.UNTIED, ablation.TIED_1, ablation.UNTIED_1),
        )
    ]
