"""The two-patch data model (Definition 2.1 of the paper), and the departures from it the research
asks about.

Each sample is x = [x1, x2] with x1 = mu_y (the signal patch) and x2 = xi (the noise patch). Labels
are y in {+1, -1}; mu[0] is mu_{+1}, mu[1] is mu_{-1}, orthogonal with equal norm ||mu||. SNR =
||mu|| / (sigma_xi * sqrt(d)), so n * SNR^2 ~ n ||mu||^2 / ||xi||^2.

Beyond Definition 2.1 (all off by default, and then the random stream is exactly the one of
Definition 2.1):
- correlated signals: <mu_{+1,k}, mu_{-1,k}> = C ||mu_{.,k}||^2 (`signal_cos` C in (-1, 1));
- imbalance: a fraction P of +1 labels (`balance`; exactly round(P n) of them with labels
  "balanced");
- several features per class: the signal patch of a sample of class y is one of K orthogonal
  features mu_{y,k}, drawn with frequency p_k, of norm s_k ||mu|| (`strengths`, `freqs`); with
  labels "balanced" each class holds exactly its largest-remainder share round(p_k n_y) of each
  feature.
The signal vectors are stacked as `signals` (2K, d) with row 2k + j = mu_{j,k} (j = 0 for y = +1, 1
for y = -1), so row j is mu_j when K = 1; mu_{+1,k} = s_k ||mu|| e_{2k}, mu_{-1,k} = s_k ||mu|| (C
e_{2k} + sqrt(1 - C^2) e_{2k+1}). The noise is orthogonal to all 2K signal directions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sims import FldmError, io

NOISE_KINDS = ("projected", "isotropic", "orthogonal")
LABEL_KINDS = ("random", "balanced")
FREQ_TOL = 1e-9  # |sum_k p_k - 1| allowed for the feature frequencies
# Every real setting (sims.config) and every entry of a data or initial-weight file lies within
# [-REAL_LIMIT, REAL_LIMIT], and every row of a data file has an entry of size at least 1 /
# REAL_LIMIT: the losses multiply at most about six such factors, which then stay inside float64's
# range (1e308), so nothing overflows or vanishes before the loss is evaluated.
REAL_LIMIT = 1e50


def label_index(y: np.ndarray) -> np.ndarray:
    """Row of mu for each label: 0 for y = +1, 1 for y = -1."""
    return (np.asarray(y) < 0).astype(int)


@dataclass(frozen=True)
class Dataset:
    """Training data: x1 (n, d) signal patches, x2 (n, d) noise patches, y (n,) labels, mu (2, d)
    (the first feature of each class), and, with several features, `features` (2K, d) (rows 2k + j =
    mu_{j,k}) and `feature` (n,) the row of `features` that is each sample's signal patch.
    `balance`, `freqs` and `mu_norm` describe the generator's law (fresh samples follow it; the SNR
    is measured with ||mu||)."""

    x1: np.ndarray
    x2: np.ndarray
    y: np.ndarray
    mu: np.ndarray
    sigma_xi: float = float("nan")  # the generator's noise scale (nan when loaded from a file)
    noise: str = "projected"  # how fresh test noise is drawn
    features: np.ndarray | None = None  # (2K, d) every signal vector; None: mu (K = 1)
    feature: np.ndarray | None = None  # (n,) each sample's row of `signals`; None: label_index(y)
    balance: float = 0.5  # P(y = +1) of fresh samples
    freqs: tuple = (1.0,)  # frequency of each feature within a class, for fresh samples
    mu_norm: float = float("nan")  # ||mu|| that sets the SNR (nan: ||mu_{+1}||, which it then is)

    @property
    def n(self) -> int:
        return self.x1.shape[0]

    @property
    def d(self) -> int:
        return self.x1.shape[1]

    @property
    def signals(self) -> np.ndarray:
        """Every signal vector (2K, d), row 2k + j = mu_{j,k}; mu itself when K = 1."""
        return self.mu if self.features is None else self.features

    @property
    def signal_index(self) -> np.ndarray:
        """The row of `signals` behind each sample's signal patch (n,)."""
        return label_index(self.y) if self.feature is None else self.feature

    @property
    def num_features(self) -> int:
        """K, the number of features per class."""
        return self.signals.shape[0] // 2

    @property
    def noise_scale(self) -> float:
        """sigma_xi: the generator's, or estimated from the noise patches (sqrt(mean_i ||xi_i||^2 /
        d)) when unknown (loaded data)."""
        if np.isfinite(self.sigma_xi):
            return float(self.sigma_xi)
        return float(np.sqrt(np.mean(np.sum(self.x2**2, axis=1)) / self.d))

    @property
    def snr(self) -> float:
        """||mu|| / (sigma_xi sqrt(d)), sigma_xi as `noise_scale` gives it (||mu|| = ||mu_{+1}||
        unless the generator's is known)."""
        norm = self.mu_norm if np.isfinite(self.mu_norm) else np.linalg.norm(self.mu[0])
        return float(norm / (self.noise_scale * np.sqrt(self.d)))

    @property
    def nsnr2(self) -> float:
        return self.n * self.snr**2

    def map(self, f, x1: np.ndarray | None = None) -> Dataset:
        """The same data with f applied to every d-vector array (x1, x2, mu, features): e.g.
        coordinates in a basis, x -> x @ M. `x1`: f(x1) when the caller has it already."""
        return replace(
            self,
            x1=f(self.x1) if x1 is None else x1,
            x2=f(self.x2),
            mu=f(self.mu),
            features=None if self.features is None else f(self.features),
        )


