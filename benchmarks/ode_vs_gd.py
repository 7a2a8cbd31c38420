"""Wall time of the reduced alignment ODE (theory.ode.run_ode) against d-dimensional gradient
descent (sims.train.train) for the same setting, at d = 1e3, 1e5, 1e6.

    python benchmarks/ode_vs_gd.py [--model diffusion] [--steps 3000] [--gd-steps 3000 300 30]

Defaults: n = 20, m = 4, n SNR^2 = 0.75, auto eta, 3000 steps logged every 10, and sigma0 = 0.01
sqrt(2000 / d) so that ||w_r||^2 ~ sigma0^2 d = 0.2 as in the default d = 2000 setting (with sigma0
= 0.01 at d >= 1e5 the initial weights are large, ||w_r||^2 >= 10, and their curvature sets a much
smaller auto eta). Gradient descent costs O(d) per step, so at large d it runs fewer steps
(--gd-steps, one per d) and its time for all the steps is extrapolated linearly (marked "*"); the
ODE always covers the full run. The ODE's time is split into the setup (the data basis, O(d k^2),
and the lift of W back to d dimensions) and the integration, which does not depend on d. The last
column compares both at the last step GD ran. Times are medians of --repeats runs (the machine may
be shared).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sims.config import TrainConfig
from sims.train import build_data, initial_weights, seeds, train
from theory import reduced
from theory.ode import flow, logged_steps, run_ode


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="diffusion", choices=("diffusion", "classification"))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--dims", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    ap.add_argument("--gd-steps", type=int, nargs="+", default=[3000, 300, 30])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    print(f"model={args.model} n=20 m=4 nSNR2=0.75 sigma0=0.01*sqrt(2000/d) steps={args.steps}")
    print(
        f"{'d':>9} | {'data (s)':>8} | {'GD steps':>8} | {'GD (s)':>9} | {'ODE setup':>9} | "
        f"{'ODE integ':>9} | {'ODE total':>9} | {'speed-up':>8} | max |ODE-GD| alignment"
    )
    for d, gd_steps in zip(args.dims, args.gd_steps):
        cfg = TrainConfig(
            model=args.model,
            d=d,
            nsnr2=0.75,
            steps=args.steps,
            n_test=100,
            sigma0=0.01 * np.sqrt(2000 / d),
        )
        rngs = seeds(cfg.seed)
        t_data, data = timed(lambda cfg=cfg, rngs=rngs: build_data(cfg, rngs["data"]), 1)
        W0 = initial_weights(cfg, d, rngs["init"])
        short = cfg.replace(steps=min(gd_steps, args.steps), log_every=min(gd_steps, args.steps))
        t_gd, gd = timed(
            lambda short=short, data=data, W0=W0: train(short, data=data, W0=W0),
            args.repeats if d < 1e5 else 1,
        )
        t_gd_all = t_gd * args.steps / short.steps
        t_ode, ode = timed(
            lambda cfg=cfg, data=data, W0=W0: run_ode(cfg, data=data, W0=W0), args.repeats
        )
        # the d-independent part alone: integrate the already reduced system
        red, Wr0 = reduced.reduce(cfg, data, W0)
        eta = gd.extra["eta"]
        t_int, _ = timed(
            lambda red=red, Wr0=Wr0, eta=eta, cfg=cfg: flow(
                red, Wr0, eta * logged_steps(cfg.steps, cfg.log_every)
            ),
            args.repeats,
        )
        i = int(np.searchsorted(ode.steps, short.steps))
        gap = max(
            np.abs(ode.signal[i] - gd.signal[-1]).max(), np.abs(ode.noise[i] - gd.noise[-1]).max()
        )
        mark = "*" if short.steps < args.steps else " "
        print(
            f"{d:>9} | {t_data:8.2f} | {short.steps:>8} | {t_gd_all:8.2f}{mark} | "
            f"{t_ode - t_int:9.2f} | "
            f"{t_int:9.2f} | {t_ode:9.2f} | {t_gd_all / t_ode:7.0f}x | {gap:.2e} (step "
            f"{short.steps})"
        )


if __name__ == "__main__":
    main()
