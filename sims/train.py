"""Full-batch gradient descent W <- W - eta grad L(W) on either model, with the alignments logged.

Logged every `log_every` steps and at the last step (step 0 is the initialisation):
  diffusion       signal (T, m, 2) = <w_r, mu_j>,        noise (T, m, n) = <w_r, xi_i>
  classification  signal (T, 2, m, 2) = <w_{j,r}, mu_k>, noise (T, 2, m, n) = <w_{j,r}, xi_i>
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sims import DivergenceError, FldmError, __version__, classification, diffusion, io
from sims.config import TrainConfig, auto_eta
from sims.data import Dataset, fresh_batches, label_index, load_npz, make_data

EXPLODE = 1e8  # a loss this many times its initial value (or 1) counts as divergence
LOGGED = ("steps", "loss", "grad_norm", "signal", "noise")


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
        s = summarize(self.config.model, self.signal[-1], self.noise[-1], self.data.y)
        s.update(converged=self.converged, steps_run=int(self.steps[-1]), final_loss=float(self.loss[-1]),
                 final_grad_norm=float(self.grad_norm[-1]), **self.extra)
        return s

    def save(self, out: str | Path) -> None:
        out = Path(out)
        io.write_npz(out / "result.npz", steps=self.steps, loss=self.loss, grad_norm=self.grad_norm,
                     signal=self.signal, noise=self.noise, W=self.W)
        io.write_json(out / "result.json", {"config": self.config.to_dict(), "seed": self.config.seed,
                                            "version": __version__, "summary": self.summary()})


def summarize(model: str, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> dict:
    """Headline alignments at one logged step.

    diffusion: signal = mean_j max_r <w_r, mu_j>, noise = mean_i max_r <w_r, xi_i> (the output is odd in W,
    so the sign of an alignment matters). classification: signal = mean_j max_r |<w_{j,r}, mu_j>|,
    noise = mean_i max_r |<w_{y_i,r}, xi_i>| (the output is even in each filter, so only |.| matters).
    """
    if model == "diffusion":
        sig = float(np.mean(signal.max(axis=0)))
        noi = float(np.mean(noise.max(axis=0)))
    else:
        own = label_index(y)
        sig = float(np.mean([np.abs(signal[j, :, j]).max() for j in (0, 1)]))
        noi = float(np.mean(np.abs(noise[own, :, np.arange(len(y))]).max(axis=1)))
    return {"signal": sig, "noise": noi, "ratio": sig / noi if noi != 0 else float("inf")}


def seeds(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators for data, initialisation, diffusion noise and test data."""
    names = ("data", "init", "noise", "test")
    return {k: np.random.default_rng(s) for k, s in zip(names, np.random.SeedSequence(seed).spawn(len(names)))}


def weight_shape(cfg: TrainConfig, d: int) -> tuple:
    return (cfg.m, d) if cfg.model == "diffusion" else (2, cfg.m, d)


def build_data(cfg: TrainConfig, rng: np.random.Generator) -> Dataset:
    if cfg.data is not None:
        return load_npz(cfg.data)
    return make_data(cfg.n, cfg.d, snr=cfg.snr_value, sigma_xi=cfg.sigma_xi, noise=cfg.data_noise,
                     labels=cfg.labels, rng=rng)


def initial_weights(cfg: TrainConfig, d: int, rng: np.random.Generator) -> np.ndarray:
    shape = weight_shape(cfg, d)
    if cfg.init is None:
        return cfg.sigma0 * rng.standard_normal(shape)
    path = Path(cfg.init)
    if not path.is_file():
        raise FldmError(f"init file {path} does not exist")
    try:
        W = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise FldmError(f"cannot read {path} as an .npy array: {exc}") from None
    if W.shape != shape:
        raise FldmError(f"init weights in {path} have shape {W.shape}; this run needs {shape} (m={cfg.m}, d={d})")
    if not np.issubdtype(W.dtype, np.number) or not np.all(np.isfinite(W)):
        raise FldmError(f"init weights in {path} must be finite numbers")
    return W.astype(float)


def objective(cfg: TrainConfig, data: Dataset, rng: np.random.Generator):
    """The function W -> (loss, grad) that gradient descent follows."""
    x1, x2 = data.x1, data.x2
    if cfg.model == "classification":
        return lambda W: classification.loss_and_grad(W, x1, x2, data.y)
    times = cfg.diffusion_times
    if cfg.noise == "exact":
        return lambda W: diffusion.loss_and_grad_times(W, x1, x2, times, scale=cfg.scale)
    shape = (cfg.noise_samples, 2 * data.n, data.d)

    def sampled(W, eps):
        return diffusion.sum_over_times(
            lambda alpha, beta: diffusion.loss_and_grad_sampled(W, x1, x2, eps, alpha=alpha, beta=beta,
                                                                scale=cfg.scale), times)

    if cfg.noise == "fixed":
        eps_fixed = rng.standard_normal(shape)
        return lambda W: sampled(W, eps_fixed)
    return lambda W: sampled(W, rng.standard_normal(shape))