def resolve_snr(n: int, snr: float | None, nsnr2: float | None) -> float:
    """The SNR from either `snr` or `nsnr2` (= n * SNR^2); exactly one must be given."""
    if (snr is None) == (nsnr2 is None):
        raise FldmError("give exactly one of snr or nsnr2 (n*SNR^2)")
    value = snr if snr is not None else nsnr2
    name = "snr" if snr is not None else "nsnr2"
    if not np.isfinite(value) or value <= 0:
        raise FldmError(f"{name} must be a positive finite number, got {value}")
    return float(snr) if snr is not None else float(np.sqrt(nsnr2 / n))


def check_signal_options(
    d: int, signal_cos: float = 0.0, balance: float = 0.5, strengths=(1.0,), freqs=(1.0,)
) -> None:
    """One-line FldmErrors for the options beyond Definition 2.1 (`make_data` and TrainConfig call
    it)."""
    if not _real(signal_cos) or not -1 < signal_cos < 1:
        raise FldmError(f"signal_cos must be a number in (-1, 1), got {signal_cos!r}")
    if not _real(balance) or not 0 < balance < 1:
        raise FldmError(f"balance (the fraction of +1 labels) must be in (0, 1), got {balance!r}")
    K = len(strengths)
    if K < 1 or len(freqs) != K:
        raise FldmError(
            f"give one strength and one frequency per feature: got {K} strengths and "
            f"{len(freqs)} frequencies"
        )
    if not all(_real(s) and math.isfinite(s) and s > 0 for s in strengths):
        raise FldmError(
            f"feature strengths must be positive finite numbers, got {tuple(strengths)}"
        )
    if not all(_real(p) and math.isfinite(p) and p > 0 for p in freqs):
        raise FldmError(f"feature frequencies must be positive numbers, got {tuple(freqs)}")
    if abs(sum(freqs) - 1) > FREQ_TOL:
        raise FldmError(
            f"feature frequencies must sum to 1, got {tuple(freqs)} (sum {sum(freqs):.12g})"
        )
    if d < 2 * K + 1:
        raise FldmError(
            f"{K} features per class need d >= 2K + 1 = {2 * K + 1} (2K signal directions plus "
            f"noise), got d = {d}"
        )


def _real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def signal_vectors(d: int, mu_norm: float, signal_cos: float = 0.0, strengths=(1.0,)) -> np.ndarray:
    """The signals (2K, d): mu_{+1,k} = s_k ||mu|| e_{2k}, mu_{-1,k} = s_k ||mu|| (C e_{2k} + sqrt(1
    - C^2) e_{2k+1}); for K = 1 and C = 0, mu_{+1} = ||mu|| e_1, mu_{-1} = ||mu|| e_2 (every result
    is rotation invariant)."""
    mu = np.zeros((2 * len(strengths), d))
    for k, s in enumerate(strengths):
        a = s * mu_norm
        mu[2 * k, 2 * k] = a
        mu[2 * k + 1, 2 * k] = a * signal_cos
        mu[2 * k + 1, 2 * k + 1] = a * math.sqrt(1 - signal_cos**2)
    return mu


def draw_labels(n: int, labels: str, rng: np.random.Generator, balance: float = 0.5) -> np.ndarray:
    """Labels with P(y = +1) = balance; "balanced": exactly round(balance n) of them (halves rounded
    up), in random order."""
    if labels == "random":
        if balance == 0.5:  # Definition 2.1's draw, kept so that its random stream does not change
            return rng.choice(np.array([1, -1]), size=n)
        return np.where(rng.random(n) < balance, 1, -1)
    if labels == "balanced":
        y = np.where(np.arange(n) < math.floor(balance * n + 0.5), 1, -1)
        return rng.permutation(y)
    raise FldmError(f"labels must be one of {LABEL_KINDS}, got {labels!r}")


