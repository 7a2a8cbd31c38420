"""CPU time per descent step: the loop alone, span runs, stacked runs and resampled noise.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_steps.py [--repeats 3]

Each figure is the CPU time (time.process_time) of a run of `steps` steps minus that of a one-step
run (the minimum of --repeats each), divided by steps - 1, on one BLAS thread (as the sweeps run
cells). CPU time moves less than the wall clock when neighbours share the cores. To compare two
versions of the code, run this file with PYTHONPATH pointing at each checkout in turn (A B A B ...).

  loop, log_every L   sims.descent.descend on a trivial objective (a constant gradient on a 4 x 26
                      stack of one): the loop's own cost, logging every L steps
  span 1e5            `fldm train`'s default (span) engine: exact diffusion loss, n = 20, d = 1e5,
                      m = 4, logged every 30 steps (bench_trajectory's run)
  classification      the classifier, n = 20, d = 2000, m = 4, span engine, logged every 30 steps
  stack 16, L         train_many of 16 diffusion runs (n = 20, d = 2000, m = 4), logged every L
                      steps: per step of the stack, not per member
  resampled           diffusion with fresh draws every step (K = 16, d-dimensional), n = 20,
                      d = 2000, m = 4, 300 steps
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from sims.config import TrainConfig
from sims.descent import descend
from sims.train import train, train_many


def loop(log_every: int):
    """A run of the loop alone on a constant gradient: (run of k steps) -> None."""
    W0 = 0.01 * np.random.default_rng(0).standard_normal((1, 4, 26))
    loss, grad = np.array([1.0]), np.full((1, 4, 26), 1e-6)
    fun = lambda members: lambda W: (loss, grad)  # noqa: E731
    align = lambda members, W: (W[..., :2], W[..., 2:])  # noqa: E731
    return lambda steps: descend(fun, W0, 1e-3, 0.0, steps=steps, log_every=log_every, align=align)


def runs(configs):
    """(run of k steps) -> None for one config (train) or a list (train_many)."""

    def run(steps):
        if isinstance(configs, list):
            train_many([c.replace(steps=steps) for c in configs])
        else:
            train(configs.replace(steps=steps))

    return run


def cases() -> dict:
    """name -> (run of k steps, steps)."""
    d = 100_000
    span = TrainConfig(n=20, d=d, m=4, nsnr2=0.75, sigma0=0.01 * np.sqrt(2000 / d), log_every=30)
    small = dict(n=20, d=2000, m=4, nsnr2=0.75)
    stack = lambda log_every: [  # noqa: E731
        TrainConfig(seed=s, log_every=log_every, **small) for s in range(16)
    ]
    out = {f"loop, log_every {k}": (loop(k), 30_000) for k in (1, 6, 30)}
    out["span 1e5"] = (runs(span), 3000)
    out["classification"] = (runs(TrainConfig(model="classification", log_every=30, **small)), 3000)
    out.update({f"stack 16, log_every {k}": (runs(stack(k)), 1000) for k in (1, 30)})
    resampled = TrainConfig(noise="resampled", noise_samples=16, log_every=30, **small)
    out["resampled"] = (runs(resampled), 300)
    return out


def cpu(fun, steps: int) -> float:
    start = time.process_time()
    fun(steps)
    return time.process_time() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="+", help="names (or their beginnings) of cases to run")
    args = parser.parse_args(argv)
    with threadpool_limits(1):
        kernels = sorted({(i["internal_api"], i.get("architecture")) for i in threadpool_info()})
        print(f"BLAS: {kernels}, one thread; load average before: {os.getloadavg()}")
        for name, (fun, steps) in cases().items():
            if args.only and not any(name.startswith(o) for o in args.only):
                continue
            fun(1)  # warm-up: imports, caches
            full = min(cpu(fun, steps) for _ in range(args.repeats))
            one = min(cpu(fun, 1) for _ in range(args.repeats))
            per_step = (full - one) / (steps - 1)
            print(f"{name:24s} {per_step * 1e6:8.1f} us a step", flush=True)
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
