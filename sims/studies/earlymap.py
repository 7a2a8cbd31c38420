"""Where diffusion's early growth is near-linear: the window map that D1's domain reads.

theory.early derives the leading-order early phase in closed form: a feature's summary rises
linearly only until the neuron's own growth (its norm, driven by the sum of all patches) bends it,
and the window in which the faster feature grows LINEAR_GROWTH times is short against that bend
exactly where the window group Lambda (theory.early.window_groups) is small; sigma0 drops out, and
enters only through the small-initialisation group I0 = sigma0^2 d / G_rr* (theory.law.init_ratio),
when the higher-order terms of the loss start to matter. The map therefore spans the plane (Lambda,
I0): `presets.EarlyGrid` gives n, m and paths, each an n·SNR² with its d values (Lambda ~ sqrt(n /
d) at a typical draw) and its I0 values (sigma0 set from each, `window_config`).

One cell per (n·SNR², d, I0), kind "window" (`window_cell`): gradient descent on the diffusion model
(exact loss, the default data), logged every step, with a step size that puts WINDOW_STEPS steps in
the leading-order window of a typical draw (at most the data limit of sims.config.auto_eta) and
RUN_FACTOR windows in all; it keeps the headline summaries at every step and, on the same data,
initial weights and steps up to its first blow-up, the leading-order flow's summaries
(theory.early.leading_alignments), the run's window groups, the exact initial rates
(theory.predict.summary_rates) and I0. `measure` reads each cell's linearity index and rate ratio
over its window (sims.studies.measures), measured and leading-order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sims import stepsize, symmetric
from sims.config import TrainConfig
from sims.models import summarize
from sims.studies import presets
from sims.studies.cells import Cell, Outcome, Study, cell_seed, pack
from sims.studies.measures import LINEAR_GROWTH, linear_window, linearity
from sims.studies.presets import EarlyGrid
from sims.train import prepare, train
from theory import early, law, reduced
from theory.predict import summary_rates

WINDOW_STEPS = 250  # descent steps in the leading-order window of a typical draw
RUN_FACTOR = 4.0  # the run lasts this many such windows
ETA0 = 0.25  # the data limit of the step size (sims.config.auto_eta)


@dataclass(frozen=True)
class Window:
    nsnr2: float
    d: int
    i0: float


def stationary_norm(cfg: TrainConfig) -> float:
    """G_rr*: the law's stationary filter norm^2 at the typical groups of the paper's data (n_j =
    n/2, ||mu||^2 = n SNR^2 sigma_xi^2 d / n, ||xi||^2 = sigma_xi^2 d; theory.law)."""
    alpha, beta, _ = cfg.diffusion_times[0]
    noise = cfg.sigma_xi**2 * cfg.d
    G_s, G_n = symmetric.groups(alpha, beta, cfg.n, cfg.nsnr2 * noise / 2, noise)
    point = symmetric.stationary(G_s, G_n, cfg.m)
    return cfg.d / law.init_ratio(cfg.replace(sigma0=1.0), point, cfg.d)


def window_config(grid: EarlyGrid, nsnr2: float, d: int, i0: float, seed: int) -> TrainConfig:
    """The descent run of one cell (module docstring): sigma0 from I0 at a typical draw, eta and
    steps from the typical leading-order window."""
    base = TrainConfig(model="diffusion", n=grid.n, d=d, m=grid.m, nsnr2=nsnr2, seed=seed)
    sigma0 = math.sqrt(i0 * stationary_norm(base) / d)
    typical = early.typical_window_groups(grid.n, d, grid.m, nsnr2)
    t_w, _ = early.linearity_index([typical.signal, typical.noise], LINEAR_GROWTH)
    N = base.sigma_xi * math.sqrt(d * (grid.n + grid.n * nsnr2 / 2))  # ||Sigma||, typical
    tau_w = t_w / (early.rate_constant(base, grid.n) * sigma0 * math.sqrt(d) * N)
    eta_data = ETA0 * 2 * grid.n / (base.sigma_xi**2 * d * max(1.0, nsnr2 / 2))
    eta = stepsize.perturbed(min(eta_data, tau_w / WINDOW_STEPS))
    return base.replace(
        sigma0=sigma0, eta=eta, steps=math.ceil(RUN_FACTOR * tau_w / eta), log_every=1
    )


def cells(preset_name: str, seed: int) -> dict:
    grid = presets.get(preset_name).early
    if grid is None:
        return {}
    return {
        Window(nsnr2, d, i0): (
            "window",
            window_config(grid, nsnr2, d, i0, cell_seed(seed, "window", nsnr2, d)),
        )
        for nsnr2, ds, i0s in grid.paths
        for d in ds
        for i0 in i0s
    }


def _summaries(model: str, signal: np.ndarray, noise: np.ndarray, y) -> np.ndarray:
    """(T, 2): the headline (signal, noise) summaries at every logged step."""
    return np.array([summarize(model, s, z, y)[:2] for s, z in zip(signal, noise)])


def window_cell(cfg: TrainConfig) -> Outcome:
    """One cell (module docstring): descent's summaries at every step, the leading-order flow's on
    the same steps, the window groups, the exact initial rates and I0."""
    result = train(cfg)
    run = prepare(cfg)  # the same data and initial weights (cfg.eta is given: nothing is tuned)
    data, W0 = run.data, run.W0
    out = pack(result, cfg.model)
    taus = cfg.eta * out.arrays["steps"]
    signal, noise = early.leading_alignments(cfg, data, W0, taus)
    before = np.isfinite(signal).all(axis=(1, 2)) & np.isfinite(noise).all(axis=(1, 2))
    before = np.logical_and.accumulate(before)  # up to the first neuron's blow-up
    lead = _summaries(cfg.model, signal[before], noise[before], data.y)
    measured = np.stack([out.arrays["signal_max"], out.arrays["noise_max"]], axis=1)
    groups = early.window_groups(data, W0, *measured[0])
    red, Wr = reduced.reduce(cfg, data, W0)
    rates = summary_rates(red, Wr, data.y)
    regime = law.regime_of(cfg, data)
    summary = {
        "eta": cfg.eta,
        "sigma0": cfg.sigma0,
        "steps_run": int(out.arrays["steps"][-1]),
        "init_ratio": regime.init_ratio,
        "groups": groups._asdict(),
        "typical_groups": early.typical_window_groups(cfg.n, cfg.d, cfg.m, cfg.nsnr2)._asdict(),
        "initial_rates": {"signal": rates.signal, "noise": rates.noise},
    }
    arrays = {"steps": out.arrays["steps"], "measured": measured, "leading": lead}
    return Outcome(summary, arrays)


class Growth(NamedTuple):
    """One cell's early growth: its groups, and over its window (`sims.studies.measures`) the
    linearity index and the ratio of the rises, measured (descent) and at leading order."""

    nsnr2: float
    d: int
    i0_target: float
    i0: float  # the law's I0 for this run's data
    sigma0: float
    window_group: float  # Lambda of this run (theory.early.window_groups)
    typical_group: float  # Lambda at a typical draw of this setting
    groups: dict  # Lambda_signal, Lambda_noise of this run
    starts_positive: bool  # both headline summaries start above 0 (else the window is undefined)
    reached: bool  # a feature grew LINEAR_GROWTH times within the run
    window_step: int
    index: float  # measured: the larger of signal's and noise's
    leading_index: float  # the leading-order flow's, on its own window
    closed_index: float  # the closed form at s0 = 0 from this run's groups
    rise_ratio: float  # signal's rise over noise's rise over the window (descent)
    rate_ratio: float  # the exact initial rate ratio
    steps: int


def _index(values: np.ndarray) -> tuple[bool, int, float]:
    """(window reached, window end, larger linearity index) of (T, 2) summaries."""
    grown = (values[:, 0] >= LINEAR_GROWTH * values[0, 0]) | (
        values[:, 1] >= LINEAR_GROWTH * values[0, 1]
    )
    reached = bool(grown[1:].any())
    k = linear_window(_Summaries(values[:, 0], values[:, 1]))
    return reached, k, max(linearity(values[:, 0], k), linearity(values[:, 1], k))


class _Summaries(NamedTuple):
    signal_max: np.ndarray
    noise_max: np.ndarray


def growth(name: Window, cell: Cell) -> Growth:
    s, a = cell.summary, cell.arrays
    measured, lead = a["measured"], a["leading"]
    reached, k, index = _index(measured)
    _, _, leading_index = _index(lead)
    g = s["groups"]
    lams = [x for x in (g["signal"], g["noise"]) if x > 0]
    closed = early.linearity_index(lams, LINEAR_GROWTH)[1] if lams else float("nan")
    rises = measured[k] - measured[0]
    rates = s["initial_rates"]
    return Growth(
        nsnr2=name.nsnr2,
        d=name.d,
        i0_target=name.i0,
        i0=s["init_ratio"],
        sigma0=s["sigma0"],
        window_group=g["window"],
        typical_group=s["typical_groups"]["window"],
        groups={"signal": g["signal"], "noise": g["noise"]},
        starts_positive=bool((measured[0] > 0).all()),
        reached=reached,
        window_step=int(a["steps"][k]),
        index=index,
        leading_index=leading_index,
        closed_index=closed,
        rise_ratio=float(rises[0] / rises[1]) if rises[1] != 0 else float("nan"),
        rate_ratio=rates["signal"] / rates["noise"],
        steps=s["steps_run"],
    )


class WindowMap(NamedTuple):
    grid: EarlyGrid
    cells: list  # [Growth], in the grid's order
    preset_name: str


def measure(preset_name: str, results: dict, seed: int = 0) -> WindowMap:
    grid = presets.get(preset_name).early
    return WindowMap(grid, [growth(k, c) for k, c in results.items()], preset_name)


STUDY = Study("window-map", cells, measure)
