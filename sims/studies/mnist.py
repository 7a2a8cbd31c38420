"""Noisy-MNIST: the paper's real-data study (claim E2) on real MNIST, offline, as cached sweep
cells.

Task. Digit 0 (label y = +1) against digit 1 (y = -1). Of all 45 digit pairs, 0 and 1 have the most
nearly orthogonal class means (cosine 0.43 on the first 500 images of each digit; 0.65-0.91 for the
others), the closest real analogue of Definition 2.1's mu_{+1} ⊥ mu_{-1}, and they are visually
distinct, so the class means are meaningful pictures. The package ships those images of digits 0 and
1 (MNIST by Y. LeCun and C. Cortes, CC BY-SA 3.0; `sims.studies.mnist_data`); other digits need
--idx-dir. n training images (n/2 per digit, drawn at random, so n_j = n/2 as in the "balanced"
labels of the synthetic study); every other image of the two digits is held out for testing. The
samples are built by `sims.studies.mnist_data` (each image scaled to the norm ||mu|| that sets the
SNR, an isotropic N(0, sigma_xi^2 I_784) noise patch); sigma_xi is 1, the synthetic study's default,
so the noise patch has the per-coordinate scale of the diffusion noise eps. The same images and the
same standard-normal draws serve every SNR of a repeat, so only the SNR changes between runs.

Measures. `sims.train` logs signal learning <w_r, mu_j> (mu_j: the class-mean image at norm ||mu||,
so the alignment of a filter with a class-mean image, on the scale of one image) and noise
memorisation <w_r, xi_i>, summarised as in `sims.models.summarize`. The classifier's test accuracy
is measured on the held-out images with fresh noise (`sims.data.fresh_samples` would draw test
signal patches from mu itself, which is not MNIST).

Training. `sims.train.train` with the synthetic study's hyper-parameters: m = 4, sigma0 = 0.01,
exact diffusion loss, alpha = beta = 1/sqrt(2). Step size: `sims.config.auto_eta`, whose curvature
scale is the top eigenvalue of X1^T X1: MNIST images of one digit are distinct but correlated, so
counting identical rows (as an earlier auto_eta did) underestimated the curvature along the
class-mean direction by up to a factor n_j cos^2 (2.5x at n*SNR^2 = 6.75, where the diffusion run
then oscillated).

Runs. n*SNR^2 = 0.75 (low) and 6.75 (high), as in the synthetic study, plus 2.25 and 20.25 (and
60.75 in the full run) to place the classifier's transition on real data. Both models at each; the
full run uses more steps and several repeats (new images, noise and initialisation). Each (model, n
SNR^2, repeat) is one sweep cell of kind "mnist" (`MnistRun`), cached and run on any executor like
the synthetic study's cells.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from sims import FldmError, __version__, io, models, stepsize
from sims.config import TrainConfig, auto_eta
from sims.studies import presets
from sims.studies.cells import Outcome, Study, pack
from sims.studies.mnist_data import (
    CREDIT,
    D,
    check_digits,
    idx_digest,
    image_norm,
    load_mnist,
    noisy_mnist,
    source_description,
    split,
)
from sims.studies.mnist_figures import make_figures
from sims.studies.presets import E1_NSNR2
from sims.studies.sweep import Cache, run_cells
from sims.train import train

STREAM_TAG = (
    0x6D6E6973  # "mnis": keeps the study's random streams apart from sims.train.seeds(seed)
)
LOW, HIGH = E1_NSNR2  # the study's "low" and "high" n SNR^2: the synthetic figure's two settings
KIND = "mnist"  # the sweep cell kind (sims.studies.sweep.CELL_KINDS)


@dataclass(frozen=True)
class StudySettings:
    """The Noisy-MNIST study; `quick()` and `full()` are the two presets of `fldm mnist`."""

    digits: tuple = (0, 1)  # (digit with y = +1, digit with y = -1)
    n: int = 20
    nsnr2: tuple = (0.75, 2.25, 6.75, 20.25)
    sigma_xi: float = 1.0
    m: int = 4
    sigma0: float = 0.01
    eta0: float = 0.25  # eta = eta0 / curvature scale, see sims.config.auto_eta
    steps: int = 3000
    log_every: int = 20
    n_test: int = 2000  # held-out images (at most); fewer if fewer are left
    repeats: int = 1

    def __post_init__(self):
        digits = tuple(self.digits)
        if (
            len(digits) != 2
            or not all(isinstance(k, (int, np.integer)) and 0 <= k <= 9 for k in digits)
            or digits[0] == digits[1]
        ):
            raise FldmError(f"digits must be two different digits 0..9, got {self.digits!r}")
        object.__setattr__(self, "digits", tuple(int(k) for k in digits))
        for name in ("n", "m", "steps", "log_every", "n_test", "repeats"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise FldmError(f"{name} must be a positive integer, got {v!r}")
        if self.n < 2:
            raise FldmError(f"n must be at least 2 (one image per digit), got {self.n}")
        nsnr2 = tuple(float(v) for v in np.atleast_1d(self.nsnr2))
        if not nsnr2 or not all(np.isfinite(v) and v > 0 for v in nsnr2):
            raise FldmError(f"nsnr2 must be positive finite numbers, got {self.nsnr2!r}")
        object.__setattr__(self, "nsnr2", nsnr2)
        for name in ("sigma_xi", "sigma0", "eta0"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise FldmError(f"{name} must be a positive finite number, got {v!r}")

    @classmethod
    def quick(cls) -> StudySettings:
        return cls(**presets.PRESETS["quick"].mnist)

    @classmethod
    def full(cls) -> StudySettings:
        return cls(**presets.PRESETS["full"].mnist)


@dataclass(frozen=True)
class MnistRun:
    """One sweep cell: `model` trained at n SNR^2 = `nsnr2` on the images and noise of `repeat`,
    drawn from `seed`, with the settings that shape one run (StudySettings without its lists of n
    SNR^2 and repeats). The data source is part of it: `idx_dir` (None: the shipped subset) and the
    SHA-256 of its files."""

    model: str
    nsnr2: float
    repeat: int
    seed: int
    digits: tuple
    n: int
    sigma_xi: float
    m: int
    sigma0: float
    eta0: float
    steps: int
    log_every: int
    n_test: int
    idx_dir: str | None = None
    idx_sha256: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def cells(settings: StudySettings, seed: int, idx_dir: str | Path | None = None) -> list[MnistRun]:
    """The study's cells, repeat by repeat, n SNR^2 by n SNR^2, diffusion then classification."""
    check_digits(settings.digits, idx_dir)
    shared = {
        f.name: getattr(settings, f.name)
        for f in fields(settings)
        if f.name not in ("nsnr2", "repeats")
    }
    source = (
        {}
        if idx_dir is None
        else {"idx_dir": str(Path(idx_dir).resolve()), "idx_sha256": idx_digest(idx_dir)}
    )
    return [
        MnistRun(model=model, nsnr2=nsnr2, repeat=repeat, seed=seed, **shared, **source)
        for repeat in range(settings.repeats)
        for nsnr2 in settings.nsnr2
        for model in (m.name for m in models.PAPER_PAIR)
    ]


