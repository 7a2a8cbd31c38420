"""Throughput of sims.train.train_many against the same runs made one by one with sims.train.train.

    python benchmarks/bench_ensemble.py [--S 32] [--steps 3000] [--repeats 3]

S small settings (n = 20, d = 2000, m = 4; seeds 0..S-1, n SNR^2 cycling through 0.25, 0.75, 2.25,
6.75), both models, numpy's BLAS at two threads. Each repeat times the S separate runs and the one
stacked call back to back; medians are reported, with the largest relative difference between the
two results. The times include everything a run does: data, initialisation, gradient descent,
logging and, for the classifier, its test error on n_test = 1000 fresh samples per run (an equal
cost on both sides).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sims.config import TrainConfig
from sims.train import train, train_many

NSNR2 = (0.25, 0.75, 2.25, 6.75)


def largest_difference(separate, stacked) -> float:
    worst = 0.0
    for a, b in zip(separate, stacked):
        for key in ("loss", "grad_norm", "signal", "noise", "W"):
            x, y = getattr(a, key), getattr(b, key)
            worst = max(worst, float(np.max(np.abs(x - y)) / np.max(np.abs(x))))
    return worst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--S", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()}")
    print(
        "| model | S | steps | separate (s) | train_many (s) | throughput ratio | largest relative "
        "difference |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    with threadpool_limits(2, user_api="blas"):
        for model in ("diffusion", "classification"):
            configs = [
                TrainConfig(
                    model=model,
                    n=20,
                    d=2000,
                    m=4,
                    steps=args.steps,
                    log_every=10,
                    seed=s,
                    nsnr2=NSNR2[s % len(NSNR2)],
                )
                for s in range(args.S)
            ]
            t_sep, t_many, diff = [], [], 0.0
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                separate = [train(c) for c in configs]
                t1 = time.perf_counter()
                stacked = train_many(configs)
                t2 = time.perf_counter()
                t_sep.append(t1 - t0)
                t_many.append(t2 - t1)
                diff = max(diff, largest_difference(separate, stacked))
            a, b = float(np.median(t_sep)), float(np.median(t_many))
            print(
                f"| {model} | {args.S} | {args.steps} | {a:.2f} | {b:.2f} | {a / b:.1f}x | "
                f"{diff:.1e} |"
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
