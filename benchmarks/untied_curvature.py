"""The largest Hessian eigenvalue of the tied, untied and fixed-output denoisers late in descent,
in units of the data curvature scale kappa of sims.config.auto_eta (eta_auto = 0.25 / kappa): the
numbers an automatic step size for the untied models has to respect.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/untied_curvature.py [--steps N]

Each setting (n = 20, sigma0 = 0.01, alpha = beta = 1/sqrt 2, Definition 2.1 data, seed 0) descends
on the exact loss in span coordinates (sims.span) with eta = eta_auto / (10 factor), factor the
model's x0-fit factor (sims.diffusion.fit_curvature_factor tied, sims.untied's untied, 1 for the
fixed output), for --steps steps; then the whole Hessian in those coordinates (from the
Hessian-vector products) gives lambda_max. ||grad L|| says how close to stationary the state is.
eta_auto lambda_max = 0.25 lambda_max / kappa: descent at eta_auto / factor is stable where
0.25 lambda_max / (kappa factor) < 2.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sims import diffusion, span, untied
from sims.config import VP, auto_eta
from sims.data import make_data

SETTINGS = [  # (objective, d, m, n SNR^2)
    ("eps", 500, 1, 0.5),
    ("eps", 500, 4, 0.5),
    ("eps", 500, 4, 8.0),
    ("eps", 2000, 4, 0.5),
    ("eps", 2000, 4, 8.0),
    ("x0", 500, 1, 2.0),
    ("x0", 500, 4, 2.0),
]
MODELS = ("tied", "untied", "fixed-output")


def late_curvature(model: str, objective: str, d: int, m: int, nsnr2: float, steps: int):
    """(lambda_max / kappa, ||grad L||, factor) after `steps` steps of descent."""
    n, times = 20, ((VP, VP, 1.0),)
    rng = np.random.default_rng(0)
    data = make_data(n, d, nsnr2=nsnr2, rng=rng)
    WV0 = 0.01 * rng.standard_normal((2, m, d))
    start = WV0[0] if model == "tied" else WV0
    B = span.basis(data, start)
    cdata, X, _ = span.coordinates(B, data, start)
    targets = diffusion.targets_of(times, objective)
    z2 = max(np.max(np.sum(cdata.x1**2, 1)), np.max(np.sum(cdata.x2**2, 1)))
    c = diffusion.output_scale(m)
    if model == "tied":
        fun = diffusion.exact_objective(cdata.x1, cdata.x2, targets, dim=d)
        factor = diffusion.fit_curvature_factor(times, objective, c, z2)
    else:
        train = model == "untied"
        fun = untied.exact_objective(cdata.x1, cdata.x2, targets, dim=d, train_output=train)
        factor = untied.untied_fit_curvature_factor(times, objective, c, z2) if train else 1.0
    kappa = 0.25 / auto_eta(cdata.x1, cdata.x2)
    eta = 0.25 / kappa / factor / 10
    for _ in range(steps):
        loss, grad = fun(X)
        X = X - eta * grad
    size = X.size if model != "fixed-output" else X[0].size
    E = np.eye(X.size).reshape((X.size,) + X.shape)[:size]
    if model == "tied":
        H = diffusion.hessian_vector_product(X, E, cdata.x1, cdata.x2, times, objective=objective)
    else:
        H = untied.hessian_vector_product(
            X, E, cdata.x1, cdata.x2, times, objective=objective, train_output=model == "untied"
        )
    H = H.reshape(size, -1)[:, :size]
    top = np.linalg.eigvalsh((H + H.T) / 2)[-1]
    return top / kappa, float(np.linalg.norm(fun(X)[1])), factor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60000)
    args = parser.parse_args()
    print(
        f"{'objective':9s} {'d':>5s} {'m':>2s} {'nSNR2':>5s} {'model':13s} "
        f"{'lam_max/kappa':>13s} {'|grad|':>9s} {'factor':>6s} {'s':>4s}"
    )
    for objective, d, m, nsnr2 in SETTINGS:
        for model in MODELS:
            start = time.perf_counter()
            ratio, gnorm, factor = late_curvature(model, objective, d, m, nsnr2, args.steps)
            print(
                f"{objective:9s} {d:5d} {m:2d} {nsnr2:5g} {model:13s} {ratio:13.3g} "
                f"{gnorm:9.2e} {factor:6.3g} {time.perf_counter() - start:4.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
