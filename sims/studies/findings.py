"""The README's paragraphs on the studies, written from a report.json (never retyped).

    python -m sims.studies.findings figures/report.json [figures/full/report.json]

prints the paragraph on the paper's synthetic study (claims D1, D2, C1: `synthetic`, for "What the quick
run shows"), then one markdown paragraph per claim B1-B5 (beyond Definition 2.1), O1, O2, A1 (issue 13's
research questions) and R1, R2 (issue 10: D2 under other readings, the branch map) with the verdict and the
numbers the report computed; given the full preset's report too, the comparison of the two presets
(`preset_comparison`) for the README's "The full preset" section.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from sims.studies.beyond_claims import STATIONARY_GAP
from sims.studies.claims import D1_RATE_FACTOR, D2_SLOPE, EXPONENTIAL_INDEX, LINEAR_INDEX
from sims.studies.plan import E1_NSNR2


def _g(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.3g}"


def _span(values) -> str:
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "n/a"
    lo, hi = min(values), max(values)
    return _g(lo) if _g(lo) == _g(hi) else f"{_g(lo)} to {_g(hi)}"


def _cells(rows, *keys) -> str:
    """'C = 0.5, 0.9 and n·SNR² = 0.75': the tested values of each key."""
    names = {"C": "C", "P": "P", "nsnr2": "n·SNR²", "scenario": "scenario"}
    order = lambda v: (1, v, 0) if isinstance(v, str) else (0, "", v)
    return " and ".join(
        f"{names[k]} = {', '.join(v if isinstance(v, str) else _g(v) for v in sorted({r[k] for r in rows}, key=order))}"
        for k in keys
    )


def synthetic(report: dict) -> str:
    """A run's synthetic study in short: D1, D2 and C1 with their numbers."""
    c = {e["id"]: e for e in report["claims"]}
    d1, d2, c1 = c["D1"]["measured"], c["D2"]["measured"], c["C1"]["measured"]
    p = report["meta"]["settings"]
    lin = d1["linearity_index"]
    fac = d1["measured_over_predicted_growth_ratio"]
    x = [r["nsnr2"] for r in d2["per_nsnr2"]]
    agree = c1["phase_agreement"]
    return (
        f"**The paper's synthetic study (D1: {c['D1']['verdict']}; D2: {c['D2']['verdict']}; C1: "
        f"{c['C1']['verdict']}).** With n = {p['n']}, d = {p['d']}, m = {p['m']}, σ₀ = {_g(p['sigma0'])}: "
        f"diffusion's growth-phase ratio over the predicted initial rate ratio n_j‖μ‖²/‖ξ_i‖² is "
        f"{_span([fac['min'], fac['max']])}, with log-log slope {_g(d1['growth_ratio_slope'])} against n·SNR²; "
        f"the linearity index of the early growth is {_g(lin['diffusion']['index'])} for diffusion and "
        f"{_g(lin['classification']['index'])} for classification (near-linear below {LINEAR_INDEX:g}, "
        f"exponential above {EXPONENTIAL_INDEX:g}). Classification: predicted boundary n·SNR² = "
        f"{_g(c1['predicted_boundary_nsnr2'])}, and the predicted winner is right in {agree['agree']} of "
        f"{agree['cells']} cells of the (n, SNR) grid. The diffusion **stationary** ratio is "
        f"{_span(d2['ratio_range'])} over n·SNR² = {_span(x)}, log-log slope "
        f"{_g(d2['stationary_ratio_slope'])} (Θ(n·SNR²) would be {D2_SLOPE[0]:g} to {D2_SLOPE[1]:g}), and within "
        f"{d2['largest_relative_gap_to_predicted_stationary_ratio']:.2%} of the reduced theory's stationary "
        f"ratio at every n·SNR²."
    )


