"""Full-batch gradient descent W <- W - eta grad L(W) on either model, one run or many stacked
together.

`train(cfg)` runs one configuration, by default in a basis of the span of its data, fixed noise
draws and initial filters where that is exact (sims.span; `cfg.engine`), else in d dimensions.
`train_many(configs)` equals `[train(c) for c in configs]` to rounding (tested at 1e-10 relative):
every member draws its own data, initial weights and (auto) eta from its own seed exactly as `train`
does, and keeps its own divergence check, tolerance and log; the members run as one stack through
the one loop (`sims.descent.descend`), each in an orthonormal basis of the span of its data and
initial filters (`sims.span`), where descent is exact. Stacking needs members that share the model,
the data shape (n, d), m, steps, log_every and the model's `stack_key`, and a model whose descent
stays in that span (`sims.models`); otherwise `train_many` falls back to separate `train` calls
(same results, no speed-up).

Logged every `log_every` steps and at the last step (step 0 is the initialisation), for the F = 2K
signal vectors of the data (sims.data: column 2k + j is mu_{j,k}; F = 2, columns mu_{+1}, mu_{-1},
for Definition 2.1):
  diffusion       signal (T, m, F) = <w_r, mu_f>,        noise (T, m, n) = <w_r, xi_i>
  classification  signal (T, 2, m, F) = <w_{j,r}, mu_f>, noise (T, 2, m, n) = <w_{j,r}, xi_i>
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from sims import DivergenceError, FldmError, __version__, io, models, span
from sims.config import TrainConfig
from sims.data import Dataset, load_npz, make_data, real_array
from sims.descent import EXPLODE, Outcome, check_note, descend, stationarity
from sims.stepsize import FD_STEP, auto_step

ERRORS = ("raise", "return")
MAX_LOG_BYTES = 2**30  # a run may keep at most this much logged trajectory in memory


@dataclass
class Result:
    config: TrainConfig
    steps: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    signal: np.ndarray
    noise: np.ndarray
    W: np.ndarray
    data: Dataset
    converged: bool
    extra: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The headline numbers of the last step (sims.models.summarize), and:
        converged: whether the run stopped at ||grad L|| < tol (never with the default tol = 0);
        reached_stationary: whether ||grad L|| at the last step is at most 1e-6 times its largest
        value on the run (sims.descent.stationarity: a scale-free criterion, needing no tol), with
        stationarity (that ratio), steps_to_stationary (the steps still needed at this eta, from the
        recent decay of ||grad L||; None when reached or not falling) and stationary_note (the
        sentence, "" when reached); steps_run, final_loss, final_grad_norm; and `extra` (eta and
        what set it, the descent checks, the model's metrics)."""
        s = models.summarize(
            self.config.model, self.signal[-1], self.noise[-1], self.data.y
        )._asdict()
        s["per_feature"] = list(s["per_feature"])  # as JSON gives it back
        eta = self.extra.get("eta", self.config.eta)
        s.update(
            converged=self.converged,
            **stationarity(
                self.steps, self.grad_norm, self.extra.get("grad_norm_max", math.nan), eta
            ),
            steps_run=int(self.steps[-1]),
            final_loss=float(self.loss[-1]),
            final_grad_norm=float(self.grad_norm[-1]),
            **self.extra,
        )
        return s

    def save(self, out: str | Path) -> None:
        """Write out/result.npz and out/result.json as one pair (io.together): both are written
        whole to temporary files first, and only then does an earlier result.json go, the new npz
        replace the earlier one and the new json, which marks the pair complete and carries the
        SHA-256 of the npz's arrays (io.arrays_sha256), come last. A save that fails (a full disk)
        leaves the earlier pair as it was; at any instant a reader sees the earlier pair, an npz
        without json (a pair being replaced) or the new pair. The folder is held (io.claim)
        meanwhile, so a concurrent run fails instead of mixing its files in (the command line defers
        stop signals while it saves). The config records the eta the run used (eta_auto: whether
        auto_eta chose it). The weights are saved by the model's `layers` (W; and V, the output
        layer, for a model that has one)."""
        out = Path(out)
        config = self.config.to_dict()
        config["eta"] = self.extra.get("eta", self.config.eta)
        arrays = dict(
            steps=self.steps,
            loss=self.loss,
            grad_norm=self.grad_norm,
            signal=self.signal,
            noise=self.noise,
            **models.get(self.config.model).layers(self.W),
        )
        meta = {
            "config": config,
            "eta_auto": self.config.eta is None,
            "seed": self.config.seed,
            "version": __version__,
            "summary": self.summary(),
            "arrays_sha256": io.arrays_sha256(arrays),
        }
        with io.claim(out), io.together(out / "result.json"):
            io.write_npz(out / "result.npz", **arrays)
            io.write_json(out / "result.json", meta)


