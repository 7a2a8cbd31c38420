"""`fldm reproduce`: the paper's synthetic study (and Noisy-MNIST) as figures and a claim-by-claim report.

Everything here is computed from cached sweep cells (`sims.sweep`); figures and the report are made from
those results, never written by hand. Theory (from `theory.predict` and the reduced ODE in `theory.ode`)
is drawn as lines, simulation as markers.

Measured quantities (definitions shared with `sims.train.summarize`):
- signal, noise: the headline alignments (diffusion: mean_j max_r <w_r, mu_j> and mean_i max_r <w_r, xi_i>;
  classification: the same with |.| and own-class filters); ratio = signal / noise.
- growth-phase ratio: the increase of signal over the increase of noise between step 0 and the first step
  where either has grown `GROWTH_FRACTION` of the way to its final value; measured on an "early" run that
  repeats the first eighth of the main run logging every step.
- linearity index: on a run from a `EARLY_SIGMA0` times smaller initialisation (logged every step), the
  increase over the second half of the window over the increase over its first half, the window ending
  where the faster feature has grown `LINEAR_GROWTH` times: 1 for linear growth; e^{r T / 2} > 1 for
  exponential growth at rate r.
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sims import FldmError, __version__, io
from sims.config import TrainConfig
from sims.studies.sweep import Cache, cell_seed, run_cells

GROWTH_FRACTION = 0.25
LEARNED_GAIN = 2.0       # a feature counts as learned once its alignment has grown this many times
LINEAR_GROWTH = 5.0      # the linearity window ends where a feature has grown this many times
EARLY_SIGMA0 = 0.1       # the early-growth runs start from sigma0 times this (a longer, cleaner early phase)
E1_NSNR2 = (0.75, 6.75)  # the paper's synthetic figure


@dataclass(frozen=True)
class Preset:
    n: int
    d: int
    m: int
    sigma0: float
    base_steps: int         # steps at n SNR^2 <= 2; more at higher SNR (see `steps_for`)
    max_factor: float       # cap on the step multiplier
    points_logged: int
    ratio_nsnr2: tuple      # the n SNR^2 sweep (figure c)
    replicates: int         # seeds per setting
    phase_n: tuple          # the (n, SNR) grid (figure d)
    phase_snr: tuple
    mnist: bool
    vary_m: tuple = ()      # other widths m for the stationary-ratio dependence (figure f)
    vary_d: tuple = ()      # other dimensions d for it
    vary_nsnr2: tuple = ()  # the n SNR^2 values of figure f

    @property
    def sweep_nsnr2(self) -> list:
        """The n SNR^2 values of figure (c): the sweep and the paper's two settings."""
        return sorted(set(self.ratio_nsnr2) | set(E1_NSNR2))


PRESETS = {
    "tiny": Preset(n=8, d=120, m=2, sigma0=0.01, base_steps=400, max_factor=3, points_logged=80,
                   ratio_nsnr2=(0.1, 1.0, 10.0), replicates=1, phase_n=(4, 8), phase_snr=(0.15, 1.0),
                   mnist=False, vary_m=(1,), vary_d=(60,), vary_nsnr2=(0.1, 10.0)),
    "quick": Preset(n=20, d=2000, m=4, sigma0=0.01, base_steps=2000, max_factor=10, points_logged=300,
                    ratio_nsnr2=tuple(float(f"{v:.3g}") for v in np.logspace(math.log10(0.05), math.log10(50), 13)),
                    replicates=3, phase_n=(5, 10, 20, 40),
                    phase_snr=tuple(float(f"{v:.3g}") for v in np.logspace(math.log10(0.05), 0, 6)), mnist=True,
                    vary_m=(1, 2, 8), vary_d=(500, 8000), vary_nsnr2=(0.05, 0.5, 5.0, 50.0)),
    "full": Preset(n=20, d=5000, m=8, sigma0=0.01, base_steps=4000, max_factor=20, points_logged=500,
                   ratio_nsnr2=tuple(float(f"{v:.3g}") for v in np.logspace(-2, 2, 17)),
                   replicates=5, phase_n=(5, 10, 20, 40, 80),
                   phase_snr=tuple(float(f"{v:.3g}") for v in np.logspace(math.log10(0.03), math.log10(1.5), 9)),
                   mnist=True, vary_m=(1, 2, 4, 16), vary_d=(1000, 20000, 100000),
                   vary_nsnr2=(0.01, 0.1, 1.0, 10.0, 100.0)),
}

MODELS = ("diffusion", "classification")


def steps_for(preset: Preset, nsnr2: float) -> int:
    """Steps that reach the stationary phase at every n SNR^2. With the auto step size, eta shrinks like
    1 / (n SNR^2) once the signal sets the curvature (sims.config.auto_eta), so the same time tau = eta * step
    takes proportionally more steps at high n SNR^2; at low n SNR^2 the signal's own growth rate falls
    like n SNR^2, so it needs more time there too (0.1 / n SNR^2 more, from where that exceeds 1)."""
    return int(preset.base_steps * min(max(1.0, nsnr2 / 2.0, 0.1 / nsnr2), preset.max_factor))