def b1(e) -> str:
    rows = e["measured"]["rows"]
    at = {x: [r["classification_ratio"] for r in rows if r["nsnr2"] == x] for x in E1_NSNR2}
    cls = "; classification's ratio " + "; ".join(
        f"{_span(v)} at n·SNR² = {_g(x)}" for x, v in at.items() if v
    )
    return (
        f"**Correlated signals (B1: {e['verdict']}, {e['measured']['cells_passing']} cells pass).** Over "
        f"{_cells(rows, 'C', 'nsnr2')}, diffusion's final signal/noise ratio is {_span(r['diffusion_ratio'] for r in rows)} "
        f"(signal gain {_span(r['diffusion_signal_gain'] for r in rows)}, noise gain "
        f"{_span(r['diffusion_noise_gain'] for r in rows)}){cls}."
    )


def b2(e) -> str:
    cells = e["measured"]["per_cell"]
    growth = [
        c["growth_ratio"] / c["predicted_growth_ratio"]
        for c in cells
        if c["predicted_growth_ratio"]
    ]
    return (
        f"**The theory without orthogonality (B2: {e['verdict']}).** Diffusion's growth-phase ratio over the "
        f"predicted initial rate ratio is {_span(growth)} (within a factor {D1_RATE_FACTOR:g} in "
        f"{e['measured']['growth_within_factor']} "
        f"cells); the final ratio is within {_g(e['measured']['largest_stationary_gap'])} (relative) of the reduced ODE's "
        f"stationary ratio (within {STATIONARY_GAP:.0%} in {e['measured']['stationary_within_gap']} cells)."
    )


def b3(e) -> str:
    rows = e["measured"]["per_cell"]
    skipped = e["measured"]["cells_where_classifier_learns_majority_not_minority"]
    where = ", ".join(f"P = {_g(p)} at n·SNR² = {_g(x)}" for p, x in skipped) or "no cell"
    return (
        f"**Imbalanced classes (B3: {e['verdict']}).** Over {_cells(rows, 'P', 'nsnr2')}, diffusion's "
        f"minority-signal gain is {_span(r['diffusion_minority_gain'] for r in rows)}; the classifier's is "
        f"{_span(r['classification_minority_gain'] for r in rows)} (majority "
        f"{_span(r['classification_majority_gain'] for r in rows)}, test error on the minority class "
        f"{_span(r.get('classification_test_error_minority') for r in rows)}). The classifier learns the "
        f"majority's signal but not the minority's in: {where}."
    )


def b4(e) -> str:
    parts = []
    for name, rows in e["measured"]["per_scenario"].items():
        t = e["measured"]["learned_from_nsnr2"][name]
        when = {
            m: _g(t[m])
            if t[m] is not None and math.isfinite(t[m])
            else "none (not learned at the largest)"
            for m in t
        }
        top = max(rows, key=lambda r: r["nsnr2"])
        parts.append(
            f"{name} feature: the n·SNR² from which it is learned at every larger tested value is "
            f"{when['diffusion']} for diffusion and {when['classification']} for the classifier (gains "
            f"{_span(r['diffusion_gain'] for r in rows)} and {_span(r['classification_gain'] for r in rows)} "
            f"over n·SNR² = {_span(r['nsnr2'] for r in rows)}; at n·SNR² = {_g(top['nsnr2'])} the strong "
            f"feature's gain is {_g(top['diffusion_strong_gain'])} for diffusion and "
            f"{_g(top['classification_strong_gain'])} for the classifier)"
        )
    text = "; ".join(parts)
    return f"**Weak and rare features (B4: {e['verdict']}).** " + text[:1].upper() + text[1:] + "."


def b5(e) -> str:
    rows = e["measured"]["per_cell"]
    return (
        f"**Linear probe (B5: {e['verdict']}).** Over {_cells(rows, 'scenario', 'nsnr2')}, the probe on "
        f"the weak/rare-only test set scores {_span(r['diffusion_ood'] for r in rows)} on diffusion's features "
        f"and {_span(r['classification_ood'] for r in rows)} on the classifier's (training law: "
        f"{_span(r['diffusion_in_distribution'] for r in rows)} and "
        f"{_span(r['classification_in_distribution'] for r in rows)}). How differently the filters answer the "
        f"two classes' strong feature (0: every filter alike): "
        f"{_span(r.get('diffusion_response_asymmetry_strong') for r in rows)} for diffusion, "
        f"{_span(r.get('classification_response_asymmetry_strong') for r in rows)} for the classifier."
    )