class Run(NamedTuple):
    """What a run starts from: its generators, data, initial weights, step size (and, for eta
    'auto', the limit that set it: sims.stepsize) and the noise drawn once for the whole run (or
    None)."""

    rngs: dict
    data: Dataset
    W0: np.ndarray
    eta: float
    draws: np.ndarray | None = None
    eta_limit: str = "given"
    basis: span.Basis | None = (
        None  # of span(data, draws, W0), when the automatic step size needed it,
    )
    coords: tuple | None = None  # and (data, W0, draws) in it (sims.span.coordinates)


def seeds(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators for data, initialisation, diffusion noise and test data."""
    names = ("data", "init", "noise", "test")
    return {
        k: np.random.default_rng(s)
        for k, s in zip(names, np.random.SeedSequence(seed).spawn(len(names)))
    }


def build_data(cfg: TrainConfig, rng: np.random.Generator) -> Dataset:
    if cfg.data is not None:
        return load_npz(cfg.data)
    return make_data(
        cfg.n,
        cfg.d,
        snr=cfg.snr_value,
        sigma_xi=cfg.sigma_xi,
        noise=cfg.data_noise,
        labels=cfg.labels,
        signal_cos=cfg.signal_cos,
        balance=cfg.balance,
        strengths=cfg.strengths,
        freqs=cfg.freqs,
        rng=rng,
    )


def weight_shape(cfg: TrainConfig, d: int) -> tuple:
    return models.get(cfg.model).weight_shape(cfg.m, d)


def load_weights(path: str | Path) -> np.ndarray:
    """Initial weights from an .npy file (numpy.save), as float64; real numbers in range only."""
    path = io.regular_file(path, "init file")
    kind = io.numpy_file_kind(path)
    if kind != "npy":
        raise FldmError(
            f"{path} is {'an .npz archive' if kind else 'not a numpy file'}; --init takes one "
            "array saved with numpy.save (.npy)"
        )
    io.npy_array(path)  # its header against the file's size, before anything is loaded
    try:
        with open(path, "rb") as fh:  # the handle closes on any error
            W = np.load(fh, allow_pickle=False)
    except Exception as exc:  # what the header check cannot see
        raise FldmError(f"cannot read {path} as an .npy array: {exc}") from None
    return real_array(W, f"init weights in {path}")


def initial_weights(cfg: TrainConfig, d: int, rng: np.random.Generator) -> np.ndarray:
    shape = weight_shape(cfg, d)
    if cfg.init is None:
        return cfg.sigma0 * rng.standard_normal(shape)
    W = load_weights(cfg.init)
    if W.shape != shape:
        raise FldmError(
            f"init weights in {cfg.init} have shape {W.shape}; this run needs {shape} (m={cfg.m}, "
            f"d={d})"
        )
    return W


def alignments(W: np.ndarray, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(<w, mu_f>, <w, xi_i>) for every filter w of W and every signal vector mu_f (sims.data
    `signals`)."""
    return W @ data.signals.T, W @ data.x2.T


def stacked_alignments(W: np.ndarray, signals: np.ndarray, x2: np.ndarray) -> tuple:
    """`alignments` of each member of a stack W (S, ..., r) with its own signal vectors (S, F, r)
    and noise patches (S, n, r), in two products."""
    own = (len(W),) + (1,) * (W.ndim - 3)  # a member's vectors, against every filter of its W
    signals, x2 = (np.swapaxes(a.reshape(own + a.shape[1:]), -1, -2) for a in (signals, x2))
    return W @ signals, W @ x2


def log_bytes(cfg: TrainConfig, n: int, signals: int = 2) -> tuple[int, int]:
    """(entries, bytes per entry) of the logged trajectories of a run, which are kept in memory;
    `signals` is the number of signal vectors logged."""
    filters = math.prod(weight_shape(cfg, 1))
    return cfg.steps // cfg.log_every + 2, 8 * (
        3 + filters * (signals + n)
    )  # step, loss, grad norm, alignments