def config(preset: Preset, model: str, nsnr2: float, seed: int, n: int | None = None, m: int | None = None,
           d: int | None = None) -> TrainConfig:
    steps = steps_for(preset, nsnr2)
    d = d or preset.d
    # the same initial weight norm sigma0^2 d at every d (auto_eta does not look at the weights)
    sigma0 = preset.sigma0 * math.sqrt(preset.d / d)
    return TrainConfig(model=model, n=n or preset.n, d=d, m=m or preset.m, nsnr2=nsnr2, sigma0=sigma0,
                       steps=steps, log_every=max(1, steps // preset.points_logged), seed=seed)


# ----------------------------------------------------------------------------------------------------
# measures of one run


def growth_window(signal: np.ndarray, noise: np.ndarray, final_signal: float, final_noise: float) -> int:
    """Index of the first logged step where signal or noise has grown GROWTH_FRACTION of the way from its
    initial value to its final value (from the full-length run)."""
    reached = ((signal - signal[0]) >= GROWTH_FRACTION * (final_signal - signal[0])) | \
              ((noise - noise[0]) >= GROWTH_FRACTION * (final_noise - noise[0]))
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
    grown = (arrays["signal_max"] >= LINEAR_GROWTH * arrays["signal_max"][0]) | \
            (arrays["noise_max"] >= LINEAR_GROWTH * arrays["noise_max"][0])
    grown[-1] = True
    return max(int(np.argmax(grown)), 2)


def loglog_slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


# ----------------------------------------------------------------------------------------------------
# the study


class Study:
    """All cells of one reproduce run, computed once and shared by the figures and the report."""

    def __init__(self, preset: Preset, seed: int, cache: Cache, executor=None, jobs: int = 1, progress=True):
        self.preset, self.seed = preset, seed
        self.cache, self.executor, self.jobs, self.progress = cache, executor, jobs, progress
        self.cells: dict[tuple, tuple[str, TrainConfig]] = {}
        p = preset
        for model in MODELS:
            for nsnr2 in p.sweep_nsnr2:
                for rep in range(p.replicates):
                    cfg = config(p, model, nsnr2, cell_seed(seed, "ratio", model, nsnr2, rep))
                    self.add(("train", model, nsnr2, rep), "train", cfg)
                cfg0 = config(p, model, nsnr2, cell_seed(seed, "ratio", model, nsnr2, 0))
                self.add(("predict", model, nsnr2), "predict", cfg0)
                self.add(("early", model, nsnr2), "train", cfg0.replace(steps=max(20, cfg0.steps // 8), log_every=1))
                if nsnr2 in E1_NSNR2:
                    self.add(("ode", model, nsnr2), "ode", cfg0)
                if nsnr2 == E1_NSNR2[0]:
                    small = cfg0.replace(sigma0=cfg0.sigma0 * EARLY_SIGMA0, log_every=1)
                    self.add(("linear", model), "train", small)
                    self.add(("linear-predict", model), "predict", small)
            for n in p.phase_n:
                for snr in p.phase_snr:
                    nsnr2 = n * snr**2
                    cfg = config(p, model, nsnr2, cell_seed(seed, "phase", model, n, snr), n=n)
                    self.add(("phase", model, n, snr), "train", cfg)
                if model == "classification":
                    cfgb = config(p, model, 1.0, cell_seed(seed, "phase", model, n, 0), n=n)
                    self.add(("boundary", n), "predict", cfgb)
        for axis, values in (("m", p.vary_m), ("d", p.vary_d)):
            for value in values:
                for nsnr2 in p.vary_nsnr2:
                    cfg = config(p, "diffusion", nsnr2, cell_seed(seed, "vary", axis, value, nsnr2), **{axis: value})
                    self.add(("vary", axis, value, nsnr2), "train", cfg)
                    self.add(("vary-predict", axis, value, nsnr2), "predict", cfg)
        self.results: dict[tuple, dict] = {}

    def add(self, name, kind, cfg):
        self.cells[name] = (kind, cfg)

    def run(self) -> None:
        names = list(self.cells)  # run_cells schedules the long ones first
        out = run_cells([self.cells[k] for k in names], self.cache, executor=self.executor, jobs=self.jobs,
                        progress=self.progress, label="reproduce")
        self.results = dict(zip(names, out))

    @functools.cached_property
    def ratios(self) -> dict:
        return ratio_table(self)

    def get(self, *name) -> dict:
        return self.results[tuple(name)]

    def train_runs(self, model, nsnr2):
        return [self.get("train", model, nsnr2, rep) for rep in range(self.preset.replicates)]


def _ok(res: dict) -> bool:
    return "diverged" not in res["summary"]


def ratio_table(study: Study) -> dict:
    """Per model and n SNR^2: measured growth-phase and final ratios (mean over seeds) and predictions."""
    p = study.preset
    rows = {m: [] for m in MODELS}
    for model in MODELS:
        for nsnr2 in p.sweep_nsnr2:
            runs = [r for r in study.train_runs(model, nsnr2) if _ok(r)]
            pred = study.get("predict", model, nsnr2)["summary"]
            early = study.get("early", model, nsnr2)
            row = {"nsnr2": nsnr2, "runs": len(runs),
                   "diverged": len(study.train_runs(model, nsnr2)) - len(runs),
                   "final_ratio": _mean([r["summary"]["ratio"] for r in runs]),
                   "final_signal": _mean([r["summary"]["signal"] for r in runs]),
                   "final_noise": _mean([r["summary"]["noise"] for r in runs]),
                   "growth_ratio": growth_ratio(early["arrays"], runs[0]["arrays"]) if runs and _ok(early) else float("nan"),
                   "converged_grad_norm": _mean([r["summary"]["final_grad_norm"] for r in runs])}
            if model == "diffusion":
                row["predicted_growth_ratio"] = pred.get("initial_rate_ratio")
                row["predicted_stationary_ratio"] = pred.get("stationary", {}).get("ratio")
            else:
                row["test_error"] = _mean([r["summary"]["test_error"] for r in runs])
                row["predicted_winner"] = pred.get("winner")
                row["predicted_boundary_nsnr2"] = pred.get("boundary_nsnr2")
            rows[model].append(row)
    return rows


def _mean(values) -> float:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


# ----------------------------------------------------------------------------------------------------
# figures


def _figure(rows: int, cols: int, figsize):
    """A figure and its axes, from matplotlib's object API (no pyplot state, nothing to close)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(rows, cols)


def _save(fig, out: Path, name: str) -> Path:
    path = out / name
    io.write_figure(path, fig)
    return path


COLORS = {"signal": "tab:red", "noise": "tab:blue"}


def fig_synthetic(study: Study, out: Path) -> tuple[Path, str]:
    """(a) max_r <w_r, mu> and max_r <w_r, xi> over iterations, both models, n SNR^2 = 0.75 and 6.75."""
    fig, axes = _figure(2, 2, (10, 7))
    for i, model in enumerate(MODELS):
        for j, nsnr2 in enumerate(E1_NSNR2):
            ax = axes[i, j]
            gd, ode = study.get("train", model, nsnr2, 0), study.get("ode", model, nsnr2)
            for q in ("signal", "noise"):
                if _ok(gd):
                    a = gd["arrays"]
                    every = max(1, len(a["steps"]) // 40)
                    ax.plot(a["steps"][::every], a[f"{q}_max"][::every], "o", ms=4, mfc="none", color=COLORS[q],
                            label=f"{q}: gradient descent")
                if _ok(ode):
                    ax.plot(ode["arrays"]["steps"], ode["arrays"][f"{q}_max"], "-", color=COLORS[q],
                            label=f"{q}: reduced ODE")
            ax.set_title(f"{model}, n·SNR² = {nsnr2}")
            ax.set_xlabel("iteration")
            ax.set_ylabel("max_r ⟨w_r, μ⟩ (signal), max_r ⟨w_r, ξ_i⟩ (noise)" if j == 0 else "alignment")
            if model == "classification":
                ax.set_yscale("log")
            ax.legend(fontsize=7)
    path = _save(fig, out, "fig_synthetic.png")
    rows = {(m, r["nsnr2"]): r for m in MODELS for r in study.ratios[m]}
    text = "; ".join(f"{m} n·SNR²={v}: ratio {rows[(m, v)]['final_ratio']:.3g}" for m in MODELS for v in E1_NSNR2)
    return path, text


def linearity_measures(study: Study) -> dict:
    """Per model: the linearity index of signal and noise on the small-initialisation run (see module doc)."""
    out = {}
    for model in MODELS:
        res = study.get("linear", model)
        if not _ok(res):
            out[model] = {"signal": float("nan"), "noise": float("nan"), "window_step": None}
            continue
        a = res["arrays"]
        k = linear_window(a)
        out[model] = {"signal": linearity(a["signal_max"], k), "noise": linearity(a["noise_max"], k),
                      "window_step": int(a["steps"][k]), "sigma0": study.cells[("linear", model)][1].sigma0}
        out[model]["index"] = float(np.nanmax([out[model]["signal"], out[model]["noise"]]))
    return out


def fig_early_growth(study: Study, out: Path) -> tuple[Path, str]:
    """(b) early growth: near-linear (diffusion) against exponential (classification), with predicted rates."""
    fig, axes = _figure(1, 2, (11, 4.2))
    lin = linearity_measures(study)
    for ax, model in zip(axes, MODELS):
        res, pred = study.get("linear", model), study.get("linear-predict", model)["summary"]
        if not _ok(res):
            continue
        a = res["arrays"]
        k = lin[model]["window_step"]
        steps = a["steps"][: k + 1]
        tau = res["summary"]["eta"] * steps
        every = max(1, len(steps) // 40)
        for q in ("signal", "noise"):
            ax.plot(steps[::every], a[f"{q}_max"][: k + 1][::every], "o", ms=4, mfc="none", color=COLORS[q],
                    label=f"{q}: gradient descent")
            if model == "diffusion":
                rate = pred["initial_rates"][q]
                ax.plot(steps, a[f"{q}_max"][0] + rate * tau, "-", color=COLORS[q], label=f"{q}: predicted rate {rate:.3g} per unit τ")
            else:
                rate = pred["rates"][q]
                ax.plot(steps, a[f"{q}_max"][0] * np.exp(rate * tau), "-", color=COLORS[q],
                        label=f"{q}: predicted ∝ exp({rate:.3g} τ)")
        cfg = study.cells[("linear", model)][1]
        ax.set_title(f"{model}, n·SNR² = {E1_NSNR2[0]}, σ₀ = {cfg.sigma0:g}: linearity index "
                     f"{lin[model]['index']:.2f}", fontsize=9)
        ax.set_xlabel(f"iteration (τ = η·iteration, η = {res['summary']['eta']:.3g})")
        ax.set_ylabel("alignment (max over neurons)")
        if model == "classification":
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    path = _save(fig, out, "fig_early_growth.png")
    return path, "; ".join(f"{m}: linearity index {lin[m]['index']:.2f}" for m in MODELS)


def fig_ratio(study: Study, out: Path) -> tuple[Path, str]:
    """(c) signal/noise ratio against n SNR^2: diffusion growth phase and stationary, classification end."""
    rows = study.ratios
    fig, ax = _figure(1, 1, (7.5, 5.5))
    x = np.array([r["nsnr2"] for r in rows["diffusion"]])
    slopes = fitted_slopes(study)
    series = [
        ("diffusion", "growth_ratio", "predicted_growth_ratio", "tab:green", "diffusion, growth phase", "s"),
        ("diffusion", "final_ratio", "predicted_stationary_ratio", "tab:purple", "diffusion, stationary", "o"),
        ("classification", "final_ratio", None, "tab:orange", "classification, end of training", "^"),
    ]
    for model, key, pkey, color, label, marker in series:
        y = np.array([r[key] for r in rows[model]])
        slope = slopes[f"{model}_{'growth' if key == 'growth_ratio' else 'final'}"]
        ax.plot(x, y, marker, color=color, mfc="none", ms=7, label=f"{label} (simulation; fitted slope {slope:.2f})")
        if pkey is not None:
            yp = np.array([np.nan if r[pkey] is None else r[pkey] for r in rows[model]], dtype=float)
            ax.plot(x, yp, "-", color=color, label=f"{label} (theory)")
    ref = x / x[0] * rows["diffusion"][0]["growth_ratio"]
    ax.plot(x, ref, ":", color="gray", label="Θ(n·SNR²) reference, slope 1")
    b = rows["classification"][0].get("predicted_boundary_nsnr2")
    if b is not None and np.isfinite(b):
        ax.axvline(b, color="tab:orange", ls="--", lw=1, label=f"predicted classification boundary {b:.3g}")
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n·SNR²")
    ax.set_ylabel("signal learning / noise learning")
    ax.set_title(f"Signal/noise ratio (n={study.preset.n}, d={study.preset.d}, m={study.preset.m}; "
                 f"mean of {study.preset.replicates} seeds)", fontsize=9)
    ax.legend(fontsize=7)
    path = _save(fig, out, "fig_ratio.png")
    return path, ", ".join(f"{k} slope {v:.2f}" for k, v in slopes.items())


def fitted_slopes(study: Study) -> dict:
    rows = study.ratios
    x = [r["nsnr2"] for r in rows["diffusion"]]
    return {"diffusion_growth": loglog_slope(x, [r["growth_ratio"] for r in rows["diffusion"]]),
            "diffusion_final": loglog_slope(x, [r["final_ratio"] for r in rows["diffusion"]]),
            "classification_final": loglog_slope(x, [r["final_ratio"] for r in rows["classification"]])}


def phase_table(study: Study) -> dict:
    p = study.preset
    grid = {}
    for model in MODELS:
        vals = np.full((len(p.phase_snr), len(p.phase_n)), np.nan)
        err = np.full_like(vals, np.nan)
        for j, n in enumerate(p.phase_n):
            for i, snr in enumerate(p.phase_snr):
                res = study.get("phase", model, n, snr)
                if _ok(res):
                    vals[i, j] = res["summary"]["ratio"]
                    err[i, j] = res["summary"].get("test_error", np.nan)
        grid[model] = {"ratio": vals, "test_error": err}
    boundary = [study.get("boundary", n)["summary"].get("boundary_nsnr2") for n in p.phase_n]
    return {"grid": grid, "boundary_nsnr2": boundary}


def fig_phase(study: Study, out: Path) -> tuple[Path, str]:
    """(d) phase diagram over (n, SNR): classification winner and test error, diffusion ratio."""
    p = study.preset
    table = phase_table(study)
    ns, snrs = np.array(p.phase_n), np.array(p.phase_snr)
    b = np.array([np.nan if v is None else v for v in table["boundary_nsnr2"]], dtype=float)
    fig, axes = _figure(1, 3, (15, 4.5))
    panels = [(table["grid"]["classification"]["ratio"], "classification: log10(signal/noise)", "RdBu_r", True),
              (table["grid"]["classification"]["test_error"], "classification: test error", "viridis", False),
              (table["grid"]["diffusion"]["ratio"], "diffusion: log10(signal/noise)", "RdBu_r", True)]
    for ax, (vals, title, cmap, log) in zip(axes, panels):
        shown = np.log10(vals) if log else vals
        lim = np.nanmax(np.abs(shown)) if log else None
        im = ax.pcolormesh(np.arange(len(ns) + 1), np.arange(len(snrs) + 1), shown, cmap=cmap,
                           vmin=-lim if log else 0, vmax=lim if log else 0.5, shading="flat")
        fig.colorbar(im, ax=ax)
        for i in range(len(snrs)):
            for j in range(len(ns)):
                if np.isfinite(vals[i, j]):
                    ax.text(j + 0.5, i + 0.5, f"{vals[i, j]:.2g}", ha="center", va="center", fontsize=6)
        # predicted boundary SNR = sqrt(b(n) / n), drawn in grid coordinates (log-spaced SNR axis)
        snr_b = np.sqrt(b / ns)
        yb = np.interp(np.log(snr_b), np.log(snrs), np.arange(len(snrs))) + 0.5
        ax.plot(np.arange(len(ns)) + 0.5, yb, "k--", lw=1.5, label="predicted classification boundary")
        ax.set_xticks(np.arange(len(ns)) + 0.5, [str(v) for v in ns])
        ax.set_yticks(np.arange(len(snrs)) + 0.5, [f"{v:.3g}" for v in snrs])
        ax.set_xlabel("n (training samples)")
        ax.set_ylabel("SNR")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6, loc="upper left")
    path = _save(fig, out, "fig_phase.png")
    agree = phase_agreement(study)
    return path, f"predicted winner agrees with simulation in {agree['agree']}/{agree['cells']} classification cells"


def phase_agreement(study: Study) -> dict:
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
            agree += (n * snr**2 > b) == (r > 1)
    return {"agree": int(agree), "cells": int(cells)}


def fig_ode_vs_gd(study: Study, out: Path) -> tuple[Path, str]:
    """(e) reduced ODE against gradient descent, individual alignments, one setting per model."""
    nsnr2 = E1_NSNR2[0]
    fig, axes = _figure(1, 2, (11, 4.2))
    notes = []
    for ax, model in zip(axes, MODELS):
        gd, ode = study.get("train", model, nsnr2, 0), study.get("ode", model, nsnr2)
        if not (_ok(gd) and _ok(ode)):
            continue
        a, b = gd["arrays"], ode["arrays"]
        sig_gd = a["signal"].reshape(len(a["steps"]), -1)
        sig_ode = b["signal"].reshape(len(b["steps"]), -1)
        noi_gd = a["noise"].reshape(len(a["steps"]), -1)
        noi_ode = b["noise"].reshape(len(b["steps"]), -1)
        every = max(1, len(a["steps"]) // 30)
        for c in range(min(4, sig_gd.shape[1])):
            ax.plot(a["steps"][::every], sig_gd[::every, c], "o", ms=3, mfc="none", color=COLORS["signal"])
            ax.plot(b["steps"], sig_ode[:, c], "-", lw=1, color=COLORS["signal"])
        for c in range(min(4, noi_gd.shape[1])):
            ax.plot(a["steps"][::every], noi_gd[::every, c], "s", ms=3, mfc="none", color=COLORS["noise"])
            ax.plot(b["steps"], noi_ode[:, c], "-", lw=1, color=COLORS["noise"])
        ax.plot([], [], "ko", mfc="none", label="gradient descent (markers)")
        ax.plot([], [], "k-", label="reduced ODE (lines)")
        ax.plot([], [], "-", color=COLORS["signal"], label="⟨w, μ_j⟩")
        ax.plot([], [], "-", color=COLORS["noise"], label="⟨w, ξ_i⟩")
        n_common = min(len(a["steps"]), len(b["steps"]))
        same = np.array_equal(a["steps"][:n_common], b["steps"][:n_common])
        if same:
            gap = np.max(np.abs(a["signal"][:n_common] - b["signal"][:n_common]))
            scale = np.max(np.abs(a["signal"][:n_common])) + 1e-300
            notes.append(f"{model}: max |ODE - GD| signal alignment {gap:.3g} ({gap / scale:.2%} of max)")
        ax.set_title(f"{model}, n·SNR² = {nsnr2}: individual alignments")
        ax.set_xlabel("iteration")
        ax.set_ylabel("alignment ⟨w_r, ·⟩")
        ax.legend(fontsize=7)
    path = _save(fig, out, "fig_ode_vs_gd.png")
    return path, "; ".join(notes)


def stationary_dependence(study: Study) -> dict:
    """Diffusion stationary ratio (simulated and predicted) against n SNR^2 for other m and d."""
    p = study.preset
    out = {}
    base = {r["nsnr2"]: r for r in study.ratios["diffusion"]}
    for axis, values, default in (("m", p.vary_m, p.m), ("d", p.vary_d, p.d)):
        series = {}
        for value in sorted(set(values) | {default}):
            rows = []
            for nsnr2 in p.vary_nsnr2 if value != default else sorted(base):
                if value == default:
                    sim, pred = base[nsnr2]["final_ratio"], base[nsnr2]["predicted_stationary_ratio"]
                else:
                    res = study.get("vary", axis, value, nsnr2)
                    sim = res["summary"]["ratio"] if _ok(res) else float("nan")
                    pred = study.get("vary-predict", axis, value, nsnr2)["summary"]["stationary"]["ratio"]
                rows.append({"nsnr2": nsnr2, "simulated": sim, "predicted": pred})
            series[value] = {"rows": rows, "slope": loglog_slope([r["nsnr2"] for r in rows], [r["simulated"] for r in rows])}
        out[axis] = series
    return out


def fig_stationary(study: Study, out: Path) -> tuple[Path, str]:
    """(f) how the diffusion stationary ratio depends on the width m and the dimension d."""
    dep = stationary_dependence(study)
    fig, axes = _figure(1, 2, (11, 4.5))
    notes = []
    for ax, axis in zip(axes, ("m", "d")):
        from matplotlib import colormaps
        cmap = colormaps["viridis"]
        items = sorted(dep[axis].items())
        for i, (value, series) in enumerate(items):
            color = cmap(i / max(1, len(items) - 1))
            x = [r["nsnr2"] for r in series["rows"]]
            ax.plot(x, [r["predicted"] for r in series["rows"]], "-", color=color, label=f"{axis} = {value}: theory")
            ax.plot(x, [r["simulated"] for r in series["rows"]], "o", mfc="none", color=color,
                    label=f"{axis} = {value}: gradient descent (slope {series['slope']:.2f})")
            notes.append(f"{axis}={value} slope {series['slope']:.2f}")
        x = np.array(study.preset.vary_nsnr2 or [r["nsnr2"] for r in study.ratios["diffusion"]])
        ax.plot(x, x / x[0] * 0.3, ":", color="gray", label="Θ(n·SNR²) reference, slope 1")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n·SNR²")
        ax.set_ylabel("stationary signal / noise learning (diffusion)")
        fixed = f"d = {study.preset.d}" if axis == "m" else f"m = {study.preset.m}"
        ax.set_title(f"diffusion stationary ratio for several {axis} ({fixed}, n = {study.preset.n})", fontsize=9)
        ax.legend(fontsize=6)
    path = _save(fig, out, "fig_stationary.png")
    return path, ", ".join(notes)


# ----------------------------------------------------------------------------------------------------
# verdicts: each rule is written here and printed into REPORT.md

RULES = {
    "D1": ("holds if (i) the measured growth-phase ratio is within a factor 2 of the predicted initial rate "
           "ratio in every setting, (ii) its log-log slope against n·SNR² is in [0.8, 1.2] (Θ(n·SNR²)), and "
           "(iii) the diffusion growth is near-linear (linearity index < 1.5) while classification's is "
           "larger; 'holds in part' if (ii) holds but (i) or (iii) fails; otherwise 'does not hold in the tested range'."),
    "D2": ("holds if the log-log slope of the measured stationary ratio against n·SNR² is in [0.7, 1.3] and both "
           "signal and noise are learned (each final alignment > 2x its initial value) in every setting; "
           "'holds in part' if both are learned and the slope is in [0.2, 0.7) or (1.3, 2] (the ratio grows with "
           "n·SNR², but not linearly); otherwise 'does not hold in the tested range'."),
    "C1": ("holds if classification's early growth is exponential (linearity index > 2 and larger than "
           "diffusion's), the signal wins (ratio > 1, test error < 0.1) at every n·SNR² >= 4 x the predicted "
           "boundary, noise wins (ratio < 1, test error > 0.25) at every n·SNR² <= boundary / 4, and the predicted "
           "winner agrees with simulation in >= 80% of the phase-diagram cells; 'holds in part' if the two ends "
           "are right but another condition fails; otherwise 'does not hold in the tested range'."),
    "E1": ("holds if at n·SNR² = 0.75 and 6.75 diffusion learns both features (ratio between 0.1 and 10) while "
           "classification learns noise at 0.75 (ratio < 1) and signal at 6.75 (ratio > 1); 'holds in part' if "
           "only one model behaves as claimed; otherwise 'does not hold in the tested range'."),
    "E2": ("holds if on Noisy-MNIST (the study's 'low' and 'high' n·SNR²) diffusion learns both features at both "
           "(ratio between 0.1 and 10, signal and noise each grown > 2x from initialisation) while the classifier "
           "memorises noise at the low one (ratio < 1, test accuracy < 0.75) and learns the signal at the high one "
           "(ratio > 1, test accuracy > 0.9); 'holds in part' if only one model behaves as claimed; otherwise "
           "'does not hold in the tested range'."),
}

CLAIMS = {
    "D1": "Diffusion, early phase: signal and noise learning grow roughly linearly, at rates whose ratio is Θ(n·SNR²).",
    "D2": "Diffusion, end: gradient descent reaches a stationary point where both are learned, with signal/noise ratio Θ(n·SNR²).",
    "C1": "Classification: exponential growth and a phase transition in n·SNR² (large: signal learned, small test error; small: noise memorised, high test error).",
    "E1": "Synthetic figure at n·SNR² = 0.75 and 6.75: diffusion learns both; classification learns one (noise at 0.75, signal at 6.75).",
    "E2": "Noisy-MNIST: diffusion learns both signal and noise; classification learns the signal at high n·SNR² and memorises noise at low.",
}


def verdicts(study: Study, mnist: dict | None) -> list[dict]:
    rows = study.ratios
    slopes = fitted_slopes(study)
    diff, cls = rows["diffusion"], rows["classification"]
    out = []

    factors = [r["growth_ratio"] / r["predicted_growth_ratio"] for r in diff
               if r["predicted_growth_ratio"] and np.isfinite(r["growth_ratio"])]
    within = bool(factors) and all(0.5 <= f <= 2 for f in factors)
    lin = linearity_measures(study)
    lin_d, lin_c = lin["diffusion"]["index"], lin["classification"]["index"]
    slope_ok = 0.8 <= slopes["diffusion_growth"] <= 1.2
    linear = lin_d < 1.5 and lin_c > lin_d
    verdict = "holds" if (within and slope_ok and linear) else "holds in part" if slope_ok else "does not hold in the tested range"
    out.append({"id": "D1", "verdict": verdict, "measured": {
        "growth_ratio_slope": slopes["diffusion_growth"],
        "measured_over_predicted_growth_ratio": {"min": min(factors, default=float("nan")),
                                                 "max": max(factors, default=float("nan"))},
        "linearity_index": lin,
        "per_nsnr2": [{k: r[k] for k in ("nsnr2", "growth_ratio", "predicted_growth_ratio")} for r in diff]}})

    gains = [(r["final_signal"] / _initial(study, "diffusion", r["nsnr2"], "signal"),
              r["final_noise"] / _initial(study, "diffusion", r["nsnr2"], "noise")) for r in diff]
    learned = all(g_s > LEARNED_GAIN and g_z > LEARNED_GAIN for g_s, g_z in gains)
    theory_gap = max(abs(r["final_ratio"] / r["predicted_stationary_ratio"] - 1) for r in diff
                     if r["predicted_stationary_ratio"])
    dep = stationary_dependence(study)
    s = slopes["diffusion_final"]
    verdict = ("holds" if learned and 0.7 <= s <= 1.3 else
               "holds in part" if learned and (0.2 <= s < 0.7 or 1.3 < s <= 2) else "does not hold in the tested range")
    out.append({"id": "D2", "verdict": verdict, "measured": {
        "stationary_ratio_slope": s, "both_learned_everywhere": learned,
        "smallest_gain_over_initialisation": {"signal": min(g[0] for g in gains), "noise": min(g[1] for g in gains)},
        "largest_relative_gap_to_predicted_stationary_ratio": theory_gap,
        "slope_for_other_m_and_d": {f"{axis}={v}": dep[axis][v]["slope"] for axis in dep for v in dep[axis]},
        "ratio_range": [min(r["final_ratio"] for r in diff), max(r["final_ratio"] for r in diff)],
        "per_nsnr2": [{k: r[k] for k in ("nsnr2", "final_ratio", "predicted_stationary_ratio", "final_signal",
                                          "final_noise", "converged_grad_norm")} for r in diff]}})

    b = cls[0].get("predicted_boundary_nsnr2")
    high = [r for r in cls if b is not None and r["nsnr2"] >= 4 * b]
    low = [r for r in cls if b is not None and r["nsnr2"] <= b / 4]
    ends = (bool(high) and bool(low) and all(r["final_ratio"] > 1 and r["test_error"] < 0.1 for r in high)
            and all(r["final_ratio"] < 1 and r["test_error"] > 0.25 for r in low))
    agree = phase_agreement(study)
    agree_ok = agree["cells"] > 0 and agree["agree"] >= 0.8 * agree["cells"]
    expo = lin_c > 2 and lin_c > lin_d
    verdict = "holds" if (ends and agree_ok and expo) else "holds in part" if ends else "does not hold in the tested range"
    out.append({"id": "C1", "verdict": verdict, "measured": {
        "predicted_boundary_nsnr2": b, "linearity_index": lin["classification"], "phase_agreement": agree,
        "per_nsnr2": [{k: r[k] for k in ("nsnr2", "final_ratio", "test_error", "predicted_winner")} for r in cls]}})

    e1 = {(m, r["nsnr2"]): r for m in MODELS for r in rows[m] if r["nsnr2"] in E1_NSNR2}
    diff_ok = all(0.1 < e1[("diffusion", v)]["final_ratio"] < 10 for v in E1_NSNR2)
    cls_ok = e1[("classification", E1_NSNR2[0])]["final_ratio"] < 1 < e1[("classification", E1_NSNR2[1])]["final_ratio"]
    verdict = "holds" if diff_ok and cls_ok else "holds in part" if diff_ok or cls_ok else "does not hold in the tested range"
    out.append({"id": "E1", "verdict": verdict, "measured": {
        f"{m}_{v}": {"ratio": e1[(m, v)]["final_ratio"], "signal": e1[(m, v)]["final_signal"],
                     "noise": e1[(m, v)]["final_noise"], **({"test_error": e1[(m, v)]["test_error"]}
                                                            if m == "classification" else {})}
        for m in MODELS for v in E1_NSNR2}})

    if mnist is not None:
        out.append(mnist_verdict(mnist))
    for entry in out:
        entry["claim"] = CLAIMS[entry["id"]]
        entry["rule"] = RULES[entry["id"]]
    return out


def mnist_verdict(mnist: dict) -> dict:
    rows = {r["level"]: r for r in mnist["comparison"] if r["level"] in ("low", "high")}
    lo, hi = rows["low"], rows["high"]
    diff_ok = all(0.1 < r["diffusion_ratio"] < 10 and r["diffusion_signal_gain"] > 2 and r["diffusion_noise_gain"] > 2
                  for r in (lo, hi))
    cls_ok = (lo["classification_ratio"] < 1 < hi["classification_ratio"]
              and lo["classification_test_accuracy"] < 0.75 < 0.9 < hi["classification_test_accuracy"])
    verdict = "holds" if diff_ok and cls_ok else "holds in part" if diff_ok or cls_ok else "does not hold in the tested range"
    keys = ("nsnr2", "diffusion_ratio", "diffusion_signal_gain", "diffusion_noise_gain", "classification_ratio",
            "classification_signal_gain", "classification_noise_gain", "classification_test_accuracy")
    return {"id": "E2", "verdict": verdict, "measured": {
        "settings": {k: mnist.get("settings", {}).get(k) for k in ("digits", "n", "m", "sigma0", "steps", "repeats")},
        "data": mnist.get("data", {}).get("credit", "MNIST (Y. LeCun, C. Cortes; CC BY-SA 3.0)"),
        **{r["level"] + f" (n·SNR² = {r['nsnr2']})": {k: r[k] for k in keys} for r in mnist["comparison"]}}}


def _initial(study, model, nsnr2, q) -> float:
    vals = [r["arrays"][f"{q}_max"][0] for r in study.train_runs(model, nsnr2) if _ok(r)]
    return float(np.mean(vals)) if vals else float("nan")


def report_markdown(entries: list[dict], figures: list[tuple[str, str]], meta: dict) -> str:
    lines = ["# Report: what the simulations show, claim by claim", "",
             f"Generated by `fldm reproduce --{meta['preset']}` (version {meta['version']}, seed {meta['seed']}, "
             f"{meta['wall_seconds']:.0f} s). Settings: {meta['settings']}.", "",
             "Each verdict follows the rule printed under it, applied in `sims/reproduce.py` to the numbers shown.", ""]
    for e in entries:
        lines += [f"## {e['id']}: {e['verdict']}", "", f"*Claim.* {e['claim']}", "", f"*Rule.* {e['rule']}", "",
                  "*Measured.*", "", "```", _format(e["measured"]), "```", ""]
    lines += ["## Figures", ""]
    for name, summary in figures:
        lines += [f"- `{name}`: {summary}", f"  ![{name}]({name})"]
    return "\n".join(lines) + "\n"


def _format(obj, indent=0) -> str:
    pad = "  " * indent
    if isinstance(obj, dict):
        return "\n".join(f"{pad}{k}:" + ("\n" + _format(v, indent + 1) if isinstance(v, (dict, list)) and v
                                         else f" {_fmt(v)}") for k, v in obj.items())
    if isinstance(obj, list):
        return "\n".join(f"{pad}- " + (_format(v, indent + 1).lstrip() if isinstance(v, (dict, list)) else _fmt(v))
                         if not isinstance(v, dict) else f"{pad}- " + ", ".join(f"{k}={_fmt(x)}" for k, x in v.items())
                         for v in obj)
    return pad + _fmt(obj)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def reproduce(preset_name: str = "quick", out: str | Path = "figures", cache_dir: str | Path = "runs/cache",
              jobs: int = 1, executor=None, seed: int = 0, progress: bool = True, log=print) -> dict:
    """Run the study, write the figures, report.json and REPORT.md into `out`; return the report."""
    if preset_name not in PRESETS:
        raise FldmError(f"unknown preset {preset_name!r}; choose one of {sorted(PRESETS)}")
    if jobs < 1:
        raise FldmError(f"--jobs must be a positive integer, got {jobs}")
    preset = PRESETS[preset_name]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    study = Study(preset, seed, Cache(cache_dir), executor=executor, jobs=jobs, progress=progress)
    study.run()
    figures = []
    for make in (fig_synthetic, fig_early_growth, fig_ratio, fig_phase, fig_ode_vs_gd, fig_stationary):
        path, summary = make(study, out)
        figures.append((path.name, summary))
        log(f"{path.name}: {summary}")
    mnist = None
    if preset.mnist:
        from sims.mnist import run_study
        mnist = run_study(out, quick=preset_name != "full", seed=seed)
        log(f"mnist: {len(mnist['runs'])} runs written to {out}")
    entries = verdicts(study, mnist)
    meta = {"preset": preset_name, "version": __version__, "seed": seed,
            "wall_seconds": time.perf_counter() - start, "settings": {k: v for k, v in vars(preset).items()}}
    report = {"meta": meta, "claims": entries, "figures": dict(figures),
              "ratio_table": study.ratios, "phase": _jsonable_phase(phase_table(study))}
    io.write_json(out / "report.json", report)
    io.write_text(out / "REPORT.md", report_markdown(entries, figures, meta))
    for e in entries:
        log(f"{e['id']}: {e['verdict']}")
    return report


def _jsonable_phase(table: dict) -> dict:
    return {"boundary_nsnr2": table["boundary_nsnr2"],
            "grid": {m: {k: np.where(np.isfinite(v), v, None).tolist() for k, v in g.items()}
                     for m, g in table["grid"].items()}}
