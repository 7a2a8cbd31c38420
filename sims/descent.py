"""The one gradient-descent loop: W <- W - eta grad L(W) on a stack of runs, with logging and checks.

A single run is a stack of one. Each member keeps its own step size eta, tolerance tol, divergence check
and log; a member that converges (||grad L|| < tol) or diverges leaves the stack and the others run on.
Logged every `log_every` steps, at the last step and at convergence (step 0 is the initialisation): step,
loss, ||grad L|| and the alignments `align` returns.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from sims import DivergenceError

EXPLODE = 1e8  # a loss this many times its initial value (or 1) counts as divergence
LOGGED = ("steps", "loss", "grad_norm", "signal", "noise")


class Outcome(NamedTuple):
    """One member's final weights (in the loop's coordinates), its log (lists keyed by LOGGED) and whether
    it stopped by reaching ||grad L|| < tol."""

    W: np.ndarray
    log: dict
    converged: bool


def diverged(loss, grad_norm, loss0):
    """A non-finite loss or gradient, or a loss EXPLODE times its initial size (elementwise for stacks)."""
    return ~(np.isfinite(loss) & np.isfinite(grad_norm)) | (np.abs(loss) > EXPLODE * np.maximum(loss0, 1.0))


def divergence_message(k: int, loss: float, eta: float) -> str:
    if k == 0:  # no step taken yet: the scales, not eta, are to blame
        return (f"the loss or its gradient is not finite at the initial weights (loss = {loss:.4g}): the data and "
                f"weights are too large for float64; lower sigma0, sigma_xi or snr (or rescale the files)")
    return f"gradient descent diverged at step {k} (loss = {loss:.4g}); try a smaller eta (now {eta:g})"


@np.errstate(over="ignore", invalid="ignore")  # overflow and NaN are caught as divergence, step by step
def descend(objective: Callable, W: np.ndarray, eta, tol, *, steps: int, log_every: int, align: Callable,
            progress: Callable | None = None) -> list:
    """Run the stack W (S, ...) and return, per member, its Outcome or the DivergenceError that stopped it.

    objective(members) -> fun: fun(W) gives (losses (S',), gradients (S', ...)) of the members listed
    (indices into the original stack), W holding those members' weights; the loop asks for a new fun
    only when members leave. align(i, W_i) -> (signal, noise) alignments of member i's weights.
    eta and tol are per member (S,). progress(k) is called after each step.
    """
    S = W.shape[0]
    eta, tol = np.broadcast_to(np.asarray(eta, float), (S,)).copy(), np.broadcast_to(np.asarray(tol, float), (S,)).copy()
    expand = (slice(None),) + (None,) * (W.ndim - 1)  # eta[expand] broadcasts over a member's weights
    outcomes: list = [None] * S
    logs = [{key: [] for key in LOGGED} for _ in range(S)]
    active = np.arange(S)  # members still running, in stack order
    fun = objective(active)
    loss0 = None
    for k in range(steps + 1):
        loss, grad = fun(W)
        # not np.linalg.norm: its BLAS dot stalled under a loaded process pool
        grad_norm = np.sqrt(np.sum(grad * grad, axis=tuple(range(1, grad.ndim))))
        loss0 = np.abs(loss) if loss0 is None else loss0
        bad = diverged(loss, grad_norm, loss0)
        converged = grad_norm < tol
        done = bad | converged | (k == steps)
        for j in np.flatnonzero(bad):
            outcomes[active[j]] = DivergenceError(divergence_message(k, loss[j], eta[j]))
        for j in np.flatnonzero(~bad & (converged | (k % log_every == 0) | (k == steps))):
            i = active[j]
            signal, noise = align(i, W[j])
            for key, v in zip(LOGGED, (k, loss[j], grad_norm[j], signal, noise)):
                logs[i][key].append(v)
        for j in np.flatnonzero(done & ~bad):
            outcomes[active[j]] = Outcome(W[j], logs[active[j]], bool(converged[j]))
        if done.all():
            break
        if done.any():  # the finished members leave the stack
            keep = ~done
            active, W, grad, eta, tol, loss0 = active[keep], W[keep], grad[keep], eta[keep], tol[keep], loss0[keep]
            fun = objective(active)
        W = W - eta[expand] * grad
        if progress is not None:
            progress(k + 1)
    return outcomes
