"""Peak memory of one run against the size of its data (tracemalloc sees numpy's allocations).

    python benchmarks/bench_memory.py [--steps 300]

A run at n = 100, d = 10^4 (defaults otherwise: m = 4, exact loss, log_every = 10): the peak of all
memory allocated during `train(config)` (data generation included), divided by the bytes of its
training data (x1, x2 and mu). For the classifier the test error on n_test fresh samples is part of
a run; its test set alone is n_test / n times the training data, so it is reported at n_test = 1000
(the default) and at n_test = n. The logged trajectory grows with steps / log_every; `train` refuses
a run whose log would pass sims.train.MAX_LOG_BYTES, and the table shows its size.
"""

from __future__ import annotations

import argparse
import tracemalloc

from sims.config import TrainConfig
from sims.train import train, train_many


def peak(fun):
    """(result, peak bytes allocated while fun runs)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = fun()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, top


def data_bytes(result) -> int:
    return result.data.x1.nbytes + result.data.x2.nbytes + result.data.mu.nbytes


def log_bytes(result) -> int:
    return sum(getattr(result, k).nbytes for k in ("steps", "loss", "grad_norm", "signal", "noise"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    base = dict(n=100, d=10_000, steps=args.steps)
    runs = [
        ("diffusion", TrainConfig(model="diffusion", **base)),
        ("diffusion, m = 20", TrainConfig(model="diffusion", m=20, **base)),
        ("classification, n_test = 1000", TrainConfig(model="classification", **base)),
        ("classification, n_test = 100", TrainConfig(model="classification", n_test=100, **base)),
    ]
    print("| run (n = 100, d = 10^4) | data (MB) | peak (MB) | peak / data | log (MB) |")
    print("|---|---:|---:|---:|---:|")
    for name, cfg in runs:
        result, top = peak(lambda cfg=cfg: train(cfg))
        data = data_bytes(result)
        print(
            f"| {name} | {data / 1e6:.1f} | {top / 1e6:.1f} | {top / data:.2f} | "
            f"{log_bytes(result) / 1e6:.2f} |"
        )
    for S, n, d in ((32, 20, 2000), (8, 100, 10_000)):
        cfgs = [
            TrainConfig(model="diffusion", n=n, d=d, steps=args.steps, seed=s) for s in range(S)
        ]
        results, top = peak(lambda cfgs=cfgs: train_many(cfgs))
        data = sum(data_bytes(r) for r in results)
        print(
            f"| train_many, {S} x (n = {n}, d = {d}) | {data / 1e6:.1f} | {top / 1e6:.1f} | "
            f"{top / data:.2f} | "
            f"{sum(log_bytes(r) for r in results) / 1e6:.2f} |"
        )


if __name__ == "__main__":
    main()
