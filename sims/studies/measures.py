"""Numbers read from the finished cells of a `Study` (sims.studies.plan): the inputs of figures and claims.

- signal, noise: the headline alignments of `sims.models.summarize` (diffusion: mean_j max_r <w_r, mu_j> and
  mean_i max_r <w_r, xi_i>; classification: the same with |.| and own-class filters); ratio = signal / noise.
- growth-phase ratio: the increase of signal over the increase of noise between step 0 and the first step
  where either has grown `GROWTH_FRACTION` of the way to its final value; measured on an "early" run that
  repeats the first eighth of the main run logging every step.
- linearity index: on a run from a `plan.EARLY_SIGMA0` times smaller initialisation (logged every step), the
  increase over the second half of the window over the increase over its first half, the window ending
  where the faster feature has grown `LINEAR_GROWTH` times: 1 for linear growth; e^{r T / 2} > 1 for
  exponential growth at rate r.
- winner: the signal wins where signal / noise > `WINNER_RATIO`, the noise where it is below.
- local slope: the log-log slope between neighbouring points of a curve (`local_slopes`), shown where a
  single fit over the whole sweep (`fitted_slopes`, read by the claims) would hide that a curve levels off.
"""

from __future__ import annotations

import numpy as np

from sims.studies.plan import MODELS, Study
from sims.studies.sweep import completed

TERMS = {  # the measures' definitions in words: printed in REPORT.md and on the figures that use them
    "linearity index": (
        "on a run from a small initialisation, a feature's rise over the second half of the early "
        "window over its rise over the first half (the window ends where the faster feature has "
        "grown {LINEAR_GROWTH:g} times): 1 for linear growth, above 1 for growth faster than linear "
        "(e^(rT/2) for exponential growth at rate r); the index is the larger of signal's and noise's"
    ),
    "growth-phase ratio": (
        "on seed 0, signal's rise over noise's rise from step 0 to the first step where either "
        "has grown {GROWTH_FRACTION:.0%} of the way to its final value"
    ),
    "log-log slope": (
        "the least-squares slope of log(ratio) against log(n·SNR²) over the whole sweep (what the "
        "claims read); the figures also show the local slope between neighbouring points"
    ),
}
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
    """Index of the first logged step where signal or noise has grown GROWTH_FRACTION of the way from its
    initial value to its final value (from the full-length run)."""
    reached = ((signal - signal[0]) >= GROWTH_FRACTION * (final_signal - signal[0])) | (
        (noise - noise[0]) >= GROWTH_FRACTION * (final_noise - noise[0])
    )
    reached[-1] = True
    return max(int(np.argmax(reached[1:])) + 1, 2)


def growth_ratio(early: dict, final: dict) -> float:
    """Increase of signal over increase of noise through the growth window (see growth_window)."""
    s, z = early["signal_max"], early["noise_max"]
    k = growth_window(s, z, final["signal_max"][-1], final["noise_max"][-1])
    return float((s[k] - s[0]) / (z[k] - z[0])) if z[k] != z[0] else float("nan")


def linearity(values: np.ndarray, k: int) -> float:
    """Increase over the second half of [0, k] over the increase over the first half: 1 if linear."""
    half = k // 2
    return float((values[k] - values[half]) / (values[half] - values[0]))


