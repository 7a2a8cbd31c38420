"""One validated configuration for a training run; every "(open)" detail of PAPER.md is a field here.

Each field carries its command-line description in its metadata (`option`): the help text, the kind of
value, and the models it applies to. `sims.cli` builds the options of `fldm train/ode/predict` from them,
so a setting is declared once, here.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from sims import FldmError, models
from sims.data import LABEL_KINDS, NOISE_KINDS, check_signal_options

NOISE_MODES = ("exact", "resampled", "fixed")
ENGINES = ("auto", "span", "full")
VP = 1.0 / math.sqrt(2.0)  # alpha = beta = 1/sqrt(2): variance preserving
KINDS = ("int", "real", "reals", "eta", "choice", "path", "none")  # how a field is read from the command line


def option(default, help: str, kind: str = "real", *, choices: tuple = (), only: tuple = (), metavar=None):
    """A config field with its command-line description: `kind` in KINDS ("none": not an option),
    `choices` for kind "choice", `only` the models it applies to (empty: all)."""
    assert kind in KINDS
    return field(default=default, metadata={"help": help, "kind": kind, "choices": choices, "only": only,
                                            "metavar": metavar})


@dataclass(frozen=True)
class TrainConfig:
    """A run of full-batch gradient descent on one model (the fields' help texts say what each is).

    Diffusion: x_t = alpha x0 + beta eps, or several `times` = ((alpha, beta, weight), ...); `noise` =
    "exact" expectation, "resampled" K = noise_samples fresh draws per step, or "fixed" K draws for the
    whole run. Descent: W <- W - eta grad L for `steps` steps (eta None: the automatic step size of
    sims.stepsize), logging every `log_every`; stop early when ||grad L|| < tol (tol = 0: never).
    """

    model: str = option("diffusion", "the model", "none")
    n: int = option(20, "number of training samples", "int")
    d: int = option(2000, "patch dimension", "int")
    m: int = option(4, "neurons (per class for classification)", "int")
    snr: float | None = option(None, "SNR = ||mu|| / (sigma_xi sqrt(d)); give snr or nsnr2")
    nsnr2: float | None = option(None, "n * SNR^2 (0.75 when neither snr nor nsnr2 is given)")
    sigma_xi: float = option(1.0, "noise patch scale")
    sigma0: float = option(0.01, "initialisation scale: w_r ~ N(0, sigma0^2 I)")
    eta: float | None = option(None, "learning rate, or 'auto' (see sims.stepsize)", "eta")
    steps: int = option(3000, "gradient descent steps", "int")
    log_every: int = option(10, "record the alignments every this many steps", "int")
    seed: int = option(0, "random seed", "int")
    alpha: float = option(VP, "diffusion x_t = alpha x0 + beta eps", only=("diffusion",))
    beta: float = option(VP, "diffusion x_t = alpha x0 + beta eps", only=("diffusion",))
    times: tuple = option((), "several diffusion times ((alpha, beta, weight), ...), TOML only", "none",
                          only=("diffusion",))
    scale: float | None = option(None, "network output scale c (default 1/m)", only=("diffusion",))
    noise: str = option("exact", "diffusion expectation: exact, K draws resampled every step, or K fixed draws",
                        "choice", choices=NOISE_MODES, only=("diffusion",))
    noise_samples: int = option(16, "K draws for --noise resampled/fixed", "int", only=("diffusion",))
    data_noise: str = option("projected", "noise patches: N(0, sigma_xi^2 (I - P)), N(0, sigma_xi^2 I), "
                             "or exactly orthogonal", "choice", choices=NOISE_KINDS)
    labels: str = option("random", "random or exactly balanced labels (and exact feature shares)", "choice",
                         choices=LABEL_KINDS)
    signal_cos: float = option(0.0, "cosine between mu_+1 and mu_-1 (of each feature), in (-1, 1)")
    balance: float = option(0.5, "fraction of +1 labels (exactly round(balance n) with --labels balanced)")
    features: int = option(1, "signal features per class: a sample's signal patch is one of them", "int")
    feature_strengths: tuple = option((), "the K features' norms as multiples of ||mu|| (default all 1)", "reals",
                                      metavar="S1,...,SK")
    feature_freqs: tuple = option((), "the K features' frequencies within a class, summing to 1 (default "
                                  "uniform)", "reals", metavar="P1,...,PK")
    tol: float = option(0.0, "stop once ||grad L|| < tol (0: never)")
    engine: str = option("auto", "where descent runs: in a basis of the span of the data, fixed noise draws and "
                         "initial weights, where it is exact (span; auto when exact), or in d dimensions (full)",
                         "choice", choices=ENGINES)
    n_test: int = option(1000, "fresh samples for the classification test error", "int", only=("classification",))
    data: str | None = option(None, "data with keys x1, x2, y, mu instead of generated data", "path",
                              metavar="FILE.npz")
    init: str | None = option(None, "initial W, (m, d) or (2, m, d)", "path", metavar="FILE.npy")

    def __post_init__(self):
        models.get(self.model)  # an unknown model is refused there
        for name in ("n", "d", "m", "steps", "log_every", "noise_samples", "n_test", "features"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise FldmError(f"{name} must be a positive integer, got {v!r}")
        if self.d < 3:
            raise FldmError(f"d must be at least 3 (two signal directions plus noise), got {self.d}")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            raise FldmError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.snr is not None and self.nsnr2 is not None:
            raise FldmError("give either snr or nsnr2 (= n*SNR^2), not both")
        positive = ["sigma_xi", "sigma0", "alpha", "beta"]
        positive += [k for k in ("snr", "nsnr2", "scale", "eta") if getattr(self, k) is not None]
        for name in positive:
            v = getattr(self, name)
            if not _is_real(v) or not math.isfinite(v) or v <= 0:
                raise FldmError(f"{name} must be a positive finite number, got {v!r}")
        if not _is_real(self.tol) or not math.isfinite(self.tol) or self.tol < 0:
            raise FldmError(f"tol must be a non-negative finite number, got {self.tol!r}")
        if self.engine not in ENGINES:
            raise FldmError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if self.noise not in NOISE_MODES:
            raise FldmError(f"noise must be one of {NOISE_MODES}, got {self.noise!r}")
        if self.data_noise not in NOISE_KINDS:
            raise FldmError(f"data_noise must be one of {NOISE_KINDS}, got {self.data_noise!r}")
        if self.labels not in LABEL_KINDS:
            raise FldmError(f"labels must be one of {LABEL_KINDS}, got {self.labels!r}")
        for name in ("feature_strengths", "feature_freqs"):
            v = getattr(self, name)
            if isinstance(v, (str, bytes)) or not hasattr(v, "__len__"):
                raise FldmError(f"{name} must be a list of numbers, got {v!r}")
            object.__setattr__(self, name, tuple(v))
        for name, given in (("feature_strengths", self.feature_strengths), ("feature_freqs", self.feature_freqs)):
            if given and len(given) != self.features:
                raise FldmError(f"{name} has {len(given)} values for features = {self.features}; give one per feature")
        check_signal_options(self.d, self.signal_cos, self.balance, self.strengths, self.freqs)
        times = tuple(tuple(t) for t in self.times)
        for t in times:
            if len(t) != 3 or not all(_is_real(v) and math.isfinite(v) for v in t) or t[0] <= 0 or t[1] <= 0 or t[2] < 0:
                raise FldmError(f"each diffusion time must be (alpha > 0, beta > 0, weight >= 0), got {t!r}")
        object.__setattr__(self, "times", times)
        for name in ("data", "init"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, str(v))
        dims = 2 * self.features
        if self.data_noise == "orthogonal" and self.data is None and self.d < self.n + dims:
            raise FldmError(f"orthogonal data needs d >= n + {dims} (got n={self.n}, d={self.d}); raise d or lower n")

    @property
    def diffusion_times(self) -> tuple:
        """((alpha, beta, weight), ...): `times` if given, else the single time (alpha, beta, 1)."""
        return self.times or ((self.alpha, self.beta, 1.0),)

    @property
    def strengths(self) -> tuple:
        """s_1 .. s_K: `feature_strengths`, or all 1."""
        return self.feature_strengths or (1.0,) * self.features

    @property
    def freqs(self) -> tuple:
        """p_1 .. p_K: `feature_freqs`, or uniform (exactly (1.0,) for K = 1)."""
        return self.feature_freqs or (1.0 / self.features,) * self.features

    @property
    def snr_value(self) -> float:
        if self.snr is not None:
            return self.snr
        return math.sqrt((0.75 if self.nsnr2 is None else self.nsnr2) / self.n)

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **changes) -> "TrainConfig":
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise FldmError(f"unknown setting(s) {unknown}; known settings: {sorted(names)}")
        return cls(**values)


def auto_eta(x1: np.ndarray, x2: np.ndarray, eta0: float = 0.25) -> float:
    """A stable step size: eta0 over the largest data curvature scale,

        eta = eta0 / kappa,   kappa = max(max_i ||xi_i||^2, lambda_max(X1^T X1)) / (2n).

    Near the stationary point the loss curvature along a data direction z grows like ||z||^2 times the
    fraction of the 2n patches along z. For the two-patch model (rows of X1 are n_j copies of orthogonal
    mu_j) lambda_max(X1^T X1) = max_j n_j ||mu_j||^2; for distinct but correlated signal patches (MNIST
    images) the top eigenvalue is the curvature scale along their shared direction. Gradient descent then
    follows the same flow in tau = eta * step at every SNR; eta0 = 0.25 was stable in every setting tried
    (0.5 for n SNR^2 <= 0.75; 1.7 oscillates at n SNR^2 = 6.75).
    """
    n = x1.shape[0]
    top = np.linalg.eigvalsh(x1 @ x1.T)[-1]  # the non-zero spectrum of X1^T X1, from an n x n matrix
    kappa = max(np.max(np.sum(x2**2, axis=1)), top) / (2 * n)
    return float(eta0 / kappa)


def _is_real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def load_toml(path: str | Path) -> dict:
    """Settings from a TOML file, keys named as the TrainConfig fields (dashes allowed)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(path)
    if not path.is_file():
        raise FldmError(f"config file {path} does not exist")
    try:
        values = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FldmError(f"cannot parse {path} as TOML: {exc}") from None
    return {k.replace("-", "_"): v for k, v in values.items()}