def _learned_from(outcomes: dict):
    """(largest n·SNR² with one feature only, smallest n·SNR² from which both are learned at every larger one)."""
    points = sorted((float(x), o) for x, o in outcomes.items())
    alone = [x for x, o in points if o in ("signal", "noise")]
    both = [x for i, (x, _) in enumerate(points) if all(o == "both" for _, o in points[i:])]
    return (max(alone) if alone else None), (min(both) if both else None)


def o1(e) -> str:
    m = e["measured"]
    per = m["per_series"]
    groups = {}
    for name, v in per.items():
        groups.setdefault(name.split("/")[0], []).append((name.split("/")[1], v))
    parts = []
    for objective, series in groups.items():
        slopes = ", ".join(f"{s} {_g(v['slope'])}" for s, v in series)
        if all(v["both_learned_everywhere"] for _, v in series):
            parts.append(
                f"{objective}: slopes {slopes}, both features learned everywhere, ratio "
                f"{_span(x for _, v in series for x in v['ratio_range'])}"
            )
        else:
            edges = [_learned_from(v["outcomes"]) for _, v in series]
            parts.append(
                f"{objective}: slopes {slopes}, one feature alone up to n·SNR² = "
                f"{_span(a for a, _ in edges)} and both from {_span(b for _, b in edges)}, ratio "
                f"{_span(x for _, v in series for x in v['ratio_range'])}"
            )
    gaps = [c["relative_gap"] for c in m["descent_check"].values() if "relative_gap" in c]
    early = ", ".join(
        f"{k.split('/')[1]} {_g(v['slope'])}"
        for k, v in m["early_rate_ratio"].items()
        if k.startswith("eps/")
    )
    return (
        f"**Objectives and schedules (O1: {e['verdict']}).** Log-log slope of the stationary ratio against "
        f"n·SNR²: "
        + "; ".join(parts)
        + f". Gradient descent ends at the ODE's stationary point (largest "
        f"relative gap in the ratio {_g(max(gaps) if gaps else math.nan)}). eps keeps D1's early rate ratio "
        f"(log-log slope {early})."
    )


def o2(e) -> str:
    m = e["measured"]
    per = m["per_nsnr2"]
    wta = [p for p in per if p["outcome"] in ("signal", "noise")]
    both = [p for p in per if p["outcome"] == "both"]
    return (
        f"**x0-prediction against the classifier (O2: {e['verdict']}).** x0-prediction is winner-take-all "
        f"at {m['winner_take_all']} of {m['settings']} n·SNR² values (n·SNR² = {_span(p['nsnr2'] for p in wta)}, "
        f"ratio {_span(p['ratio'] for p in wta)}), with the classifier's winner at "
        f"{m['agrees_with_classifier']}; it learns both features at n·SNR² = {_span(p['nsnr2'] for p in both)} "
        f"(ratio {_span(p['ratio'] for p in both)})."
    )


def a1(e) -> str:
    m = e["measured"]
    cross = m["crossing_nsnr2"]
    grid = m.get("phase_grid_same_winner")
    grid_text = (
        f"; the same winner in {grid['same']} of {grid['cells']} (n, SNR) cells" if grid else ""
    )
    per = m["per_nsnr2"]
    return (
        f"**Noise-augmented classifier (A1: {e['verdict']}).** Its final ratio is "
        f"{_span(p['ratio'] for p in per)} over n·SNR² = {_span(p['nsnr2'] for p in per)} (the plain "
        f"classifier's {_span(p['ratio'] for p in m['plain_classifier'])}, eps diffusion's "
        f"{_span(m['diffusion_eps_ratio'].values())}); its ratio crosses 1 at n·SNR² = {_g(cross['augmented'])} "
        f"against {_g(cross['plain'])} for the plain classifier{grid_text}; both ends keep one feature alone: "
        f"{m['keeps_both_ends']}."
    )


