"""A whole gradient-descent trajectory at growing d: the span engine against d-dimensional descent.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_trajectory.py [--dims 1e3
    1e4 1e5 1e6]

The run: the exact diffusion loss, n = 20, m = 4, n SNR^2 = 0.75, 3000 steps logged every 30, with
sigma0^2 d fixed (sigma0 = 0.01 sqrt(2000 / d), so every d follows the same trajectory). For each d:
- data: generating the data alone (sims.train.build_data), the floor of any run;
- span: `fldm train`'s default engine, the whole run (data, basis, 3000 steps, logging, the weights
mapped
  back to d dimensions), and its cost per step (from a run of 3000 steps minus one of 1 step);
- full: the same run in d dimensions (sims.train with engine "full");
- torch: descent with PyTorch autograd of the same closed-form loss (tests/torch_oracle.py),
float64;
- jax: the same with jax.jit(jax.value_and_grad(...)), float64 (if jax is installed).
`--parts`: instead, where a span run's time goes at each d (data, initial weights, basis,
coordinates, step
size, the 3000 steps, the whole run), each the minimum of `--repeats` calls.
`--one span|torch|imports|torch-imports` (at the first of --dims): only that, for timing whole
processes from outside (A and B in turn, e.g. with /usr/bin/time -v), start-up subtracted:
(torch - torch-imports) / (span - imports); `--one torch` takes the span run's step size, `--eta`,
which `--one span` prints.
The d-dimensional methods run `--probe` steps (after one warm-up step) and are extrapolated to 3000
(marked
*); data generation is counted once in each. Two BLAS threads; each figure is the minimum of
`--repeats`
runs (the machine is shared: the minimum is the run least slowed by neighbours).
Install: pip install -e ".[bench]" (torch==2.13.0; jax if it installs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault(
    "OPENBLAS_THREAD_TIMEOUT", "4"
)  # see bench_grad.py: let idle BLAS/OpenMP threads sleep
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from sims.config import TrainConfig  # noqa: E402
from sims.train import build_data, initial_weights, prepare, seeds, train  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

STEPS = 3000


def config(d: int) -> TrainConfig:
    return TrainConfig(
        model="diffusion",
        n=20,
        d=d,
        m=4,
        nsnr2=0.75,
        sigma0=0.01 * np.sqrt(2000 / d),
        steps=STEPS,
        log_every=30,
    )


def best_time(fun, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fun()
        times.append(time.perf_counter() - start)
    return float(np.min(times))


def torch_descent(cfg: TrainConfig, steps: int):
    """A function running `steps` steps of autograd descent (the data and W0 of cfg's run), and its
    eta."""
    import torch
    from torch_oracle import diffusion_loss

    run = prepare(cfg)
    x1, x2 = torch.tensor(run.data.x1), torch.tensor(run.data.x2)

    def descend():
        W = torch.tensor(run.W0, requires_grad=True)
        for _ in range(steps):
            loss = diffusion_loss(W, x1, x2, cfg.alpha, cfg.beta)
            (grad,) = torch.autograd.grad(loss, W)
            with torch.no_grad():
                W -= run.eta * grad
        return W

    return descend


def jax_descent(cfg: TrainConfig, steps: int):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    run = prepare(cfg)
    x1, x2 = jnp.asarray(run.data.x1), jnp.asarray(run.data.x2)
    alpha, beta = cfg.alpha, cfg.beta

    def loss(W):  # eq. (E) of sims.diffusion, literally (as tests/torch_oracle.py)
        n, d = x1.shape
        c = 1.0 / W.shape[0]
        a = jnp.concatenate([x1 @ W.T, x2 @ W.T])
        G = W @ W.T
        g = jnp.diagonal(G)
        ar, as_ = a[:, :, None], a[:, None, :]
        gr, gs = g[:, None], g[None, :]
        bracket = (
            alpha**4 * ar**2 * as_**2
            + alpha**2 * beta**2 * (ar**2 * gs + as_**2 * gr + 4 * ar * as_ * G)
            + beta**4 * (gr * gs + 2 * G**2)
        )
        per_patch = (
            d - 4 * c * alpha * beta * (a * g).sum(axis=1) + c**2 * (G * bracket).sum(axis=(1, 2))
        )
        return per_patch.sum() / (2 * n)

    step = jax.jit(lambda W: W - run.eta * jax.grad(loss)(W))

    def descend():
        W = jnp.asarray(run.W0)
        for _ in range(steps):
            W = step(W)
        return W.block_until_ready()

    step(jnp.asarray(run.W0)).block_until_ready()  # compile outside the timing
    return descend


def parts(d: int, repeats: int) -> dict:
    """Seconds (minimum of `repeats`) of each part of a span run at d, and of the whole run."""
    from sims import span
    from sims.stepsize import auto_step
    from sims.train import initial_weights

    cfg = config(d)
    data = build_data(cfg, seeds(cfg.seed)["data"])
    W0 = initial_weights(cfg, d, seeds(cfg.seed)["init"])
    B = span.basis(data, W0)
    coords = span.coordinates(B, data, W0)
    out = {
        "data": best_time(lambda: build_data(cfg, seeds(cfg.seed)["data"]), repeats),
        "initial weights": best_time(
            lambda: initial_weights(cfg, d, seeds(cfg.seed)["init"]), repeats
        ),
        "basis": best_time(lambda: span.basis(data, W0), repeats),
        "coordinates": best_time(lambda: span.coordinates(B, data, W0), repeats),
        "step size": best_time(lambda: auto_step(cfg, data, W0, None, coords), repeats),
        "run": best_time(lambda: train(cfg), repeats),
    }
    out["steps"] = out["run"] - best_time(
        lambda cfg=cfg: train(cfg.replace(steps=1, log_every=1)), repeats
    )
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=float, nargs="+", default=[1e3, 1e4, 1e5, 1e6])
    parser.add_argument(
        "--probe", type=int, default=30, help="steps timed for the d-dimensional methods"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--parts", action="store_true", help="where a span run's time goes, per d")
    parser.add_argument(
        "--one",
        choices=ONE,
        help="only this, at the first of --dims, to time as a whole process (module docstring)",
    )
    parser.add_argument("--eta", type=float, help="--one torch: the span run's step size")
    args = parser.parse_args(argv)
    if args.one:
        return one(args.one, int(args.dims[0]), args.eta)
    with threadpool_limits(2):
        kernels = {(i["internal_api"], i.get("architecture")) for i in threadpool_info()}
        print(
            f"BLAS: {sorted(kernels)}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}; "
            f"load average before: {os.getloadavg()}"
        )
        (print_parts if args.parts else print_table)(args)
        print(f"load average after: {os.getloadavg()}")


ONE = ("span", "torch", "imports", "torch-imports")


def one(what: str, d: int, eta: float | None) -> None:
    """One thing in this process, timed from outside: the span run (it prints its eta), autograd
    descent on the same data and W0 with that eta (data and W0 drawn as the span run draws them, not
    the span run's basis and step size), or only their imports (the start-up to subtract)."""
    if what == "torch-imports":
        import torch  # noqa: F401
        from torch_oracle import diffusion_loss  # noqa: F401
    if what in ("imports", "torch-imports"):
        return
    cfg = config(d)
    with threadpool_limits(2):
        if what == "span":
            print(f"eta {train(cfg).extra['eta']!r}")
            return
        import torch
        from torch_oracle import diffusion_loss

        if eta is None:
            raise SystemExit("--one torch needs --eta (the span run prints it)")
        torch.set_num_threads(2)
        rngs = seeds(cfg.seed)
        data = build_data(cfg, rngs["data"])
        x1, x2 = torch.tensor(data.x1), torch.tensor(data.x2)
        W = torch.tensor(initial_weights(cfg, d, rngs["init"]), requires_grad=True)
        for _ in range(cfg.steps):
            loss = diffusion_loss(W, x1, x2, cfg.alpha, cfg.beta)
            (grad,) = torch.autograd.grad(loss, W)
            with torch.no_grad():
                W -= eta * grad
        print(f"loss {float(loss)!r}")


def print_parts(args) -> None:
    for d in (int(v) for v in args.dims):
        t = parts(d, args.repeats)
        print(
            f"d = {d:.0e}: "
            + ", ".join(f"{k} {v:.3f} s" for k, v in t.items())
            + f"; run / data {t['run'] / t['data']:.2f}",
            flush=True,
        )


def print_table(args) -> None:
    have_jax = True
    try:
        import jax  # noqa: F401
    except ImportError:
        have_jax = False
    print(
        f"{'d':>9} | {'data':>7} | {'span run':>8} | {'span/data':>9} | {'per step':>9} | "
        f"{'full run':>9} | "
        f"{'torch run':>9} | {'jax run':>9} | {'torch/span':>10}"
    )
    for d in (int(v) for v in args.dims):
        cfg = config(d)
        t_data = best_time(lambda cfg=cfg: build_data(cfg, seeds(cfg.seed)["data"]), args.repeats)
        t_span = best_time(lambda cfg=cfg: train(cfg), args.repeats)
        t_one = best_time(lambda cfg=cfg: train(cfg.replace(steps=1, log_every=1)), args.repeats)
        per_step = (t_span - t_one) / (STEPS - 1)
        probe = cfg.replace(steps=args.probe, log_every=args.probe, engine="full")
        t_probe = best_time(lambda probe=probe: train(probe), args.repeats)
        t_full1 = best_time(
            lambda probe=probe: train(probe.replace(steps=1, log_every=1)), args.repeats
        )
        t_full = t_full1 + (t_probe - t_full1) * (STEPS - 1) / (args.probe - 1)
        t_torch = t_jax = float("nan")
        if not args.no_torch:
            fun = torch_descent(cfg, args.probe)
            t_torch = t_data + best_time(fun, args.repeats) * STEPS / args.probe
        if have_jax:
            fun = jax_descent(cfg, args.probe)
            t_jax = t_data + best_time(fun, args.repeats) * STEPS / args.probe
        print(
            f"{d:>9.0e} | {t_data:>6.3f}s | {t_span:>7.3f}s | {t_span / t_data:>9.2f} | "
            f"{per_step * 1e6:>7.1f}us | {t_full:>8.2f}s* | {t_torch:>8.2f}s* | {t_jax:>8.2f}s* | "
            f"{t_torch / t_span:>10.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
