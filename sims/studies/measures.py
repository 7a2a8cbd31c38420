"""The measures the studies read from finished runs (their definitions in words: `TERMS`, printed in
REPORT.md and on the figures that use them).

- signal, noise: the headline alignments of the model's `summary` (sims.models; diffusion: mean_j
  max_r <w_r, mu_j> and mean_i max_r <w_r, xi_i>; classification: the same with |.| and own-class
  filters); ratio = signal / noise.
- growth-phase ratio: the increase of signal over the increase of noise between step 0 and the first
  step where either has grown `GROWTH_FRACTION` of the way to its final value; measured on an
  "early" run that repeats the first eighth of the main run logging every step.
- linearity index: on a run from a `presets.EARLY_SIGMA0` times smaller initialisation (logged every
  step), the increase over the second half of the window over the increase over its first half, the
  window ending where the faster feature has grown `LINEAR_GROWTH` times: 1 for linear growth; e^{r
  T / 2} > 1 for exponential growth at rate r.
- winner: the signal wins where signal / noise > `WINNER_RATIO`, the noise where it is below.
- effective SNR: the SNR of the noised input x_t = alpha x0 + beta eps (`TERMS`).
- local slope: the log-log slope between neighbouring points of a curve (`local_slopes`), shown
  where a single fit over the whole sweep (`fitted_slopes`, read by the claims) would hide that a
  curve levels off.
"""

from __future__ import annotations

import math

import numpy as np

from sims.studies.cells import Trace
from sims.studies.memorise import FRESH, GEN_FRACTION, HORIZON, MEM_GAP, SETTLED, TOL


def memorise_terms() -> dict:
    """The memorisation study's terms (sims.memorisation, sims.studies.memorise), its constants
    filled in."""
    return {
        "attainable decrease": (
            "L(W0) - L(W*), the exact loss's decrease from the initial weights W0 to its "
            "stationary point W* on the same data (the exact flow, theory.ode); the unit of both "
            "gaps"
        ),
        "draw gap": (
            "the exact loss minus the loss on the run's K fixed noise draws at the same weights, "
            "minus its value at W0, in units of the attainable decrease: how much the run has "
            "fitted the draws it trained on beyond the noise it did not see (none for the exact "
            "loss)"
        ),
        "data gap": (
            f"the exact loss of a fresh noise patch (a Monte Carlo mean over {FRESH} patches of "
            f"the data's law) minus its mean over the training noise patches xi_i, minus its "
            "value at W0, in units of the attainable decrease: how much the run has memorised "
            "its training samples (their signal patches are the same vectors mu_y as a fresh "
            "sample's)"
        ),
        "tau_mem": (
            f"tau = eta·step at which the draw gap (tau_mem(draws)) or the data gap "
            f"(tau_mem(data)) first reaches {MEM_GAP:g}, interpolated in log tau between logged "
            f"steps; a run that never reaches it within its length is censored"
        ),
        "tau_gen": (
            f"tau at which the signal alignment mean_j max_r |<w_r, mu_j>| first reaches "
            f"{GEN_FRACTION:.0%} of its value at the exact loss's stationary point on the same "
            f"data and W0"
        ),
        "length of a memorisation run": (
            f"descent runs to {HORIZON:g} times the exact flow's settling time (where its loss "
            f"is within {SETTLED:.0%} of the attainable decrease of its stationary value), or "
            f"to its own stationary point (||grad L|| < 1e{round(math.log10(TOL))}), or to the "
            f"preset's step cap"
        ),
    }


# the measures' definitions in words: printed in REPORT.md and on the figures that use them
TERMS = {
    "linearity index": (
        "on a run from a small initialisation, a feature's rise over the second half of the early "
        "window over its rise over the first half (the window ends where the faster feature has "
        "grown {LINEAR_GROWTH:g} times): 1 for linear growth, above 1 for growth faster than "
        "linear "
        "(e^(rT/2) for exponential growth at rate r); the index is the larger of signal's and "
        "noise's"
    ),
    "growth-phase ratio": (
        "on seed 0, signal's rise over noise's rise from step 0 to the first step where either "
        "has grown {GROWTH_FRACTION:.0%} of the way to its final value"
    ),
    "effective SNR": (
        "the signal-to-noise ratio of the noised input x_t = α x₀ + β ε that a denoiser (or an "
        "augmented classifier) sees: α‖μ‖ against the norm of the noise α ξ + β ε in the noise "
        "patch, n·SNR_eff² = n α²‖μ‖² / (α²‖ξ‖² + β² d) = n·SNR² · α²σ_ξ² / (α²σ_ξ² + β²) for "
        "Definition 2.1 data: half of n·SNR² at the default σ_ξ = 1, α = β, and 1/401 of it at "
        "σ_ξ = 0.05 (sims.studies.ablation); the claims are stated in the clean n·SNR², and in the "
        "effective one where that changes a reading"
    ),
    "log-log slope": (
        "the least-squares slope of log(ratio) against log(n·SNR²) over the whole sweep (what the "
        "claims read); the figures also show the local slope between neighbouring points"
    ),
}
TERMS.update(memorise_terms())
GROWTH_FRACTION = 0.25
LINEAR_GROWTH = 5.0  # the linearity window ends where a feature has grown this many times
WINNER_RATIO = 1.0  # signal / noise above this: the signal wins; below: the noise


def term(name: str) -> str:
    """The definition of a measure in words (TERMS), with its constants filled in."""
    return TERMS[name].format(LINEAR_GROWTH=LINEAR_GROWTH, GROWTH_FRACTION=GROWTH_FRACTION)


# ---------------------------------------------------------------------------------------- one run
def growth_window(
    signal: np.ndarray, noise: np.ndarray, final_signal: float, final_noise: float
) -> int:
    """Index of the first logged step where signal or noise has grown GROWTH_FRACTION of the way
    from its initial value to its final value (from the full-length run)."""
    reached = ((signal - signal[0]) >= GROWTH_FRACTION * (final_signal - signal[0])) | (
        (noise - noise[0]) >= GROWTH_FRACTION * (final_noise - noise[0])
    )
    reached[-1] = True
    return max(int(np.argmax(reached[1:])) + 1, 2)


def growth_ratio(early: Trace, final: Trace) -> float:
    """Increase of signal over increase of noise through the growth window (see growth_window)."""
    s, z = early.signal_max, early.noise_max
    k = growth_window(s, z, final.signal_max[-1], final.noise_max[-1])
    return float((s[k] - s[0]) / (z[k] - z[0])) if z[k] != z[0] else float("nan")


def linearity(values: np.ndarray, k: int) -> float:
    """Increase over the second half of [0, k] over the increase over the first half: 1 if
    linear."""
    half = k // 2
    return float((values[k] - values[half]) / (values[half] - values[0]))


def linear_window(trace: Trace) -> int:
    """Up to where the faster-growing feature has multiplied LINEAR_GROWTH times (or the whole
    run)."""
    grown = (trace.signal_max >= LINEAR_GROWTH * trace.signal_max[0]) | (
        trace.noise_max >= LINEAR_GROWTH * trace.noise_max[0]
    )
    grown[-1] = True
    return max(int(np.argmax(grown)), 2)


def loglog_slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def local_slopes(x, y) -> tuple[np.ndarray, np.ndarray]:
    """(geometric midpoints, log-log slopes) between neighbouring points with finite positive
    values."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log(x[keep]), np.log(y[keep])
    return np.exp((lx[1:] + lx[:-1]) / 2), np.diff(ly) / np.diff(lx)


def mean(values) -> float:
    """The mean of the finite values (None and nan left out); nan if there is none."""
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")