def _streams(seed: int, repeat: int) -> dict:
    """Generators for image selection, training noise and test noise, and the training seed
    (init)."""
    children = np.random.SeedSequence([STREAM_TAG, seed, repeat]).spawn(4)
    rngs = {k: np.random.default_rng(s) for k, s in zip(("select", "noise", "test"), children)}
    rngs["train_seed"] = int(children[3].generate_state(1)[0])
    return rngs


@lru_cache(maxsize=1)
def _images(idx_dir: str | None, idx_sha256: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels, loaded once per process (the digest only keys this cache)."""
    X, labels, _ = load_mnist(idx_dir)
    return X, labels


def run_cell(run: MnistRun) -> Outcome:
    """Train one model at one n SNR^2 on one repeat's Noisy-MNIST data: the cell's arrays (the run's
    logged alignments and headline curves, `W`, and the data x1, x2, mu) and its summary (a row of
    mnist.json)."""
    X, labels = _images(run.idx_dir, run.idx_sha256)
    rngs = _streams(run.seed, run.repeat)
    tr, y, te, y_te = split(labels, run.digits, run.n, run.n_test, rngs["select"])
    z, z_te = (
        rngs["noise"].standard_normal((len(tr), D)),
        rngs["test"].standard_normal((len(te), D)),
    )
    snr = float(np.sqrt(run.nsnr2 / run.n))
    data = noisy_mnist(X[tr], y, z, snr=snr, sigma_xi=run.sigma_xi)
    test = noisy_mnist(X[te], y_te, z_te, snr=snr, sigma_xi=run.sigma_xi, mu_images=X[tr], y_mu=y)
    eta = stepsize.perturbed(auto_eta(data.x1, data.x2, run.eta0))
    tc = TrainConfig(
        model=run.model,
        n=data.n,
        d=D,
        m=run.m,
        sigma0=run.sigma0,
        eta=eta,
        steps=run.steps,
        log_every=run.log_every,
        seed=rngs["train_seed"],
    )
    res = train(tc, data=data)
    arrays = pack(res, run.model).arrays
    sig0, noi0 = float(arrays["signal_max"][0]), float(arrays["noise_max"][0])
    s = res.summary()
    row = {
        "model": run.model,
        "nsnr2": run.nsnr2,
        "snr": snr,
        "sigma_xi": run.sigma_xi,
        "image_norm": image_norm(run.nsnr2, run.n, run.sigma_xi),
        "repeat": run.repeat,
        "train_seed": rngs["train_seed"],
        "eta": eta,
        "steps_run": s["steps_run"],
        "signal": s["signal"],
        "noise": s["noise"],
        "ratio": s["ratio"],
        "signal_init": sig0,
        "noise_init": noi0,
        "signal_gain": s["signal"] / sig0,
        "noise_gain": s["noise"] / noi0,
        "final_loss": s["final_loss"],
        "final_grad_norm": io.resolved(s["final_grad_norm"], io.GRAD_RESOLUTION),
    }
    model = models.get(run.model)
    test_error = model.error_rate(res.W, test.x1, test.x2, test.y)
    if test_error is not None:  # a classifier: its accuracy on the held-out images
        row["test_accuracy"] = 1.0 - test_error
        row["train_accuracy"] = 1.0 - model.error_rate(res.W, data.x1, data.x2, data.y)
        row["n_test"] = int(len(te))
    arrays = {**arrays, "W": res.W, "x1": data.x1, "x2": data.x2, "mu": data.mu}
    return Outcome(row, arrays)


class MnistResult(NamedTuple):
    """The study's record (mnist.json's content, its numbers unrounded) and its arrays
    (mnist.npz)."""

    result: dict
    arrays: dict
    settings: StudySettings


def run_study(
    out_dir: str | Path,
    quick: bool = True,
    seed: int = 0,
    idx_dir: str | Path | None = None,
    *,
    settings: StudySettings | None = None,
    figures: bool = True,
    cache_dir: str | Path = "runs/cache",
    executor=None,
    jobs: int = 1,
    progress: bool = True,
    log=None,
) -> dict:
    """Train both models on Noisy-MNIST at every n SNR^2; write mnist.json, mnist.npz and the
    figures.

    Returns the content of mnist.json (which holds the measured numbers rounded: io.rounded). Figure
    paths in ["figures"] are relative to out_dir (empty when figures=False). `settings` overrides
    the quick/full preset. The runs are sweep cells, cached in `cache_dir` and run on `executor`
    (else `jobs` processes); `log` gets one line per run.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise FldmError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise FldmError(f"--jobs must be a positive integer, got {jobs}")
    cfg = settings or (StudySettings.quick() if quick else StudySettings.full())
    start = time.perf_counter()
    planned = cells(
        cfg, seed, idx_dir
    )  # a missing IDX folder or file is an error here, before any work
    results = run_cells(
        [(KIND, c) for c in planned],
        Cache(cache_dir),
        executor=executor,
        jobs=jobs,
        progress=progress,
        label="mnist",
    )
    measured = collect(cfg, seed, quick, idx_dir, dict(zip(planned, results)))
    if log is not None:
        for run in measured.result["runs"]:
            log(_run_line(run))
    result = write(Path(out_dir), measured, figures=figures)
    if log is not None:
        log(f"mnist: done in {time.perf_counter() - start:.1f} s")
    return result