def shares(freqs, total: int) -> np.ndarray:
    """Largest-remainder rounding of freqs * total: non-negative integers summing to total (ties:
    lower k)."""
    exact = np.asarray(freqs, float) * total
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def draw_features(y: np.ndarray, freqs, labels: str, rng: np.random.Generator) -> np.ndarray:
    """Each sample's feature k (n,): i.i.d. with frequencies p_k ("random" labels), or exactly the
    shares round(p_k n_y) within each class ("balanced"). No draw (zeros) when K = 1."""
    K, n = len(freqs), len(y)
    if K == 1:
        return np.zeros(n, dtype=int)
    p = np.asarray(freqs, float) / np.sum(freqs)
    if labels == "random":
        return rng.choice(K, size=n, p=p)
    k = np.zeros(n, dtype=int)
    for j in (0, 1):
        rows = np.flatnonzero(label_index(y) == j)
        k[rows] = rng.permutation(np.repeat(np.arange(K), shares(p, len(rows))))
    return k


def draw_noise(
    n: int, d: int, sigma_xi: float, noise: str, rng: np.random.Generator, signal_dims: int = 2
) -> np.ndarray:
    """Noise patches xi_i (n, d) for signals in span{e_1 .. e_s}, s = signal_dims (2K).

    projected: N(0, sigma_xi^2 (I - P)), P the projector onto span{e_1 .. e_s}; isotropic: N(0,
    sigma_xi^2 I); orthogonal: xi_1..xi_n exactly orthonormal directions in span{e_{s+1}..e_d}, each
    of norm sigma_xi sqrt(d).
    """
    s = signal_dims
    if noise == "isotropic":
        return sigma_xi * rng.standard_normal((n, d))
    if noise == "projected":
        xi = sigma_xi * rng.standard_normal((n, d))
        xi[:, :s] = 0.0
        return xi
    if noise == "orthogonal":
        if d < n + s:
            raise FldmError(
                f"orthogonal data needs d >= n + {s} (got n={n}, d={d}); raise d or lower n"
            )
        q, r = np.linalg.qr(rng.standard_normal((d - s, n)))
        q = q * np.sign(np.diag(r))  # a uniformly random orthonormal frame
        xi = np.zeros((n, d))
        xi[:, s:] = sigma_xi * np.sqrt(d) * q.T
        return xi
    raise FldmError(f"noise must be one of {NOISE_KINDS}, got {noise!r}")


def make_data(
    n: int,
    d: int,
    *,
    snr: float | None = None,
    nsnr2: float | None = None,
    sigma_xi: float = 1.0,
    noise: str = "projected",
    labels: str = "random",
    signal_cos: float = 0.0,
    balance: float = 0.5,
    strengths=(1.0,),
    freqs=(1.0,),
    rng: np.random.Generator,
) -> Dataset:
    """Draw n samples of the two-patch model with signal strength `snr` or `nsnr2` = n SNR^2 (and
    the options beyond Definition 2.1 of the module docstring). Draws labels, then (K > 1) features,
    then noise."""
    if int(n) != n or n < 1:
        raise FldmError(f"n must be a positive integer, got {n}")
    if int(d) != d or d < 3:
        raise FldmError(f"d must be an integer >= 3 (two signal directions plus noise), got {d}")
    if not np.isfinite(sigma_xi) or sigma_xi <= 0:
        raise FldmError(f"sigma_xi must be a positive finite number, got {sigma_xi}")
    n, d = int(n), int(d)
    strengths, freqs = tuple(float(s) for s in strengths), tuple(float(p) for p in freqs)
    check_signal_options(d, signal_cos, balance, strengths, freqs)
    snr_value = resolve_snr(n, snr, nsnr2)
    mu_norm = snr_value * sigma_xi * np.sqrt(d)
    signals = signal_vectors(d, mu_norm, signal_cos, strengths)
    y = draw_labels(n, labels, rng, balance)
    row = 2 * draw_features(y, freqs, labels, rng) + label_index(y)
    x2 = draw_noise(n, d, sigma_xi, noise, rng, signal_dims=signals.shape[0])
    several = len(strengths) > 1
    return Dataset(
        x1=signals[row],
        x2=x2,
        y=y,
        mu=signals[:2],
        sigma_xi=float(sigma_xi),
        noise=noise,
        features=signals if several else None,
        feature=row if several else None,
        balance=float(balance),
        freqs=freqs,
        mu_norm=float(mu_norm) if strengths[0] != 1 else float("nan"),
    )


