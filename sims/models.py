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
    summary(signal, noise, y)       the headline alignments (Summary) at one logged step
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
    """Headline alignments at one logged step; ratio = signal / noise (inf when noise is 0)."""

    signal: float
    noise: float
    ratio: float


def _summary(signal: float, noise: float) -> Summary:
    return Summary(float(signal), float(noise), float(signal / noise) if noise != 0 else float("inf"))


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

    def summary(self, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> Summary:
        """signal = mean_j max_r <w_r, mu_j>, noise = mean_i max_r <w_r, xi_i> (the output is odd in W, so
        the sign of an alignment matters)."""
        return _summary(np.mean(signal.max(axis=0)), np.mean(noise.max(axis=0)))

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

    def objective(self, cfg, x1, x2, y, d: int, rng: np.random.Generator, eps: None = None):
        return lambda W: classification.loss_and_grad(W, x1, x2, y)

    def summary(self, signal: np.ndarray, noise: np.ndarray, y: np.ndarray) -> Summary:
        """signal = mean_j max_r |<w_{j,r}, mu_j>|, noise = mean_i max_r |<w_{y_i,r}, xi_i>| (the output is
        even in each filter, so only |.| matters; own-class filters only)."""
        own = label_index(y)
        sig = np.mean([np.abs(signal[j, :, j]).max() for j in (0, 1)])
        noi = np.mean(np.abs(noise[own, :, np.arange(len(y))]).max(axis=1))
        return _summary(sig, noi)

    def metrics(self, cfg, W: np.ndarray, data, rng: np.random.Generator) -> dict:
        """Test error on cfg.n_test fresh samples (drawn 64 at a time) and the training error."""
        wrong = sum(classification.error_rate(W, b.x1, b.x2, b.y) * b.n
                    for b in fresh_batches(data, cfg.n_test, rng))
        return {"test_error": float(wrong / cfg.n_test),
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
