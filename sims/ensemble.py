"""Many gradient-descent runs of the same shape in one stacked computation.

`train_many(configs)` equals `[train(c) for c in configs]` to rounding (tested at 1e-10 relative): every
member draws its own data, initial weights and (auto) eta from its own seed exactly as `train` does, and
keeps its own divergence check, its own tolerance `tol` and its own log. The members' weights are stacked
along a leading axis S, and each step is one call of the model's loss on the stack (the loss functions
take stacks, so the formulas exist once). A member that converges or diverges leaves the stack.

Each member runs in an orthonormal basis Q (d x r) of the span of its data patches, signals and initial
weights, r = 2n + 2 + (number of filters), when r < d. This is exact: both gradients lie in
span(data rows, current filters) (diffusion: dW = dA^T Z + (S + S^T) W; classification: rows of the data),
so W_k = W_0 + (combination of data rows) never leaves span(Q), and every inner product the losses and
the logged alignments use is preserved by Q. Gradient descent on (W Q, x Q) is therefore gradient
descent on (W, x) up to rounding; a step costs O(r) instead of O(d) per inner product, and the final
weights are W = (W Q) Q^T.

Stacking needs the exact diffusion expectation (or the classifier) and members that share the model,
the data shape (n, d), m, steps, log_every, and for diffusion the diffusion times and output scale.
Otherwise `train_many` falls back to separate `train` calls (same results, no speed-up).

Divergence: with errors="raise" (the default, like `train`) a diverging member raises
`DivergenceError` naming the member, its seed and the step; with errors="return" that member's place in
the returned list holds its `DivergenceError` and the other members run on.
"""
from __future__ import annotations

import numpy as np

from sims import DivergenceError, FldmError, classification, diffusion
from sims.config import TrainConfig
from sims.data import Dataset
from sims.train import LOGGED, alignments, diverged, divergence_message, finish, prepare, train

ERRORS = ("raise", "return")


def stackable(configs: list[TrainConfig]) -> bool:
    """Whether the configured runs can share one stacked computation (before looking at their data)."""
    first = configs[0]
    same = ("model", "m", "steps", "log_every")
    if first.model == "diffusion":
        same += ("diffusion_times", "scale")
    return all(c.noise == "exact" or c.model == "classification" for c in configs) and all(
        getattr(c, k) == getattr(first, k) for c in configs for k in same)


def _basis(data: Dataset, W: np.ndarray) -> np.ndarray | None:
    """Orthonormal basis (d, r) of the span of x1, x2, mu and the filters of W; None when r >= d."""
    B = np.concatenate([data.x1, data.x2, data.mu, W.reshape(-1, data.d)])
    if B.shape[0] >= data.d:
        return None
    Q, _ = np.linalg.qr(B.T)
    return Q


def _reduce(a: np.ndarray, Q: np.ndarray | None) -> np.ndarray:
    """Coordinates of the rows of a (..., d) in the basis Q."""
    return a if Q is None else a @ Q


def _stacked_objective(cfg: TrainConfig, X1: np.ndarray, X2: np.ndarray, Y: np.ndarray, d: int):
    """W (S, ...) -> (S losses, S gradients): the exact objective of `sims.train.objective` on a stack.

    X1, X2 may hold coordinates in an r-dimensional basis; the loss is then that of dimension d. Only the
    diffusion loss depends on the dimension itself, through its constant E||eps||^2 = d per diffusion time.
    """
    if cfg.model == "classification":
        return lambda W: classification.loss_and_grad(W, X1, X2, Y)
    offset = (d - X1.shape[-1]) * sum(weight for _, _, weight in cfg.diffusion_times)

    def fun(W):
        loss, grad = diffusion.loss_and_grad_times(W, X1, X2, cfg.diffusion_times, scale=cfg.scale)
        return loss + offset, grad
    return fun


def _separately(configs, datas, W0s, errors):
    results = []
    for i, (cfg, data, W0) in enumerate(zip(configs, datas, W0s)):
        try:
            results.append(train(cfg, data, W0))
        except DivergenceError as exc:
            if errors == "raise":
                raise DivergenceError(f"member {i} (seed {cfg.seed}): {exc}") from None
            results.append(exc)
    return results


