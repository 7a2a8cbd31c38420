"""One step of the noise-augmented classifier with fresh draws: K explicit (2n, d) draws of eps
against the draws the loss and gradient depend on
(sims.classification.loss_and_grad_augmented_resampled).

    python benchmarks/bench_augment.py [--repeats 30] [--K 16]

Default setting of the study (n = 20, d = 2000, m = 4, alpha = beta = 1/sqrt 2); medians of
`--repeats` calls after a warm-up; the explicit version's time includes drawing its K 2n d normals,
as training does. Prints the load average: on the shared 2-core machine a busy neighbour slows these
several-fold.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from sims import classification
from sims.config import TrainConfig
from sims.train import prepare


def median_time(fun, repeats: int) -> float:
    fun()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fun()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--K", type=int, default=16)
    args = parser.parse_args()
    run = prepare(TrainConfig(model="classification", nsnr2=0.75))
    data, W, K = run.data, run.W0, args.K
    kw = dict(alpha=2**-0.5, beta=2**-0.5)
    rng = np.random.default_rng(0)
    explicit = lambda: classification.loss_and_grad_augmented(
        W, data.x1, data.x2, data.y, rng.standard_normal((K, 2 * data.n, data.d)), **kw
    )
    fast = lambda: classification.loss_and_grad_augmented_resampled(
        W, data.x1, data.x2, data.y, K, rng, **kw
    )
    print(
        f"load average {os.getloadavg()[0]:.2f}; n = {data.n}, d = {data.d}, m = {W.shape[1]}, K = "
        f"{K}"
    )
    t_explicit, t_fast = median_time(explicit, args.repeats), median_time(fast, args.repeats)
    print(f"explicit draws ({K * 2 * data.n * data.d} normals): {1e3 * t_explicit:.2f} ms")
    print(
        f"fast draws ({K * 2 * data.n * 2 * W.shape[1] + 2 * W.shape[1] * data.d} normals): "
        f"{1e3 * t_fast:.2f} ms "
        f"({t_explicit / t_fast:.1f}x)"
    )


if __name__ == "__main__":
    main()
