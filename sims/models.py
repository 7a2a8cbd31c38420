"""The models behind one interface (`Model`), and the one registry that dispatches on a model's
name.

Every model answers the same questions, so the descent loop, the span engine, the theory and the
studies never compare model names: they ask the model. `Model` below lists every question once;
`MODELS` holds one object per model, `get(name)` finds it, and `PAPER_PAIR` names the two models the
paper compares; the untied and the fixed-output denoiser (sims.untied) are the ablation of its
tying (the denoiser's two layers are one matrix, the classifier's second layer is fixed).

To add a model: the numbered steps in `Model`'s docstring.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import NamedTuple, Protocol

import numpy as np

from sims import FldmError, classification, diffusion, sampled, symmetric, untied
from sims.data import fresh_batches, label_index

# The option groups a model may take (sims.config tags each setting that belongs to one); a setting
# with no group applies to every model.
OPTION_GROUPS = {
    "diffusion time": "the times x_t = alpha x0 + beta eps of a denoising loss (alpha, beta, "
    "schedule, times)",
    "objective": "the target a x0 + b eps a denoiser regresses",
    "output scale": "the network's output scale c",
    "augment": "training on noised inputs x_t instead of x0",
    "test set": "an error rate on fresh samples",
}


class Look(NamedTuple):
    """How the studies draw and describe a model."""

    growth: str  # "linear" or "exponential": the shape of its early growth (D1, C1)
    log_axis: bool  # alignments and loss on a log axis
    color: str  # its colour where several models share a panel
    marker: str  # its marker there
    signal: str  # its headline signal summary in words (`summary`)
    noise: str  # ... and noise summary
    filter: str  # a filter that answers class +1, in words (`class_alignments`)


class Lazy:
    """A function named "module:function", imported when first called (the core imports no
    theory)."""

    def __init__(self, where: str):
        self.where = where
        self._function = None

    def __call__(self, *args, **kwargs):
        if self._function is None:
            module, _, name = self.where.partition(":")
            self._function = getattr(importlib.import_module(module), name)
        return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Lazy({self.where!r})"


class Theory(NamedTuple):
    """Where a model's theory lives (each part a `Lazy` function, or None where the theory does not
    reach).

    predict          (cfg, data, W0, eta) -> a prediction record; its to_dict() is `fldm predict
        --json`
    explain          a prediction's to_dict() -> the lines `fldm predict` prints after the heading
    read             a prediction's to_dict() -> the typed numbers the studies read (a NamedTuple)
    reduced_metrics (cfg, red, Wr, data, rng) -> the model's `metrics`, computed in the reduced
    space
    regime           (cfg, data) -> where the setting stands against a law of its stationary point
        (theory.law.Regime: its groups and regime), for `fldm train` and `fldm predict`
    """

    predict: Lazy | None = None
    explain: Lazy | None = None
    read: Lazy | None = None
    reduced_metrics: Lazy | None = None
    regime: Lazy | None = None


class Model(Protocol):
    """What every model answers. Settings `cfg` are sims.config.TrainConfig; patches x1, x2 (n, d)
    may carry leading stack axes and be given in any orthonormal coordinates of a space that holds
    the data and the filters (d is then still the patch dimension of the full model).

    Attributes:
        name        its name on the command line and in configurations
        options     the option groups (OPTION_GROUPS) it takes
        look        how the studies draw it (Look)
        theory      where its theory lives (Theory)
        signed      whether its headline summary reads signed alignments (else magnitudes |.|)

    To add a model:
    1. Write its loss and hand-derived gradient in a module of its own (as `sims.diffusion`), tested
       as those are: against a plain loop, finite differences and the autograd oracle.
    2. Write a class here that answers every member of `Model`, and add an instance to `MODELS`. Its
       `options` name the option groups it takes (`OPTION_GROUPS`: a setting of another group is
       refused for it, with the models that take it); its `look` says how the studies draw it
       (growth, axis, colour, words).
    3. Point its `theory` at the functions that predict it, put the predictions in words and compute
       its metrics in the reduced space, as "module:function" names in one module of `theory/`
       (imported when first called: the core imports no theory); leave a part None where the theory
       does not reach, and `fldm predict` and `fldm ode` say so.
    That is three files (its module, this one, one of theory/) and its tests. Nothing else changes:
    the command line's model choices and option checks, the studies' colours and axes, and the tests
    parametrised over the registry (tests/each.py) read MODELS, and run the new model too. Weights
    of any shape (..., m, d) whose leading axes index filters run through the descent loop, the span
    engine, the reduced ODE and the result files; a model with an output layer of its own stores
    it along the leading axis and names it in `layers` (the untied models: W and V).
    """

    name: str
    options: frozenset
    look: Look
    theory: Theory
    signed: bool

    def weight_shape(self, m: int, d: int) -> tuple:
        """The shape of W (diffusion (m, d); classification (2, m, d))."""

    def check(self, cfg) -> None:
        """A one-line FldmError for a setting the model cannot run."""

    def objective(self, cfg, x1, x2, y, d: int, rng, eps=None) -> Callable:
        """W -> (loss, grad L): the training objective (the diffusion loss has a constant that
        depends on d); `eps` the draws of `draws`, in the same coordinates."""

    def draws(self, cfg, n: int, d: int, rng) -> np.ndarray | None:
        """Noise drawn once for the whole run ((K, 2n, d) fixed draws of eps), or None."""

    def draw_shape(self, cfg, n: int, d: int) -> tuple | None:
        """The shape of the noise the objective draws at once (fixed, or fresh every step), or
        None."""

    def work_floats(self, cfg, n: int, d: int) -> int:
        """How many floats the objective and the metrics hold at once beyond the data and the
        weights (the memory estimate of sims.train)."""

    def stays_in_span(self, cfg) -> bool:
        """Whether descent keeps every filter in span(data, draws, initial filters), so that it can
        run in a basis of that span (sims.span)."""

    def stackable(self, cfg) -> bool:
        """Whether runs can share one stacked computation (no draws of their own)."""

    def moves_outside_data(self, cfg) -> bool:
        """Whether the filters' part orthogonal to the data changes (diffusion: it is rescaled;
        classification: it never moves)."""

    def stack_key(self, cfg) -> tuple:
        """The settings runs must share to be stacked into one computation."""

    def eta_factor(self, cfg, data, d: int) -> float:
        """How many times steeper than the data curvature scale of sims.config.auto_eta the
        objective is (>= 1); the "data" limit of sims.stepsize is divided by it (data may be in span
        coordinates)."""

    def draws_curvature(self, cfg, draws: np.ndarray, n: int) -> float:
        """The curvature the objective can reach by memorising its fixed draws (the "draws" limit of
        sims.stepsize), 0 when it has none."""

    def stationary_filters(self, cfg, data) -> np.ndarray | None:
        """A guess of the filters at the stationary point descent will reach on `data` (in any
        coordinates of sims.span), whose curvature bounds the step size (the "stationary" limit of
        sims.stepsize); None where no law gives one."""

    def deterministic(self, cfg):
        """A setting whose objective is one fixed function of W with the same curvature: cfg itself
        when the objective is the same function at every step, the exact expectation for resampled
        draws where it has a closed form, else None."""

    def expected(self, cfg):
        """The setting whose exact objective is the expectation of cfg's over its noise draws, which
        the ODE and the predictions follow; a one-line FldmError when it has no closed form."""

    def hessian_product(self, cfg, x1, x2, d: int) -> Callable | None:
        """(W, V) -> the Hessian of `objective` at W applied to V (one direction or a stack), where
        the model has it in closed form; else None."""

    def summary(self, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> Summary:
        """The headline alignments at one logged step, with the signal per feature (signal (..., F):
        columns 2k + j = mu_{j,k}, sims.data)."""

    def metrics(self, cfg, W: np.ndarray, data, rng) -> dict:
        """Extra numbers of a finished run (the classifier's errors)."""

    def error_rate(self, W: np.ndarray, x1, x2, y) -> float | None:
        """The share of samples (x1, x2, y) it classifies wrongly; None if it is not a
        classifier."""

    def noise_is_drawn(self, cfg) -> bool:
        """Whether cfg.noise means anything for it (it has noise to average or draw)."""

    def feature_alignment(self, signal: np.ndarray, column: int, magnitude: bool = False) -> float:
        """Its summary alignment with one signal vector (column of the logged signal array at one
        step), as `summary` reads it (with |.| if `magnitude`)."""

    def class_alignments(self, signal: np.ndarray, noise: np.ndarray) -> tuple:
        """(signal, noise) alignments of the filters that answer class +1 (every filter of a
        denoiser), logged arrays (T, ...) reduced to (T, m, F) and (T, m, n)."""

    def top_filters(self, W: np.ndarray, mu: np.ndarray) -> list:
        """The filters to show as pictures: the one most aligned with a class mean (a denoiser), or
        each class's own (a classifier), signed so that the shown alignment is positive."""

    def filters(self, W: np.ndarray) -> np.ndarray:
        """The rows of W that read the input patches (F, d): every row for the tied denoiser and
        the classifier, the first layer's only where the model has an output layer of its own."""

    def layers(self, W: np.ndarray) -> dict:
        """The weights by name, as result.npz holds them: {"W": W}, or {"W": first layer, "V":
        output layer} for a model with an output layer of its own."""

    def joined(self, layers: dict) -> np.ndarray:
        """The weights W from `layers`' output (its inverse)."""


class Summary(NamedTuple):
    """Headline alignments at one logged step; ratio = signal / noise (inf when noise is 0).

    `per_feature` (K values) is the signal summary of each feature k = 1..K, averaged over the two
    classes; the headline `signal` is that of the first feature (the paper's quantity when K = 1).
    """

    signal: float
    noise: float
    ratio: float
    per_feature: tuple = ()


def _summary(per_feature, noise: float) -> Summary:
    signal = per_feature[0]
    return Summary(
        float(signal),
        float(noise),
        float(signal / noise) if noise != 0 else float("inf"),
        tuple(float(v) for v in per_feature),
    )


def feature_columns(signal: np.ndarray) -> range:
    """k = 0 .. K-1 for signal alignments (..., F) with F = 2K columns (2k + j = mu_{j,k})."""
    return range(signal.shape[-1] // 2)


def _fixed_draws(cfg, n: int, d: int, rng: np.random.Generator) -> np.ndarray | None:
    """K fixed draws of eps (K, 2n, d) for --noise fixed (rows n..2n-1 noise the noise patches),
    else None."""
    return rng.standard_normal((cfg.noise_samples, 2 * n, d)) if cfg.noise == "fixed" else None


def _full_coordinates(cfg, x1: np.ndarray, d: int) -> None:
    """Fresh draws of eps (--noise resampled) point anywhere: they need the full d-dimensional
    coordinates."""
    if x1.shape[-1] != d:
        raise FldmError(f"resampled {cfg.model} noise needs the full d-dimensional coordinates")


class Diffusion:
    """The tied quadratic denoiser on the denoising loss of its objective (sims.diffusion)."""

    name = "diffusion"
    options = frozenset({"diffusion time", "objective", "output scale"})
    look = Look(
        growth="linear",
        log_axis=False,
        color="tab:purple",
        marker="o",
        signal="mean_j max_r ⟨w_r, μ_j⟩",
        noise="mean_i max_r ⟨w_r, ξ_i⟩",
        filter="w_r",
    )
    theory = Theory(
        predict=Lazy("theory.predict:predict_diffusion"),
        explain=Lazy("theory.explain:diffusion_lines"),
        read=Lazy("theory.predict:read_diffusion"),
        regime=Lazy("theory.law:regime_of"),
    )
    signed = True  # the output is odd in W: learning pushes alignments up (`summary`)

    def weight_shape(self, m: int, d: int) -> tuple:
        return (m, d)

    def check(self, cfg) -> None:
        pass  # every objective, schedule and noise mode runs

    def draw_shape(self, cfg, n: int, d: int) -> tuple | None:
        return None if cfg.noise == "exact" else (cfg.noise_samples, 2 * n, d)

    def draws(self, cfg, n: int, d: int, rng: np.random.Generator) -> np.ndarray | None:
        return _fixed_draws(cfg, n, d, rng)

    def work_floats(self, cfg, n: int, d: int) -> int:
        # sampled loss: the draws, the noised inputs, the residuals and the gradient's product, each
        # K x 2n x d
        shape = self.draw_shape(cfg, n, d)
        return 0 if shape is None else 4 * math.prod(shape)

    def stays_in_span(self, cfg) -> bool:
        # resampled noise adds the directions of new draws to every gradient; fixed draws join the
        # span
        return cfg.noise != "resampled"

    def stackable(self, cfg) -> bool:
        return cfg.noise == "exact"

    def moves_outside_data(self, cfg) -> bool:
        return True

    def stack_key(self, cfg) -> tuple:
        return (cfg.noise, cfg.objective, cfg.diffusion_times, cfg.scale)

    def eta_factor(self, cfg, data, d) -> float:
        max_norm2 = max(
            np.max(np.einsum("ij,ij->i", data.x1, data.x1)),
            np.max(np.einsum("ij,ij->i", data.x2, data.x2)),
        )
        return diffusion.fit_curvature_factor(
            cfg.diffusion_times, cfg.objective, diffusion.output_scale(cfg.m, cfg.scale), max_norm2
        )

    def expected(self, cfg):
        if cfg.noise == "fixed":
            raise FldmError(
                "the alignment ODE and the predictions follow the exact expected diffusion loss; "
                "use --noise exact (or resampled, whose mean flow it is)"
            )
        return cfg.replace(noise="exact")

    def deterministic(self, cfg):
        return cfg.replace(noise="exact") if cfg.noise == "resampled" else cfg

    def draws_curvature(self, cfg, draws: np.ndarray, n: int) -> float:
        return diffusion.memorised_curvature(
            cfg.diffusion_times, cfg.objective, diffusion.output_scale(cfg.m, cfg.scale), draws, n
        )

    def objective(
        self, cfg, x1, x2, y, d: int, rng: np.random.Generator, eps: np.ndarray | None = None
    ):
        times = cfg.diffusion_times
        if (
            cfg.noise == "exact"
        ):  # in r < d coordinates too: the loss holds b^2 d (sims.diffusion.exact_objective)
            return diffusion.exact_objective(
                x1, x2, diffusion.targets_of(times, cfg.objective), scale=cfg.scale, dim=d
            )

        targets = [
            diffusion.objective_target(cfg.objective, alpha, beta) for alpha, beta, _ in times
        ]

        def over_draws(W, eps):
            return sampled.sum_over_times(
                lambda alpha, beta: sampled.loss_and_grad_sampled(
                    W,
                    x1,
                    x2,
                    eps,
                    alpha=alpha,
                    beta=beta,
                    scale=cfg.scale,
                    target=diffusion.objective_target(cfg.objective, alpha, beta),
                ),
                times,
            )

        if (
            cfg.noise == "fixed"
        ):  # the draws and the patches lie in the coordinates' span: no offset
            return lambda W: over_draws(W, eps)
        _full_coordinates(cfg, x1, d)
        if len(set(targets)) == 1:  # fresh draws: only the normals the loss and gradient depend on
            return lambda W: sampled.loss_and_grad_resampled_times(
                W, x1, x2, cfg.noise_samples, rng, times, scale=cfg.scale, target=targets[0]
            )
        shape = x1.shape[:-2] + self.draw_shape(
            cfg, x1.shape[-2], d
        )  # a target per time (v): direct draws
        return lambda W: over_draws(W, rng.standard_normal(shape))

    def hessian_product(self, cfg, x1, x2, d: int):
        if cfg.noise != "exact":
            return None
        return lambda W, V: diffusion.hessian_vector_product(
            W, V, x1, x2, cfg.diffusion_times, scale=cfg.scale, objective=cfg.objective
        )

    def summary(self, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> Summary:
        """signal = mean_j max_r <w_r, mu_j>, noise = mean_i max_r <w_r, xi_i>, with signed
        alignments; per feature k: mean_j max_r <w_r, mu_{j,k}>.

        Signed, because the output is odd in W and learning pushes alignments up: the -4 c alpha
        beta sum_r a_r G_rr term of eq. (E) rewards <w_r, z> > 0, so the largest positive alignment
        is the feature learned. It is the paper's max_r <w_r, mu>, and what the early rates (D1)
        follow; with |.| a neuron that starts at a negative alignment would count while learning
        shrinks it. At an asymmetric stationary point a split-off neuron can hold a large negative
        alignment (m = 16, n SNR^2 = 67.5: noise -9.4), which this summary does not count:
        theory.stationary reports the |.| summary beside it (`summary_abs`; there the ratio is 0.94
        against 2.43 signed)."""
        per = [np.mean(signal[:, 2 * k : 2 * k + 2].max(axis=0)) for k in feature_columns(signal)]
        return _summary(per, np.mean(noise.max(axis=0)))

    def metrics(self, cfg, W: np.ndarray, data, rng: np.random.Generator) -> dict:
        return {}

    def stationary_filters(self, cfg, data) -> np.ndarray | None:
        """The symmetric law's stationary filters for `data` (sims.symmetric), for the exact (or
        resampled) eps objective at one diffusion time; None otherwise (fixed draws are memorised:
        another point)."""
        times = cfg.diffusion_times
        if (
            cfg.noise == "fixed"
            or cfg.objective != "eps"
            or len(times) != 1
            or data.num_features > 1
        ):
            return None
        alpha, beta, _ = times[0]
        c = diffusion.output_scale(cfg.m, cfg.scale)
        return symmetric.stationary_filters(alpha, beta, c, cfg.m, data)

    def error_rate(self, W: np.ndarray, x1, x2, y) -> None:
        return None  # a denoiser does not classify

    def noise_is_drawn(self, cfg) -> bool:
        return True  # the diffusion noise eps: its exact expectation, or draws

    def feature_alignment(self, signal: np.ndarray, column: int, magnitude: bool = False) -> float:
        """max_r <w_r, mu> (max_r |<w_r, mu>| if magnitude)."""
        values = signal[:, column]
        return float((np.abs(values) if magnitude else values).max())

    def class_alignments(self, signal: np.ndarray, noise: np.ndarray) -> tuple:
        return signal, noise  # every filter answers every class

    def top_filters(self, W: np.ndarray, mu: np.ndarray) -> list:
        """The neuron with the largest max_j <w_r, mu_j>."""
        return [W[np.argmax((W @ mu.T).max(axis=1))]]

    def filters(self, W: np.ndarray) -> np.ndarray:
        return W

    def layers(self, W: np.ndarray) -> dict:
        return {"W": W}

    def joined(self, layers: dict) -> np.ndarray:
        return layers["W"]


class Classification:
    """The same network with a fixed +-1 second layer on the logistic loss (sims.classification);
    with cfg.augment = (alpha, beta), on the noised inputs x_t = alpha x0 + beta eps (Monte Carlo
    over draws).

    The augmented classifier is an option of this model, not a model of its own: it has the same
    weights, alignments, summary and test error, and only its objective and draws differ, as
    diffusion's noise modes do. With beta = 0 no noise enters, nothing is drawn, and the objective
    is the plain loss on alpha x0 (for alpha = 1 the same arithmetic as without augment).
    """

    name = "classification"
    options = frozenset({"augment", "test set"})
    look = Look(
        growth="exponential",
        log_axis=True,
        color="tab:orange",
        marker="^",
        signal="mean_j max_r |⟨w_(j,r), μ_j⟩|",
        noise="mean_i max_r |⟨w_(y_i,r), ξ_i⟩|",
        filter="w_(+1,r)",
    )
    theory = Theory(
        predict=Lazy("theory.predict:predict_classification"),
        explain=Lazy("theory.explain:classification_lines"),
        read=Lazy("theory.predict:read_classification"),
        reduced_metrics=Lazy("theory.ode:classification_metrics"),
    )
    signed = False  # the output is even in each filter: only |.| matters (`summary`)

    @staticmethod
    def _noised(cfg) -> bool:
        return cfg.augment is not None and cfg.augment[1] > 0

    def weight_shape(self, m: int, d: int) -> tuple:
        return (2, m, d)

    def check(self, cfg) -> None:
        if cfg.augment is None and cfg.noise != "exact":
            raise FldmError(
                f"--noise {cfg.noise} for classification draws the noise of --augment ALPHA,BETA; "
                f"give --augment too"
            )
        if self._noised(cfg) and cfg.noise == "exact":
            raise FldmError(
                "the noise-augmented classifier's logistic loss has no closed-form expectation: "
                "give --noise resampled or --noise fixed (and --noise-samples K)"
            )

    def draw_shape(self, cfg, n: int, d: int) -> tuple | None:
        return (cfg.noise_samples, 2 * n, d) if self._noised(cfg) else None

    def draws(self, cfg, n: int, d: int, rng: np.random.Generator) -> np.ndarray | None:
        return _fixed_draws(cfg, n, d, rng) if self._noised(cfg) else None

    def work_floats(self, cfg, n: int, d: int) -> int:
        # test error: n_test labels, and (theory.ode) n_test x 2m filter responses, a few times
        # over; the augmented loss: the draws, the noised inputs and their responses, each K x 2n x
        # d at most
        shape = self.draw_shape(cfg, n, d)
        return cfg.n_test * (3 + 6 * cfg.m) + (0 if shape is None else 4 * math.prod(shape))

    def stays_in_span(self, cfg) -> bool:
        # the gradient lies in the span of the inputs: the data and, when augmented, the draws of
        # eps
        return not (self._noised(cfg) and cfg.noise == "resampled")

    def stackable(self, cfg) -> bool:
        return not self._noised(cfg)

    def moves_outside_data(self, cfg) -> bool:
        return False

    def stack_key(self, cfg) -> tuple:
        return (cfg.augment,)

    def eta_factor(self, cfg, data, d) -> float:
        """max(1, alpha^2 + beta^2 d / min_i ||xi_i||^2): a noised patch alpha z + beta eps has
        ||.||^2 about alpha^2 ||z||^2 + beta^2 d, against ||xi_i||^2 in auto_eta's scale."""
        if cfg.augment is None:
            return 1.0
        alpha, beta = cfg.augment
        return max(1.0, alpha**2 + beta**2 * d / np.min(np.sum(data.x2**2, axis=1)))

    def draws_curvature(self, cfg, draws: np.ndarray, n: int) -> float:
        return (
            0.0  # the logistic loss's curvature is at most that of its inputs: nothing to memorise
        )

    def deterministic(self, cfg):
        return cfg if not (self._noised(cfg) and cfg.noise == "resampled") else None

    def expected(self, cfg):
        if self._noised(cfg):
            raise FldmError(
                "the noise-augmented classifier's logistic loss has no closed-form expectation, so "
                "there is no alignment ODE or prediction for it; use fldm train"
            )
        return cfg.replace(noise="exact")

    def objective(
        self, cfg, x1, x2, y, d: int, rng: np.random.Generator, eps: np.ndarray | None = None
    ):
        if cfg.augment is None:
            return lambda W: classification.loss_and_grad(W, x1, x2, y)
        alpha, beta = cfg.augment
        if beta == 0:
            u1, u2 = alpha * x1, alpha * x2
            return lambda W: classification.loss_and_grad(W, u1, u2, y)
        if cfg.noise == "fixed":
            return lambda W: classification.loss_and_grad_augmented(
                W, x1, x2, y, eps, alpha=alpha, beta=beta
            )
        _full_coordinates(cfg, x1, d)
        return lambda W: classification.loss_and_grad_augmented_resampled(
            W, x1, x2, y, cfg.noise_samples, rng, alpha=alpha, beta=beta
        )

    def hessian_product(self, cfg, x1, x2, d: int) -> None:
        return None

    def stationary_filters(self, cfg, data) -> None:
        return None  # no law of its stationary point

    def summary(self, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> Summary:
        """signal = mean_j max_r |<w_{j,r}, mu_j>|, noise = mean_i max_r |<w_{y_i,r}, xi_i>| (the
        output is even in each filter, so only |.| matters; own-class filters only); per feature k:
        mean_j max_r |<w_{j,r}, mu_{j,k}>|."""
        own = label_index(y)
        per = [
            np.mean([np.abs(signal[j, :, 2 * k + j]).max() for j in (0, 1)])
            for k in feature_columns(signal)
        ]
        noi = np.mean(np.abs(noise[own, :, np.arange(len(y))]).max(axis=1))
        return _summary(per, noi)

    def metrics(self, cfg, W: np.ndarray, data, rng: np.random.Generator) -> dict:
        """Test error on cfg.n_test fresh samples (drawn 64 at a time), per true class too (nan for
        a class with no test sample), and the training error."""
        wrong, count = np.zeros(2), np.zeros(2)
        for b in fresh_batches(data, cfg.n_test, rng):
            bad = b.y * classification.output(W, b.x1, b.x2) <= 0
            wrong += np.bincount(label_index(b.y), weights=bad, minlength=2)
            count += np.bincount(label_index(b.y), minlength=2)
        return {
            "test_error": float(wrong.sum() / cfg.n_test),
            "test_error_by_class": [
                float(w / c) if c else float("nan") for w, c in zip(wrong, count)
            ],
            "train_error": classification.error_rate(W, data.x1, data.x2, data.y),
        }

    def error_rate(self, W: np.ndarray, x1, x2, y) -> float:
        return classification.error_rate(W, x1, x2, y)

    def noise_is_drawn(self, cfg) -> bool:
        return cfg.augment is not None  # only the augmented classifier draws noise

    def feature_alignment(self, signal: np.ndarray, column: int, magnitude: bool = False) -> float:
        """max_r |<w_{j,r}, mu>| over the filters of the vector's own class j = column % 2 (always
        |.|)."""
        return float(np.abs(signal[column % 2, :, column]).max())

    def class_alignments(self, signal: np.ndarray, noise: np.ndarray) -> tuple:
        return signal[:, 0], noise[:, 0]  # the filters of class +1

    def top_filters(self, W: np.ndarray, mu: np.ndarray) -> list:
        """Each class j's filter with the largest |<w_{j,r}, mu_j>|, signed so that it is
        positive."""
        shown = []
        for j in (0, 1):
            a = W[j] @ mu[j]
            r = int(np.argmax(np.abs(a)))
            shown.append(np.sign(a[r] or 1.0) * W[j, r])
        return shown

    def filters(self, W: np.ndarray) -> np.ndarray:
        return W.reshape(-1, W.shape[-1])  # both classes' filters

    def layers(self, W: np.ndarray) -> dict:
        return {"W": W}

    def joined(self, layers: dict) -> np.ndarray:
        return layers["W"]


class Untied(Diffusion):
    """The denoiser with its layers apart, f(W, V, u) = c sum_r <w_r, u>^2 v_r (sims.untied), on
    the tied model's denoising losses (every objective, schedule and noise mode). Its weights are
    one (2, m, d) array, W = [0] and V = [1], both drawn N(0, sigma0^2) independently; result.npz
    holds them as W and V. Its headline summary reads the first layer's alignments, as magnitudes.

    Step size: the "data" limit is divided by the balanced untied neuron's x0-fit factor
    (sims.untied.untied_fit_curvature_factor), the "draws" limit is a memorised draw's
    (untied_memorised_curvature), the "stationary" limit the tied law's point rescaled to the
    untied balance (`stationary_filters`). Noise prediction at m >= 2 has no bound: neuron pairs
    with w_2 ~ -w_1, v_2 ~ -v_1 cancel while their norms and the largest curvature grow without
    end (sims.untied, measured in benchmarks/untied_curvature.py), so descent with any fixed eta
    leaves the flow at some point; the descent loop's checks report it (a rising loss, reversed
    gradients: the run's `descent_note`), and `fldm ode` follows the flow itself.
    """

    name = "untied"
    look = Look(
        growth="exponential",
        log_axis=True,
        color="tab:green",
        marker="s",
        signal="mean_j max_r |⟨w_r, μ_j⟩|",
        noise="mean_i max_r |⟨w_r, ξ_i⟩|",
        filter="w_r",
    )
    theory = Theory(
        predict=Lazy("theory.untied:predict_untied"),
        explain=Lazy("theory.untied:untied_lines"),
        read=Lazy("theory.untied:read_untied"),
    )
    # f is even in each w_r (w_r -> -w_r leaves it unchanged): only |<w_r, .>| matters, and a
    # neuron can grow either way (theory.untied, 3.)
    signed = False
    _train_output = True  # the output layer V is trained (the fixed-output model: not)

    def weight_shape(self, m: int, d: int) -> tuple:
        return (2, m, d)

    def eta_factor(self, cfg, data, d) -> float:
        if not self._train_output:
            # a fixed-output neuron fits a patch z only along its fixed v_r: the curvature there is
            # 8 c alpha^2 |a| <v_r, z> in units of the data scale, below 1 at a small sigma0
            # (measured 0.15 to 1.5 kappa late in descent, benchmarks/untied_curvature.py)
            return 1.0
        max_norm2 = max(
            np.max(np.einsum("ij,ij->i", data.x1, data.x1)),
            np.max(np.einsum("ij,ij->i", data.x2, data.x2)),
        )
        c = diffusion.output_scale(cfg.m, cfg.scale)
        return untied.untied_fit_curvature_factor(cfg.diffusion_times, cfg.objective, c, max_norm2)

    def draws_curvature(self, cfg, draws: np.ndarray, n: int) -> float:
        if not self._train_output:
            return 0.0  # no bound derived for a fixed output layer: the descent checks report
        c = diffusion.output_scale(cfg.m, cfg.scale)
        return untied.untied_memorised_curvature(cfg.diffusion_times, cfg.objective, c, draws, n)

    def stationary_filters(self, cfg, data) -> np.ndarray | None:
        """The tied law's stationary filters W* (Diffusion's, where it has them), rescaled to the
        untied flow's balance: it conserves ||w_r||^2 - 2 ||v_r||^2 (sims.untied), near 0 from a
        small start, so W = 2^(1/6) W*, V = 2^(-1/3) W* (the same output: a^2 b = 1 with a^2 =
        2 b^2). Not a stationary point of the untied loss, but its curvature is the one descent
        meets near one: at m = 1 (d = 2000, n = 20, sigma_xi = 0.05, n SNR^2 = 0.5) the largest
        Hessian eigenvalue there is 1.80 against 1.82 at the flow's own stationary point. It
        binds where the patches are short, as the tied model's "stationary" limit does. None for
        the fixed output (no law), and where the tied model has none."""
        tied = None if not self._train_output else super().stationary_filters(cfg, data)
        return None if tied is None else np.stack([2 ** (1 / 6) * tied, 2 ** (-1 / 3) * tied])

    def objective(
        self, cfg, x1, x2, y, d: int, rng: np.random.Generator, eps: np.ndarray | None = None
    ):
        times, trained = cfg.diffusion_times, self._train_output
        if cfg.noise == "exact":  # in r < d coordinates too: `dim` restores the loss's b^2 d
            targets = diffusion.targets_of(times, cfg.objective)
            return untied.exact_objective(
                x1, x2, targets, scale=cfg.scale, dim=d, train_output=trained
            )
        if cfg.noise == "fixed":  # the draws and the patches lie in the coordinates' span
            return lambda WV: untied.loss_and_grad_sampled_times(
                WV,
                x1,
                x2,
                eps,
                times,
                scale=cfg.scale,
                objective=cfg.objective,
                train_output=trained,
            )
        _full_coordinates(cfg, x1, d)
        return lambda WV: untied.loss_and_grad_fresh(
            WV,
            x1,
            x2,
            cfg.noise_samples,
            rng,
            times,
            scale=cfg.scale,
            objective=cfg.objective,
            train_output=trained,
        )

    def hessian_product(self, cfg, x1, x2, d: int):
        if cfg.noise != "exact":
            return None
        return lambda WV, T: untied.hessian_vector_product(
            WV,
            T,
            x1,
            x2,
            cfg.diffusion_times,
            scale=cfg.scale,
            objective=cfg.objective,
            train_output=self._train_output,
        )

    def summary(self, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> Summary:
        """signal = mean_j max_r |<w_r, mu_j>|, noise = mean_i max_r |<w_r, xi_i>|, over the first
        layer's alignments (signal (2, m, F), noise (2, m, n): [0] is W's, [1] V's); per feature k:
        mean_j max_r |<w_r, mu_{j,k}>|."""
        a, b = np.abs(signal[0]), np.abs(noise[0])
        per = [np.mean(a[:, 2 * k : 2 * k + 2].max(axis=0)) for k in feature_columns(signal)]
        return _summary(per, np.mean(b.max(axis=0)))

    def feature_alignment(self, signal: np.ndarray, column: int, magnitude: bool = False) -> float:
        """max_r |<w_r, mu>| (always |.|), over the first layer."""
        return float(np.abs(signal[0, :, column]).max())

    def class_alignments(self, signal: np.ndarray, noise: np.ndarray) -> tuple:
        return signal[:, 0], noise[:, 0]  # the first layer: every filter answers every class

    def top_filters(self, W: np.ndarray, mu: np.ndarray) -> list:
        """The first layer's neuron with the largest max_j |<w_r, mu_j>|, signed so that it is
        positive."""
        a = W[0] @ mu.T
        r, j = np.unravel_index(np.argmax(np.abs(a)), a.shape)
        return [np.sign(a[r, j] or 1.0) * W[0, r]]

    def filters(self, W: np.ndarray) -> np.ndarray:
        return W[0]  # V's rows write the output; they read nothing

    def layers(self, W: np.ndarray) -> dict:
        first, output = untied.split(W)
        return {"W": first, "V": output}

    def joined(self, layers: dict) -> np.ndarray:
        return np.stack([layers["W"], layers["V"]])


class FixedOutput(Untied):
    """The untied network with its output layer V frozen at its initial value (the classifier's
    fixed second layer, on the denoising side): sims.untied with train_output=False. Everything
    else is the untied model's."""

    name = "fixed-output"
    look = Look(
        growth="exponential",
        log_axis=True,
        color="tab:brown",
        marker="D",
        signal="mean_j max_r |⟨w_r, μ_j⟩|",
        noise="mean_i max_r |⟨w_r, ξ_i⟩|",
        filter="w_r",
    )
    theory = Theory(
        predict=Lazy("theory.untied:predict_fixed_output"),
        explain=Lazy("theory.untied:untied_lines"),
        read=Lazy("theory.untied:read_untied"),
    )
    _train_output = False


MODELS = {model.name: model for model in (Diffusion(), Classification(), Untied(), FixedOutput())}
PAPER_PAIR = (
    MODELS["diffusion"],
    MODELS["classification"],
)  # the paper's comparison: denoiser, classifier


def get(name: str) -> Model:
    """The model called `name`."""
    try:
        return MODELS[name]
    except KeyError:
        raise FldmError(f"unknown model {name!r}; choose one of {tuple(MODELS)}") from None


def taking(group: str) -> tuple:
    """The names of the models that take the option group `group` (OPTION_GROUPS)."""
    return tuple(name for name, model in MODELS.items() if group in model.options)


def summarize(model: str, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> Summary:
    """The headline alignments of `model` at one logged step (see each model's `summary`)."""
    return get(model).summary(signal, noise, y)
