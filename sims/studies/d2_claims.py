"""Issue 10, items 2 and 6: is D2's weak dependence an artefact of one reading of the paper, and where is the
symmetric branch? Each question with one rule, fixed (and committed) before its numbers were seen.

R1  Under some reasonable reading of the paper, the stationary ratio is Θ(n·SNR²) with both features learned.
R2  The symmetric branch (one group of neurons, Morse index 0) is the flow's stationary state over the map.

Design of R1, fixed with the rule (`sims.studies.d2robust`): the base setting is the research sections'
model (the quick preset's n = 20, d = 2000, m = 4, sigma0 = 0.01; eps objective, single time alpha = beta =
1/sqrt 2), one seed per n·SNR², the same data and initial weights in every series of one n·SNR² (the width
and dimension series draw their own). Series, each over the n·SNR² sweep:
- exact loss, (alpha, beta) in ALPHA_BETA, m in WIDTHS, d in DIMENSIONS: the stationary point of the alignment
  ODE (sims.studies.research.stationary_cell: exact gradient flow of the exact loss to ||grad L|| < 1e-10);
- resampled draws, K in RESAMPLED_K: gradient descent for the exact-loss run's steps (at most MAX_DRAW_STEPS),
  read as the mean over the last LAST_SHARE of the logged points (the iterates fluctuate);
- fixed draws, K in FIXED_K: gradient descent on the fixed-draw loss for the same steps (stopping early at
  ||grad L|| < 1e-8), read at the end, with its gradient norm;
- growth phase: on the exact loss, descent logged every step over the first eighth of the run, read where
  signal or noise has first grown GROWTH_FRACTION (sims.studies.measures) of the way to its stationary value.
Every series reads magnitudes (research_claims, amendment 1): signal = mean_j max_r |<w_r, mu_j>|, noise =
mean_i max_r |<w_r, xi_i>|; gains are these over their values at initialisation.
Seen before this rule was written: the statement of PAPER.md ("slope <= 0.5 for the exact and resampled
losses across (alpha, beta), m and d; only fixed draws steepen it"), and, while timing single cells (seed 1,
quick model), the exact-loss stationary ratio at n·SNR² = 0.05 (0.46) and 50 (1.10), resampled K = 16 at
both (0.45, 1.10, final iterate) and fixed K = 16 (0.069 after 20 000 steps, not converged) and K = 1
(0.049) at 0.05. MAX_DRAW_STEPS was set from those timings (20 000 steps of fixed K = 16 took ~10 minutes).

R2 reads theory.predict's stationary record over the map (m in MAP_WIDTHS, n·SNR² on MAP_NSNR2, n = 20,
d = 2000, seed per cell): its branch, surviving rank and Morse index, or "none" when the flow reaches no
stationary point. The quick and tiny presets run one small cell of each series kind (the tiny model, two
n·SNR² values) and a 2 x 3 corner of the map, to exercise the code; the studies are the full preset's.
"""

from __future__ import annotations

from sims.studies.claims import DOES_NOT, HOLDS, IN_PART
from sims.studies.measures import loglog_slope
from sims.studies.plan import _logspace
from sims.studies.research_claims import (
    BOTH_LEARNED_RATIO,
    LEARNED_GAIN,
    PART_SLOPE,
    THETA_SLOPE,
    both_learned,
    outcome,
)

ALPHA_BETA = ((0.95, 0.31), (0.71, 0.71), (0.31, 0.95))
WIDTHS = (1, 4, 16)
DIMENSIONS = (500, 8000)
RESAMPLED_K = (1, 16)
FIXED_K = (1, 4, 16)
NSNR2 = (0.05, 0.5, 5.0, 50.0)  # R1's sweep (full preset)
MAX_DRAW_STEPS = 5000  # descent with drawn noise runs at most this many steps
LAST_SHARE = 0.1  # resampled draws: the mean over this last share of the logged points
MAP_WIDTHS = (1, 2, 4, 8, 16, 32)
MAP_NSNR2 = _logspace(1e-3, 1e3, 13)  # two per decade
SYMMETRIC_SHARE = 0.5  # R2 in part: the symmetric branch at at least this share of the map

GROWTH = "growth phase"  # the one series that is not read at a stationary point / end of training

_BOTH = (
    f"both features learned at every n·SNR² (signal and noise alignments each > {LEARNED_GAIN:g}x their "
    f"initial values, ratio between {BOTH_LEARNED_RATIO[0]:g} and {BOTH_LEARNED_RATIO[1]:g})"
)

