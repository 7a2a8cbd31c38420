"""The one gradient-descent loop: W <- W - eta grad L(W) on a stack of runs, with logging and
checks.

A single run is a stack of one. Each member keeps its own step size eta, tolerance tol, divergence
check and log; a member that converges (||grad L|| < tol) or diverges leaves the stack and the
others run on. Logged every `log_every` steps, at the last step and at convergence (step 0 is the
initialisation): step, loss, ||grad L|| and the alignments `align` returns.

Checks (for objectives that are the same function at every step). With a step size below 2 /
(largest curvature met), plain gradient descent lowers the loss at every step and consecutive
gradients do not point against each other. Each member counts the steps where
  * the loss rose: L_{k+1} > L_k + RISE_TOL max(1, |L_k|) (RISE_TOL is far above the loss's
    rounding), and
  * the gradient reversed: <g_{k+1}, g_k> < REVERSAL_COS ||g_{k+1}|| ||g_k|| (the step overshot a
    valley: an oscillation), counted only while ||g|| > GRAD_FLOOR max(1, ||g_0||), above rounding,
and `check_note` turns the counts into the sentence a run's summary carries.

Stationarity (`stationarity`): a run has reached a stationary point when ||grad L|| at its last step
is at most STATIONARY_RTOL = 1e-6 times the largest ||grad L|| of the run. The criterion is
scale-free: it does not change when the loss is multiplied by a constant or the weights are rescaled
(the gradient then scales as a whole), so no tolerance has to be chosen per setting, unlike `tol`.
Measured against the largest gradient rather than the initial one, since runs from small weights
start near a saddle where the gradient is tiny and grows first. 1e-6 lies far above rounding (the
gradient stops falling at 2e-14 to 5e-14 of its largest value in the four diffusion runs measured:
defaults; n SNR^2 = 6.75; m = 8 at 0.25; d = 500, n = 10) and there the headline signal, noise and
ratio agree with those of a 10 times longer run to 1e-8 (relative). The classifier's logistic loss
has no stationary point at finite weights: its runs never reach one, and say so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from sims import DivergenceError

EXPLODE = 1e8  # a loss this many times its initial value (or 1) counts as divergence
LOGGED = ("steps", "loss", "grad_norm", "signal", "noise")
RISE_TOL = 1e-11  # a loss rise smaller than this (relative to max(1, |loss|)) is rounding
REVERSAL_COS = -0.5  # consecutive gradients with a cosine below this count as a reversal
GRAD_FLOOR = 1e-8  # gradients below this times max(1, ||g_0||) are not compared (rounding)
STATIONARY_RTOL = 1e-6  # stationary: ||grad L|| at most this times its largest (`stationarity`)
BLOCK = 1024  # the checks are tallied at least every BLOCK steps (`_tally`)
FLOAT_MAX = np.finfo(float).max


class Checks(NamedTuple):
    """A member's counts of the module docstring's checks, and the first step of each (-1: none)."""

    loss_rises: int = 0
    first_loss_rise: int = -1
    gradient_reversals: int = 0
    first_gradient_reversal: int = -1


class Outcome(NamedTuple):
    """One member's final weights (in the loop's coordinates), its log (lists keyed by LOGGED),
    whether it stopped by reaching ||grad L|| < tol, its Checks, and the largest ||grad L|| of any
    of its steps (logged or not: the scale `stationarity` measures the last one against)."""

    W: np.ndarray
    log: dict
    converged: bool
    checks: Checks = Checks()
    grad_max: float = float("nan")


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


def stationarity(steps, grad_norm, grad_max: float, eta: float) -> dict:
    """Whether a run reached a stationary point (module docstring), from its logged steps and
    ||grad L||, and the largest ||grad L|| of all its steps; if not, how far it is and roughly how
    many more steps it needs at this eta, from the decay of ||grad L|| over the second half of the
    run: exponential (a straight line in log ||grad L|| against the step) or, when that decay slows
    down (a classifier's, about 1 / step), a power of the step, whichever predicts the middle of
    that half better. Keys: reached_stationary, stationarity (last / largest ||grad L||),
    steps_to_stationary (None when reached, or when ||grad L|| is not falling), stationary_note
    ("" when reached)."""
    steps, g = np.asarray(steps, dtype=float), np.asarray(grad_norm, dtype=float)
    top = max(float(grad_max), float(np.max(g))) if np.isfinite(grad_max) else float(np.max(g))
    last = float(g[-1])
    ratio = last / top if top > 0 else 0.0
    out = {"reached_stationary": bool(ratio <= STATIONARY_RTOL), "stationarity": ratio}
    out.update(steps_to_stationary=None, stationary_note="")
    if out["reached_stationary"]:
        return out
    far = (
        f"not at a stationary point: ||grad L|| = {last:.3g} is {ratio:.2g} of its largest value "
        f"on this run (stationary: at most {STATIONARY_RTOL:g})"
    )
    half = (steps >= steps[-1] / 2) & (g > 0)
    k, gh = steps[half], g[half]
    if k.size < 3 or k[0] <= 0 or not gh[-1] < gh[0]:
        out["stationary_note"] = (
            f"{far}; ||grad L|| is not falling over the second half of the run (or too few steps "
            "are logged): no estimate of the steps still needed"
        )
        return out
    mid = int(np.argmin(np.abs(k - (k[0] + k[-1]) / 2)))
    lg, lk = np.log(gh), np.log(k)
    rate = (lg[0] - lg[-1]) / (k[-1] - k[0])  # exponential: log g falls by `rate` per step
    power = (lg[0] - lg[-1]) / (lk[-1] - lk[0])  # a power: g ~ step^-power
    exp_miss = abs(lg[0] - rate * (k[mid] - k[0]) - lg[mid])
    pow_miss = abs(lg[0] - power * (lk[mid] - lk[0]) - lg[mid])
    target = math.log(last / (STATIONARY_RTOL * top))
    if exp_miss <= pow_miss:
        more, how = target / rate, f"falling {math.exp(rate * 1000):.3g}-fold per 1000 steps"
    else:  # a slow power needs e^(target / power) times the steps so far: beyond float64 is none
        x = target / power
        more = k[-1] * math.expm1(x) if x < math.log(np.finfo(float).max / k[-1]) else math.inf
        how = f"falling like step^-{power:.2g}"
    if not math.isfinite(more) or more >= 2**63:
        out["stationary_note"] = (
            f"{far}; extrapolating its recent decay ({how}) gives more steps than can be counted "
            f"at eta = {eta:.3g}: the decay is too slow to reach it this way"
        )
        return out
    out["steps_to_stationary"] = int(math.ceil(more))
    out["stationary_note"] = (
        f"{far}; extrapolating its recent decay ({how}), about {float(more):.2g} more steps at "
        f"eta = {eta:.3g}, more if the decay slows (fldm train --until-stationary runs until then, "
        "at most --steps)"
    )
    return out


def diverged(loss, grad_norm, loss0):
    """A non-finite loss or gradient, or a loss EXPLODE times its initial size (elementwise for
    stacks)."""
    return ~(np.abs(loss) <= EXPLODE * np.maximum(loss0, 1.0)) | ~np.isfinite(
        grad_norm
    )  # NaN compares False


# what set an automatic step size, by the name sims.stepsize gives its limit
LIMIT_WORDS = {
    "data": "the data's curvature scale",
    "initial": "the curvature at the initial weights",
    "draws": "the curvature of memorised noise draws",
    "stationary": "the curvature at the predicted stationary point",
}


def divergence_message(
    k: int, loss: float, eta: float, limit: str = "given", norms: tuple = ()
) -> str:
    """Why descent stopped at step k. `limit`: what set eta (sims.stepsize's limit name, "given"
    when the user did); `norms`: ||grad L|| at step 0 and at step k - 1."""
    if k == 0:  # no step taken yet: the scales, not eta, are to blame
        return (
            f"the loss or its gradient is not finite at the initial weights (loss = {loss:.4g}): "
            "the data and weights are too large for float64; lower sigma0, sigma_xi or snr (or "
            "rescale the files)"
        )
    start = f"gradient descent diverged at step {k} (loss = {loss:.4g})"
    if limit not in LIMIT_WORDS:
        return f"{start}; try a smaller eta (now {eta:g})"
    grew = (
        f" (||grad L|| went from {norms[0]:.3g} at step 0 to {norms[1]:.3g} at step {k - 1})"
        if len(norms) == 2
        else ""
    )
    return (
        f"{start}; the automatic step size eta = {eta:.4g}, set by {LIMIT_WORDS[limit]}, was too "
        f"large for the curvature met later{grew}: set a step size with --eta, smaller than that"
    )


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
    limits=None,
    until_stationary: bool = False,
) -> list:
    """Run the stack W (S, ...) and return, per member, its Outcome or the DivergenceError that
    stopped it.

    objective(members) -> fun: fun(W) gives (losses (S',), gradients (S', ...)) of the members
    listed (indices into the original stack), W holding those members' weights; the loop asks for a
    new fun only when members leave. align(members, W) -> (signal, noise): the alignments of the
    members listed, W holding their weights, stacked as W is (one call for the members logging at a
    step). eta and tol are per member (S,). progress(k) is called after each step. check: run the
    checks of the module docstring (only meaningful when the objective is the same function at every
    step). limits: what set each member's eta (sims.stepsize's limit names, or "given"), for the
    message of a divergence (`divergence_message`). until_stationary: a member also stops once it is
    stationary (||grad L|| <= STATIONARY_RTOL times its largest ||grad L|| so far; `stationarity`).
    """
    S = W.shape[0]
    limits = ["given"] * S if limits is None else list(limits)
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
    loss0 = limit = prev_flat = prev_norm = floor = norm0 = gmax = None
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
            norm0 = gmax = grad_norm
        else:
            gmax = np.maximum(gmax, grad_norm)
        if check:
            losses.append(loss)
            norms.append(grad_norm)
            if prev_flat is not None:
                dots.append(np.einsum("ij,ij->i", flat, prev_flat))
        # a step before the last on which every member is below its divergence limit, finite, not
        # converged (NaN fails every comparison) and, if asked, not stationary ends no member: it
        # only logs, every log_every steps; else the exact tests decide
        if (
            k != steps
            and ((np.abs(loss) <= limit) & (tol <= grad_norm) & (grad_norm <= FLOAT_MAX)).all()
            and not (until_stationary and (grad_norm <= STATIONARY_RTOL * gmax).any())
        ):
            if k % log_every == 0:
                _log_members(logs, active, k, loss, grad_norm, *align(active, W))
        else:
            bad = diverged(loss, grad_norm, loss0)
            converged = grad_norm < tol
            stationary = (grad_norm <= STATIONARY_RTOL * gmax) if until_stationary else converged
            done = bad | converged | stationary | (k == steps)
            if check and done.any():  # the finishing members' Checks count every step so far
                first_step = _tally(losses, norms, dots, first_step, floor, counts, first, active)
            for j in np.flatnonzero(bad):
                norms_k = () if prev_norm is None else (norm0[j], prev_norm[j])
                outcomes[active[j]] = DivergenceError(
                    divergence_message(k, loss[j], eta[j], limits[active[j]], norms_k)
                )
            js = np.flatnonzero(~bad & (done | (k % log_every == 0)))
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
                    float(gmax[j]),
                )
            if done.all():
                break
            if done.any():  # the finished members leave the stack
                keep = ~done
                active, W, grad, eta, tol, loss0, limit, norm0, gmax = (
                    active[keep],
                    W[keep],
                    grad[keep],
                    eta[keep],
                    tol[keep],
                    loss0[keep],
                    limit[keep],
                    norm0[keep],
                    gmax[keep],
                )
                loss, grad_norm, floor, flat = loss[keep], grad_norm[keep], floor[keep], flat[keep]
                if check:  # the block was tallied above: only this step's row is left
                    losses[:], norms[:] = [loss], [grad_norm]
                step = eta[expand]
                fun = objective(active)
        if len(dots) >= BLOCK:
            first_step = _tally(losses, norms, dots, first_step, floor, counts, first, active)
        prev_flat, prev_norm = flat, grad_norm
        W = W - step * grad
        if progress is not None:
            progress(k + 1)
    return outcomes