def draw_classes(data: Dataset, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(y, rows): labels and signal rows of n fresh samples from the law of `data` (its balance and
    feature frequencies, i.i.d.). For Definition 2.1 data this is the draw of labels alone."""
    y = draw_labels(n, "random", rng, data.balance)
    return y, 2 * draw_features(y, data.freqs, "random", rng) + label_index(y)


def fresh_batches(data: Dataset, n_test: int, rng: np.random.Generator, batch: int = 64):
    """New samples from the distribution of `data` (test data), `batch` at a time so memory stays
    batch x d.

    All labels (and features) are drawn first, then the noise batch by batch, so the random stream
    (and the samples) do not depend on `batch`. The noise scale is the generator's sigma_xi, or
    estimated from the training noise for loaded data. Orthogonal training data gets projected test
    noise: a single sample's noise has the same law.
    """
    sigma_xi = data.noise_scale
    noise = "projected" if data.noise == "orthogonal" else data.noise
    y, rows = draw_classes(data, n_test, rng)
    signals = data.signals
    q = np.linalg.qr(signals.T)[0] if noise == "projected" else None
    for start in range(0, n_test, batch):
        yb, rb = y[start : start + batch], rows[start : start + batch]
        if noise == "projected":
            # project off the actual signal directions (which need not be e_1, e_2 for loaded data)
            xi = sigma_xi * rng.standard_normal((len(yb), data.d))
            xi -= (xi @ q) @ q.T
        else:
            xi = draw_noise(len(yb), data.d, sigma_xi, noise, rng, signal_dims=signals.shape[0])
        yield replace(
            data,
            x1=signals[rb],
            x2=xi,
            y=yb,
            sigma_xi=sigma_xi,
            noise=noise,
            feature=None if data.features is None else rb,
        )


def fresh_samples(data: Dataset, n_test: int, rng: np.random.Generator) -> Dataset:
    """n_test new samples from the distribution of `data`, at once (see fresh_batches)."""
    return next(fresh_batches(data, n_test, rng, batch=n_test))


def save_npz(data: Dataset, path: str | Path) -> None:
    """Write data as an .npz with keys x1, x2, y, mu (and features, feature with several features
    per class), atomically, readable by `load_npz`."""
    extra = {} if data.features is None else {"features": data.features, "feature": data.feature}
    io.write_npz(path, x1=data.x1, x2=data.x2, y=data.y, mu=data.mu, **extra)


def load_npz(path: str | Path) -> Dataset:
    """Load data from an .npz with keys x1 (n, d), x2 (n, d), y (n,) in {+1, -1}, mu (2, d), and
    optionally features (2K, d) (rows 2k + j = mu_{j,k}, the first pair equal to mu) with feature
    (n,) (each sample's row of features, of its own class: row % 2 = 0 for y = +1). Fresh samples
    from loaded data have uniform labels and, with features, each feature as often as in the
    file."""
    path = io.regular_file(path, "data file")
    kind = io.numpy_file_kind(path)
    if kind != "npz":
        raise FldmError(
            f"{path} is {'one array (.npy)' if kind else 'not a numpy file'}; --data takes an .npz "
            "archive written by numpy.savez with keys x1, x2, y, mu"
        )
    check_npz_shapes(path, io.npz_arrays(path, DATA_KEYS))  # from the headers: nothing inflated yet
    try:
        with (
            open(path, "rb") as fh,
            np.load(fh, allow_pickle=False) as f,
        ):  # the handle closes on any error
            arrays = {k: np.asarray(f[k]) for k in f.files if k in DATA_KEYS}
    except Exception as exc:  # zip errors, truncated files
        raise FldmError(f"cannot read {path} as an .npz file: {exc}") from None
    x1, x2, y, mu = (real_array(arrays[k], f"{path}: {k}") for k in ("x1", "x2", "y", "mu"))
    for k in ("features", "feature"):
        if k in arrays:
            arrays[k] = real_array(arrays[k], f"{path}: {k}")
    n, d = x1.shape  # shapes checked from the headers (check_npz_shapes)
    if n < 1 or d < 3:
        raise FldmError(
            f"{path}: x1 must be (n, d) with n >= 1 samples and d >= 3 dimensions, got {x1.shape}"
        )
    if not np.all(np.isin(y, (1, -1))):
        raise FldmError(f"{path}: y must contain only +1 and -1")
    for name, rows, a in (
        ("x1", "signal patch", x1),
        ("x2", "noise patch", x2),
        ("mu", "signal", mu),
    ):
        small = np.flatnonzero(np.abs(a).max(axis=1) < 1 / REAL_LIMIT)
        if small.size:
            raise FldmError(
                f"{path}: {name} row {small[0]} (a {rows}) is zero or below {1 / REAL_LIMIT:g} in "
                f"every entry; every patch and signal needs a non-zero norm"
            )
    data = Dataset(x1=x1.astype(float), x2=x2.astype(float), y=y.astype(int), mu=mu.astype(float))
    if ("features" in arrays) != ("feature" in arrays):
        raise FldmError(f"{path}: give both features (2K, d) and feature (n,), or neither")
    if "features" not in arrays:
        return data
    features, feature = arrays["features"], arrays["feature"]
    if (
        features.ndim != 2
        or features.shape[1] != d
        or features.shape[0] % 2
        or features.shape[0] < 2
    ):
        raise FldmError(
            f"{path}: features must have shape (2K, {d}) (rows 2k + j = mu_(j,k)), got "
            f"{features.shape}"
        )
    if not np.array_equal(features[:2], mu):
        raise FldmError(
            f"{path}: the first two rows of features must equal mu (the first feature of each "
            f"class)"
        )
    if (
        feature.shape != (n,)
        or not np.all(feature == np.round(feature))
        or not np.all((0 <= feature) & (feature < features.shape[0]))
    ):
        raise FldmError(
            f"{path}: feature must be (n,) = ({n},) row indices into features (0 .. "
            f"{features.shape[0] - 1})"
        )
    feature = feature.astype(int)
    if not np.array_equal(feature % 2, label_index(y)):
        raise FldmError(
            f"{path}: each sample's feature row must be of its own class (row % 2 = 0 for y = +1, "
            f"1 for -1)"
        )
    counts = np.bincount(feature // 2, minlength=features.shape[0] // 2)
    return replace(
        data,
        features=features.astype(float),
        feature=feature,
        freqs=tuple(float(c) / n for c in counts),
    )


DATA_KEYS = ("x1", "x2", "y", "mu", "features", "feature")  # the arrays of a data file (load_npz)


def check_npz_shapes(path: Path, arrays: dict) -> None:
    """Refuse a data file from its arrays' headers ({key: (shape, dtype)}, io.npz_arrays), before
    any array is inflated: the keys, the shapes of x1 (n, d), x2 (n, d), y (n,), mu (2, d), and the
    memory the arrays would take."""
    missing = [k for k in ("x1", "x2", "y", "mu") if k not in arrays]
    if missing:
        raise FldmError(
            f"{path} lacks key(s) {missing}; it needs x1 (n,d), x2 (n,d), y (n,), mu (2,d)"
        )
    shapes = {k: v[0] for k, v in arrays.items() if v is not None}
    x1 = shapes["x1"]
    if len(x1) != 2 or shapes["x2"] != x1:
        raise FldmError(
            f"{path}: x1 and x2 must both be (n, d) arrays, got {x1} and {shapes['x2']}"
        )
    if shapes["y"] != (x1[0],):
        raise FldmError(f"{path}: y must have shape ({x1[0]},) to match x1, got {shapes['y']}")
    if shapes["mu"] != (2, x1[1]):
        raise FldmError(
            f"{path}: mu must have shape (2, {x1[1]}) (rows mu_+1, mu_-1), got {shapes['mu']}"
        )
    need = sum(8 * math.prod(shape) for k, shape in shapes.items() if k in DATA_KEYS)  # as float64
    have = io.machine_memory()
    if have is not None and need > have:
        raise FldmError(
            f"{path} holds {need / 1e9:.3g} GB of arrays (as float64); this machine has "
            f"{have / 1e9:.3g} GB"
        )


def real_array(a: np.ndarray, what: str) -> np.ndarray:
    """`a` as float64, refusing anything but real numbers (complex, boolean, text, object arrays)
    and entries that are not finite or exceed REAL_LIMIT in size; `what` names the array in the
    message."""
    if a.dtype.kind not in "fiu":
        raise FldmError(f"{what}: must hold real numbers, got dtype {a.dtype}")
    with np.errstate(over="ignore"):  # float128 beyond float64's range becomes inf, refused below
        a = a.astype(float)
    if not np.all(np.isfinite(a)):
        raise FldmError(f"{what}: NaN or infinite values")
    if a.size and np.abs(a).max() > REAL_LIMIT:
        raise FldmError(f"{what}: entries beyond {REAL_LIMIT:g} in size; rescale them")
    return a
