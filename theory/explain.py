"""The predictions of theory.predict in words: what `fldm predict` prints (the full object with
--json).

`explain(prediction)` reads only these keys of `theory.predict.predict`'s output (everything else is
left to --json):
    every model      model, nsnr2, eta
    diffusion        initial_rates.{signal, noise}, initial_rate_ratio, rate_ratio_formula,
                     linear_phase_steps.{signal, noise},
                     stationary.{found, reason, summary.{signal, noise}, ratio, stable, morse_index,
                     max_eigenvalue, branch, groups, steps, reached_gtol,
                     scalar_equation.{applies, reason, max_abs_error}}
    classification   rates.{signal, noise}, rate_ratio, time_to_order_one_steps.{signal, noise},
        winner,
                     boundary_nsnr2, boundary_not_applicable, linear_rates.signal, linear_rate_ratio
    untied models    initial_rates, output_initial_rates, output_trained, growth, growth_rate,
                     growth_rate_formula, efold_steps, objective, rate_ratio, rate_ratio_formula,
                     ratio_correction, not_reached (theory.untied.untied_lines)
    any (optional)   not_definition_2_1: how the data depart from Definition 2.1; then the closed
    forms
                     (the formula n_j‖μ‖²/‖ξ_i‖², the classification rates and boundary) are said
                     not to apply
Missing numbers (NaN, None) are said in words, never printed as "nan".
"""

from __future__ import annotations

import math
import textwrap

from sims import models
from theory.law import regime_line
from theory.predict import LINEAR_TOL

WIDTH = 100  # characters per printed line


def _num(v, spec: str = ".4g") -> str | None:
    return None if v is None or not math.isfinite(v) else format(v, spec)


def _steps(v) -> str:
    return "never within the horizon" if _num(v) is None else f"about {v:,.0f} steps"


def explain(p: dict) -> str:
    """A short readable summary of one prediction (see the module docstring for the keys it
    reads)."""
    head = (
        f"{p['model'].capitalize()} model at n·SNR² = {p['nsnr2']:.4g} (step size η = "
        f"{p['eta']:.4g}; "
        f"time τ = η·step)"
    )
    body = models.get(p["model"]).theory.explain(p)
    beyond = p.get("not_definition_2_1") or []
    if beyond:
        body = [
            f"- Data beyond Definition 2.1 ({'; '.join(beyond)}): the closed-form formulas below "
            f"assume "
            f"it and are for comparison only.",
            *body,
        ]
    if p.get("regime") and p["regime"].get("d2") is not None:
        body.append("- " + regime_line(p["regime"]))
    lines = [head, *body, "Every number, with eigenvalues and alignments: add --json."]
    return "\n".join(textwrap.fill(line, WIDTH, subsequent_indent="  ") for line in lines)


def diffusion_lines(p: dict) -> list[str]:
    r, lin = p["initial_rates"], p["linear_phase_steps"]
    lines = [
        f"- Early growth (claim D1): signal learning grows at {r['signal']:.4g} and noise learning "
        f"at "
        f"{r['noise']:.4g} per unit τ, a ratio of {p['initial_rate_ratio']:.4g}; the formula "
        f"n_j‖μ‖²/‖ξ_i‖² gives {p['rate_ratio_formula']:.4g} (≈ n·SNR²/2 = {p['nsnr2'] / 2:.4g}: "
        f"the "
        f"paper's Θ(n·SNR²)).",
        f"- Near-linear phase: the growth stays within {LINEAR_TOL:.0%} of a straight line for "
        f"{_phase(lin['signal'])} (signal) and {_phase(lin['noise'])} (noise).",
    ]
    s = p["stationary"]
    if not s.get("found"):
        return lines + [
            f"- Stationary point (claim D2): none found ({s.get('reason', 'no reason given')})."
        ]
    reached = (
        "reached"
        if s.get("reached_gtol")
        else "approached (the gradient tolerance was not reached)"
    )
    stable = (
        "stable (Morse index 0"
        if s["stable"]
        else f"unstable: a saddle with {s['morse_index']} unstable direction(s) (Morse index "
        f"{s['morse_index']}"
    ) + f"; largest flow eigenvalue {s['max_eigenvalue']:.3g})"
    branch = (
        "symmetric branch (every neuron shares its data-span part)"
        if s["branch"] == "symmetric"
        else f"asymmetric branch (neuron groups {s['groups']})"
    )
    lines.append(
        f"- Stationary point (claim D2), {reached} after {_steps(s.get('steps'))}: signal "
        f"{s['summary']['signal']:.4g}, noise {s['summary']['noise']:.4g}, ratio {s['ratio']:.4g}; "
        f"{stable}; {branch}."
    )
    eq = s.get("scalar_equation") or {}
    if eq.get("applies"):
        lines.append(
            f"  every alignment there solves one scalar equation in its patch's weight n_z‖z‖² "
            f"(largest error {eq['max_abs_error']:.2g}); how the ratio moves with n·SNR² is "
            f"decided by "
            f"the groups of the regime line."
        )
    elif eq:
        lines.append(
            f"  the scalar equation behind the stationary ratio does not apply here: "
            f"{eq['reason']}."
        )
    leaves = s.get("descent_leaves_at_step")
    if leaves is not None:
        lines.append(
            f"  Gradient descent with η = {p['eta']:.4g} does not reach it: it leaves the flow at "
            f"step "
            f"~{leaves:.3g}, where the loss's curvature passes 2/η; a smaller --eta reaches it."
        )
    return lines


def _phase(steps) -> str:
    return (
        "the whole run (it never departs)"
        if _num(steps) is None
        else f"the first {steps:,.0f} steps"
    )


def classification_lines(p: dict) -> list[str]:
    r, t = p["rates"], p["time_to_order_one_steps"]
    b = _num(p.get("boundary_nsnr2"))
    boundary = (
        f"no boundary: {p['boundary_not_applicable']}"
        if p.get("boundary_not_applicable")
        else "no boundary (the noise is of order one at initialisation)"
        if b is None
        else f"the predicted phase boundary is n·SNR² = {b}: below it the noise is memorised, "
        f"above it the "
        f"signal is learned"
    )
    exact = ""
    if p.get("not_definition_2_1") and _num(p.get("linear_rate_ratio")) is not None:
        exact = (
            f" For these data the linearised flow gives the signal rate "
            f"{p['linear_rates']['signal']:.4g}, "
            f"a ratio of {p['linear_rate_ratio']:.4g}."
        )
    return [
        f"- Early growth (claim C1): exponential, at rate {r['signal']:.4g} (signal) and "
        f"{r['noise']:.4g} "
        f"(noise) per unit τ, a ratio of {p['rate_ratio']:.4g} (= n_j‖μ‖²/‖ξ_i‖²).{exact}",
        f"- Order one (one filter alone gives margin 1): the signal after {_steps(t['signal'])}, "
        f"the noise "
        f"after {_steps(t['noise'])}.",
        f"- Winner: the {p['winner']} ({'learned' if p['winner'] == 'signal' else 'memorised'} "
        f"first); "
        f"{boundary}.",
    ]
