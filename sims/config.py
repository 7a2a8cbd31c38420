"""One validated configuration for a training run; every open detail of theory/PAPER.md is a field
here.

Each field carries its command-line description in its metadata (`option`): the help text, the kind
of value, and where it applies (its option group, which the models that take it declare; the
commands; a condition on the other settings).
`sims.cli` builds the options of `fldm train/ode/predict` from them and refuses a setting given
where it does not apply (`inapplicable`), so a setting is declared once, here. Every value is
checked by its kind and range in `TrainConfig.__post_init__`, whatever its source (command line,
TOML file, Python).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from sims import FldmError, io, models, schedules
from sims.data import LABEL_KINDS, NOISE_KINDS, REAL_LIMIT, check_signal_options
from sims.diffusion import OBJECTIVES, PATH_TOL, objective_target

NOISE_MODES = ("exact", "resampled", "fixed")
ENGINES = ("auto", "span", "full")
VP = 1.0 / math.sqrt(2.0)  # alpha = beta = 1/sqrt(2): variance preserving
KINDS = (
    "int",
    "real",
    "reals",
    "eta",
    "choice",
    "path",
    "none",
)  # how a field is read from the command line
COMMANDS = ("train", "ode", "predict")  # the commands that take a TrainConfig
# Every real setting lies in [1 / REAL_LIMIT, REAL_LIMIT] (tol and time weights may also be 0): see
# sims.data.REAL_LIMIT.
INT_LIMIT = 2**63 - 1  # integers fit numpy's int64
AUTO = "auto"  # eta = "auto": sims.stepsize
SIGNED = ("signal_cos", "balance")  # real settings that may be 0 or negative (checked by sims.data)


def option(
    default,
    help: str,
    kind: str = "real",
    *,
    choices: tuple = (),
    group: str | None = None,
    commands: tuple = (),
    commands_why: str = "",
    applies: tuple = (),
    metavar=None,
):
    """A config field with its command-line description: `kind` in KINDS ("none": not an option),
    `choices` for kind "choice", `group` the option group (sims.models.OPTION_GROUPS) it belongs to,
    so it applies only to the models that take that group (None: every model), `commands` the
    commands it applies to (empty: all), `commands_why` the reason the other commands do not take it
    (said when refused), `applies` = (setting, values, why): it applies only while that other
    setting has one of those values."""
    assert kind in KINDS and set(commands) <= set(COMMANDS)
    assert group is None or group in models.OPTION_GROUPS, group
    return field(
        default=default,
        metadata={
            "help": help,
            "kind": kind,
            "choices": choices,
            "group": group,
            "commands": commands,
            "commands_why": commands_why,
            "applies": applies,
            "metavar": metavar,
        },
    )


GENERATED = ("data", (None,), "the data file fixes the data")  # settings of generated data only
EXPECTED = (
    "the ODE and the predictions follow the exact expected loss"  # why ode/predict take no draws
)
NO_CLOSED_FORM = (
    "the noise-augmented logistic loss has no closed-form expectation over the noise, which the "
    "ODE "
    "and the predictions would need"
)
SINGLE_TIME = ("times", ((),), "times gives every diffusion time's alpha and beta")
DRAWN = ("noise", ("resampled", "fixed"), "only --noise resampled or fixed draws K samples")


@dataclass(frozen=True)
class TrainConfig:
    """A run of full-batch gradient descent on one model (the fields' help texts say what each is).

    Diffusion: regress the target of `objective` (sims.diffusion.OBJECTIVES) from x_t = alpha x0 +
    beta eps at the times of `schedule` (sims.schedules; "single": the one time (alpha, beta)), or
    at the TOML list `times` = ((alpha, beta, weight), ...) instead; `noise` = "exact" expectation,
    "resampled" K = noise_samples fresh draws per step, or "fixed" K draws for the whole run.
    Classification: `augment` = (alpha, beta) trains on x_t = alpha x0 + beta eps instead of x0,
    with `noise` resampled or fixed draws. Descent: W <- W - eta grad L for `steps` steps (eta None:
    the automatic step size of sims.stepsize), logging every `log_every`; stop early when ||grad L||
    < tol (tol = 0: never).
    """

    model: str = option("diffusion", "the model", "none")
    n: int = option(20, "number of training samples", "int")
    d: int = option(2000, "patch dimension", "int")
    m: int = option(4, "neurons (per class for classification)", "int")
    snr: float | None = option(
        None, "SNR = ||mu|| / (sigma_xi sqrt(d)); give snr or nsnr2", applies=GENERATED
    )
    nsnr2: float | None = option(
        None, "n * SNR^2 (0.75 when neither snr nor nsnr2 is given)", applies=GENERATED
    )
    sigma_xi: float = option(1.0, "noise patch scale", applies=GENERATED)
    sigma0: float = option(0.01, "initialisation scale: w_r ~ N(0, sigma0^2 I)")
    eta: float | None = option(None, "learning rate, or 'auto' (see sims.stepsize)", "eta")
    steps: int = option(3000, "gradient descent steps", "int", commands=("train", "ode"))
    log_every: int = option(
        10, "record the alignments every this many steps", "int", commands=("train", "ode")
    )
    seed: int = option(0, "random seed", "int")
    alpha: float = option(
        VP,
        "diffusion x_t = alpha x0 + beta eps",
        group="diffusion time",
        applies=SINGLE_TIME,
    )
    beta: float = option(
        VP,
        "diffusion x_t = alpha x0 + beta eps",
        group="diffusion time",
        applies=SINGLE_TIME,
    )
    objective: str = option(
        "eps",
        "diffusion target a x0 + b eps: eps (0, 1; the paper's), x0 (1, 0), v (-beta, "
        "alpha), velocity (-1, 1; flow matching, needs alpha + beta = 1)",
        "choice",
        choices=tuple(OBJECTIVES),
        group="objective",
    )
    schedule: str = option(
        "single",
        "diffusion times: the single time (alpha, beta), or num_times times of the "
        "DDPM linear or the cosine schedule with weights 1/T (sims.schedules)",
        "choice",
        choices=schedules.KINDS,
        group="diffusion time",
    )
    num_times: int | None = option(
        None,
        "T, the number of schedule times (default 1 for single, "
        f"{schedules.DEFAULT_NUM_TIMES} otherwise)",
        "int",
        group="diffusion time",
    )
    times: tuple = option(
        (),
        "several diffusion times ((alpha, beta, weight), ...), TOML only",
        "none",
        group="diffusion time",
    )
    scale: float | None = option(None, "network output scale c (default 1/m)", group="output scale")
    augment: tuple | None = option(
        None,
        "train the classifier on x_t = alpha x0 + beta eps instead of x0, "
        "Monte Carlo over --noise resampled/fixed draws",
        "reals",
        group="augment",
        commands=("train",),
        commands_why=NO_CLOSED_FORM,
        metavar="ALPHA,BETA",
    )
    noise: str = option(
        "exact",
        "diffusion expectation: exact, K draws resampled every step, or K fixed draws "
        "(classification: the draws of --augment)",
        "choice",
        choices=NOISE_MODES,
        commands=("train",),
        commands_why=EXPECTED,
    )
    noise_samples: int = option(
        16,
        "K draws for --noise resampled/fixed",
        "int",
        commands=("train",),
        commands_why=EXPECTED,
        applies=DRAWN,
    )
    data_noise: str = option(
        "projected",
        "noise patches: N(0, sigma_xi^2 (I - P)), N(0, sigma_xi^2 I), or exactly orthogonal",
        "choice",
        choices=NOISE_KINDS,
        applies=GENERATED,
    )
    labels: str = option(
        "random",
        "random or exactly balanced labels (and exact feature shares)",
        "choice",
        choices=LABEL_KINDS,
        applies=GENERATED,
    )
    signal_cos: float = option(
        0.0, "cosine between mu_+1 and mu_-1 (of each feature), in (-1, 1)", applies=GENERATED
    )
    balance: float = option(
        0.5,
        "fraction of +1 labels (exactly round(balance n) with --labels balanced)",
        applies=GENERATED,
    )
    features: int = option(
        1,
        "signal features per class: a sample's signal patch is one of them",
        "int",
        applies=GENERATED,
    )
    feature_strengths: tuple = option(
        (),
        "the K features' norms as multiples of ||mu|| (default all 1)",
        "reals",
        metavar="S1,...,SK",
        applies=GENERATED,
    )
    feature_freqs: tuple = option(
        (),
        "the K features' frequencies within a class, summing to 1 (default uniform)",
        "reals",
        metavar="P1,...,PK",
        applies=GENERATED,
    )
    tol: float = option(0.0, "stop once ||grad L|| < tol (0: never)", commands=("train", "ode"))
    engine: str = option(
        "auto",
        "where descent runs: in a basis of the span of the data, fixed noise draws and "
        "initial weights, where it is exact (span; auto when exact), or in d dimensions (full)",
        "choice",
        choices=ENGINES,
        commands=("train",),
    )
    n_test: int = option(
        1000,
        "fresh samples for the classification test error",
        "int",
        group="test set",
        commands=("train", "ode"),
    )
    data: str | None = option(
        None,
        "data with keys x1, x2, y, mu instead of generated data (sets n and d)",
        "path",
        metavar="FILE.npz",
    )
    init: str | None = option(
        None, "initial W, (m, d) or (2, m, d) (sets m and d)", "path", metavar="FILE.npy"
    )

    def __post_init__(self):
        if not isinstance(self.model, str):
            raise FldmError(f"model must be a name, got {self.model!r}")
        models.get(self.model)  # an unknown model is refused there
        if self.eta == AUTO:
            object.__setattr__(self, "eta", None)
        for f in fields(self):
            v, kind = getattr(self, f.name), f.metadata["kind"]
            if v is None and f.default is None:
                continue  # an optional setting left out
            if kind == "int":
                _check_int(f.name, v, least=0 if f.name == "seed" else 1)
            elif kind in ("real", "eta") and f.name in SIGNED:
                continue  # their ranges: sims.data.check_signal_options, below
            elif kind in ("real", "eta"):
                _check_real(f.name, v, zero=f.name == "tol")
            elif kind == "reals":
                if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
                    raise FldmError(f"{f.name} must be a list of numbers, got {v!r}")
                if not all(in_range(abs(x), zero=True) for x in v if _is_real(x)) or not all(
                    map(_is_real, v)
                ):
                    raise FldmError(
                        f"{f.name} must be {f.metadata['metavar']}, numbers of size 0 or between "
                        f"{1 / REAL_LIMIT:g} and {REAL_LIMIT:g}, got {v!r}"
                    )  # signs: checked below
                object.__setattr__(self, f.name, tuple(v))
            elif kind == "choice" and v not in f.metadata["choices"]:
                raise FldmError(f"{f.name} must be one of {f.metadata['choices']}, got {v!r}")
            elif kind == "path" and v is not None:
                if not isinstance(v, (str, os.PathLike)) or str(v) == "":
                    raise FldmError(f"{f.name} must be a file name, got {v!r}")
                object.__setattr__(self, f.name, str(v))
        if self.d < 3:
            raise FldmError(
                f"d must be at least 3 (two signal directions plus noise), got {self.d}"
            )
        if self.snr is not None and self.nsnr2 is not None:
            raise FldmError("give either snr or nsnr2 (= n*SNR^2), not both")
        for name, given in (
            ("feature_strengths", self.feature_strengths),
            ("feature_freqs", self.feature_freqs),
        ):
            if given and len(given) != self.features:
                raise FldmError(
                    f"{name} has {len(given)} values for features = {self.features}; give one per "
                    f"feature"
                )
        check_signal_options(self.d, self.signal_cos, self.balance, self.strengths, self.freqs)
        object.__setattr__(self, "times", _check_times(self.times))
        dims = 2 * self.features
        if self.data_noise == "orthogonal" and self.data is None and self.d < self.n + dims:
            raise FldmError(
                f"orthogonal data needs d >= n + {dims} (got n={self.n}, d={self.d}); raise d or "
                f"lower n"
            )
        self._check_diffusion_times()
        self._check_augment()
        models.get(self.model).check(self)  # what the model itself cannot train

    def _check_diffusion_times(self) -> None:
        """The objective, schedule and times go together: one set of times, each valid for the
        objective."""
        if self.num_times is not None and (
            isinstance(self.num_times, bool)
            or not isinstance(self.num_times, (int, np.integer))
            or self.num_times < 1
        ):
            raise FldmError(f"num_times must be a positive integer, got {self.num_times!r}")
        if self.objective not in OBJECTIVES:
            raise FldmError(f"objective must be one of {tuple(OBJECTIVES)}, got {self.objective!r}")
        if self.times and (self.schedule != "single" or self.num_times is not None):
            raise FldmError("give either a schedule (and num_times) or a TOML times list, not both")
        if (self.times or self.schedule != "single") and (self.alpha, self.beta) != (VP, VP):
            source = "the times list" if self.times else f"the {self.schedule} schedule"
            raise FldmError(
                f"alpha and beta set the single diffusion time; {source} sets its own: leave them "
                f"out"
            )
        if (
            self.objective == "velocity"
            and not self.times
            and self.schedule == "single"
            and abs(self.alpha + self.beta - 1) > PATH_TOL
        ):
            raise FldmError(
                f"the velocity objective needs the linear path x_t = (1 - t) x0 + t eps: give "
                f"alpha "
                f"and beta with alpha + beta = 1 (e.g. --alpha 0.5 --beta 0.5; now "
                f"{self.alpha:.4g} and "
                f"{self.beta:.4g}) or a --schedule"
            )
        for (
            alpha,
            beta,
            _,
        ) in self.diffusion_times:  # raises for an unknown schedule or num_times out of range
            objective_target(self.objective, alpha, beta)

    def _check_augment(self) -> None:
        """augment = (alpha > 0, beta >= 0), stored as a tuple of floats."""
        if self.augment is None:
            return
        pair = tuple(self.augment)
        if (
            len(pair) != 2
            or not all(_is_real(v) and math.isfinite(v) for v in pair)
            or pair[0] <= 0
            or pair[1] < 0
        ):
            raise FldmError(
                f"augment must be ALPHA,BETA with alpha > 0 and beta >= 0, got {self.augment!r}"
            )
        object.__setattr__(self, "augment", tuple(float(v) for v in pair))

    @property
    def diffusion_times(self) -> tuple:
        """((alpha, beta, weight), ...): `times` if given, else the times of `schedule` for the
        objective (sims.schedules.schedule_times; "single": the one time (alpha, beta, 1))."""
        if self.times:
            return self.times
        T = self.num_times or (1 if self.schedule == "single" else schedules.DEFAULT_NUM_TIMES)
        return schedules.schedule_times(
            self.schedule, T, self.objective, alpha=self.alpha, beta=self.beta
        )

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

    def replace(self, **changes) -> TrainConfig:
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise FldmError(f"unknown setting(s) {unknown}; known settings: {sorted(names)}")
        return cls(**values)


def auto_eta(x1: np.ndarray, x2: np.ndarray, eta0: float = 0.25) -> float:
    """A stable step size: eta0 over the largest data curvature scale,

        eta = eta0 / kappa,   kappa = max(max_i ||xi_i||^2, lambda_max(X1^T X1)) / (2n).

    Near the stationary point the loss curvature along a data direction z grows like ||z||^2 times
    the fraction of the 2n patches along z. For the two-patch model (rows of X1 are n_j copies of
    orthogonal mu_j) lambda_max(X1^T X1) = max_j n_j ||mu_j||^2; for distinct but correlated signal
    patches (MNIST images) the top eigenvalue is the curvature scale along their shared direction.
    Gradient descent then follows the same flow in tau = eta * step at every SNR; eta0 = 0.25 was
    stable in every setting tried (0.5 for n SNR^2 <= 0.75; 1.7 oscillates at n SNR^2 = 6.75). This
    is the scale of the eps objective and the plain classifier; `sims.train.prepare` divides it by
    the model's `eta_factor` (sims.models) for objectives that are steeper (diffusion targets with
    an x0 part, the noise-augmented classifier).
    """
    n = x1.shape[0]
    top = np.linalg.eigvalsh(x1 @ x1.T)[
        -1
    ]  # the non-zero spectrum of X1^T X1, from an n x n matrix
    kappa = max(np.max(np.sum(x2**2, axis=1)), top) / (2 * n)
    return float(eta0 / kappa)


def _is_real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _check_int(name: str, v, least: int) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
        kind = "non-negative" if least == 0 else "positive"
        raise FldmError(f"{name} must be a {kind} integer, got {v!r}")
    if v > INT_LIMIT:
        raise FldmError(f"{name} must be at most {INT_LIMIT} (2^63 - 1), got {v}")


def in_range(v, zero: bool = False) -> bool:
    """Whether v is a real number in [1/REAL_LIMIT, REAL_LIMIT] (or 0 when `zero`)."""
    return _is_real(v) and ((zero and v == 0) or 1 / REAL_LIMIT <= v <= REAL_LIMIT)


def _check_real(name: str, v, zero: bool = False) -> None:
    if not in_range(v, zero):
        what = "non-negative" if zero else "positive"
        raise FldmError(
            f"{name} must be a {what} finite number between {1 / REAL_LIMIT:g} and {REAL_LIMIT:g}"
            f"{' (or 0)' if zero else ''}, got {v!r}"
        )


def _check_times(times) -> tuple:
    """times as a tuple of (alpha, beta, weight) triples, each in range (alpha, beta > 0; weight >=
    0)."""
    if not isinstance(times, (list, tuple)):
        raise FldmError(f"times must be a list of [alpha, beta, weight] triples, got {times!r}")
    for t in times:
        if (
            not isinstance(t, (list, tuple))
            or len(t) != 3
            or not in_range(t[0])
            or not in_range(t[1])
            or not in_range(t[2], zero=True)
        ):
            raise FldmError(
                f"each diffusion time must be [alpha, beta, weight] with alpha, beta in "
                f"[{1 / REAL_LIMIT:g}, {REAL_LIMIT:g}] and weight 0 or in that range, got {t!r}"
            )
    return tuple(tuple(t) for t in times)


def load_toml(path: str | Path) -> dict:
    """Settings from a TOML file, keys named as the TrainConfig fields (dashes allowed)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = io.regular_file(path, "config file")
    try:
        values = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FldmError(f"cannot parse {path} as TOML: {exc}") from None
    except RecursionError:  # the parser recurses into nested arrays and tables
        raise FldmError(
            f"cannot parse {path} as TOML: it nests arrays or tables too deeply"
        ) from None
    settings = {}
    for key, v in values.items():
        name = key.replace("-", "_")
        if name in settings:
            raise FldmError(
                f"{path} sets {name} twice (spelt {name} and {name.replace('_', '-')}); keep one"
            )
        settings[name] = v
    return settings


