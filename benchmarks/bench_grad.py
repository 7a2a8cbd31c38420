"""One exact loss-and-gradient evaluation: hand-derived numpy against PyTorch autograd, and the
roofline.

    python benchmarks/bench_grad.py [--repeats 60]

float64, two threads for both numpy's BLAS (threadpoolctl) and torch. Every timed call of every case
runs interleaved in one loop (round r times each case once), so a busy neighbour slows all of them
alike; each timed call follows an untimed one of the same case (warm caches, as in training, where
every step reuses the data). Worker threads sleep as soon as a call ends (OPENBLAS_THREAD_TIMEOUT=4,
OMP_WAIT_POLICY=PASSIVE, set below unless already set), else the two libraries' spinning threads
slow each other several-fold. Medians are reported, and numpy's d-sized products of each evaluation
timed alone, which bound what any arrangement of the rest can reach. The machine's
limits are measured in the same loop: the float64 matmul rate of a square numpy product and the
memory read bandwidth of a sum over a 256 MB array. The roofline time of an evaluation is max(flops
/ matmul rate, bytes / bandwidth); flops count the matrix products, bytes the compulsory traffic
(each data matrix read twice: once for the forward products, once for the gradient).
Torch: pip install torch==2.13.0 (the `bench` extra).
"""

from __future__ import annotations

import os

# Two thread pools (numpy's OpenBLAS, torch's OpenMP) share two cores here; by default each spins
# after
# its calls and slows the other one's next call several-fold. Let both go to sleep at once instead.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from sims import classification, diffusion  # noqa: E402
from sims.config import VP  # noqa: E402
from sims.data import make_data  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from torch_oracle import classification_loss, diffusion_loss  # noqa: E402

SIZES = ((20, 2000, 10), (100, 10000, 20))
THREADS = 2


def diffusion_counts(n, d, m):
    """(flops, bytes) of diffusion.loss_and_grad: products Z W^T, W W^T, dA^T Z, S W and the (2n, m)
    x (m, m) ones."""
    N = 2 * n
    flops = 2 * N * d * m * 2 + 2 * m * m * d * 2 + 2 * N * m * m * 4
    nbytes = 8 * (
        2 * N * d + 3 * m * d + m * d
    )  # data read twice, W read three times, gradient written
    return flops, nbytes


def classification_counts(n, d, m):
    """(flops, bytes) of classification.loss_and_grad: 2m filters against both patches, forward and
    back."""
    flops = 4 * 2 * n * d * (2 * m)
    nbytes = 8 * (4 * n * d + 2 * (2 * m) * d + (2 * m) * d)
    return flops, nbytes


def products(name, x1, x2, W):
    """The d-sized matrix products of one numpy evaluation alone (those `*_counts` count), with the
    code's layouts, on coefficients of the right shapes."""
    n, d = x1.shape
    Wf = W.reshape(-1, d)
    k = Wf.shape[0]
    C1, C2, S = np.ones((n, k)), np.ones((n, k)), np.ones((k, k))

    def run():
        A1, A2 = x1 @ Wf.T, x2 @ Wf.T  # A_p = x_p W^T
        grad = C1.T @ x1  # classification: C_1^T x1 + C_2^T x2
        grad += C2.T @ x2
        if name == "diffusion":  # G = W W^T; grad = dA_1^T x1 + dA_2^T x2 + S W
            grad += S @ Wf
            return A1, A2, Wf @ Wf.T, grad
        return A1, A2, grad

    return run


def cases(seed):
    """(name, size, numpy call, torch call, flops, bytes, numpy products) for each size and model;
    checks agreement first."""
    rng = np.random.default_rng(seed)
    out = []
    for n, d, m in SIZES:
        data = make_data(n, d, nsnr2=0.75, rng=rng)
        x1, x2, y = data.x1, data.x2, data.y.astype(float)
        tx1, tx2, ty = (torch.from_numpy(a) for a in (x1, x2, y))
        Wd = rng.standard_normal((m, d)) / np.sqrt(d)
        Wc = rng.standard_normal((2, m, d)) / np.sqrt(d)

        def np_diff(W=Wd, x1=x1, x2=x2):
            return diffusion.loss_and_grad(W, x1, x2, alpha=VP, beta=VP)

        def torch_diff(W=Wd, x1=tx1, x2=tx2):
            Wt = torch.tensor(W, requires_grad=True)
            loss = diffusion_loss(Wt, x1, x2, VP, VP)
            loss.backward()
            return loss.item(), Wt.grad.numpy()

        def np_clf(W=Wc, x1=x1, x2=x2, y=y):
            return classification.loss_and_grad(W, x1, x2, y)

        def torch_clf(W=Wc, x1=tx1, x2=tx2, y=ty):
            Wt = torch.tensor(W, requires_grad=True)
            loss = classification_loss(Wt, x1, x2, y)
            loss.backward()
            return loss.item(), Wt.grad.numpy()

        for name, f_np, f_t, counts in (
            ("diffusion", np_diff, torch_diff, diffusion_counts),
            ("classification", np_clf, torch_clf, classification_counts),
        ):
            (l1, g1), (l2, g2) = f_np(), f_t()
            rel = max(abs(l1 - l2) / abs(l2), np.linalg.norm(g1 - g2) / np.linalg.norm(g2))
            if rel > 1e-10:
                raise SystemExit(
                    f"{name} {n, d, m}: numpy and autograd disagree (relative {rel:.2e})"
                )
            W = Wd if name == "diffusion" else Wc
            out.append(
                (
                    name,
                    (n, d, m),
                    f_np,
                    f_t,
                    *counts(n, d, m),
                    products(name, x1, x2, W),
                )
            )
    return out


