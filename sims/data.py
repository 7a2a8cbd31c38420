"""The two-patch data model (Definition 2.1 of the paper).

Each sample is x = [x1, x2] with x1 = mu_y (the signal patch) and x2 = xi (the noise patch). Labels are
y in {+1, -1}; mu[0] is mu_{+1}, mu[1] is mu_{-1}, orthogonal with equal norm ||mu||.
SNR = ||mu|| / (sigma_xi * sqrt(d)), so n * SNR^2 ~ n ||mu||^2 / ||xi||^2.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sims import FldmError, io

NOISE_KINDS = ("projected", "isotropic", "orthogonal")
LABEL_KINDS = ("random", "balanced")
# Every real setting (sims.config) and every entry of a data or initial-weight file lies within
# [-REAL_LIMIT, REAL_LIMIT], and every row of a data file has an entry of size at least 1 / REAL_LIMIT: the
# losses multiply at most about six such factors, which then stay inside float64's range (1e308), so
# nothing overflows or vanishes before the loss is evaluated.
REAL_LIMIT = 1e50


def label_index(y: np.ndarray) -> np.ndarray:
    """Row of mu for each label: 0 for y = +1, 1 for y = -1."""
    return (np.asarray(y) < 0).astype(int)


@dataclass(frozen=True)
class Dataset:
    """Training data: x1 (n, d) signal patches, x2 (n, d) noise patches, y (n,) labels, mu (2, d)."""

    x1: np.ndarray
    x2: np.ndarray
    y: np.ndarray
    mu: np.ndarray
    sigma_xi: float = float("nan")  # the generator's noise scale (nan when loaded from a file)
    noise: str = "projected"        # how fresh test noise is drawn

    @property
    def n(self) -> int:
        return self.x1.shape[0]

    @property
    def d(self) -> int:
        return self.x1.shape[1]

    @property
    def noise_scale(self) -> float:
        """sigma_xi: the generator's, or estimated from the noise patches (sqrt(mean_i ||xi_i||^2 / d)) when
        unknown (loaded data)."""
        if np.isfinite(self.sigma_xi):
            return float(self.sigma_xi)
        return float(np.sqrt(np.mean(np.sum(self.x2**2, axis=1)) / self.d))

    @property
    def snr(self) -> float:
        """||mu|| / (sigma_xi sqrt(d)), sigma_xi as `noise_scale` gives it."""
        return float(np.linalg.norm(self.mu[0]) / (self.noise_scale * np.sqrt(self.d)))

    @property
    def nsnr2(self) -> float:
        return self.n * self.snr**2


def resolve_snr(n: int, snr: float | None, nsnr2: float | None) -> float:
    """The SNR from either `snr` or `nsnr2` (= n * SNR^2); exactly one must be given."""
    if (snr is None) == (nsnr2 is None):
        raise FldmError("give exactly one of snr or nsnr2 (n*SNR^2)")
    value = snr if snr is not None else nsnr2
    name = "snr" if snr is not None else "nsnr2"
    if not np.isfinite(value) or value <= 0:
        raise FldmError(f"{name} must be a positive finite number, got {value}")
    return float(snr) if snr is not None else float(np.sqrt(nsnr2 / n))


def signal_vectors(d: int, mu_norm: float) -> np.ndarray:
    """mu_{+1} = ||mu|| e_1, mu_{-1} = ||mu|| e_2 (every result is rotation invariant)."""
    mu = np.zeros((2, d))
    mu[0, 0] = mu[1, 1] = mu_norm
    return mu


def draw_labels(n: int, labels: str, rng: np.random.Generator) -> np.ndarray:
    if labels == "random":
        return rng.choice(np.array([1, -1]), size=n)
    if labels == "balanced":
        y = np.where(np.arange(n) < (n + 1) // 2, 1, -1)
        return rng.permutation(y)
    raise FldmError(f"labels must be one of {LABEL_KINDS}, got {labels!r}")


def draw_noise(n: int, d: int, sigma_xi: float, noise: str, rng: np.random.Generator) -> np.ndarray:
    """Noise patches xi_i (n, d) for signals along e_1, e_2.

    projected: N(0, sigma_xi^2 (I - P)), P the projector onto span{e_1, e_2};
    isotropic: N(0, sigma_xi^2 I);
    orthogonal: xi_1..xi_n exactly orthonormal directions in span{e_3..e_d}, each of norm sigma_xi sqrt(d).
    """
    if noise == "isotropic":
        return sigma_xi * rng.standard_normal((n, d))
    if noise == "projected":
        xi = sigma_xi * rng.standard_normal((n, d))
        xi[:, :2] = 0.0
        return xi
    if noise == "orthogonal":
        if d < n + 2:
            raise FldmError(f"orthogonal data needs d >= n + 2 (got n={n}, d={d}); raise d or lower n")
        q, r = np.linalg.qr(rng.standard_normal((d - 2, n)))
        q = q * np.sign(np.diag(r))  # a uniformly random orthonormal frame
        xi = np.zeros((n, d))
        xi[:, 2:] = sigma_xi * np.sqrt(d) * q.T
        return xi
    raise FldmError(f"noise must be one of {NOISE_KINDS}, got {noise!r}")


def make_data(n: int, d: int, *, snr: float | None = None, nsnr2: float | None = None,
              sigma_xi: float = 1.0, noise: str = "projected", labels: str = "random",
              rng: np.random.Generator) -> Dataset:
    """Draw n samples of the two-patch model with signal strength `snr` or `nsnr2` = n SNR^2."""
    if int(n) != n or n < 1:
        raise FldmError(f"n must be a positive integer, got {n}")
    if int(d) != d or d < 3:
        raise FldmError(f"d must be an integer >= 3 (two signal directions plus noise), got {d}")
    if not np.isfinite(sigma_xi) or sigma_xi <= 0:
        raise FldmError(f"sigma_xi must be a positive finite number, got {sigma_xi}")
    n, d = int(n), int(d)
    snr_value = resolve_snr(n, snr, nsnr2)
    mu = signal_vectors(d, snr_value * sigma_xi * np.sqrt(d))
    y = draw_labels(n, labels, rng)
    x2 = draw_noise(n, d, sigma_xi, noise, rng)
    return Dataset(x1=mu[label_index(y)], x2=x2, y=y, mu=mu, sigma_xi=float(sigma_xi), noise=noise)


def fresh_batches(data: Dataset, n_test: int, rng: np.random.Generator, batch: int = 64):
    """New samples from the distribution of `data` (test data), `batch` at a time so memory stays batch x d.

    All labels are drawn first, then the noise batch by batch, so the random stream (and the samples) do
    not depend on `batch`. The noise scale is the generator's sigma_xi, or estimated from the training
    noise for loaded data. Orthogonal training data gets projected test noise: a single sample's noise
    has the same law.
    """
    sigma_xi = data.noise_scale
    noise = "projected" if data.noise == "orthogonal" else data.noise
    y = draw_labels(n_test, "random", rng)
    q = np.linalg.qr(data.mu.T)[0] if noise == "projected" else None
    for start in range(0, n_test, batch):
        yb = y[start:start + batch]
        if noise == "projected":
            # project off the actual signal directions (which need not be e_1, e_2 for loaded data)
            xi = sigma_xi * rng.standard_normal((len(yb), data.d))
            xi -= (xi @ q) @ q.T
        else:
            xi = draw_noise(len(yb), data.d, sigma_xi, noise, rng)
        yield Dataset(x1=data.mu[label_index(yb)], x2=xi, y=yb, mu=data.mu, sigma_xi=sigma_xi, noise=noise)


def fresh_samples(data: Dataset, n_test: int, rng: np.random.Generator) -> Dataset:
    """n_test new samples from the distribution of `data`, at once (see fresh_batches)."""
    return next(fresh_batches(data, n_test, rng, batch=n_test))


def save_npz(data: Dataset, path: str | Path) -> None:
    """Write data as an .npz with keys x1, x2, y, mu (atomically), readable by `load_npz`."""
    io.write_npz(path, x1=data.x1, x2=data.x2, y=data.y, mu=data.mu)


def load_npz(path: str | Path) -> Dataset:
    """Load data from an .npz with keys x1 (n, d), x2 (n, d), y (n,) in {+1, -1}, mu (2, d)."""
    path = Path(path)
    if not path.is_file():
        raise FldmError(f"data file {path} does not exist")
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:  # the handle closes on any error
            arrays = {k: np.asarray(f[k]) for k in f.files}
    except Exception as exc:  # zip errors, pickled objects, truncated files
        raise FldmError(f"cannot read {path} as an .npz file: {exc}") from None
    missing = [k for k in ("x1", "x2", "y", "mu") if k not in arrays]
    if missing:
        raise FldmError(f"{path} lacks key(s) {missing}; it needs x1 (n,d), x2 (n,d), y (n,), mu (2,d)")
    x1, x2, y, mu = (real_array(arrays[k], f"{path}: {k}") for k in ("x1", "x2", "y", "mu"))
    if x1.ndim != 2 or x2.shape != x1.shape:
        raise FldmError(f"{path}: x1 and x2 must both be (n, d) arrays, got {x1.shape} and {x2.shape}")
    n, d = x1.shape
    if n < 1 or d < 3:
        raise FldmError(f"{path}: x1 must be (n, d) with n >= 1 samples and d >= 3 dimensions, got {x1.shape}")
    if y.shape != (n,):
        raise FldmError(f"{path}: y must have shape ({n},) to match x1, got {y.shape}")
    if not np.all(np.isin(y, (1, -1))):
        raise FldmError(f"{path}: y must contain only +1 and -1")
    if mu.shape != (2, d):
        raise FldmError(f"{path}: mu must have shape (2, {d}) (rows mu_+1, mu_-1), got {mu.shape}")
    for name, rows, a in (("x1", "signal patch", x1), ("x2", "noise patch", x2), ("mu", "signal", mu)):
        small = np.flatnonzero(np.abs(a).max(axis=1) < 1 / REAL_LIMIT)
        if small.size:
            raise FldmError(f"{path}: {name} row {small[0]} (a {rows}) is zero or below {1 / REAL_LIMIT:g} in "
                            f"every entry; every patch and signal needs a non-zero norm")
    return Dataset(x1=x1, x2=x2, y=y.astype(int), mu=mu)


def real_array(a: np.ndarray, what: str) -> np.ndarray:
    """`a` as float64, refusing anything but real numbers (complex, boolean, text, object arrays) and
    entries that are not finite or exceed REAL_LIMIT in size; `what` names the array in the message."""
    if a.dtype.kind not in "fiu":
        raise FldmError(f"{what}: must hold real numbers, got dtype {a.dtype}")
    with np.errstate(over="ignore"):  # float128 beyond float64's range becomes inf, refused below
        a = a.astype(float)
    if not np.all(np.isfinite(a)):
        raise FldmError(f"{what}: NaN or infinite values")
    if a.size and np.abs(a).max() > REAL_LIMIT:
        raise FldmError(f"{what}: entries beyond {REAL_LIMIT:g} in size; rescale them")
    return a
