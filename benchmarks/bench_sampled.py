"""One resampled-noise step against one exact step: direct draws versus drawing only what the result
needs.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sampled.py [--repeats 200]

Four loss-and-gradient evaluations of the diffusion loss (alpha = beta = 1/sqrt 2, K = 16 draws per
patch), at (n, d, m) = (20, 2000, 4) and (100, 10000, 20):
  exact      sims.diffusion.loss_and_grad (the expectation in closed form),
  direct     rng.standard_normal((K, 2n, d)) then sims.sampled.loss_and_grad_sampled (what `--noise
             resampled` does now),
  resampled  sims.sampled.loss_and_grad_resampled (the same law, m (2nK + d) + 2 normals),
  flow       the same with the flow-matching target (a, b) = (-1, 1), whose loss has a cross term
             (another route: an orthonormal basis of the draws' coefficients instead of a square
             root).
Weights are sigma0 = 0.01 initial weights plus a grown part in the data span. Two BLAS threads
(--threads). All cases run interleaved, round by round (a busy neighbour slows all alike), each
timed call after an untimed one; medians (and the fastest) are reported. `--clock cpu` times the
process's CPU time instead of the wall clock: with `--threads 1` that is the work of the one thread,
which a busy neighbour changes less (the wall clock of a two-thread OpenBLAS call can grow ten-fold
on a loaded machine). The direct case at the large size draws 3.2e7 normals a call, so it runs only
every `--direct-every` rounds. The BLAS kernel comes from threadpoolctl; the machines here set
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which slow current OpenBLAS, so unset them for this command
only (never in the tests).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from sims import diffusion, sampled
from sims.config import VP
from sims.data import make_data

SIZES = ((20, 2000, 4), (100, 10000, 20))
K = 16
THREADS = 2


def cases(seed):
    """(name, size, callable) for each size and evaluation."""
    rng = np.random.default_rng(seed)
    out = []
    for n, d, m in SIZES:
        data = make_data(n, d, nsnr2=0.75, rng=rng)
        x1, x2 = data.x1, data.x2
        Z = np.concatenate([x1, x2])
        W = 0.01 * rng.standard_normal((m, d)) + 0.1 * rng.standard_normal(
            (m, 2 * n)
        ) @ Z / np.sqrt(d)
        noise = np.random.default_rng(seed + 1)
        out += [
            (
                "exact",
                (n, d, m),
                lambda W=W, x1=x1, x2=x2: diffusion.loss_and_grad(W, x1, x2, alpha=VP, beta=VP),
            ),
            (
                "direct",
                (n, d, m),
                lambda W=W, x1=x1, x2=x2, n=n, d=d, noise=noise: sampled.loss_and_grad_sampled(
                    W, x1, x2, noise.standard_normal((K, 2 * n, d)), alpha=VP, beta=VP
                ),
            ),
            (
                "resampled",
                (n, d, m),
                lambda W=W, x1=x1, x2=x2, noise=noise: sampled.loss_and_grad_resampled(
                    W, x1, x2, K, noise, alpha=VP, beta=VP
                ),
            ),
            (
                "flow",
                (n, d, m),
                lambda W=W, x1=x1, x2=x2, noise=noise: sampled.loss_and_grad_resampled(
                    W, x1, x2, K, noise, alpha=VP, beta=VP, target=(-1.0, 1.0)
                ),
            ),
        ]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument(
        "--direct-every", type=int, default=10, help="time the large direct case every k rounds"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args(argv)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    with threadpool_limits(args.threads, user_api="blas"):
        blas = [
            (i["internal_api"], i.get("version"), i.get("architecture"), i["num_threads"])
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ]
        env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
        print(f"numpy {np.__version__}, BLAS {blas}, {env}; load average before: {os.getloadavg()}")
        work = cases(args.seed)
        times = {(name, size): [] for name, size, _ in work}
        for r in range(args.repeats):
            for name, size, f in work:
                if name == "direct" and size != SIZES[0] and r % args.direct_every:
                    continue
                f()  # untimed: warm caches, as in training
                t0 = clock()
                f()
                times[name, size].append(clock() - t0)
    print(
        f"load average after: {os.getloadavg()}; {args.clock} clock, {args.threads} BLAS "
        f"thread(s)\n"
    )
    names = ("exact", "direct", "resampled", "flow")
    print(
        f"| (n, d, m), K = {K} | exact (ms) | direct resampled (ms) | new resampled (ms) | new / "
        f"exact "
        f"| direct / new | new, flow target (ms) | flow / exact | fastest exact / direct / new / "
        f"flow (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in SIZES:
        med = {name: 1e3 * float(np.median(times[name, size])) for name in names}
        low = {name: 1e3 * float(np.min(times[name, size])) for name in names}
        print(
            f"| {size} | {med['exact']:.3f} | {med['direct']:.1f} | {med['resampled']:.3f} | "
            f"{med['resampled'] / med['exact']:.2f}x | {med['direct'] / med['resampled']:.0f}x | "
            f"{med['flow']:.3f} | {med['flow'] / med['exact']:.2f}x | "
            f"{low['exact']:.3f} / {low['direct']:.1f} / {low['resampled']:.3f} / "
            f"{low['flow']:.3f} |"
        )
    print(f"\nrounds: {args.repeats} (large direct case: {len(times['direct', SIZES[1]])})")


if __name__ == "__main__":
    main()
