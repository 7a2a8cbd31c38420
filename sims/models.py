"""The two models behind one small interface, and the one registry that dispatches on the model's name.

Every model answers the same questions, so the descent loop, the span engine, the theory and the studies
never compare model names:

    weight_shape(m, d)              the shape of W (diffusion (m, d); classification (2, m, d))
    check(cfg)                      a one-line FldmError for settings the model cannot train
    objective(cfg, x1, x2, y, d, rng)
                                    W -> (loss, grad L): the training objective on patches x1, x2 (leading
                                    stack axes allowed) given in any orthonormal coordinates of a space
                                    that holds the data and the filters; d is the patch dimension of the
                                    full model (the diffusion loss has a constant that depends on it)
    draws(cfg, n, d, rng)           noise drawn once for the whole run ((K, 2n, d) fixed draws of eps:
                                    diffusion's, or the augmented classifier's), or None; `objective` then
                                    takes them (in the same coordinates)
    draw_shape(cfg, n, d)           the shape of the noise the objective draws at once (fixed, or fresh
                                    every step), or None
    work_floats(cfg, n, d)          how many floats the objective and the metrics hold at once beyond the
                                    data and the weights (for the memory estimate of sims.train)
    check(cfg)                      a one-line FldmError for a setting the model cannot run
    stays_in_span(cfg)              whether descent keeps every filter in span(data, draws, initial
                                    filters), so that it can run in a basis of that span (sims.span)
    stackable(cfg)                  whether runs can share one stacked computation (no draws of their own)
    moves_outside_data(cfg)         whether the filters' part orthogonal to the data changes (diffusion:
                                    it is rescaled; classification: it never moves)
    stack_key(cfg)                  the settings runs must share to be stacked into one computation
    eta_factor(cfg, data, d)        how many times steeper than the data curvature scale of
                                    sims.config.auto_eta the objective is (>= 1); the "data" limit of
                                    sims.stepsize is divided by it (data may be in span coordinates: d is
                                    the dimension of the patches)
    draws_curvature(cfg, draws, n)  the curvature the objective can reach by memorising its fixed draws
                                    (the "draws" limit of sims.stepsize), 0 when it has none
    deterministic(cfg)              a setting whose objective is one fixed function of W with the same
                                    curvature: cfg itself when the objective is the same function at every
                                    step, the exact expectation for resampled draws where it has a closed
                                    form, else None
    expected(cfg)                   the setting whose exact objective is the expectation of cfg's over its
                                    noise draws, which the ODE and the predictions follow; a one-line
                                    FldmError when that expectation has no closed form (fixed draws, the
                                    augmented classifier)
    hessian_product(cfg, x1, x2, d) (W, V) -> the Hessian of `objective` at W applied to V (one direction
                                    or a stack), where the model has it in closed form; else None
    summary(signal, noise, y)       the headline alignments (Summary) at one logged step, with the signal
                                    per feature (signal (..., F): columns 2k + j = mu_{j,k}, sims.data)
    metrics(cfg, W, data, rng)      extra numbers of a finished run (the classifier's errors)

To add a model: write its loss and hand-derived gradient in a module of its own, a class here, and one
entry in MODELS.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sims import FldmError, classification, diffusion, sampled, symmetric
from sims.data import fresh_batches, label_index


class Summary(NamedTuple):
    """Headline alignments at one logged step; ratio = signal / noise (inf when noise is 0).

    `per_feature` (K values) is the signal summary of each feature k = 1..K, averaged over the two classes;
    the headline `signal` is that of the first feature (the paper's quantity when K = 1).
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
    """K fixed draws of eps (K, 2n, d) for --noise fixed (rows n..2n-1 noise the noise patches), else None."""
    return rng.standard_normal((cfg.noise_samples, 2 * n, d)) if cfg.noise == "fixed" else None


def _full_coordinates(cfg, x1: np.ndarray, d: int) -> None:
    """Fresh draws of eps (--noise resampled) point anywhere: they need the full d-dimensional coordinates."""
    if x1.shape[-1] != d:
        raise FldmError(f"resampled {cfg.model} noise needs the full d-dimensional coordinates")


class Diffusion:
    """The tied quadratic denoiser on the denoising loss of its objective (sims.diffusion)."""

    name = "diffusion"
    stationary_law = True  # theory.law describes its stationary ratio (eps objective, one time)

    def weight_shape(self, m: int, d: int) -> tuple:
        return (m, d)

    def check(self, cfg) -> None:
        pass  # every objective, schedule and noise mode runs

    def draw_shape(self, cfg, n: int, d: int) -> tuple | None:
        return None if cfg.noise == "exact" else (cfg.noise_samples, 2 * n, d)

    def draws(self, cfg, n: int, d: int, rng: np.random.Generator) -> np.ndarray | None:
        return _fixed_draws(cfg, n, d, rng)

    def work_floats(self, cfg, n: int, d: int) -> int:
        # sampled loss: the draws, the noised inputs, the residuals and the gradient's product, each K x 2n x d
        shape = self.draw_shape(cfg, n, d)
        return 0 if shape is None else 4 * math.prod(shape)

    def stays_in_span(self, cfg) -> bool:
        # resampled noise adds the directions of new draws to every gradient; fixed draws join the span
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
        """signal = mean_j max_r <w_r, mu_j>, noise = mean_i max_r <w_r, xi_i>, with signed alignments; per
        feature k: mean_j max_r <w_r, mu_{j,k}>.

        Signed, because the output is odd in W and learning pushes alignments up: the -4 c alpha beta
        sum_r a_r G_rr term of eq. (E) rewards <w_r, z> > 0, so the largest positive alignment is the
        feature learned. It is the paper's max_r <w_r, mu>, and what the early rates (D1) follow; with
        |.| a neuron that starts at a negative alignment would count while learning shrinks it. At an
        asymmetric stationary point a split-off neuron can hold a large negative alignment (m = 16,
        n SNR^2 = 67.5: noise -9.4), which this summary does not count: theory.stationary reports the
        |.| summary beside it (`summary_abs`; there the ratio is 0.94 against 2.43 signed)."""
        per = [np.mean(signal[:, 2 * k : 2 * k + 2].max(axis=0)) for k in feature_columns(signal)]
        return _summary(per, np.mean(noise.max(axis=0)))

    def metrics(self, cfg, W: np.ndarray, data, rng: np.random.Generator) -> dict:
        return {}

    def stationary_filters(self, cfg, data) -> np.ndarray | None:
        """The symmetric law's stationary filters for `data` (sims.symmetric), for the exact (or resampled)
        eps objective at one diffusion time; None otherwise (fixed draws are memorised: another point)."""
        times = cfg.diffusion_times
        if cfg.noise == "fixed" or cfg.objective != "eps" or len(times) != 1 or data.num_features > 1:
            return None
        alpha, beta, _ = times[0]
        c = diffusion.output_scale(cfg.m, cfg.scale)
        return symmetric.stationary_filters(alpha, beta, c, cfg.m, data)


class Classification:
    """The same network with a fixed +-1 second layer on the logistic loss (sims.classification); with
    cfg.augment = (alpha, beta), on the noised inputs x_t = alpha x0 + beta eps (Monte Carlo over draws).

    The augmented classifier is an option of this model, not a model of its own: it has the same weights,
    alignments, summary and test error, and only its objective and draws differ, as diffusion's noise modes
    do. With beta = 0 no noise enters, nothing is drawn, and the objective is the plain loss on alpha x0
    (for alpha = 1 the same arithmetic as without augment).
    """

    name = "classification"
    stationary_law = False

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
        # test error: n_test labels, and (theory.ode) n_test x 2m filter responses, a few times over; the
        # augmented loss: the draws, the noised inputs and their responses, each K x 2n x d at most
        shape = self.draw_shape(cfg, n, d)
        return cfg.n_test * (3 + 6 * cfg.m) + (0 if shape is None else 4 * math.prod(shape))

    def stays_in_span(self, cfg) -> bool:
        # the gradient lies in the span of the inputs: the data and, when augmented, the draws of eps
        return not (self._noised(cfg) and cfg.noise == "resampled")

    def stackable(self, cfg) -> bool:
        return not self._noised(cfg)

    def moves_outside_data(self, cfg) -> bool:
        return False

    def stack_key(self, cfg) -> tuple:
        return (cfg.augment,)

    def eta_factor(self, cfg, data, d) -> float:
        """max(1, alpha^2 + beta^2 d / min_i ||xi_i||^2): a noised patch alpha z + beta eps has ||.||^2 about
        alpha^2 ||z||^2 + beta^2 d, against ||xi_i||^2 in auto_eta's scale."""
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
        """signal = mean_j max_r |<w_{j,r}, mu_j>|, noise = mean_i max_r |<w_{y_i,r}, xi_i>| (the output is
        even in each filter, so only |.| matters; own-class filters only); per feature k:
        mean_j max_r |<w_{j,r}, mu_{j,k}>|."""
        own = label_index(y)
        per = [
            np.mean([np.abs(signal[j, :, 2 * k + j]).max() for j in (0, 1)])
            for k in feature_columns(signal)
        ]
        noi = np.mean(np.abs(noise[own, :, np.arange(len(y))]).max(axis=1))
        return _summary(per, noi)

    def metrics(self, cfg, W: np.ndarray, data, rng: np.random.Generator) -> dict:
        """Test error on cfg.n_test fresh samples (drawn 64 at a time), per true class too (nan for a class
        with no test sample), and the training error."""
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


MODELS = {model.name: model for model in (Diffusion(), Classification())}


def get(name: str):
    """The model called `name`."""
    try:
        return MODELS[name]
    except KeyError:
        raise FldmError(f"unknown model {name!r}; choose one of {tuple(MODELS)}") from None


def summarize(model: str, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> Summary:
    """The headline alignments of `model` at one logged step (see each model's `summary`)."""
    return get(model).summary(signal, noise, y)