def train_many(configs: list[TrainConfig], datas: list[Dataset | None] | None = None,
               W0s: list[np.ndarray | None] | None = None, *, errors: str = "raise") -> list:
    """Train every config; the result list is `[train(c, data, W0) ...]` (see the module docstring)."""
    configs = list(configs)
    S = len(configs)
    datas = [None] * S if datas is None else list(datas)
    W0s = [None] * S if W0s is None else list(W0s)
    if len(datas) != S or len(W0s) != S:
        raise FldmError(f"got {S} configs, {len(datas)} datas and {len(W0s)} initial weights; give one each")
    if errors not in ERRORS:
        raise FldmError(f"errors must be one of {ERRORS}, got {errors!r}")
    if S == 0:
        return []
    if not stackable(configs):
        return _separately(configs, datas, W0s, errors)

    runs = [prepare(cfg, data, W0) for cfg, data, W0 in zip(configs, datas, W0s)]
    if len({r[1].x1.shape for r in runs}) > 1:
        return _separately(configs, datas, W0s, errors)
    # each member in its own basis Q (exact; see the module docstring), then the stack of all members.
    # The bases are not kept (each is as large as its member's data); finishing recomputes them.
    reduced, W = [], []  # the members' data (for the logged alignments) and weights in their bases
    for _, data, W0, _ in runs:
        Q = _basis(data, W0)
        reduced.append(Dataset(x1=_reduce(data.x1, Q), x2=_reduce(data.x2, Q), y=data.y, mu=_reduce(data.mu, Q)))
        W.append(_reduce(W0, Q))
    X1, X2, W = np.stack([r.x1 for r in reduced]), np.stack([r.x2 for r in reduced]), np.stack(W)
    Y = np.stack([data.y for _, data, _, _ in runs]).astype(float)
    eta = np.array([r[3] for r in runs])
    tol = np.array([c.tol for c in configs])
    cfg0, steps, log_every = configs[0], configs[0].steps, configs[0].log_every
    d = runs[0][1].d
    expand = (slice(None),) + (None,) * (W.ndim - 1)  # eta[expand] broadcasts over a member's weights

    results: list = [None] * S
    logs = [{k: [] for k in LOGGED} for _ in range(S)]
    active = np.arange(S)  # members still running, in stack order
    fun = _stacked_objective(cfg0, X1, X2, Y, d)
    loss0 = None
    for k in range(steps + 1):
        loss, grad = fun(W)
        grad_norm = np.sqrt(np.sum(grad * grad, axis=tuple(range(1, grad.ndim))))
        loss0 = np.abs(loss) if loss0 is None else loss0
        bad = diverged(loss, grad_norm, loss0)
        converged = grad_norm < tol
        done = bad | converged | (k == steps)
        for j in np.flatnonzero(bad):
            i = active[j]
            exc = DivergenceError(divergence_message(k, loss[j], eta[j]))
            if errors == "raise":
                raise DivergenceError(f"member {i} (seed {configs[i].seed}): {exc}")
            results[i] = exc
        log_now = ~bad & (converged | (k % log_every == 0) | (k == steps))
        for j in np.flatnonzero(log_now):
            i = active[j]
            signal, noise = alignments(W[j], reduced[i])
            for key, v in zip(LOGGED, (k, loss[j], grad_norm[j], signal, noise)):
                logs[i][key].append(v)
        for j in np.flatnonzero(done & ~bad):
            i = active[j]
            rngs, data, W0, _ = runs[i]
            Q = _basis(data, W0)  # the same basis again: same input, same QR
            W_full = W[j].copy() if Q is None else W[j] @ Q.T
            results[i] = finish(configs[i], data, W_full, rngs, float(eta[j]), logs[i], bool(converged[j]))
        if done.all():
            break
        if done.any():  # the finished members leave the stack
            keep = ~done
            active, W, grad, eta, tol, loss0 = active[keep], W[keep], grad[keep], eta[keep], tol[keep], loss0[keep]
            X1, X2, Y = X1[keep], X2[keep], Y[keep]
            fun = _stacked_objective(cfg0, X1, X2, Y, d)
        W = W - eta[expand] * grad
    return results