def collect(cfg: StudySettings, seed: int, quick: bool, idx_dir, results: dict) -> MnistResult:
    """The study's record and arrays from its finished cells ({MnistRun: Cell}, in `cells`
    order)."""
    runs, arrays = [], {}
    for c, res in results.items():
        runs.append(res.summary)
        a, key = res.arrays, f"{c.model}_nsnr2={c.nsnr2:g}_repeat={c.repeat}"
        arrays.update(
            {
                f"{key}/steps": a["steps"],
                f"{key}/signal": a["signal_max"],
                f"{key}/noise": a["noise_max"],
                f"{key}/W": a["W"],
            }
        )
        if c.repeat == 0:
            for name in ("x1", "x2", "mu"):
                arrays.setdefault(f"data_nsnr2={c.nsnr2:g}/{name}", a[name])
    result = {
        "study": "noisy-mnist",
        "claim": "E2",
        "version": __version__,
        "seed": seed,
        "quick": bool(quick),
        "data": {
            "source": source_description(idx_dir),
            "credit": CREDIT,
            "digits": list(cfg.digits),
            "labels": f"y = +1 for digit {cfg.digits[0]}, y = -1 for digit {cfg.digits[1]}",
        },
        "settings": {
            **asdict(cfg),
            "d": D,
            "low": LOW,
            "high": HIGH,
            "alpha": TrainConfig().alpha,
            "beta": TrainConfig().beta,
            "diffusion_loss": "exact",
            "normalisation": "each image scaled to norm ||mu|| = sqrt(nsnr2/n) sigma_xi sqrt(784)",
            "noise_patch": "xi ~ N(0, sigma_xi^2 I_784), fresh noise for held-out test images",
            "signal": "summarize(): mean_j max_r <w_r, mu_j> (diffusion), mean_j max_r |<w_jr, "
            "mu_j>| "
            "(classification), mu_j = class-mean image at norm ||mu||",
            "noise": "mean_i max_r <w_r, xi_i> (diffusion), mean_i max_r |<w_{y_i} r, xi_i>| "
            "(classification)",
            "eta": "sims.config.auto_eta: eta0 / (max(max_i ||xi_i||^2, lambda_max(X1^T X1)) / 2n)",
        },
        "runs": runs,
        "comparison": compare(runs),
        "figures": {},
        "captions": {},
    }
    return MnistResult(result, arrays, cfg)