def alignments(W: np.ndarray, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(<w, mu_j>, <w, xi_i>) for every filter w of W."""
    return W @ data.mu.T, W @ data.x2.T


MAX_LOG_BYTES = 2**30  # a run may keep at most this much logged trajectory in memory


def check_log_size(cfg: TrainConfig, n: int) -> None:
    """Refuse a run whose logged trajectories would exceed MAX_LOG_BYTES (they are kept in memory)."""
    filters = cfg.m if cfg.model == "diffusion" else 2 * cfg.m
    per_entry = 8 * (3 + filters * (2 + n))  # step, loss, grad norm, signal and noise alignments
    entries = cfg.steps // cfg.log_every + 2
    if entries * per_entry > MAX_LOG_BYTES:
        least = -(-cfg.steps * per_entry // (MAX_LOG_BYTES - 2 * per_entry))
        raise FldmError(f"logging every {cfg.log_every} of {cfg.steps} steps would keep "
                        f"{entries * per_entry / 1e9:.1f} GB of trajectories; set log_every to at least {least}")


def prepare(cfg: TrainConfig, data: Dataset | None = None, W0: np.ndarray | None = None):
    """(generators, data, initial weights, eta) of a run; `data` and `W0` override the configured ones."""
    rngs = seeds(cfg.seed)
    if data is None:
        data = build_data(cfg, rngs["data"])
    W = initial_weights(cfg, data.d, rngs["init"]) if W0 is None else np.array(W0, dtype=float)
    if W.shape != weight_shape(cfg, data.d):
        raise FldmError(f"initial weights have shape {W.shape}; need {weight_shape(cfg, data.d)}")
    check_log_size(cfg, data.n)
    eta = auto_eta(data.x1, data.x2) if cfg.eta is None else cfg.eta
    return rngs, data, W, eta


def diverged(loss, grad_norm, loss0):
    """A non-finite loss or gradient, or a loss EXPLODE times its initial size (elementwise for stacks)."""
    return ~(np.isfinite(loss) & np.isfinite(grad_norm)) | (np.abs(loss) > EXPLODE * np.maximum(loss0, 1.0))


def divergence_message(k: int, loss: float, eta: float) -> str:
    return f"gradient descent diverged at step {k} (loss = {loss:.4g}); try a smaller eta (now {eta:g})"


def finish(cfg: TrainConfig, data: Dataset, W: np.ndarray, rngs: dict, eta: float, log: dict,
           converged: bool) -> Result:
    """The Result of a finished run: logged lists to arrays, and the classifier's train and test errors."""
    extra = {"eta": eta}
    if cfg.model == "classification":
        wrong = sum(classification.test_error(W, b.x1, b.x2, b.y) * b.n
                    for b in fresh_batches(data, cfg.n_test, rngs["test"]))
        extra["test_error"] = float(wrong / cfg.n_test)
        extra["train_error"] = classification.test_error(W, data.x1, data.x2, data.y)
    arrays = {k: np.asarray(v, dtype=int if k == "steps" else float) for k, v in log.items()}
    return Result(config=cfg, W=W, data=data, converged=converged, extra=extra, **arrays)


def train(cfg: TrainConfig, data: Dataset | None = None, W0: np.ndarray | None = None,
          progress=None) -> Result:
    """Run gradient descent as configured. `data` and `W0` override the configured ones."""
    rngs, data, W, eta = prepare(cfg, data, W0)
    fun = objective(cfg, data, rngs["noise"])

    log = {k: [] for k in LOGGED}
    converged, loss0 = False, None
    for k in range(cfg.steps + 1):
        loss, grad = fun(W)
        grad_norm = float(np.sqrt(np.sum(grad * grad)))  # not np.linalg.norm: its BLAS dot stalls under a loaded pool
        loss0 = abs(loss) if loss0 is None else loss0
        if diverged(loss, grad_norm, loss0):
            raise DivergenceError(divergence_message(k, loss, eta))
        converged = grad_norm < cfg.tol
        if k % cfg.log_every == 0 or k == cfg.steps or converged:
            signal, noise = alignments(W, data)
            for key, v in zip(log, (k, loss, grad_norm, signal, noise)):
                log[key].append(v)
        if converged or k == cfg.steps:
            break
        W = W - eta * grad
        if progress is not None:
            progress(k + 1)
    return finish(cfg, data, W, rngs, eta, log, converged)