def check_log_size(cfg: TrainConfig, n: int, signals: int = 2) -> None:
    """Refuse a run whose logged trajectories would exceed MAX_LOG_BYTES (they are kept in
    memory)."""
    entries, per_entry = log_bytes(cfg, n, signals)
    if (
        entries * per_entry > MAX_LOG_BYTES and 3 * per_entry <= MAX_LOG_BYTES
    ):  # else no log_every helps
        least = -(-cfg.steps * per_entry // (MAX_LOG_BYTES - 2 * per_entry))
        raise FldmError(
            f"logging every {cfg.log_every} of {cfg.steps} steps would keep "
            f"{entries * per_entry / 1e9:.1f} GB of trajectories; set log_every to at least {least}"
        )


def memory_estimate(cfg: TrainConfig, n: int, d: int) -> int:
    """Bytes a run holds at once, roughly, from its sizes alone (Python integers: no overflow).

    The data (x1, x2 and a draw) and the weights (W0, W, the gradient, the next W); the n x n Gram
    matrix of the signal patches for eta "auto"; the span basis (sims.span; also built by
    theory.reduced): its rows (patches, signals, filters, fixed draws) as a matrix, their Gram
    matrix and the basis; the model's own work (`work_floats`: noise draws, test samples); the
    logged trajectories.
    """
    model = models.get(cfg.model)
    F = math.prod(weight_shape(cfg, 1))
    floats = 3 * n * d + 2 * d + 4 * F * d + model.work_floats(cfg, n, d)
    if cfg.eta is None:
        floats += n * n
    if cfg.engine != "full":
        shape = model.draw_shape(cfg, n, d)
        rows = 2 * n + 2 + F + (math.prod(shape[:-1]) if shape else 0)
        floats += 2 * rows * rows + 3 * rows * d
    entries, per_entry = log_bytes(cfg, n)
    return 8 * floats + entries * per_entry


def check_memory(cfg: TrainConfig, n: int, d: int) -> None:
    """Refuse, before allocating anything, a run whose `memory_estimate` exceeds the machine's
    memory."""
    need, have = memory_estimate(cfg, n, d), io.machine_memory()
    if have is not None and need > have:
        raise FldmError(
            f"this run needs about {need / 1e9:.3g} GB of memory (n={n}, d={d}, m={cfg.m}); this "
            f"machine has {have / 1e9:.3g} GB: lower n, d or m"
        )


def prepare(cfg: TrainConfig, data: Dataset | None = None, W0: np.ndarray | None = None) -> Run:
    """The start of a run; `data` and `W0` override the configured ones."""
    n, d = (cfg.n, cfg.d) if data is None else (data.n, data.d)
    check_log_size(cfg, n)
    check_memory(cfg, n, d)
    rngs = seeds(cfg.seed)
    if data is None:
        data = build_data(cfg, rngs["data"])
    W = initial_weights(cfg, data.d, rngs["init"]) if W0 is None else np.array(W0, dtype=float)
    if W.shape != weight_shape(cfg, data.d):
        raise FldmError(f"initial weights have shape {W.shape}; need {weight_shape(cfg, data.d)}")
    check_log_size(cfg, data.n, data.signals.shape[0])
    model = models.get(cfg.model)
    draws = model.draws(cfg, data.n, data.d, rngs["noise"])
    B = coords = None
    if model.deterministic(cfg) is not None:  # the checks and the "initial" limit's curvature are
        B = span.basis(data, W, draws)  # computed in the basis the span engine uses
        coords = span.coordinates(B, data, W, draws)
    check_float_range(cfg, data, W, draws, coords)
    if cfg.eta is not None:
        return Run(rngs, data, W, cfg.eta, draws, "given", B, coords)
    with np.errstate(over="ignore", invalid="ignore"):  # checked above: the products fit
        eta, limit = auto_step(cfg, data, W, draws, coords)
    return Run(rngs, data, W, eta, draws, limit, B, coords)


# The products a run computes from its initial weights must stay below this: float64's largest
# number over the growth sims.descent allows a loss before it counts as divergence (EXPLODE).
FLOAT_ROOM = np.finfo(float).max / EXPLODE


def _size(a) -> float:
    """log10 of the Euclidean norm of a, computed without overflow (inf if a holds inf or NaN)."""
    a = np.abs(np.asarray(a, dtype=float))
    top = a.max(initial=0.0)
    if not np.isfinite(top):
        return math.inf
    return -math.inf if top == 0 else math.log10(top) + 0.5 * math.log10(np.sum((a / top) ** 2))


def check_float_range(cfg: TrainConfig, data: Dataset, W0, draws, coords) -> None:
    """Refuse, before any step, a run whose products at the initial weights leave float64's range:
    the loss, the squared norm of its gradient (the descent loop's) and the squared norm of a
    curvature product H v (the automatic step size's and the ODE's; for objectives with one closed
    form), each below FLOAT_ROOM. Settings within their own ranges (sims.config) can still multiply
    beyond it: sigma0 = 1e50 makes the diffusion loss about 1e300, snr = 1e40 its gradient about
    1e157. The message names the product, its size and the limit. A DivergenceError: a sweep records
    such a run as diverged (sims.studies.sweep), as it did when descent found the overflow at step
    0."""
    model = models.get(cfg.model)
    mean = model.deterministic(cfg)
    with np.errstate(all="ignore"):  # overflow is what is measured here
        if mean is not None:
            dc, Wc, draws_c = coords
            fun = model.objective(mean, dc.x1, dc.x2, data.y, data.d, None, draws_c)
            product = model.hessian_product(mean, dc.x1, dc.x2, data.d)
        else:  # fresh draws from a generator of its own: the run's stream is untouched
            x = data
            rng = np.random.default_rng(0)
            fun = model.objective(cfg, x.x1, x.x2, x.y, data.d, rng, draws)
            Wc, product = W0, None
        loss, grad = fun(Wc)
        sizes = {"the loss": _size(loss), "the gradient's squared norm": 2 * _size(grad)}
        if mean is not None and math.isfinite(sizes["the gradient's squared norm"]):
            v = grad / 10 ** _size(grad) if np.any(grad) else np.ones_like(Wc) / math.sqrt(Wc.size)
            if product is None:  # central differences of the gradient, as sims.stepsize does
                h = FD_STEP * max(10 ** _size(Wc), 1e-300)
                product = lambda W, V: (fun(W + h * V)[1] - fun(W - h * V)[1]) / (2 * h)
            sizes["the curvature's squared norm ||H v||^2"] = 2 * _size(product(Wc, v))
    limit = math.log10(FLOAT_ROOM)
    for name, size in sizes.items():
        if not size <= limit:
            value = "beyond float64's range" if size == math.inf else f"about 1e{size:.0f}"
            raise DivergenceError(
                f"at the initial weights {name} is {value}; a run needs it below {FLOAT_ROOM:.1e} "
                "(float64's largest number over the growth a loss may take before it counts as "
                "diverged): lower sigma0, sigma_xi or snr (or rescale the files)"
            )


def finish(cfg: TrainConfig, run: Run, W: np.ndarray, outcome: Outcome) -> Result:
    """The Result of a finished run (W in d dimensions, the rest from the descent loop's Outcome):
    logged lists to arrays, the model's metrics (classifier errors), the largest ||grad L|| of any
    step, and the descent loop's checks with their sentence (`descent_note`, "" when descent
    behaved: sims.descent)."""
    checks, log = outcome.checks, outcome.log
    extra = {
        "eta": run.eta,
        "eta_limit": run.eta_limit,
        "grad_norm_max": outcome.grad_max,
        **checks._asdict(),
        "descent_note": check_note(checks),
        **models.get(cfg.model).metrics(cfg, W, run.data, run.rngs["test"]),
    }
    arrays = {k: np.asarray(v, dtype=int if k == "steps" else float) for k, v in log.items()}
    return Result(
        config=cfg, W=W, data=run.data, converged=outcome.converged, extra=extra, **arrays
    )


def _basis(run: Run) -> span.Basis | None:
    """The basis of span(data, draws, W0) of a run (sims.span), None when it is not smaller than d
    (known without computing it when there are at least d spanning rows)."""
    data, draws = run.data, run.draws
    rows = 2 * data.n + 2 + run.W0.size // data.d + (0 if draws is None else draws.size // data.d)
    if rows >= data.d:
        return None
    B = span.basis(data, run.W0, draws) if run.basis is None else run.basis
    return B if B.dim < data.d else None


def _coordinates(run: Run, B: span.Basis | None):
    """(data, W0, draws) of a run in the basis B (as they are when B is None)."""
    if B is None:
        return run.data, run.W0, run.draws
    return (
        run.coords
        if B is run.basis and run.coords is not None
        else span.coordinates(B, run.data, run.W0, run.draws)
    )


def engine(cfg: TrainConfig) -> str:
    """The engine a run uses: "span" (descent in a basis of span(data, fixed draws, W0), exact) or
    "full"."""
    exact = models.get(cfg.model).stays_in_span(cfg)
    if cfg.engine == "span" and not exact:
        raise FldmError(
            "--engine span needs descent that stays in the span of the data: resampled noise "
            "draws new directions every step; use --engine full (or auto)"
        )
    return "span" if cfg.engine == "span" or (cfg.engine == "auto" and exact) else "full"


def train(
    cfg: TrainConfig,
    data: Dataset | None = None,
    W0: np.ndarray | None = None,
    progress=None,
    until_stationary: bool = False,
) -> Result:
    """Run gradient descent as configured (`data` and `W0` override the configured ones), in a basis
    of the span of the data, fixed noise draws and W0 where that is exact (sims.span), else in d
    dimensions (`engine`); the result is the same to rounding either way, with W in d dimensions.
    until_stationary: stop as soon as the run is stationary (sims.descent.stationarity), at most
    cfg.steps steps."""
    run = prepare(cfg, data, W0)
    model = models.get(cfg.model)
    B = _basis(run) if engine(cfg) == "span" else None
    coords, Wc, draws_c = _coordinates(run, B)
    fun = model.objective(
        cfg, coords.x1, coords.x2, coords.y, run.data.d, run.rngs["noise"], draws_c
    )

    def objective(members):  # a stack of one
        def stacked(W):
            loss, grad = fun(W[0])
            return np.array((loss,)), grad[None]  # not np.atleast_1d: a third of the time

        return stacked

    (outcome,) = descend(
        objective,
        Wc[None],
        run.eta,
        cfg.tol,
        steps=cfg.steps,
        log_every=cfg.log_every,
        align=lambda members, W: alignments(W, coords),  # W: a stack of one
        progress=progress,
        check=model.deterministic(cfg) == cfg,
        limits=[run.eta_limit],
        until_stationary=until_stationary,
    )
    if isinstance(outcome, DivergenceError):
        raise outcome
    W = outcome.W if B is None else outcome.W @ B.matrix.T
    result = finish(cfg, run, W, outcome)
    result.extra["engine"] = "full" if B is None else "span"
    return result


def stack_signature(cfg: TrainConfig) -> tuple | None:
    """Runs with equal signatures (and data of one shape) can share one stacked computation in the
    span engine; None when this run cannot be stacked."""
    model = models.get(cfg.model)
    if not model.stackable(cfg) or cfg.engine == "full":
        return None
    return (cfg.model, cfg.m, cfg.steps, cfg.log_every, model.stack_key(cfg))


def stackable(configs: list[TrainConfig]) -> bool:
    """Whether the configured runs can share one stacked computation (before looking at their
    data)."""
    signatures = {stack_signature(c) for c in configs}
    return len(signatures) == 1 and None not in signatures


def _pad(a: np.ndarray, width: int) -> np.ndarray:
    return np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, width - a.shape[-1])])


