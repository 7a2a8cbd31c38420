"""The two models behind one small interface, and the one registry that dispatches on the model's name.

Every model answers the same questions, so the descent loop, the span engine, the theory and the studies
never compare model names:

    weight_shape(m, d)              the shape of W (diffusion (m, d); classification (2, m, d))
    objective(cfg, x1, x2, y, d, rng)
                                    W -> (loss, grad L): the training objective on patches x1, x2 (leading
                                    stack axes allowed) given in any orthonormal coordinates of a space
                                    that holds the data and the filters; d is the patch dimension of the
                                    full model (the diffusion loss has a constant that depends on it)
    draws(cfg, n, d, rng)           noise drawn once for the whole run ((K, 2n, d) fixed diffusion draws),
                                    or None; `objective` then takes them (in the same coordinates)
    draw_shape(cfg, n, d)           the shape of the noise the objective draws at once (fixed, or fresh
                                    every step), or None
    work_floats(cfg, n, d)          how many floats the objective and the metrics hold at once beyond the
                                    data and the weights (for the memory estimate of sims.train)
    stays_in_span(cfg)              whether descent keeps every filter in span(data, draws, initial
                                    filters), so that it can run in a basis of that span (sims.span)
    stackable(cfg)                  whether runs can share one stacked computation (no draws of their own)
    moves_outside_data(cfg)         whether the filters' part orthogonal to the data changes (diffusion:
                                    it is rescaled; classification: it never moves)
    stack_key(cfg)                  the settings runs must share to be stacked into one computation
    expected(cfg)                   the config of the expected objective: cfg itself when the objective is the
                                    same function at every step, else (noise drawn afresh each step) the
                                    config of its expectation
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

from sims import FldmError, classification, diffusion
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
    return Summary(float(signal), float(noise), float(signal / noise) if noise != 0 else float("inf"),
                   tuple(float(v) for v in per_feature))


def feature_columns(signal: np.ndarray) -> range:
    """k = 0 .. K-1 for signal alignments (..., F) with F = 2K columns (2k + j = mu_{j,k})."""
    return range(signal.shape[-1] // 2)


class Diffusion:
    """The tied quadratic denoiser on the DDPM loss (sims.diffusion)."""

    name = "diffusion"

    def weight_shape(self, m: int, d: int) -> tuple:
        return (m, d)

    def draw_shape(self, cfg, n: int, d: int) -> tuple | None:
        return None if cfg.noise == "exact" else (cfg.noise_samples, 2 * n, d)

    def draws(self, cfg, n: int, d: int, rng: np.random.Generator) -> np.ndarray | None:
        return rng.standard_normal(self.draw_shape(cfg, n, d)) if cfg.noise == "fixed" else None

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
        return (cfg.noise, cfg.diffusion_times, cfg.scale)

    def expected(self, cfg):
        return cfg.replace(noise="exact") if cfg.noise == "resampled" else cfg

    def objective(self, cfg, x1, x2, y, d: int, rng: np.random.Generator, eps: np.ndarray | None = None):
        times = cfg.diffusion_times
        if cfg.noise == "exact":
            # the closed form holds E||eps||^2 = dim per patch; in r < d coordinates add the missing d - r
            offset = (d - x1.shape[-1]) * sum(weight for _, _, weight in times)

            def exact(W):
                loss, grad = diffusion.loss_and_grad_times(W, x1, x2, times, scale=cfg.scale)
                return loss + offset, grad
            return exact

        def sampled(W, eps):
            return diffusion.sum_over_times(
                lambda alpha, beta: diffusion.loss_and_grad_sampled(W, x1, x2, eps, alpha=alpha, beta=beta,
                                                                    scale=cfg.scale), times)

        if cfg.noise == "fixed":  # the draws lie in the coordinates' span: ||f - eps||^2 needs no offset
            return lambda W: sampled(W, eps)
        if x1.shape[-1] != d:
            raise FldmError("resampled diffusion noise needs the full d-dimensional coordinates")
        shape = x1.shape[:-2] + self.draw_shape(cfg, x1.shape[-2], d)
        return lambda W: sampled(W, rng.standard_normal(shape))

    def hessian_product(self, cfg, x1, x2, d: int):
        if cfg.noise != "exact":
            return None
        objective = getattr(cfg, "objective", "eps")   # TrainConfig has no objective field yet: eps
        return lambda W, V: diffusion.hessian_vector_product(W, V, x1, x2, cfg.diffusion_times, scale=cfg.scale,
                                                             objective=objective)

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
        per = [np.mean(signal[:, 2 * k:2 * k + 2].max(axis=0)) for k in feature_columns(signal)]
        return _summary(per, np.mean(noise.max(axis=0)))

    def metrics(self, cfg, W: np.ndarray, data, rng: np.random.Generator) -> dict:
        return {}


class Classification:
    """The same network with a fixed +-1 second layer on the logistic loss (sims.classification)."""

    name = "classification"

    def weight_shape(self, m: int, d: int) -> tuple:
        return (2, m, d)

    def draw_shape(self, cfg, n: int, d: int) -> None:
        return None

    def draws(self, cfg, n: int, d: int, rng: np.random.Generator) -> None:
        return None

    def work_floats(self, cfg, n: int, d: int) -> int:
        # test error: n_test labels, and (theory.ode) n_test x 2m filter responses, a few times over
        return cfg.n_test * (3 + 6 * cfg.m)

    def stays_in_span(self, cfg) -> bool:
        return True

    def stackable(self, cfg) -> bool:
        return True

    def moves_outside_data(self, cfg) -> bool:
        return False

    def stack_key(self, cfg) -> tuple:
        return ()

    def expected(self, cfg):
        return cfg

    def objective(self, cfg, x1, x2, y, d: int, rng: np.random.Generator, eps: None = None):
        return lambda W: classification.loss_and_grad(W, x1, x2, y)

    def hessian_product(self, cfg, x1, x2, d: int) -> None:
        return None

    def summary(self, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> Summary:
        """signal = mean_j max_r |<w_{j,r}, mu_j>|, noise = mean_i max_r |<w_{y_i,r}, xi_i>| (the output is
        even in each filter, so only |.| matters; own-class filters only); per feature k:
        mean_j max_r |<w_{j,r}, mu_{j,k}>|."""
        own = label_index(y)
        per = [np.mean([np.abs(signal[j, :, 2 * k + j]).max() for j in (0, 1)]) for k in feature_columns(signal)]
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
        return {"test_error": float(wrong.sum() / cfg.n_test),
                "test_error_by_class": [float(w / c) if c else float("nan") for w, c in zip(wrong, count)],
                "train_error": classification.error_rate(W, data.x1, data.x2, data.y)}


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