def machine_probes(rng):
    """Timed callables for the matmul rate (1000 x 1000 by 1000 x 1000) and the memory read
    bandwidth."""
    a = rng.standard_normal((1000, 1000))
    big = rng.standard_normal(32_000_000)  # 256 MB, far beyond the caches
    return {
        "matmul 1000x1000 (flops)": (lambda: a @ a, 2 * 1000**3),
        "sum of 256 MB (bytes)": (lambda: big.sum(), big.nbytes),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_num_threads(THREADS)
    with threadpool_limits(THREADS, user_api="blas"):
        blas = [
            (i["internal_api"], i.get("architecture"), i["num_threads"])
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ]
        print(
            f"numpy {np.__version__} BLAS {blas}; torch {torch.__version__} "
            f"threads {torch.get_num_threads()}"
        )
        env = {
            k: os.environ.get(k)
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_THREAD_TIMEOUT",
                "OMP_WAIT_POLICY",
            )
        }
        print(f"{env}; load average before: {os.getloadavg()}")
        rng = np.random.default_rng(args.seed)
        work = cases(args.seed)
        probes = machine_probes(rng)
        timers = [
            (f"{name} {size} {impl}", f)
            for name, size, f_np, f_t, _, _, p_np in work
            for impl, f in (("numpy", f_np), ("torch", f_t), ("numpy products", p_np))
        ]
        timers += [(k, f) for k, (f, _) in probes.items()]
        times = {k: [] for k, _ in timers}
        for _ in range(args.repeats):
            for key, f in timers:
                f()  # untimed: the timed call finds its data in cache, as every training step does
                t0 = time.perf_counter()
                f()
                times[key].append(time.perf_counter() - t0)
        med = {k: float(np.median(v)) for k, v in times.items()}
        low = {k: float(np.min(v)) for k, v in times.items()}
    peak_flops = probes["matmul 1000x1000 (flops)"][1] / med["matmul 1000x1000 (flops)"]
    peak_bw = probes["sum of 256 MB (bytes)"][1] / med["sum of 256 MB (bytes)"]
    print(f"load average after: {os.getloadavg()}")
    print(
        f"machine: matmul {peak_flops / 1e9:.1f} GFLOP/s, read bandwidth {peak_bw / 1e9:.1f} GB/s "
        f"(medians of {args.repeats}, {THREADS} threads)"
    )
    mm, bw = "matmul 1000x1000 (flops)", "sum of 256 MB (bytes)"
    print(
        f"fastest of {args.repeats}: matmul {probes[mm][1] / low[mm] / 1e9:.1f}"
        f" GFLOP/s, read bandwidth {probes[bw][1] / low[bw] / 1e9:.1f} GB/s\n"
    )
    print(
        "| model | (n, d, m) | numpy (ms) | autograd (ms) | speedup | GFLOP/s | GB/s "
        "| roofline (ms) | time / roofline "
        "| fastest numpy / autograd (ms) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, size, _, _, flops, nbytes, *_ in work:
        t_np, t_t = med[f"{name} {size} numpy"], med[f"{name} {size} torch"]
        bound = max(flops / peak_flops, nbytes / peak_bw)
        print(
            f"| {name} | {size} | {t_np * 1e3:.3f} | {t_t * 1e3:.3f} | {t_t / t_np:.1f}x | "
            f"{flops / t_np / 1e9:.1f} | {nbytes / t_np / 1e9:.2f} | {bound * 1e3:.3f} | "
            f"{t_np / bound:.2f} | "
            f"{low[f'{name} {size} numpy'] * 1e3:.3f} / {low[f'{name} {size} torch'] * 1e3:.3f} |"
        )

    print(
        "\nnumpy's d-sized products alone, at the shapes of an evaluation (medians): while "
        "they take longer than a third of autograd, no arrangement of the rest reaches 3x\n"
    )
    print(
        "| model | (n, d, m) | products (ms) | their GFLOP/s | rest of numpy (ms) "
        "| autograd / 3 (ms) |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for name, size, _, _, flops, *_ in work:
        t_np, t_t = med[f"{name} {size} numpy"], med[f"{name} {size} torch"]
        p_np = med[f"{name} {size} numpy products"]
        print(
            f"| {name} | {size} | {p_np * 1e3:.3f} | {flops / p_np / 1e9:.1f} | "
            f"{(t_np - p_np) * 1e3:.3f} | {t_t / 3 * 1e3:.3f} |"
        )


if __name__ == "__main__":
    main()
