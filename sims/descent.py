"""The one gradient-descent loop: W <- W - eta grad L(W) on a stack of runs, with logging and checks.

A single run is a stack of one. Each member keeps its own step size eta, tolerance tol, divergence check
and log; a member that converges (||grad L|| < tol) or diverges leaves the stack and the others run on.
Logged every `log_every` steps, at the last step and at convergence (step 0 is the initialisation): step,
loss, ||grad L|| and the alignments `align` returns.

Checks (for objectives that are the same function at every step). With a step size below 2 / (largest
curvature met), plain gradient descent lowers the loss at every step and consecutive gradients do not
point against each other. Each member counts the steps where
  * the loss rose: L_{k+1} > L_k + RISE_TOL max(1, |L_k|) (RISE_TOL is far above the loss's rounding), and
  * the gradient reversed: <g_{k+1}, g_k> < REVERSAL_COS ||g_{k+1}|| ||g_k|| (the step overshot a
    valley: an oscillation), counted only while ||g|| > GRAD_FLOOR max(1, ||g_0||), above rounding,
and `check_note` turns the counts into the sentence a run's summary carries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from sims import DivergenceError

EXPLODE = 1e8  # a loss this many times its initial value (or 1) counts as divergence
LOGGED = ("steps", "loss", "grad_norm", "signal", "noise")
RISE_TOL = 1e-11  # a loss rise smaller than this (relative to max(1, |loss|)) is rounding
REVERSAL_COS = -0.5  # consecutive gradients with a cosine below this count as a reversal
GRAD_FLOOR = 1e-8  # gradients below this times max(1, ||g_0||) are not compared (rounding)
BLOCK = 1024  # the checks are tallied at least every BLOCK steps (`_tally`)
FLOAT_MAX = np.finfo(float).max


class Checks(NamedTuple):
    """A member's counts of the module docstring's checks, and the first step of each (-1: none)."""

    loss_rises: int = 0
    first_loss_rise: int = -1
    gradient_reversals: int = 0
    first_gradient_reversal: int = -1


class Outcome(NamedTuple):
    """One member's final weights (in the loop's coordinates), its log (lists keyed by LOGGED), whether
    it stopped by reaching ||grad L|| < tol, and its Checks."""

    W: np.ndarray
    log: dict
    converged: bool
    checks: Checks = Checks()


def check_note(checks: Checks) -> str:
    """The summary's sentence on a run's Checks ("" when descent behaved)."""
    parts = []
    if checks.loss_rises:
        parts.append(
            f"the loss rose at {checks.loss_rises} steps (first at step {checks.first_loss_rise})"
        )
    if checks.gradient_reversals:
        parts.append(
            f"consecutive gradients reversed at {checks.gradient_reversals} steps (first at step "
            f"{checks.first_gradient_reversal})"
        )
    if not parts:
        return ""
    return (
        " and ".join(parts)
        + ": eta is too large for the curvature met there (an oscillation or divergence)"
    )


def diverged(loss, grad_norm, loss0):
    """A non-finite loss or gradient, or a loss EXPLODE times its initial size (elementwise for stacks)."""
    return ~(np.abs(loss) <= EXPLODE * np.maximum(loss0, 1.0)) | ~np.isfinite(
        grad_norm
    )  # NaN compares False


def divergence_message(k: int, loss: float, eta: float) -> str:
    if k == 0:  # no step taken yet: the scales, not eta, are to blame
        return (
            f"the loss or its gradient is not finite at the initial weights (loss = {loss:.4g}): the data and "
            f"weights are too large for float64; lower sigma0, sigma_xi or snr (or rescale the files)"
        )
    return f"gradient descent diverged at step {k} (loss = {loss:.4g}); try a smaller eta (now {eta:g})"


def _log_members(logs: list, members, k: int, *stacks) -> None:
    """Append step k's loss, ||grad L|| and alignments (stacks over `members`, in the order of
    LOGGED) to the logs of those members (original indices)."""
    for j, i in enumerate(members):
        log = logs[i]
        log["steps"].append(k)
        for key, v in zip(LOGGED[1:], stacks):
            log[key].append(v[j])


def _tally(losses, norms, dots, first_step, floor, counts, first, active) -> int:
    """Add the checks of the module docstring over a block of steps to counts and first (indexed by
    original member), and empty the block.

    losses and norms hold the rows (loss, ||g||) of the members in `active` at the steps
    first_step - 1 .. k, dots the rows <g_j, g_{j-1}> at first_step .. k. The comparisons are those
    of one step at a time, made for the whole block at once. Leaves the rows of step k (the next
    block's previous step) and returns k + 1, the next block's first step.
    """
    if dots:
        L, N, D = np.array(losses), np.array(norms), np.array(dots)
        rose = L[1:] > L[:-1] + RISE_TOL * np.maximum(1.0, np.abs(L[:-1]))
        big = (N[1:] > floor) & (N[:-1] > floor)
        reversed_ = big & (D < REVERSAL_COS * N[1:] * N[:-1])
        for col, hit in enumerate((rose, reversed_)):
            if hit.any():
                counts[active, col] += hit.sum(axis=0)
                new = hit.any(axis=0) & (first[active, col] < 0)
                first[active[new], col] = first_step + np.argmax(hit[:, new], axis=0)
    first_step += len(dots)
    del losses[:-1], norms[:-1], dots[:]
    return first_step


@np.errstate(
    over="ignore", invalid="ignore"
)  # overflow and NaN are caught as divergence, step by step
def descend(
    objective: Callable,
    W: np.ndarray,
    eta,
    tol,
    *,
    steps: int,
    log_every: int,
    align: Callable,
    progress: Callable | None = None,
    check: bool = True,
) -> list:
    """Run the stack W (S, ...) and return, per member, its Outcome or the DivergenceError that stopped it.

    objective(members) -> fun: fun(W) gives (losses (S',), gradients (S', ...)) of the members listed
    (indices into the original stack), W holding those members' weights; the loop asks for a new fun
    only when members leave. align(members, W) -> (signal, noise): the alignments of the members
    listed, W holding their weights, stacked as W is (one call for the members logging at a step).
    eta and tol are per member (S,). progress(k) is called after each step. check: run the checks of the
    module docstring (only meaningful when the objective is the same function at every step).
    """
    S = W.shape[0]
    eta, tol = (
        np.broadcast_to(np.asarray(eta, float), (S,)).copy(),
        np.broadcast_to(np.asarray(tol, float), (S,)).copy(),
    )
    expand = (slice(None),) + (None,) * (
        W.ndim - 1
    )  # eta[expand] broadcasts over a member's weights
    outcomes: list = [None] * S
    logs = [{key: [] for key in LOGGED} for _ in range(S)]
    counts = np.zeros((S, 2), dtype=int)  # loss rises, gradient reversals (by original member)
    first = -np.ones((S, 2), dtype=int)
    active = np.arange(S)  # members still running, in stack order
    fun = objective(active)
    step = eta[expand]
    loss0 = limit = prev_flat = floor = None
    # the loop costs per step what a small objective does (span coordinates): a step that ends no
    # member makes about ten numpy calls (the gradient's norm, one test of every member against its
    # divergence limit and tolerance, the checks' dot product, the update) and logs if it is due;
    # the checks are tallied in blocks of steps (`_tally`), the bookkeeping done only where needed.
    # The block: losses and norms from step first_step - 1 to k, dots from first_step to k.
    losses, norms, dots, first_step = [], [], [], 1
    for k in range(steps + 1):
        loss, grad = fun(W)
        flat = grad.reshape(len(grad), -1)
        # not np.linalg.norm: its BLAS dot stalled under a loaded process pool
        grad_norm = np.sqrt(np.einsum("ij,ij->i", flat, flat))
        if loss0 is None:
            loss0 = np.abs(loss)
            limit = EXPLODE * np.maximum(loss0, 1.0)  # as `diverged` has it
            floor = GRAD_FLOOR * np.maximum(1.0, grad_norm)
        if check:
            losses.append(loss)
            norms.append(grad_norm)
            if prev_flat is not None:
                dots.append(np.einsum("ij,ij->i", flat, prev_flat))
        # a step before the last on which every member is below its divergence limit, finite and
        # not converged (NaN fails every comparison) ends no member: it only logs, every log_every
        # steps; else the exact tests decide
        if (
            k != steps
            and ((np.abs(loss) <= limit) & (tol <= grad_norm) & (grad_norm <= FLOAT_MAX)).all()
        ):
            if k % log_every == 0:
                _log_members(logs, active, k, loss, grad_norm, *align(active, W))
        else:
            bad = diverged(loss, grad_norm, loss0)
            converged = grad_norm < tol
            done = bad | converged | (k == steps)
            if check and done.any():  # the finishing members' Checks count every step so far
                first_step = _tally(losses, norms, dots, first_step, floor, counts, first, active)
            for j in np.flatnonzero(bad):
                outcomes[active[j]] = DivergenceError(divergence_message(k, loss[j], eta[j]))
            js = np.flatnonzero(~bad & (converged | (k % log_every == 0) | (k == steps)))
            if js.size:
                _log_members(
                    logs, active[js], k, loss[js], grad_norm[js], *align(active[js], W[js])
                )
            for j in np.flatnonzero(done & ~bad):
                i = active[j]
                outcomes[i] = Outcome(
                    W[j],
                    logs[i],
                    bool(converged[j]),
                    Checks(
                        *(int(v) for v in (counts[i, 0], first[i, 0], counts[i, 1], first[i, 1]))
                    ),
                )
            if done.all():
                break
            if done.any():  # the finished members leave the stack
                keep = ~done
                active, W, grad, eta, tol, loss0, limit = (
                    active[keep],
                    W[keep],
                    grad[keep],
                    eta[keep],
                    tol[keep],
                    loss0[keep],
                    limit[keep],
                )
                loss, grad_norm, floor, flat = loss[keep], grad_norm[keep], floor[keep], flat[keep]
                if check:  # the block was tallied above: only this step's row is left
                    losses[:], norms[:] = [loss], [grad_norm]
                step = eta[expand]
                fun = objective(active)
        if len(dots) >= BLOCK:
            first_step = _tally(losses, norms, dots, first_step, floor, counts, first, active)
        prev_flat = flat
        W = W - step * grad
        if progress is not None:
            progress(k + 1)
    return outcomes
