"""U2, the project's (reviewer 5's ablation, the mirror of U1): does a fixed output layer bring back
a winner-take-all?

The classifier's second layer is fixed (+-1); the fixed-output denoiser (sims.untied,
train_output=False) is the untied network with its output layer V frozen at its random start,
trained on the denoising loss: the classifier's situation on the denoising side. Design, readings
and seeds: U1's (sims.studies.ablation), at the preset's width m = 4, beside the classifier on the
same data and first-layer start.

Seen before this rule was written: U1's list (the same study, the same commit), in particular the
fixed-output model at d = 500, m = 2, n·SNR² = 0.5, sigma_xi = 1, which settled with both features
grown (signal 0.05 -> 1.61, noise 0.25 -> 1.93), and theory.untied's prediction for its early
phase (one exponential rate per neuron for both features, at the tied ratio: no early winner).
While timing: its flows are stationary by 10 tau_read at sigma_xi = 0.05 and at sigma_xi = 1,
n·SNR² = 0.05, not at sigma_xi = 1, n·SNR² = 50; its descent at the automatic step raised no
check. No ratio or gain of the study was seen. Added after the numbers were seen, in no rule: the
fixed-output ratio over the tied one at each point (`fixed_output_over_tied`), which the paragraph
reads.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sims.studies import ablation
from sims.studies.ablation import CLASSIFIER, FIXED, TIED, Ablation
from sims.studies.claims.base import (
    DOES_NOT,
    HOLDS,
    IN_PART,
    LEARNED_GAIN,
    PROJECT,
    Entry,
    Figure,
    Spec,
    g,
    outcome,
    span,
)
from sims.studies.claims.u1 import context, domain, in_domain, note

FIGURE = "fig_ablation_fixed_output.png"
WINNER = ("signal", "noise")  # the outcomes where exactly one feature is learned
OUTSIDE = (
    "the early growth is derived for any data and width (theory.untied: one exponential rate per "
    "neuron for both features, proportional to sigma0, at the tied rate ratio as d grows: no "
    "early winner); no law of its stationary point is derived, so outside the measured points "
    "the late outcome is not predicted"
)

SPEC = Spec(
    id="U2",
    claim="A fixed output layer brings back a winner-take-all: the fixed-output denoiser (its "
    "output layer frozen at its random start, trained on the denoising loss) learns one feature "
    "and not the other, as the classifier does (C1).",
    short="fixed-output denoiser: a winner-take-all comes back",
    rule=(
        f"read as U1 (the exact gradient flow at tau_read, seed means), at every (sigma_xi, "
        f"n·SNR²) of the sweep with m = 4; a point is winner-take-all where exactly one feature "
        f"is learned (its alignment > {LEARNED_GAIN:g}x its initial value, the other's not); "
        f"holds if every point is; '{IN_PART}' if some but not all are; otherwise '{DOES_NOT}'. "
        f"The classifier's outcome at each point, on the same data, is reported beside it (not in "
        f"the rule)."
    ),
    origin=PROJECT,
)
STUDY = ablation.STUDY


def judged(points: list) -> Entry:
    """The rule on points = [(where, fixed-output point, classifier point, tied point)]."""
    winner = [outcome(f) in WINNER for _, f, _, _ in points]
    verdict = HOLDS if points and all(winner) else IN_PART if any(winner) else DOES_NOT
    return SPEC.entry(
        verdict,
        {
            "points": len(points),
            "winner_take_all_at": int(sum(winner)),
            "per_point": [
                {
                    **w,
                    "fixed_output_outcome": outcome(f),
                    "fixed_output_ratio": f.ratio,
                    "fixed_output_gains": [f.signal_gain, f.noise_gain],
                    "classifier_outcome": outcome(c),
                    "classifier_ratio": c.ratio,
                    "tied_ratio": t.ratio,
                    "fixed_output_over_tied": f.ratio / t.ratio,
                }
                for w, f, c, t in points
            ],
        },
    )


def points_of(m: Ablation) -> list:
    out = []
    for sx in m.size.sigma_xi:
        rows = zip(
            m.flows[FIXED.label(m.m), sx],
            m.flows[CLASSIFIER.label(m.m), sx],
            m.flows[TIED.label(m.m), sx],
        )
        for f, c, t in rows:
            out.append(({"sigma_xi": sx, "nsnr2": f.nsnr2}, f, c, t))
    return out


def verdict(m: Ablation) -> Entry:
    entry = judged(points_of(m))
    keep = (FIXED.label(m.m), CLASSIFIER.label(m.m))
    ctx = context(m)
    ctx["series"] = {k: v for k, v in ctx["series"].items() if k.startswith(keep)}
    measured = {**entry.measured, "context (not in the rule)": ctx}
    return replace(
        SPEC.entry(entry.verdict, measured, note=note(m)),
        domain=domain(m, OUTSIDE, "m = {}", entry.verdict),
    )


def paragraph(e: dict) -> str:
    m = e["measured"]
    rows = m["per_point"]
    outcomes = lambda key: ", ".join(
        f"{name} at {sum(r[key] == name for r in rows)}"
        for name in ("both", "signal", "noise", "neither")
        if any(r[key] == name for r in rows)
    )
    gains = [x for r in rows for x in r["fixed_output_gains"]]
    return (
        f"The fixed-output denoiser is winner-take-all at {m['winner_take_all_at']} of "
        f"{m['points']} points (it learns {outcomes('fixed_output_outcome')}; gains "
        f"{span(gains)}), with a ratio {span(r['fixed_output_ratio'] for r in rows)} that follows "
        f"the tied model's (fixed-output over tied: "
        f"{span(r['fixed_output_over_tied'] for r in rows)}). The classifier on the same data and "
        f"first-layer start learns {outcomes('classifier_outcome')}, with ratios "
        f"{span(r['classifier_ratio'] for r in rows)}. Per point (σ_ξ, n·SNR²: fixed output / "
        f"classifier): "
        + "; ".join(
            f"({g(r['sigma_xi'])}, {g(r['nsnr2'])}: {r['fixed_output_outcome']} / "
            f"{r['classifier_outcome']})"
            for r in rows
        )
        + "."
        + (
            " Freezing the output layer keeps the denoiser's balance where the classifier's "
            "logistic loss, on the same data, does not: on these data the winner-take-all comes "
            "with the classifier's loss, not with a fixed second layer."
            if m["winner_take_all_at"] == 0 and any(r["classifier_outcome"] in WINNER for r in rows)
            else ""
        )
        + in_domain(e)
    )


def figures(m: Ablation, out: Path) -> list[Figure]:
    from sims.studies.ablation_figures import draw  # it imports the claims' thresholds

    return [draw(m, Path(out) / FIGURE, (TIED, FIXED, CLASSIFIER), growth=False)]