def write(out: Path, measured: MnistResult, figures: bool = True) -> dict:
    """Write the figures (if `figures`), mnist.npz and mnist.json into `out`; return the record with
    the figures' file names and captions."""
    result, arrays, cfg = measured
    result = dict(result)
    if figures:
        shown = [v for v in (LOW, HIGH) if v in cfg.nsnr2] or list(cfg.nsnr2[:2])
        made = make_figures(out, result, arrays, shown, cfg.digits)
        result["figures"] = {k: v[0] for k, v in made.items()}
        result["captions"] = {k: v[1] for k, v in made.items()}
    io.write_npz(out / "mnist.npz", **arrays)
    # the measured numbers rounded (the settings are exact), and no wall time: a rerun rewrites it
    # unchanged
    io.write_json(
        out / "mnist.json",
        {
            **result,
            "runs": io.rounded(result["runs"]),
            "comparison": io.rounded(result["comparison"]),
        },
    )
    return result


def study_cells(preset_name: str, seed: int) -> dict:
    """The study's cells in a preset of `fldm reproduce` (none where the preset runs no
    Noisy-MNIST)."""
    settings = presets.get(preset_name).mnist
    if settings is None:
        return {}
    return {run: (KIND, run) for run in cells(StudySettings(**settings), seed)}


def measure(preset_name: str, results: dict, seed: int = 0) -> MnistResult:
    settings = StudySettings(**presets.get(preset_name).mnist)
    return collect(settings, seed, preset_name != "full", None, results)


STUDY = Study("noisy-mnist", study_cells, measure)


def compare(runs: list[dict]) -> list[dict]:
    """Per n SNR^2, the medians over repeats of each model's headline numbers (the inputs of claim
    E2)."""
    by_model: dict = {}
    for r in runs:
        by_model.setdefault(r["model"], []).append(r)
    rows = []
    for nsnr2 in sorted({r["nsnr2"] for r in runs}):
        row = {
            "nsnr2": nsnr2,
            "snr": next(r["snr"] for r in runs if r["nsnr2"] == nsnr2),
            "level": "low" if nsnr2 == LOW else "high" if nsnr2 == HIGH else "extra",
        }
        for model in models.PAPER_PAIR:
            sel = [r for r in by_model[model.name] if r["nsnr2"] == nsnr2]
            keys = ["signal", "noise", "ratio", "signal_gain", "noise_gain"]
            keys += ["test_accuracy"] if all("test_accuracy" in r for r in sel) else []
            row.update({f"{model.name}_{k}": float(np.median([r[k] for r in sel])) for k in keys})
        row["repeats"] = len(sel)
        rows.append(row)
    return rows


def _run_line(run: dict) -> str:
    acc = f"  test acc {run['test_accuracy']:.3f}" if "test_accuracy" in run else ""
    return (
        f"{run['model']:<14} nSNR^2 {run['nsnr2']:>6g}  repeat {run['repeat']}  signal "
        f"{run['signal']:.3f}"
        f"  noise {run['noise']:.3f}  ratio {run['ratio']:.3f}{acc}"
    )


def format_table(result: dict) -> str:
    """The comparison rows as a plain-text table."""
    head = (
        f"{'nSNR^2':>7} {'SNR':>6} | {'diff signal':>11} {'noise':>6} {'ratio':>6} | "
        f"{'clf signal':>10} {'noise':>6} {'ratio':>7} {'test acc':>8}"
    )
    lines = [f"Noisy-MNIST, digits {result['data']['digits']} ({result['data']['credit']})", head]
    for r in result["comparison"]:
        lines.append(
            f"{r['nsnr2']:>7g} {r['snr']:>6.3f} | {r['diffusion_signal']:>11.3f} "
            f"{r['diffusion_noise']:>6.3f} "
            f"{r['diffusion_ratio']:>6.3f} | {r['classification_signal']:>10.3f} "
            f"{r['classification_noise']:>6.3f} {r['classification_ratio']:>7.3f} "
            f"{r['classification_test_accuracy']:>8.3f}"
        )
    return "\n".join(lines)