def takers(group: str) -> str:
    """The models that take an option group, in words: "the diffusion model", "the diffusion and
    untied models"."""
    names = models.taking(group)
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"the {listed} model{'s' if len(names) > 1 else ''}"


def takes(model: str, name: str) -> bool:
    """Whether `model` takes the setting `name`: it has no option group, or the model takes its
    group."""
    group = {f.name: f.metadata for f in fields(TrainConfig)}[name]["group"]
    return group is None or group in models.get(model).options


def inapplicable(name: str, model: str, command: str, settings: dict) -> str | None:
    """Why the setting `name` does not apply to `fldm COMMAND MODEL` with these other settings
    (values given, the rest default), or None if it applies: the field's `group`, `commands` and
    `applies`."""
    meta = {f.name: f.metadata for f in fields(TrainConfig)}[name]
    if not takes(model, name):
        return f"it applies to {takers(meta['group'])} only"
    if meta["commands"] and command not in meta["commands"]:
        why = f" ({meta['commands_why']})" if meta["commands_why"] else ""
        return f"it applies to fldm {' and '.join(meta['commands'])} only{why}"
    if meta["applies"]:
        other, values, why = meta["applies"]
        default = {f.name: f.default for f in fields(TrainConfig)}[other]
        value = settings.get(other, default)
        if (tuple(value) if isinstance(value, list) else value) not in values:
            return why
    return None
