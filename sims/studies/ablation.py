"""The tying ablation: the study claims U1 and U2 read.

The paper's denoiser ties its layers (f(W, u) = c sum_r <w_r, u>^2 w_r) while its classifier fixes
its second layer. On the same data and seeds the study runs the tied denoiser, the untied one
(sims.untied: its own output layer V) at two widths, the fixed-output one (V frozen at its random
start) and the classifier, and reads each the same way:

- Flow(series, sigma_xi, nsnr2, rep): the exact gradient flow of the model's loss (the reduced ODE,
  theory.ode.flow, in span coordinates) from the run's data and W0, logged on a grid of tau, to
  tau_read = steps_for(preset, n·SNR²) eta (the paper-pair study's run length, eta the automatic
  step: the same for every model on these data) and on to LATE times that, stopping early where
  ||grad L|| < GTOL (a stationary point). Read at tau_read (the rules) and at its end (LATE
  tau_read, context). Every model starts from the same seed: the same data, and the untied models'
  first layer is the tied model's W0 (its V drawn after it), the classifier's class +1 filters too.
- Shape(series, sigma_xi): the same flow from EARLY_SIGMA0 times smaller weights at SHAPE_NSNR2,
  logged densely over its first eighth: the linearity index (sims.studies.measures).
- The models' predictions at each Flow cell's start (cheap parts only, in `flow_cell`): the tied
  model's initial rate ratio and the law's stationary ratio (theory.law), the untied models' rate
  ratio and growth rate (theory.untied), the classifier's rate ratio and winner (theory.predict).

Alignments are read as magnitudes for every model (the research studies' amendment 1): signal =
mean_j max_r |<w_r, mu_j>|, noise = mean_i max_r |<w_r, xi_i>| over the filters that read the
input (the untied models' first layer; the classifier's own-class filters, its summary).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sims import models, symmetric
from sims.config import TrainConfig
from sims.studies import presets
from sims.studies.cells import Cell, Outcome, Study, Trace, cell_seed
from sims.studies.measures import growth_ratio, linear_window
from sims.studies.presets import EARLY_SIGMA0, steps_for
from sims.studies.research import aggregate, magnitudes, train_point
from sims.studies.sweep import parametrised
from sims.train import prepare
from theory import law, reduced
from theory.ode import TopCurvature, flow
from theory.predict import GTOL, patch_weights

LATE = 10  # the flow runs on to LATE tau_read (context; the rules read tau_read)
EARLY_POINTS = 200  # flow grid points over the first eighth of tau_read (linear): the growth phase
READ_POINTS = 200  # ... up to tau_read (linear)
LATE_POINTS = 40  # ... and from there to LATE tau_read (logarithmic)
CURVATURE_EVERY = 5  # eta lambda_max at every this many grid points
# weights: 1, the cell also keeps the filters (and output rows) at tau_read, added after the numbers
# of U1 were seen, to check where the untied m = 1 flow ends against the tied one (in no rule); 2,
# ||grad L|| only at tau_read and the end (cost: the readings are unchanged)
KIND = parametrised(
    "ablation",
    late=LATE,
    early=EARLY_POINTS,
    read=READ_POINTS,
    after=LATE_POINTS,
    weights=2,
    curvature=CURVATURE_EVERY,
)
SHAPE_NSNR2 = 0.75  # the growth-shape flows' n·SNR² (D1's linearity setting, E1_NSNR2[0])
LEAVES = 2.0  # descent with step eta leaves the flow where eta lambda_max passes this
SAME_DIRECTION = 0.999  # |cos| above this: the same filter direction (U1's paragraph; in no rule)


# ------------------------------------------------------------------------------------ cell names
@dataclass(frozen=True)
class Series:
    """One model at one width (m None: the preset's)."""

    model: str
    m: int | None = None

    def label(self, m: int) -> str:
        return f"{self.model}, m = {self.m or m}"


# every series, in the tables' order: the tied, untied and fixed-output denoisers and the classifier
# at the preset's width, then the tied and untied denoisers at m = 1
SERIES = (
    Series("diffusion"),
    Series("untied"),
    Series("fixed-output"),
    Series("classification"),
    Series("diffusion", 1),
    Series("untied", 1),
)
TIED, UNTIED, FIXED, CLASSIFIER, TIED_1, UNTIED_1 = SERIES
PAIRS = ((UNTIED, TIED), (UNTIED_1, TIED_1))  # (untied series, its tied reference): U1


@dataclass(frozen=True)
class Flow:
    """The exact gradient flow of one seed to LATE tau_read (`flow_cell`): what the rules read."""

    series: Series
    sigma_xi: float
    nsnr2: float
    rep: int


@dataclass(frozen=True)
class Final:
    """Seed 0's gradient descent with the automatic step for tau_read / eta steps."""

    series: Series
    sigma_xi: float
    nsnr2: float


@dataclass(frozen=True)
class Shape:
    """Seed 0's flow from EARLY_SIGMA0 times smaller weights at SHAPE_NSNR2 (the growth shape)."""

    series: Series
    sigma_xi: float


def config(preset_name: str, series: Series, sigma_xi: float, nsnr2: float, seed: int):
    """The run of a series (the ablation preset's model, its width replaced where the series has
    one, noise scale sigma_xi), at n·SNR² = nsnr2 for tau_read = steps_for(preset) eta."""
    p = presets.PRESETS[presets.get(preset_name).ablation.model]
    steps = steps_for(p, nsnr2)
    return TrainConfig(
        model=series.model,
        n=p.n,
        d=p.d,
        m=series.m or p.m,
        nsnr2=nsnr2,
        sigma_xi=sigma_xi,
        sigma0=p.sigma0,
        steps=steps,
        log_every=max(1, steps // p.points_logged),
        seed=seed,
    )


def seed_of(base: int, sigma_xi: float, nsnr2: float, rep: int) -> int:
    """One seed per point and rep, shared by every series: the same data, and the same first layer
    (the untied models draw V after W; the classifier's class +1 filters are W)."""
    return cell_seed(base, "ablation", sigma_xi, nsnr2, rep)


def cells(preset_name: str, seed: int) -> dict:
    size = presets.get(preset_name).ablation
    out: dict = {}
    for sx in size.sigma_xi:
        for v in size.nsnr2:
            for series in SERIES:
                for rep in range(size.replicates):
                    cfg = config(preset_name, series, sx, v, seed_of(seed, sx, v, rep))
                    out[Flow(series, sx, v, rep)] = (KIND, cfg)
                cfg0 = config(preset_name, series, sx, v, seed_of(seed, sx, v, 0))
                out[Final(series, sx, v)] = ("train", cfg0)
        for series in SERIES:
            cfg = config(preset_name, series, sx, SHAPE_NSNR2, seed_of(seed, sx, SHAPE_NSNR2, 0))
            out[Shape(series, sx)] = (KIND, cfg.replace(sigma0=cfg.sigma0 * EARLY_SIGMA0))
    return out


# ----------------------------------------------------------------------------------- the flow cell
def headline(model, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(signal, noise) as magnitudes over the filters that read the input (module docstring)."""
    if model.signed:  # the tied denoiser's own summary is signed: read |.|
        return magnitudes(signal, noise)
    return tuple(model.summary(signal, noise, y)[:2])


def flow_cell(cfg: TrainConfig) -> Outcome:
    """The exact gradient flow of cfg's model (theory.ode.flow on the reduced state, with its
    Jacobian) from the run's data and W0, on EARLY_POINTS times over the first eighth of tau_read =
    cfg.steps eta, READ_POINTS up to tau_read and LATE_POINTS more to LATE tau_read, stopping where
    ||grad L|| < GTOL. At each time: the headline magnitudes (`headline`) and the model's own
    summary (signed for the tied model, as D1 reads it), the largest norm of a first-layer and of an
    output-layer row; at every CURVATURE_EVERY-th time eta lambda_max (the
    largest Hessian eigenvalue, theory.ode.TopCurvature): descent with step eta follows the flow
    only while it stays below LEAVES. At tau_read: ||grad L||, the filters and the output rows; at
    the end: ||grad L||."""
    model = models.get(cfg.model)
    run = prepare(cfg)
    red, Wr0 = reduced.reduce(cfg, run.data, run.W0)
    tau_read = cfg.steps * run.eta
    taus = np.unique(
        np.concatenate(
            [
                np.linspace(0.0, tau_read / 8, EARLY_POINTS + 1),
                np.linspace(tau_read / 8, tau_read, READ_POINTS + 1),
                np.geomspace(tau_read, LATE * tau_read, LATE_POINTS + 1),
            ]
        )
    )
    t, states, status = flow(red, Wr0, taus, gtol=GTOL, jacobian=True)
    signal, noise = reduced.alignments(red, states)
    y = run.data.y
    pairs = np.array([headline(model, s, z, y) for s, z in zip(signal, noise)])
    own = np.array([model.summary(s, z, y)[:2] for s, z in zip(signal, noise)])
    layers = [model.layers(W) for W in states]
    norm = lambda rows: float(np.sqrt(np.max(np.sum(rows * rows, axis=-1))))
    top = TopCurvature(red, Wr0.shape)
    measured = np.arange(0, len(t), CURVATURE_EVERY)
    curvature = np.array([run.eta * top(states[i].ravel()) for i in measured])
    reached = t[-1] >= tau_read * (1 - 1e-12)
    read = int(np.argmin(np.abs(t - tau_read))) if reached else len(t) - 1
    leaves = measured[curvature >= LEAVES]
    at_read = reduced.lift(red, states[read])
    arrays = {
        "filters_read": model.filters(at_read),
        "outputs_read": model.layers(at_read).get("V", np.zeros((0, run.data.d))),
        "tau": t,
        "signal": pairs[:, 0],
        "noise": pairs[:, 1],
        "own_signal": own[:, 0],
        "own_noise": own[:, 1],
        "w_norm": np.array([norm(x["W"]) for x in layers]),
        "v_norm": np.array([norm(x["V"]) for x in layers if "V" in x]),  # empty without V
        "curvature_index": measured,
        "eta_curvature": curvature,
    }
    summary = {
        "status": status,
        "eta": run.eta,
        "eta_limit": run.eta_limit,
        "tau_read": tau_read,
        "read_index": read,
        "grad_norm_read": float(np.linalg.norm(reduced.loss_and_grad(red, states[read])[1])),
        "grad_norm_end": float(np.linalg.norm(reduced.loss_and_grad(red, states[-1])[1])),
        "tau_end": float(t[-1]),
        "stationary": status == "stationary",
        "descent_leaves_tau": float(t[leaves[0]]) if leaves.size else None,
    }
    return Outcome(summary, arrays)


# -------------------------------------------------------------------------------------- readings
class FlowPoint(NamedTuple):
    """One seed's flow read at tau_read (the rules) and at its end (LATE tau_read, or where it
    became stationary): magnitudes, their ratio and gains over tau = 0, and what the flow did."""

    ratio: float
    signal_gain: float
    noise_gain: float
    signal: float
    noise: float
    end_ratio: float
    end_signal_gain: float
    end_noise_gain: float
    stationary: bool  # ||grad L|| < GTOL by LATE tau_read
    reached_at_read: bool  # ... already by tau_read
    grad_norm: float  # ||grad L|| at tau_read
    growth_ratio: float  # the growth-phase ratio (measures), on the model's own summary
    w_norm_growth: float  # the largest first-layer row norm, end over tau_read
    status: str


def readable(cell: Cell) -> bool:
    """Whether a flow cell finished where it was asked to (not where the solver stopped short)."""
    return cell.finished and cell.summary["status"].split()[0] in ("ok", "stationary")


def flow_point(cell: Cell) -> FlowPoint | None:
    """The readings of a finished flow cell (None where the solver stopped short)."""
    if not readable(cell):
        return None
    a, s = cell.arrays, cell.summary
    k = s["read_index"]
    sig, noi = a["signal"], a["noise"]
    own = Trace(
        steps=a["tau"],
        loss=a["tau"],  # (not read)
        grad_norm=a["tau"],
        signal=a["signal"],
        noise=a["noise"],
        signal_max=a["own_signal"][: k + 1],
        noise_max=a["own_noise"][: k + 1],
        feature_max=a["own_signal"][: k + 1, None],
    )
    return FlowPoint(
        ratio=float(sig[k] / noi[k]),
        signal_gain=float(sig[k] / sig[0]),
        noise_gain=float(noi[k] / noi[0]),
        signal=float(sig[k]),
        noise=float(noi[k]),
        end_ratio=float(sig[-1] / noi[-1]),
        end_signal_gain=float(sig[-1] / sig[0]),
        end_noise_gain=float(noi[-1] / noi[0]),
        stationary=bool(s["stationary"]),
        reached_at_read=bool(s["stationary"] and k == len(sig) - 1),
        grad_norm=s["grad_norm_read"],
        growth_ratio=growth_ratio(own, own),
        w_norm_growth=float(a["w_norm"][-1] / a["w_norm"][k]),
        status=s["status"],
    )


class DescentPoint(NamedTuple):
    """Seed 0's gradient descent at the automatic step, read at its last step as magnitudes, with
    the descent loop's checks; `diverged` holds the message of a run that diverged."""

    ratio: float
    signal_gain: float
    noise_gain: float
    loss_rises: int
    gradient_reversals: int
    first_loss_rise: int
    eta_limit: str
    diverged: str | None


def leaves_step(cell: Cell) -> float | None:
    """The first step (tau / eta) where a flow's eta lambda_max reached LEAVES: where descent with
    the automatic step leaves it (None: it does not, or the flow was not read)."""
    tau = cell.summary.get("descent_leaves_tau") if cell.finished else None
    return None if tau is None else tau / cell.summary["eta"]


def descent_point(cell: Cell, model) -> DescentPoint:
    if not cell.finished:
        nan = float("nan")
        return DescentPoint(nan, nan, nan, 0, 0, -1, "", cell.message)
    p = train_point(cell, model)
    s = cell.summary
    return DescentPoint(
        p.ratio,
        p.signal_gain,
        p.noise_gain,
        int(s["loss_rises"]),
        int(s["gradient_reversals"]),
        int(s["first_loss_rise"]),
        s["eta_limit"],
        None,
    )


class Theory(NamedTuple):
    """What the theory gives at one point (seed 0's data): the rate-ratio formula n_j ||mu||^2 /
    ||xi||^2 (every model's early growth ratio: D1, theory.untied, C1's lambda_s / lambda_n), the
    groups G_s, G_n and the tied law's stationary ratio at m = M and m = 1 (theory.law, on the
    symmetric branch: sims.symmetric), and the effective n·SNR² of the noised input
    (`effective_nsnr2`)."""

    rate_ratio: float
    G_s: float
    G_n: float
    law_ratio: float
    law_ratio_1: float
    effective_nsnr2: float


def effective_nsnr2(data, alpha: float, beta: float) -> float:
    """n SNR_eff^2 of the noised input x_t = alpha x0 + beta eps (measures, "effective SNR"): n
    alpha^2 mean_j ||mu_j||^2 / (alpha^2 mean_i ||xi_i||^2 + beta^2 d)."""
    mu2 = float(np.mean(np.sum(data.signals[:2] ** 2, axis=1)))
    xi2 = float(np.mean(np.sum(data.x2**2, axis=1)))
    return data.n * alpha**2 * mu2 / (alpha**2 * xi2 + beta**2 * data.d)


def theory_at(cfg: TrainConfig) -> Theory:
    data = prepare(cfg.replace(eta=1.0)).data  # the data only (no step size is computed)
    w_signal, w_noise = patch_weights(data)
    G_s, G_n = law.setting_groups(cfg, data)
    alpha, beta, _ = cfg.diffusion_times[0]
    return Theory(
        rate_ratio=float(np.mean(w_signal[:2]) / np.mean(w_noise)),
        G_s=G_s,
        G_n=G_n,
        law_ratio=symmetric.stationary(G_s, G_n, cfg.m).ratio,
        law_ratio_1=symmetric.stationary(G_s, G_n, 1).ratio,
        effective_nsnr2=effective_nsnr2(data, alpha, beta),
    )


class Linearity(NamedTuple):
    """The linearity index (measures) of a Shape flow, on the model's own summary."""

    signal: float
    noise: float
    index: float
    window_tau: float


def linearity_of(cell: Cell) -> Linearity:
    """measures' linearity index on the flow's (non-uniform) grid of tau: the rise over the second
    half of the window [0, tau_w] over the rise over its first half, tau_w where the faster feature
    has grown LINEAR_GROWTH times (measures.linear_window), its half at the grid time nearest
    tau_w / 2."""
    nan = float("nan")
    if not readable(cell):
        return Linearity(nan, nan, nan, nan)
    a = cell.arrays
    k = cell.summary["read_index"]
    tau = a["tau"][: k + 1]
    s, z = a["own_signal"][: k + 1], a["own_noise"][: k + 1]
    window = Trace(tau, tau, tau, s, z, s, z, s[:, None])
    w = linear_window(window)
    half = int(np.argmin(np.abs(tau[:w] - tau[w] / 2)))
    rise = lambda v: float((v[w] - v[half]) / (v[half] - v[0])) if v[half] != v[0] else nan
    signal, noise = rise(s), rise(z)
    return Linearity(signal, noise, float(np.nanmax([signal, noise])), float(tau[w]))


@dataclass(frozen=True)
class Ablation:
    """The study's numbers: per series (label) and sigma_xi, a seed-mean flow Mean per n·SNR²
    (research.aggregate: geometric means of ratios and gains), seed 0's descent per n·SNR², the
    linearity index, and the theory at each point."""

    preset_name: str
    size: presets.Ablation
    m: int  # the preset's width M
    flows: dict  # (label, sigma_xi) -> [Mean of FlowPoint per n·SNR²]
    descents: dict  # (label, sigma_xi) -> [DescentPoint per n·SNR²]
    leaves: dict  # (label, sigma_xi) -> [seed 0's `leaves_step` per n·SNR²]
    linearity: dict  # (label, sigma_xi) -> Linearity
    theory: dict  # (sigma_xi, n·SNR²) -> Theory
    laws: dict  # (sigma_xi, m) -> `law_line`
    looks: dict  # label -> the model's Look (colour, marker, growth)
    tau_read: dict  # (sigma_xi, n·SNR²) -> (steps, eta) of seed 0
    directions: dict  # (sigma_xi, n·SNR²) -> `single_neuron_directions` (added after the numbers)


def single_neuron_directions(untied: Cell, tied: Cell) -> dict:
    """At m = 1, seed 0, tau_read: |cos| between the untied filter w and the tied one, between the
    untied w and its output row v, and ||w||^2 ||v|| / ||w_tied||^3 (1 where the untied network's
    output equals the tied one's along that direction). Added after U1's numbers were seen (the
    m = 1 ratios agreed to 4 digits at sigma_xi = 0.05); in no rule."""
    if not (readable(untied) and readable(tied)):
        return {}
    w, v = untied.arrays["filters_read"][0], untied.arrays["outputs_read"][0]
    t = tied.arrays["filters_read"][0]
    cos = lambda a, b: float(abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return {
        "cos_untied_tied": cos(w, t),
        "cos_w_v": cos(w, v),
        "output_scale": float((w @ w) * np.linalg.norm(v) / np.linalg.norm(t) ** 3),
    }


def measure(preset_name: str, results: dict, seed: int = 0) -> Ablation:
    size = presets.get(preset_name).ablation
    M = presets.PRESETS[size.model].m
    flows, descents, leaves, linear, looks = {}, {}, {}, {}, {}
    for series in SERIES:
        label, model = series.label(M), models.get(series.model)
        looks[label] = model.look
        for sx in size.sigma_xi:
            flows[label, sx] = [
                aggregate(
                    v,
                    [flow_point(results[Flow(series, sx, v, r)]) for r in range(size.replicates)],
                )
                for v in size.nsnr2
            ]
            descents[label, sx] = [
                descent_point(results[Final(series, sx, v)], model) for v in size.nsnr2
            ]
            leaves[label, sx] = [leaves_step(results[Flow(series, sx, v, 0)]) for v in size.nsnr2]
            linear[label, sx] = linearity_of(results[Shape(series, sx)])
    directions = {}
    for sx in size.sigma_xi:
        for v in size.nsnr2:
            directions[sx, v] = single_neuron_directions(
                results[Flow(UNTIED_1, sx, v, 0)], results[Flow(TIED_1, sx, v, 0)]
            )
    theory, tau = {}, {}
    for sx in size.sigma_xi:
        for v in size.nsnr2:
            cfg = config(preset_name, TIED, sx, v, seed_of(seed, sx, v, 0))
            theory[sx, v] = theory_at(cfg)
            cell = results[Flow(TIED, sx, v, 0)]
            tau[sx, v] = (cfg.steps, cell.summary.get("eta", float("nan")))
    laws = {
        (sx, width): law_line([theory[sx, v] for v in size.nsnr2], size.nsnr2, width)
        for sx in size.sigma_xi
        for width in (M, 1)
    }
    return Ablation(
        preset_name, size, M, flows, descents, leaves, linear, theory, laws, looks, tau, directions
    )


def law_line(theory: list, nsnr2: tuple, m: int) -> tuple:
    """(n·SNR², the tied law's ratio) at the sweep's points and their geometric midpoints, at the
    noise group of the first point (the figure's line; G_s = G_n times the rate-ratio formula,
    interpolated in log between the points)."""
    x = np.array(nsnr2, dtype=float)
    fine = np.sort(np.concatenate([x, np.sqrt(x[1:] * x[:-1])]))
    per = np.exp(
        np.interp(np.log(fine), np.log(x), np.log([t.rate_ratio / v for t, v in zip(theory, x)]))
    )
    G_n = theory[0].G_n
    return fine, np.array(
        [symmetric.stationary(G_n * r * v, G_n, m).ratio for r, v in zip(per, fine)]
    )


STUDY = Study("ablation", cells, measure)
