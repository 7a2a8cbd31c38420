"""One exact loss-and-gradient evaluation of the untied and fixed-output denoisers (sims.untied)
against the tied model's (sims.diffusion), in d dimensions and in span coordinates.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_untied.py [--repeats 40]

float64, two BLAS threads (threadpoolctl). Every case's timed calls run interleaved (round r times
each case once, after one untimed call of the same case), so a busy neighbour slows all of them
alike; medians are reported, with the untied/tied ratio per size. Noise prediction on the cosine
schedule with 3 times (the losses are linear in their term weights: one evaluation whatever the
number of times). The span case is what the span engine evaluates: coordinates in an orthonormal
basis of the data and the filters (r = 2 + n + m tied, 2 + n + 2m untied).
The untied products are [A, Q] = Z [W; V]^T (2n x 2m), the 2m x 2m Gram and grad = [dA, dQ]^T Z +
S [W; V]: twice the tied model's 2n x m and m x m products, so about twice its cost in d dimensions.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sims import diffusion, schedules, span, untied
from sims.data import make_data

SIZES = ((20, 2000, 4), (20, 100000, 4), (100, 10000, 20))
THREADS = 2


def cases(seed: int):
    """(size, name, call) for each size: tied, untied, fixed-output, in d dimensions and in span."""
    rng = np.random.default_rng(seed)
    times = schedules.schedule_times("cosine", 3, "eps")
    targets = diffusion.targets_of(times, "eps")
    out = []
    for n, d, m in SIZES:
        data = make_data(n, d, nsnr2=0.75, rng=rng)
        WV = 0.01 * rng.standard_normal((2, m, d))
        W = WV[0].copy()
        for where in ("d", "span"):
            if where == "span":
                Bt, Bu = span.basis(data, W), span.basis(data, WV)
                (dt, Wt, _), (du, WVu, _) = (
                    span.coordinates(Bt, data, W),
                    span.coordinates(Bu, data, WV),
                )
            else:
                dt, Wt, du, WVu = data, W, data, WV
            tied = diffusion.exact_objective(dt.x1, dt.x2, targets, dim=d)
            free = untied.exact_objective(du.x1, du.x2, targets, dim=d)
            fixed = untied.exact_objective(du.x1, du.x2, targets, dim=d, train_output=False)
            size = f"n={n} d={d} m={m} {where}"
            out += [
                (size, "tied", lambda f=tied, X=Wt: f(X)),
                (size, "untied", lambda f=free, X=WVu: f(X)),
                (size, "fixed-output", lambda f=fixed, X=WVu: f(X)),
            ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with threadpool_limits(THREADS, user_api="blas"):
        todo = cases(args.seed)
        times = {(size, name): [] for size, name, _ in todo}
        for _ in range(args.repeats):
            for size, name, call in todo:
                call()  # untimed: warm caches
                start = time.perf_counter()
                call()
                times[(size, name)].append(time.perf_counter() - start)
    print(f"{'size':34s} {'model':13s} {'median ms':>10s} {'/ tied':>7s}")
    for size, name, _ in todo:
        t = np.median(times[(size, name)])
        ratio = t / np.median(times[(size, "tied")])
        print(f"{size:34s} {name:13s} {1e3 * t:10.4f} {ratio:7.2f}")


if __name__ == "__main__":
    main()
