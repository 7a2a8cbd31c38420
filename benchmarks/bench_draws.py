"""The loss on fixed noise draws, two ways: sims.sampled.loss_and_grad_sampled (the registry's
Monte Carlo form) against sims.memorisation.draw_objective (restructured for draws fixed for the
run), at the memorisation study's sizes.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_draws.py [--repeats 20]

One BLAS thread (as the sweep runs cells), alpha = beta = 1/sqrt 2, the eps target, m = 4; N = 2nK
draws of dimension r (the span basis's width: N plus the data and filters, or d = 200 once the draws
fill the space). CPU time of one thread (`time.process_time`), median of `--repeats` calls after a
warm-up, both forms interleaved. Prints the load average: a busy neighbour on the shared 2-core
machine slows both.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sims import sampled
from sims.config import VP
from sims.memorisation import draw_objective

# (n, K, r): the study's cells at d = 200 (r = the span basis's width, or d)
SIZES = ((4, 1, 18), (10, 16, 200), (40, 16, 200), (4, 256, 200), (26, 64, 200))
M = 4


def median_cpu(fun, repeats: int) -> float:
    fun()
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fun()
        times.append(time.process_time() - t)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()}")
    rng = np.random.default_rng(0)
    print("| n | K | N = 2nK | r | sampled | draw_objective | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with threadpool_limits(1):
        for n, K, r in SIZES:
            W = 0.3 * rng.standard_normal((M, r))
            x1, x2 = rng.standard_normal((n, r)), rng.standard_normal((n, r))
            eps = rng.standard_normal((K, 2 * n, r))
            fast = draw_objective(x1, x2, eps, ((VP, VP, 1.0),))

            def slow(W=W, x1=x1, x2=x2, eps=eps):
                return sampled.loss_and_grad_sampled(W, x1, x2, eps, alpha=VP, beta=VP)

            a = median_cpu(slow, args.repeats)
            b = median_cpu(lambda fast=fast, W=W: fast(W), args.repeats)
            print(
                f"| {n} | {K} | {2 * n * K} | {r} | {a * 1e3:.3f} ms | {b * 1e3:.3f} ms | "
                f"{a / b:.1f}x |"
            )


if __name__ == "__main__":
    main()