def _separately(configs, datas, W0s, errors):
    results = []
    for i, (cfg, data, W0) in enumerate(zip(configs, datas, W0s)):
        try:
            results.append(train(cfg, data, W0))
        except DivergenceError as exc:
            if errors == "raise":
                raise DivergenceError(f"member {i} (seed {cfg.seed}): {exc}") from None
            results.append(exc)
    return results


def train_many(
    configs: list[TrainConfig],
    datas: list[Dataset | None] | None = None,
    W0s: list[np.ndarray | None] | None = None,
    *,
    errors: str = "raise",
) -> list:
    """Train every config; the result list is `[train(c, data, W0) ...]` (see the module docstring).

    errors="raise": a diverging member raises DivergenceError naming the member, its seed and the
    step; errors="return": that member's place in the list holds its DivergenceError and the others
    run on.
    """
    configs = list(configs)
    S = len(configs)
    datas = [None] * S if datas is None else list(datas)
    W0s = [None] * S if W0s is None else list(W0s)
    if len(datas) != S or len(W0s) != S:
        raise FldmError(
            f"got {S} configs, {len(datas)} datas and {len(W0s)} initial weights; give one each"
        )
    if errors not in ERRORS:
        raise FldmError(f"errors must be one of {ERRORS}, got {errors!r}")
    if S == 0:
        return []
    if not stackable(configs):
        return _separately(configs, datas, W0s, errors)
    # each member in its own basis (exact, sims.span), padded with zero coordinates to a common
    # width. The bases are not kept (each is as large as its member's data); finishing recomputes
    # them.
    runs, reduced = [], []
    for cfg, data, W0 in zip(configs, datas, W0s):
        try:
            run = prepare(cfg, data, W0)
        except DivergenceError:  # beyond float64 from the start: separately, each as errors says
            return _separately(configs, datas, W0s, errors)
        reduced.append(_coordinates(run, _basis(run))[:2])
        runs.append(run._replace(basis=None, coords=None))
    if len({run.data.x1.shape for run in runs}) > 1:
        return _separately(configs, datas, W0s, errors)
    width = max(W.shape[-1] for _, W in reduced)
    coords = [r.map(lambda a: _pad(a, width)) for r, _ in reduced]
    X1, X2 = np.stack([c.x1 for c in coords]), np.stack([c.x2 for c in coords])
    signals = np.stack([c.signals for c in coords])
    Y = np.stack([c.y for c in coords]).astype(float)
    cfg0, d = configs[0], runs[0].data.d
    model = models.get(cfg0.model)
    objective = lambda members: model.objective(cfg0, X1[members], X2[members], Y[members], d, None)
    outcomes = descend(
        objective,
        np.stack([_pad(W, width) for _, W in reduced]),
        [run.eta for run in runs],
        [c.tol for c in configs],
        steps=cfg0.steps,
        log_every=cfg0.log_every,
        align=lambda members, W: stacked_alignments(W, signals[members], X2[members]),
        limits=[run.eta_limit for run in runs],
    )
    results = []
    for i, (cfg, run, outcome) in enumerate(zip(configs, runs, outcomes)):
        if isinstance(outcome, DivergenceError):
            if errors == "raise":
                raise DivergenceError(f"member {i} (seed {cfg.seed}): {outcome}")
            results.append(outcome)
            continue
        B = _basis(run)  # the same basis again: same input, same arithmetic
        W = outcome.W.copy() if B is None else outcome.W[..., : B.dim] @ B.matrix.T
        results.append(finish(cfg, run, W, outcome))
        results[-1].extra["engine"] = "full" if B is None else "span"
    return results