def r1(e) -> str:
    m = e["measured"]
    per = m["per_series"]
    slopes = "; ".join(f"{k} {_g(v['slope'])}" for k, v in per.items())
    both = [k for k, v in per.items() if v["both_learned_everywhere"]]
    fixed = {k: rows for k, rows in m["rows"].items() if k.startswith("fixed")}
    gains = "; ".join(
        f"{k}: signal {_span(r['signal_gain'] for r in rows)}x, noise {_span(r['noise_gain'] for r in rows)}x"
        for k, rows in fixed.items()
    )
    longer = m.get("fixed_draws_longer", {}).get("per_series", {})
    longer_text = (
        (
            "; ".join(f"{k}: slope {_g(v['slope'])}" for k, v in longer.items())
            + " (added after R1's numbers "
            "were seen; in no rule)"
        )
        if longer
        else "n/a"
    )
    missed = "; ".join(
        f"{k} at n·SNR² = {_g(r['nsnr2'])}, {r['not_reached'].split(' (')[0].split(';')[0]}"
        for k, rows in m["rows"].items()
        for r in rows
        if r.get("not_reached")
    )
    return (
        f"**D2 under other readings (R1: {e['verdict']}).** Log-log slope of the signal/noise ratio against "
        f"n·SNR²: {slopes}.{f' Not finished (its series has no slope): {missed}.' if missed else ''} "
        f"Both features learned at every n·SNR²: {', '.join(both) or 'no series'}; of "
        f"these, Θ(n·SNR²): {', '.join(m['theta_series']) or 'none'}; growing, not linearly: "
        f"{', '.join(m['growing_series']) or 'none'}. Fixed draws, gains over initialisation: {gains or 'n/a'}; "
        f"run longer: {longer_text}."
    )


def r2(e) -> str:
    m = e["measured"]
    states = ", ".join(f"{k} {v}" for k, v in m["states"].items())
    return (
        f"**Stationary branches (R2: {e['verdict']}).** The exact flow ends on the symmetric branch with Morse "
        f"index 0 at {m['symmetric_share']:.0%} of the m × n·SNR² map ({states}); {m['where_symmetric_ends']}."
    )


WRITERS = {
    "B1": b1,
    "B2": b2,
    "B3": b3,
    "B4": b4,
    "B5": b5,
    "O1": o1,
    "O2": o2,
    "A1": a1,
    "R1": r1,
    "R2": r2,
}


def paragraphs(report: dict) -> str:
    """One paragraph per B, O, A or R claim present in the report, in its order."""
    return "\n\n".join(WRITERS[e["id"]](e) for e in report["claims"] if e["id"] in WRITERS)


def preset_comparison(quick: dict, full: dict) -> str:
    """The full preset beside the quick one: a table of every claim's verdict in both, the full preset's
    synthetic paragraph, and the paragraph of each further claim whose verdict differs between them."""
    before = {e["id"]: e["verdict"] for e in quick["claims"]}
    rows = "\n".join(
        f"| {e['id']} | {before.get(e['id'], 'not run')} | {e['verdict']} |" for e in full["claims"]
    )
    changed = [
        WRITERS[e["id"]](e)
        for e in full["claims"]
        if e["id"] in WRITERS and before.get(e["id"]) != e["verdict"]
    ]
    return "\n\n".join(
        [
            "| claim | quick preset | full preset |\n|---|---|---|\n" + rows,
            synthetic(full),
            *changed,
        ]
    )


if __name__ == "__main__":
    report = json.loads(
        Path(sys.argv[1] if len(sys.argv) > 1 else "figures/report.json").read_text()
    )
    print(synthetic(report) + "\n\n" + paragraphs(report))
    if len(sys.argv) > 2:
        print("\n\n" + preset_comparison(report, json.loads(Path(sys.argv[2]).read_text())))
