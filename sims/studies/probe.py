"""A linear probe of the learned features, and the "probe" sweep cell that trains a model and probes
it.

Features of a sample x = [x^(1), x^(2)]: phi(x) = (<w, x^(1)>^2, <w, x^(2)>^2) for every filter w of
the trained model (sims.models `filters`: the tied denoiser's m filters, the classifier's 2m, the
first layer's m of the untied models, whose output layer reads no input), i.e. the network's feature
map before the classifier's sum over patches. They are divided by one number, their root mean square
on the training set, and a logistic regression with a bias,
    minimise  (1/n) sum_i log(1 + exp(-y_i (phi_i . v + b))) + (PROBE_L2 / 2) ||v||^2,
is fit on the training set (scipy.optimize, L-BFGS-B, exact gradient) and scored on PROBE_TEST fresh
samples of the training law and on PROBE_TEST fresh samples whose signal patch is always the last
feature (the weak or rare one of claims B4, B5; the out-of-distribution test set).
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np
from scipy import optimize

from sims import DivergenceError, models
from sims.config import TrainConfig
from sims.data import Dataset, fresh_batches
from sims.studies.cells import Cell, Outcome, pack
from sims.studies.sweep import parametrised
from sims.train import train

PROBE_L2 = 1e-2  # the L2 penalty of the probe (on scaled features)
PROBE_TEST = 2000  # fresh samples per probe test set
# the probe's test samples come from SeedSequence([seed, PROBE_STREAM]), apart from training's
PROBE_STREAM = 14
# the cell kind (sims.studies.sweep.CELL_KINDS): the probe's settings are in its cache key
KIND = parametrised("probe", l2=PROBE_L2, n_test=PROBE_TEST)


class ProbeResult(NamedTuple):
    """The probe of one run (`probe`): accuracies on the training set, fresh samples of the training
    law (in distribution) and fresh samples carrying only the last feature (out of distribution)."""

    train_accuracy: float
    in_distribution: float
    out_of_distribution: float
    converged: bool
    features: int
    l2: float
    n_test: int

    @classmethod
    def of(cls, cell: Cell) -> ProbeResult:
        """The probe in a finished probe cell's summary."""
        return cls(**cell.summary["probe"])


def features(filters: np.ndarray, data: Dataset) -> np.ndarray:
    """phi (n, 2F): squared responses of the F filters (F, d) to each patch."""
    return np.hstack([(data.x1 @ filters.T) ** 2, (data.x2 @ filters.T) ** 2])


def fit_logistic(
    X: np.ndarray, y: np.ndarray, l2: float = PROBE_L2
) -> tuple[np.ndarray, float, bool]:
    """(v, b, converged): the minimiser of the penalised mean logistic loss above (labels y in {+1,
    -1})."""
    n, p = X.shape
    y = np.asarray(y, float)

    def loss_and_grad(theta):
        v, b = theta[:p], theta[p]
        margin = y * (X @ v + b)
        loss = np.mean(np.logaddexp(0.0, -margin)) + 0.5 * l2 * v @ v
        # d/dmargin log(1 + e^-margin) = -sigmoid(-margin)
        coef = -y * 0.5 * (1.0 - np.tanh(0.5 * margin)) / n
        return loss, np.append(X.T @ coef + l2 * v, coef.sum())

    sol = optimize.minimize(
        loss_and_grad,
        np.zeros(p + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 10000, "gtol": 1e-10, "ftol": 1e-15},
    )
    return sol.x[:p], float(sol.x[p]), bool(sol.success)


def accuracy(filters, v, b, scale, batches) -> float:
    """Fraction of samples with sign(phi . v + b) = y (0 counts as wrong) over an iterable of
    Datasets."""
    right = total = 0
    for batch in batches:
        right += int(np.sum(batch.y * (features(filters, batch) / scale @ v + b) > 0))
        total += batch.n
    return right / total


def only_last_feature(data: Dataset) -> Dataset:
    """The law of `data` with every signal patch the last feature of its class (freqs one-hot at k =
    K)."""
    K = data.num_features
    return replace(data, freqs=tuple(1.0 if k == K - 1 else 0.0 for k in range(K)))


def probe(
    filters: np.ndarray, data: Dataset, rng: np.random.Generator, n_test: int = PROBE_TEST
) -> dict:
    """Fit the probe on the training data and score it (module docstring); `filters` (F, d) are the
    rows of the model's weights that read the patches (sims.models `filters`)."""
    X = features(filters, data)
    scale = float(np.sqrt(np.mean(X**2))) or 1.0
    v, b, converged = fit_logistic(X / scale, data.y)
    return {
        "train_accuracy": accuracy(filters, v, b, scale, [data]),
        "in_distribution": accuracy(
            filters, v, b, scale, fresh_batches(data, n_test, rng, batch=256)
        ),
        "out_of_distribution": accuracy(
            filters, v, b, scale, fresh_batches(only_last_feature(data), n_test, rng, batch=256)
        ),
        "converged": converged,
        "features": int(X.shape[1]),
        "l2": PROBE_L2,
        "n_test": n_test,
    }


def probe_cell(cfg: TrainConfig) -> Outcome:
    """Train cfg (sims.train.train), pack the run as a "train" cell does, and add the probe to its
    summary."""
    try:
        res = train(cfg)
    except DivergenceError as exc:
        return Outcome.diverged(str(exc))
    out = pack(res, cfg.model)
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, PROBE_STREAM]))
    out.summary["probe"] = probe(models.get(cfg.model).filters(res.W), res.data, rng)
    return out
