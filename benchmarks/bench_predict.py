"""Wall time of `fldm predict diffusion` (theory.predict.predict) for m up to 32 and n up to 40,
split into the long-time flow (theory.ode.long_flow, the Runge-Kutta-Chebyshev integrator of
theory.rkc) and the stationary-point analysis (theory.stationary.analyse: closed-form Hessian, its
spectrum, Newton refinement).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_predict.py [--cases
    M,N,NSNR2 ...]
        [--lsoda M,N,NSNR2]

Defaults: d = 2000, seed 0, auto eta, and the issue's cases. --lsoda also times the previous
long-time integration (LSODA with finite-difference Jacobians, theory.ode.flow with the same times
and tolerances) for one case, capped at --lsoda-cap seconds. The machine may be shared: the load
average is printed before and after, and times are single runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import time

import numpy as np
from threadpoolctl import threadpool_info

from sims.config import TrainConfig
from sims.train import prepare
from theory import predict, reduced
from theory.ode import flow

CASES = [
    "4,20,0.75",
    "4,20,0.0075",
    "16,20,67.5",
    "32,20,0.075",
    "32,20,67.5",
    "32,40,0.75",
    "32,40,67.5",
]


def parse(case: str):
    m, n, nsnr2 = case.split(",")
    return int(m), int(n), float(nsnr2)


def timed_parts():
    """Wrap the flow and the analysis that predict calls, recording their wall times."""
    times = {}

    def wrap(name, fn):
        def inner(*a, **k):
            t = time.perf_counter()
            out = fn(*a, **k)
            times[name] = time.perf_counter() - t
            return out

        return inner

    predict.long_flow = wrap("flow", predict.long_flow)
    predict.analyse = wrap("analysis", predict.analyse)
    return times


class Cap(Exception):
    pass


def lsoda_time(cfg: TrainConfig, cap: float) -> str:
    """The previous long-time integration of predict (LSODA, rtol 1e-8, atol 1e-11, to ||grad L|| <
    1e-10), stopped after `cap` seconds."""
    run = prepare(cfg)
    red, Wr0 = reduced.reduce(cfg, run.data, run.W0)
    taus = np.concatenate(
        [[0.0], np.geomspace(1e-3 * run.eta, predict.HORIZON_STEPS * run.eta, 1200)]
    )

    def stop(signum, frame):
        raise Cap

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(int(cap))
    t = time.perf_counter()
    try:
        _, _, status = flow(red, Wr0, taus, gtol=predict.GTOL, rtol=1e-8, atol=1e-11)
    except Cap:
        status = "stopped at the cap"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return f"{time.perf_counter() - t:.1f} s ({status})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=CASES, help="m,n,nsnr2 triples")
    ap.add_argument(
        "--lsoda",
        nargs="*",
        default=[],
        help="m,n,nsnr2 triples to time with the previous LSODA too",
    )
    ap.add_argument("--lsoda-cap", type=float, default=600.0)
    args = ap.parse_args(argv)

    blas = [
        (i["internal_api"], i.get("architecture"), i["num_threads"])
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    print(
        f"BLAS {blas}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}; load average {os.getloadavg()}"
    )
    times = timed_parts()
    print(
        f"{'m':>3} {'n':>3} {'nSNR2':>7} | {'total (s)':>9} | {'flow (s)':>8} | "
        f"{'analysis (s)':>12} | "
        f"{'state size':>10} | result"
    )
    for case in args.cases:
        m, n, nsnr2 = parse(case)
        cfg = TrainConfig(m=m, n=n, nsnr2=nsnr2)
        times.clear()
        t = time.perf_counter()
        p = predict.predict(cfg)
        total = time.perf_counter() - t
        s = p.stationary
        what = (
            f"{s.branch} {s.groups}, Morse index {s.morse_index}, ratio {s.ratio:.4g}"
            if s.found
            else s.reason[:70]
        )
        print(
            f"{m:>3} {n:>3} {nsnr2:>7g} | {total:>9.1f} | {times.get('flow', 0):>8.1f} | "
            f"{times.get('analysis', 0):>12.1f} | {m * (n + 2 + m):>10} | {what}",
            flush=True,
        )
    for case in args.lsoda:
        m, n, nsnr2 = parse(case)
        print(
            f"previous LSODA long-time integration, m={m} n={n} nSNR2={nsnr2}: "
            f"{lsoda_time(TrainConfig(m=m, n=n, nsnr2=nsnr2), args.lsoda_cap)}",
            flush=True,
        )
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