def linear_window(arrays: dict) -> int:
    """Up to where the faster-growing feature has multiplied LINEAR_GROWTH times (or the whole run)."""
    grown = (arrays["signal_max"] >= LINEAR_GROWTH * arrays["signal_max"][0]) | (
        arrays["noise_max"] >= LINEAR_GROWTH * arrays["noise_max"][0]
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
    """(geometric midpoints, log-log slopes) between neighbouring points with finite positive values."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log(x[keep]), np.log(y[keep])
    return np.exp((lx[1:] + lx[:-1]) / 2), np.diff(ly) / np.diff(lx)


def _mean(values) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


# ------------------------------------------------------------------------------------- the study
def _extreme(pick, values) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(pick(values)) if values else float("nan")


def ratio_table(study: Study) -> dict:
    """Per model and n SNR^2: measured growth-phase ratio (seed 0) and final ratio (mean, min and max over
    seeds), and the predictions (diffusion: initial rate ratio, stationary ratio; classification: winner,
    boundary and the ratio of the exponential rates)."""
    p = study.preset
    rows = {m: [] for m in MODELS}
    for model in MODELS:
        for nsnr2 in p.sweep_nsnr2:
            runs = [r for r in study.train_runs(model, nsnr2) if completed(r)]
            pred = study.get("predict", model, nsnr2)["summary"]
            early = study.get("early", model, nsnr2)
            row = {
                "nsnr2": nsnr2,
                "runs": len(runs),
                "diverged": len(study.train_runs(model, nsnr2)) - len(runs),
                "final_ratio": _mean([r["summary"]["ratio"] for r in runs]),
                "final_ratio_min": _extreme(min, [r["summary"]["ratio"] for r in runs]),
                "final_ratio_max": _extreme(max, [r["summary"]["ratio"] for r in runs]),
                "final_signal": _mean([r["summary"]["signal"] for r in runs]),
                "final_noise": _mean([r["summary"]["noise"] for r in runs]),
                "growth_ratio": growth_ratio(early["arrays"], runs[0]["arrays"])
                if runs and completed(early)
                else float("nan"),
                "converged_grad_norm": _mean([r["summary"]["final_grad_norm"] for r in runs]),
            }
            if model == "diffusion":
                row["predicted_growth_ratio"] = pred.get("initial_rate_ratio")
                row["predicted_stationary_ratio"] = pred.get("stationary", {}).get("ratio")
            else:
                row["test_error"] = _mean([r["summary"]["test_error"] for r in runs])
                row["predicted_winner"] = pred.get("winner")
                row["predicted_boundary_nsnr2"] = pred.get("boundary_nsnr2")
                row["predicted_rate_ratio"] = pred.get("rate_ratio")
            rows[model].append(row)
    return rows


def seed_curves(study: Study, model: str, nsnr2: float) -> dict | None:
    """The headline alignments of the finished seeds of a setting over their (shared) logged steps:
    {"steps", "seeds", "eta": (min, max), and per q in signal, noise: "q_mean", "q_min", "q_max"}; the last
    mean is the seed mean of the final summaries (ratio_table's final_signal, final_noise)."""
    runs = [r for r in study.train_runs(model, nsnr2) if completed(r)]
    if not runs:
        return None
    out = {
        "steps": runs[0]["arrays"]["steps"],
        "seeds": len(runs),
        "eta": (min(r["summary"]["eta"] for r in runs), max(r["summary"]["eta"] for r in runs)),
    }
    for q in ("signal", "noise"):
        stack = np.array([r["arrays"][f"{q}_max"] for r in runs])
        out.update(
            {
                f"{q}_mean": stack.mean(axis=0),
                f"{q}_min": stack.min(axis=0),
                f"{q}_max": stack.max(axis=0),
            }
        )
    return out


def initial_alignment(study: Study, model: str, nsnr2: float, q: str) -> float:
    """Mean over seeds of the headline alignment q ("signal" or "noise") at initialisation."""
    vals = [r["arrays"][f"{q}_max"][0] for r in study.train_runs(model, nsnr2) if completed(r)]
    return float(np.mean(vals)) if vals else float("nan")


def gains(study: Study, rows: list[dict], model: str = "diffusion") -> list[tuple[float, float]]:
    """(final signal / initial signal, final noise / initial noise) for each row of the ratio table."""
    return [
        (
            r["final_signal"] / initial_alignment(study, model, r["nsnr2"], "signal"),
            r["final_noise"] / initial_alignment(study, model, r["nsnr2"], "noise"),
        )
        for r in rows
    ]


def linearity_measures(study: Study) -> dict:
    """Per model: the linearity index of signal and noise on the small-initialisation run (see module doc)."""
    out = {}
    for model in MODELS:
        res = study.get("linear", model)
        if not completed(res):
            out[model] = {"signal": float("nan"), "noise": float("nan"), "window_step": None}
            continue
        a = res["arrays"]
        k = linear_window(a)
        out[model] = {
            "signal": linearity(a["signal_max"], k),
            "noise": linearity(a["noise_max"], k),
            "window_step": int(a["steps"][k]),
            "sigma0": study.cells[("linear", model)][1].sigma0,
        }
        out[model]["index"] = float(np.nanmax([out[model]["signal"], out[model]["noise"]]))
    return out


def fitted_slopes(rows: dict) -> dict:
    """Log-log slopes against n SNR^2 of the ratio table's growth-phase and final ratios."""
    x = [r["nsnr2"] for r in rows["diffusion"]]
    return {
        "diffusion_growth": loglog_slope(x, [r["growth_ratio"] for r in rows["diffusion"]]),
        "diffusion_final": loglog_slope(x, [r["final_ratio"] for r in rows["diffusion"]]),
        "classification_final": loglog_slope(x, [r["final_ratio"] for r in rows["classification"]]),
    }


def phase_table(study: Study) -> dict:
    """Final ratio and test error over the (n, SNR) grid (rows: SNR, columns: n), and the predicted
    classification boundary n SNR^2 for each n."""
    p = study.preset
    grid = {}
    for model in MODELS:
        vals = np.full((len(p.phase_snr), len(p.phase_n)), np.nan)
        err = np.full_like(vals, np.nan)
        for j, n in enumerate(p.phase_n):
            for i, snr in enumerate(p.phase_snr):
                res = study.get("phase", model, n, snr)
                if completed(res):
                    vals[i, j] = res["summary"]["ratio"]
                    err[i, j] = res["summary"].get("test_error", np.nan)
        grid[model] = {"ratio": vals, "test_error": err}
    boundary = [study.get("boundary", n)["summary"].get("boundary_nsnr2") for n in p.phase_n]
    return {"grid": grid, "boundary_nsnr2": boundary}


def phase_agreement(study: Study) -> dict:
    """In how many classification cells of the grid the predicted winner is the simulated one."""
    p = study.preset
    table = phase_table(study)
    agree = cells = 0
    for j, n in enumerate(p.phase_n):
        b = table["boundary_nsnr2"][j]
        for i, snr in enumerate(p.phase_snr):
            r = table["grid"]["classification"]["ratio"][i, j]
            if b is None or not np.isfinite(r):
                continue
            cells += 1
            agree += (n * snr**2 > b) == (r > WINNER_RATIO)
    return {"agree": int(agree), "cells": int(cells)}


def stationary_dependence(study: Study, rows: dict) -> dict:
    """Diffusion stationary ratio (simulated and predicted) against n SNR^2 for other m and d."""
    p = study.preset
    out = {}
    base = {r["nsnr2"]: r for r in rows["diffusion"]}
    for axis, values, default in (("m", p.vary_m, p.m), ("d", p.vary_d, p.d)):
        series = {}
        for value in sorted(set(values) | {default}):
            points = []
            for nsnr2 in p.vary_nsnr2 if value != default else sorted(base):
                if value == default:
                    sim, pred = (
                        base[nsnr2]["final_ratio"],
                        base[nsnr2]["predicted_stationary_ratio"],
                    )
                else:
                    res = study.get("vary", axis, value, nsnr2)
                    sim = res["summary"]["ratio"] if completed(res) else float("nan")
                    pred = study.get("vary-predict", axis, value, nsnr2)["summary"]["stationary"][
                        "ratio"
                    ]
                points.append({"nsnr2": nsnr2, "simulated": sim, "predicted": pred})
            series[value] = {
                "rows": points,
                "slope": loglog_slope(
                    [r["nsnr2"] for r in points], [r["simulated"] for r in points]
                ),
            }
        out[axis] = series
    return out
