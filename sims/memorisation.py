"""What a denoiser memorises, measured with the exact loss: the losses a set of weights has on its
fixed noise draws, in expectation over the diffusion noise, and on fresh data.

For weights W of a denoiser trained on n samples with K noise draws eps_p fixed for the run (p =
(k, j), k = 1..K, j over the 2n patches z_j; `--noise fixed`), three losses of the same W:

    L_fix(W) = 1/(2nK) sum_p ||f(W, alpha z_j + beta eps_p) - a z_j - b eps_p||^2  (it trains on)
    L(W)     = 1/(2n) sum_j E_eps ||f(W, alpha z_j + beta eps) - a z_j - b eps||^2  (sims.diffusion)
    l_new(W) = E_xi l(W, xi), xi a fresh noise patch of the data's law, l the exact per-patch loss

and two gaps, each a difference of what the run has seen and what it has not:

    draw gap  D_draws(W) = L(W) - L_fix(W): how much lower the loss is on the draws the run trained
              on than over the noise it did not see (0 for the exact loss, which has no draws);
    data gap  D_data(W)  = l_new(W) - (1/n) sum_i l(W, xi_i): how much lower the exact loss is on
              the training noise patches xi_i than on a fresh one (signal patches are the same
              vectors mu_y in training and in fresh samples, so only the noise patches can be
              memorised).

`memorisation` turns them into numbers comparable across n, K and widths: each gap minus its value
at the initial weights, in units of the exact loss's attainable decrease L(W0) - L(W*), W* the
stationary point of the exact loss from the same data and W0 (theory.ode). The expectation over a
fresh patch is a caller's Monte Carlo mean over fresh patches drawn once per run and used at every
W of it (common random numbers: the estimate moves smoothly with W, and its error is that of a mean
over those patches); it needs nothing but the model's exact objective (`Objectives`), so it serves
any model of the registry. Constants that do not depend on W (e.g. a^2 ||z||^2 of a patch given in
coordinates that miss part of it) cancel in the subtraction at W0.

`draw_objective` is the loss on fixed draws restructured for draws that do not change: per step it
reads the draws twice (Q = E W^T and the gradient's E^T part) and forms no (2nK x d) temporary; it
equals sims.sampled.loss_and_grad_sampled summed over the times (tested to rounding), and is about
5.5 times faster from a few hundred draws on (benchmarks/bench_draws.py: 320 to 3 328 draws in 200
dimensions, one thread); for a handful of draws in a small basis its extra numpy calls make it
slower (8 draws in 18 dimensions: 40 µs against 17 µs a call).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sims.diffusion import _T, output_scale, targets_of


def draw_objective(x1, x2, eps, times, objective: str = "eps", scale: float | None = None):
    """W -> (L_fix, grad L_fix): the loss on fixed draws eps (..., K, 2n, r) (rows 0..n-1 of each
    draw noise the signal patches x1, rows n..2n-1 the noise patches x2), summed over times =
    ((alpha, beta, weight), ...) with the target a x0 + b eps of `objective` at each time.

    With Z = [x1; x2] (2n x r), A = Z W^T, Q_p = eps_p W^T, h_p = alpha A_j + beta Q_p, P = h^2 and
    lin_p = a A_j + b Q_p (the filters' response to the target), for one time
        N L_fix = sum_p [c^2 P_p^T G P_p - 2c P_p . lin_p] + sum_p ||a z_j + b eps_p||^2,
    N = 2nK, G = W W^T, and its gradient (B_p = 2 h_p (2c^2 G P_p - 2c lin_p))
        N grad = 2c^2 (sum_p P_p P_p^T) W + sum_j (alpha sum_k B_(k,j) - 2ca sum_k P_(k,j)) z_j^T
                 + sum_p (beta B_p - 2cb P_p) eps_p^T.
    Stacks: leading axes of W, x1, x2 and eps index independent runs.
    """
    Z = np.concatenate([x1, x2], axis=-2)
    K, n2, r = eps.shape[-3:]
    N = K * n2
    E = eps.reshape(eps.shape[:-3] + (N, r))
    targets = targets_of(times, objective)
    # the constant sum_p ||a z_j + b eps_p||^2, weighted over the times
    zz = np.einsum("...jr,...jr->...", Z, Z)
    ee = np.einsum("...pr,...pr->...", E, E)
    ze = np.einsum("...jr,...kjr->...", Z, eps)
    const = sum(w * (a * a * K * zz + 2 * a * b * ze + b * b * ee) for _, _, w, a, b in targets)

    def fun(W):
        m = W.shape[-2]
        c = output_scale(m, scale)
        Wt = _T(W)
        A = (Z @ Wt)[..., None, :, :]  # (..., 1, 2n, m)
        Q = (E @ Wt).reshape(E.shape[:-2] + (K, n2, m))  # <w_r, eps_p>
        G = W @ Wt
        total = const
        M = CZ = CE = None
        for alpha, beta, w, a, b in targets:
            H = alpha * A + beta * Q
            P = H * H
            PG = P @ G[..., None, :, :]
            lin = b * Q if a == 0 else a * A + b * Q
            total = total + w * (
                c * c * np.einsum("...kjr,...kjr->...", PG, P)
                - 2 * c * np.einsum("...kjr,...kjr->...", P, lin)
            )
            B = 2 * H * (2 * c * c * PG - 2 * c * lin)
            Pf = P.reshape(P.shape[:-3] + (N, m))
            add_M = (w * c * c) * (_T(Pf) @ Pf)
            add_Z = w * (alpha * B.sum(axis=-3) - 2 * c * a * P.sum(axis=-3))
            add_E = (w * (beta * B - 2 * c * b * P)).reshape(Pf.shape)
            M = add_M if M is None else M + add_M
            CZ = add_Z if CZ is None else CZ + add_Z
            CE = add_E if CE is None else CE + add_E
        grad = (2 * M @ W + _T(CZ) @ Z + _T(CE) @ E) / N
        loss = total / N
        return (float(loss) if np.ndim(loss) == 0 else loss), grad

    return fun


def draw_cosine(W: np.ndarray, eps: np.ndarray) -> float:
    """max over filters w_r and draws eps_p of |cos(w_r, eps_p)|: 1 when a filter has memorised a
    draw, about sqrt(2 log(m K 2n) / d) for filters that know nothing of the draws."""
    E = eps.reshape(-1, eps.shape[-1])
    C = E @ W.T
    C /= np.sqrt(np.einsum("pr,pr->p", E, E))[:, None]
    C /= np.maximum(np.sqrt(np.einsum("mr,mr->m", W, W)), 1e-300)[None, :]
    return float(np.abs(C).max())


class Losses(NamedTuple):
    """The losses of one W (module docstring): on the draws (nan without draws), in expectation on
    the training data, on the training noise patches and on fresh noise patches."""

    fixed: float
    exact: float
    train_noise: float
    fresh_noise: float

    @property
    def draw_gap(self) -> float:
        return self.exact - self.fixed

    @property
    def data_gap(self) -> float:
        return self.fresh_noise - self.train_noise


class Objectives(NamedTuple):
    """The loss functions W -> (loss, grad) whose values `losses` reads, in one basis: the fixed
    draws' (None without draws), the exact loss on the training data, and the exact loss averaged
    over the training noise patches and over fresh noise patches (e.g. a model's exact objective on
    the patches (x2, x2): the mean over 2n patches that are the n noise patches twice)."""

    fixed: object
    exact: object
    train_noise: object
    fresh_noise: object


def losses(W: np.ndarray, objectives: Objectives) -> Losses:
    """The Losses of W."""
    return Losses(
        fixed=float("nan") if objectives.fixed is None else float(objectives.fixed(W)[0]),
        exact=float(objectives.exact(W)[0]),
        train_noise=float(objectives.train_noise(W)[0]),
        fresh_noise=float(objectives.fresh_noise(W)[0]),
    )


class Memorisation(NamedTuple):
    """The gaps of a run's logged weights in units of the exact loss's attainable decrease (module
    docstring), each minus its value at the initial weights."""

    draws: np.ndarray  # (T,) the draw gap (nan without draws)
    data: np.ndarray  # (T,) the data gap


def memorisation(logged: list[Losses], attainable: float) -> Memorisation:
    """The Memorisation of a run's logged Losses (the first at the initial weights), `attainable` =
    L(W0) - L(W*)."""
    draws = np.array([v.draw_gap for v in logged])
    data = np.array([v.data_gap for v in logged])
    return Memorisation((draws - draws[0]) / attainable, (data - data[0]) / attainable)


def crossing(taus, values, level: float) -> float:
    """The first tau at which `values` (logged at increasing taus, taus[0] = 0) reach `level`,
    interpolated linearly in log tau between the two logged points around it (linearly in tau from
    tau = 0); nan if they never do."""
    taus, values = np.asarray(taus, float), np.asarray(values, float)
    hit = np.flatnonzero(values >= level)
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(taus[0])
    t0, t1, v0, v1 = taus[i - 1], taus[i], values[i - 1], values[i]
    f = (level - v0) / (v1 - v0)
    if t0 <= 0:
        return float(t0 + f * (t1 - t0))
    return float(np.exp(np.log(t0) + f * (np.log(t1) - np.log(t0))))