CLAIMS = {
    "R1": "D2 holds under some reasonable reading of the paper: with the resampled or fixed-draw loss, another "
    "diffusion time (α, β), width m or dimension d, or the ratio read at the end of the growth phase, the "
    "signal/noise ratio is Θ(n·SNR²) with both features learned.",
    "R2": "The symmetric branch (all neurons share their data-span part, Morse index 0) is where the exact "
    "gradient flow ends at every width m and n·SNR² of the map.",
}

RULES = {
    "R1": (
        f"for each series, the log-log slope of its ratio against n·SNR² over the sweep; holds if some series "
        f"read at the stationary point or the end of training (every series but the {GROWTH}) has its slope "
        f"in [{THETA_SLOPE[0]:g}, {THETA_SLOPE[1]:g}] and {_BOTH}; '{IN_PART}' if only the {GROWTH} series "
        f"does, or some series has {_BOTH} and its slope in [{PART_SLOPE[0]:g}, {PART_SLOPE[1]:g}] "
        f"(growing, not linearly); otherwise '{DOES_NOT}'."
    ),
    "R2": (
        f"holds if every cell of the map has a stationary point on the symmetric branch with Morse index 0; "
        f"'{IN_PART}' if at least {SYMMETRIC_SHARE:.0%} of the cells do; otherwise '{DOES_NOT}'."
    ),
}


def _entry(claim: str, verdict: str, measured: dict) -> dict:
    return {
        "id": claim,
        "verdict": verdict,
        "measured": measured,
        "claim": CLAIMS[claim],
        "rule": RULES[claim],
    }


def series_measures(rows: list) -> dict:
    """Slope, both-learned and outcomes of one series (rows with nsnr2, ratio, signal_gain, noise_gain)."""
    return {
        "slope": loglog_slope([r["nsnr2"] for r in rows], [r["ratio"] for r in rows]),
        "both_learned_everywhere": bool(rows) and all(both_learned(r) for r in rows),
        "ratio_range": [min(r["ratio"] for r in rows), max(r["ratio"] for r in rows)]
        if rows
        else [],
        "outcomes": {r["nsnr2"]: outcome(r) for r in rows},
    }


def robustness_verdict(series: dict) -> dict:
    """R1 from series = {label: [row per n·SNR²]}; the label GROWTH is the growth-phase reading."""
    per = {k: series_measures(rows) for k, rows in series.items()}
    theta = [
        k
        for k, v in per.items()
        if v["both_learned_everywhere"] and THETA_SLOPE[0] <= v["slope"] <= THETA_SLOPE[1]
    ]
    growing = [
        k
        for k, v in per.items()
        if v["both_learned_everywhere"]
        and k not in theta
        and PART_SLOPE[0] <= v["slope"] <= PART_SLOPE[1]
    ]
    stationary_theta = [k for k in theta if k != GROWTH]
    verdict = HOLDS if stationary_theta else IN_PART if theta or growing else DOES_NOT
    return _entry(
        "R1", verdict, {"theta_series": theta, "growing_series": growing, "per_series": per}
    )


def state(record: dict) -> str:
    """A map cell's state from theory.predict's stationary record: "symmetric", "asymmetric" or "none"
    (no stationary point), and " saddle" appended when its Morse index is not 0."""
    if not record.get("found"):
        return "none"
    return record["branch"] + ("" if record["morse_index"] == 0 else " saddle")


def symmetric_range(cells: list) -> dict:
    """Where the symmetric branch is, along one m: cells = [(nsnr2, state)]; the n·SNR² values with a stable
    symmetric state, their lowest and highest, and the nearest non-symmetric value on each side."""
    cells = sorted(cells)
    sym = [v for v, s in cells if s == "symmetric"]
    out = {
        "symmetric": sym,
        "lowest": min(sym) if sym else None,
        "highest": max(sym) if sym else None,
        "contiguous": bool(sym) and [v for v, _ in cells if sym[0] <= v <= sym[-1]] == sym,
    }
    out["ends_below"] = max(
        (v for v, s in cells if s != "symmetric" and sym and v < sym[0]), default=None
    )
    out["ends_above"] = min(
        (v for v, s in cells if s != "symmetric" and sym and v > sym[-1]), default=None
    )
    return out


def branch_verdict(grid: dict) -> dict:
    """R2 from grid = {(m, nsnr2): state}."""
    widths = sorted({m for m, _ in grid})
    per_m = {m: symmetric_range([(v, s) for (mm, v), s in grid.items() if mm == m]) for m in widths}
    share = sum(s == "symmetric" for s in grid.values()) / len(grid) if grid else 0.0
    verdict = HOLDS if grid and share == 1.0 else IN_PART if share >= SYMMETRIC_SHARE else DOES_NOT
    counts = {s: sum(v == s for v in grid.values()) for s in sorted(set(grid.values()))}
    return _entry("R2", verdict, {"symmetric_share": share, "states": counts, "per_m": per_m})
