"""When does a denoiser memorise? The runs the claims M1a and M1b read (the study "M1").

One cell (`Group`) is one data law, n and width m, for a few seeds: per seed, the exact loss's
gradient flow from the run's data and initial weights (theory.ode: the limit K -> infinity, without
discretisation), gradient descent on the exact loss, and gradient descent on K fixed noise draws for
each K of the cell, every run from the same data and initial weights. At logged steps spaced
evenly in log tau (`PER_DECADE` a decade) each run's weights give the losses of sims.memorisation:
its draw gap and data gap in units of the exact loss's attainable decrease, its signal and noise
alignments (magnitudes, as the research studies read them: mean_j max_r |<w_r, mu_j>|, mean_i max_r
|<w_r, xi_i>|) and the largest cosine of a filter with a draw.

Times, tau = eta * step (sims.descent), each read where a logged series first reaches its level
(sims.memorisation.crossing, interpolated in log tau):
  tau_gen         the signal alignment reaches GEN_FRACTION of the exact loss's stationary value;
  tau_mem(draws)  the draw gap reaches MEM_GAP;
  tau_mem(data)   the data gap reaches MEM_GAP.
A time not reached within a run is censored: nan, with the tau the run reached.

How long runs go (stated early stopping). The exact flow goes to its stationary point (||grad L|| <
GTOL, as the research studies' stationary cells); `tau_settled` is where its loss has made all but
SETTLED of its attainable decrease. Descent runs go to HORIZON * tau_settled of the member's flow
(the longest over the cell's seeds, so that a stack shares its steps), stopping early once ||grad
L|| < TOL (a stationary point of its own objective), and at most `max_steps` steps (a cost cap; a
run it stops is censored at the tau it reached, which the cell records).

Amendment 1, made after the first full run's numbers had been seen (no rule changed): descent must
follow its gradient flow for tau = eta * step to mean anything, and 21 of 328 descent runs there
left it (the loss rose, sims.descent's check; most at widths m = 8 and 16, or at the earliest time
of the best-time study with K = 1), because the automatic step size does not foresee the curvature
a memorising wide network meets. Such a run is now repeated alone with half its step size, at most
HALVINGS times, and the cell records how often (`eta_halvings`) and whether its loss still rose
(tried with 3 halvings: 7 runs still rose, the verdicts and every slope and effect of the rules
kept their sign, and the study's CPU time rose from 340 to 545 s, so one halving is kept).

Step sizes: the exact loss's automatic step size (sims.stepsize) for the exact run; for K fixed
draws the smaller of it and the "draws" limit of sims.stepsize (the curvature of a memorised draw).
The fixed-draw loss's own "initial" curvature is not recomputed: it is the exact loss's at W0 up to
the draws' fluctuation, and the finite-difference power iteration on the Monte Carlo form would cost
more than most runs.

Cost. Each run descends in an orthonormal basis of span(data, its draws, W0) (sims.span: exact),
or in d dimensions once the K 2n draws and the data fill the space; the seeds of one K run as one
stack (sims.descent), their bases padded to a common width. The fixed-draw loss is
sims.memorisation.draw_objective (equal to the registry's Monte Carlo form to rounding, about 5.5
times faster from a few hundred draws on) for the models in FAST_DRAWS.

Another model (the hook). Every cell names its model (`Group.model`); the runs, the exact flow and
the losses ask the registry (sims.models) for it, and a model outside FAST_DRAWS trains on its own
fixed-draw objective. To run the study on another model, make it a study of its own:
`Study("memorise-<name>", functools.partial(cells, model="<name>"), measure)` (and `besttime.cells`
likewise), whose numbers the claims' functions read as they read this one's.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from sims import DivergenceError, models, span, stepsize
from sims.config import VP, TrainConfig
from sims.data import fresh_samples
from sims.descent import Checks, descend
from sims.memorisation import (
    Objectives,
    crossing,
    draw_cosine,
    draw_objective,
    losses,
    memorisation,
)
from sims.stepsize import ETA_CURVATURE
from sims.studies import presets
from sims.studies.cells import Outcome, Study, cell_seed
from sims.studies.probe import probe
from sims.studies.research import magnitudes
from sims.train import prepare
from theory import reduced
from theory.ode import flow
from theory.predict import GTOL, HORIZON_STEPS

GEN_FRACTION = 0.5  # tau_gen: the signal at this fraction of the exact loss's stationary value
MEM_GAP = 0.1  # tau_mem: a gap of this many times the exact loss's attainable decrease
SETTLED = 0.01  # tau_settled: the exact flow's loss within this share of its attainable decrease
HORIZON = 2.0  # descent runs to this many times the exact flow's tau_settled
TOL = 1e-8  # ... stopping once ||grad L|| < this
HALVINGS = 1  # a run whose loss rose is repeated with half its step, at most this many times
PER_DECADE = 8  # logged points per decade of steps (and of the flow's tau)
FRESH = 2000  # fresh noise patches of the data gap's Monte Carlo expectation, drawn once per seed
FRESH_STREAM = 25  # their generator: SeedSequence([seed, FRESH_STREAM]), apart from the run's
EXACT = 0  # the K of the exact loss in a cell's series (no draws)
# The hook for other models: the model the study runs (any of the registry: a Group names it), and
# the models whose fixed-draw loss this module restructures (the others train on their own
# objective, sims.models)
MODEL = models.PAPER_PAIR[0].name  # the tied denoiser
FAST_DRAWS = {MODEL: draw_objective}


@dataclass(frozen=True)
class Group:
    """One cell: a data law (snr, sigma_xi) at n, width m, and the seeds and draw counts K run on
    it (labels exactly balanced; the other settings the defaults of sims.config)."""

    model: str
    regime: str
    n: int
    d: int
    m: int
    snr: float
    sigma_xi: float
    sigma0: float
    seeds: tuple
    draws: tuple  # the K of the fixed-draw runs (the exact loss is always run)
    max_steps: int
    alpha: float = VP
    beta: float = VP
    labels: str = "balanced"
    probe: bool = False  # probe each run's final filters (sims.studies.probe)
    descend_exact: bool = True  # descend on the exact loss too (else its flow alone)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def steps(self) -> int:  # how sweeps order cells by size
        return self.max_steps

    def config(self, seed: int) -> TrainConfig:
        """The exact-loss run's settings for one seed."""
        return TrainConfig(
            model=self.model,
            n=self.n,
            d=self.d,
            m=self.m,
            snr=self.snr,
            sigma_xi=self.sigma_xi,
            sigma0=self.sigma0,
            alpha=self.alpha,
            beta=self.beta,
            labels=self.labels,
            seed=seed,
            tol=TOL,
        )


def log_steps(total: int) -> np.ndarray:
    """0 and about PER_DECADE steps a decade from 1 to `total`, increasing, ending at `total`."""
    count = max(2, int(math.ceil(PER_DECADE * math.log10(max(total, 2)))) + 1)
    k = np.unique(np.round(np.logspace(0, math.log10(max(total, 1)), count)).astype(int))
    return np.concatenate([[0], k[k <= total]])


# --------------------------------------------------------------------------------- the exact flow
class Reference(NamedTuple):
    """A seed's exact-loss flow: its logged tau, weights' losses and alignments, and what the
    descent runs are measured against (the stationary signal, the attainable decrease)."""

    taus: np.ndarray
    losses: list
    signal: np.ndarray
    noise: np.ndarray
    status: str
    stationary_signal: float
    attainable: float  # L(W0) - L(W*)
    tau_settled: float
    W: np.ndarray  # the stationary filters, d-dimensional
    grad_norm: float  # ||grad L|| at the flow's last state (GTOL where it stopped as stationary)


def objectives_for(model, cfg: TrainConfig, x1, x2, y, d: int, fresh, fixed=None) -> Objectives:
    """The losses' functions in one basis, from the model's exact objective (the registry)."""
    exact_cfg = cfg.replace(noise="exact")
    exact = model.objective(exact_cfg, x1, x2, y, d, None)
    on = lambda Z: model.objective(exact_cfg, Z, Z, y[: Z.shape[-2]], d, None)
    return Objectives(fixed, exact, on(x2), on(fresh))


def reference(cfg: TrainConfig, run, fresh: np.ndarray) -> Reference:
    """The exact flow from the run's data and W0 to its stationary point (module docstring)."""
    model = models.get(cfg.model)
    red, Wr0 = reduced.reduce(cfg, run.data, run.W0)
    basis = np.hstack([red.Q, red.V])  # the reduced coordinates of a d-vector
    obj = objectives_for(model, cfg, red.x1, red.x2, run.data.y, red.d, fresh @ basis)
    end = HORIZON_STEPS * run.eta
    taus = np.concatenate(
        [
            [0.0],
            run.eta
            * np.logspace(
                0, math.log10(end / run.eta), 1 + int(PER_DECADE * math.log10(end / run.eta))
            ),
        ]
    )
    t, states, status = flow(red, Wr0, taus, gtol=GTOL, rtol=1e-8, atol=1e-11)
    logged = [losses(W, obj) for W in states]
    s, z = reduced.alignments(red, states)
    pairs = np.array([magnitudes(a, b) for a, b in zip(s, z)])
    exact = np.array([v.exact for v in logged])
    attainable = exact[0] - exact[-1]
    settled = np.flatnonzero(exact - exact[-1] <= SETTLED * attainable)
    return Reference(
        taus=t,
        losses=logged,
        signal=pairs[:, 0],
        noise=pairs[:, 1],
        status=status,
        stationary_signal=float(pairs[-1, 0]),
        attainable=float(attainable),
        tau_settled=float(t[settled[0]]),
        W=reduced.lift(red, states[-1]),
        grad_norm=float(np.linalg.norm(reduced.loss_and_grad(red, states[-1])[1])),
    )


# ------------------------------------------------------------------------------------ descent
class Member(NamedTuple):
    """One descent run, in its own basis (padded to the stack's width)."""

    x1: np.ndarray
    x2: np.ndarray
    y: np.ndarray
    mu: np.ndarray  # the signal vectors
    W0: np.ndarray
    eps: np.ndarray | None
    fresh: np.ndarray
    eta: float
    rows: np.ndarray  # the basis rows (r, d): W_d = W @ rows


def member(cfg: TrainConfig, run, fresh: np.ndarray, K: int) -> Member:
    """A run's member: the seed's data and W0 with K fixed draws (K = EXACT: none), in the basis of
    span(data, draws, W0) when that is smaller than d (sims.span), else in d dimensions."""
    model = models.get(cfg.model)
    draws, eta = None, run.eta
    if K != EXACT:
        fixed = cfg.replace(noise="fixed", noise_samples=K, eta=run.eta)
        draws = prepare(fixed, run.data, run.W0).draws  # from the seed's noise generator
        eta = min(
            eta, stepsize.perturbed(ETA_CURVATURE / model.draws_curvature(fixed, draws, cfg.n))
        )
    rows = 2 * cfg.n + 2 + cfg.m + (0 if draws is None else draws.shape[0] * 2 * cfg.n)
    if rows < cfg.d:
        B = span.basis(run.data, run.W0, draws)
        data, W0, eps = span.coordinates(B, run.data, run.W0, draws)
        fresh, rows = fresh @ B.matrix, B.rows
    else:
        data, W0, eps, rows = run.data, run.W0, draws, np.eye(cfg.d)
    return Member(data.x1, data.x2, data.y, data.signals, W0, eps, fresh, eta, rows)


def _pad(a: np.ndarray, width: int) -> np.ndarray:
    return np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, width - a.shape[-1])])


class Descent(NamedTuple):
    """One member's logged run: steps, its weights there, how it ended, and sims.descent's checks
    over the whole run (loss rises and gradient reversals: descent leaving the gradient flow)."""

    steps: np.ndarray
    weights: list
    grad_norm: np.ndarray
    converged: bool
    diverged: str | None
    checks: Checks


def descend_logged(cfg: TrainConfig, members: list, total: int) -> list:
    """Gradient descent on the stack of members for `total` steps (each with its own eta;
    stopping at ||grad L|| < TOL), logged at `log_steps(total)`: segment by segment with
    sims.descent.descend, the members that converge or diverge leaving the stack."""
    model = models.get(cfg.model)
    width = max(mb.W0.shape[-1] for mb in members)
    X1 = np.stack([_pad(mb.x1, width) for mb in members])
    X2 = np.stack([_pad(mb.x2, width) for mb in members])
    Y = np.stack([mb.y for mb in members]).astype(float)
    fixed = members[0].eps is not None
    if fixed:
        EPS = np.stack([_pad(mb.eps, width) for mb in members])
        K = EPS.shape[1]

    def objective(idx):
        if not fixed:
            return model.objective(cfg, X1[idx], X2[idx], Y[idx], cfg.d, None)
        stack = Member(X1[idx], X2[idx], Y[idx], None, None, EPS[idx], None, None, None)
        return fixed_objective(cfg, stack, K)

    W = np.stack([_pad(mb.W0, width) for mb in members])
    etas = np.array([mb.eta for mb in members])
    S = len(members)
    logs = [dict(steps=[0], weights=[W[i].copy()], grad_norm=[np.nan]) for i in range(S)]
    checks = [Checks() for _ in range(S)]
    ended: list = [None] * S  # None: running; else (converged, diverged message)
    grid = log_steps(total)
    for k0, k1 in zip(grid[:-1], grid[1:]):
        active = [i for i in range(S) if ended[i] is None]
        if not active:
            break
        outs = descend(
            lambda sub, act=active: objective(np.asarray(act)[sub]),
            W[active],
            etas[active],
            TOL,
            steps=int(k1 - k0),
            log_every=int(k1 - k0),
            align=lambda members, W: (np.zeros((len(members), 0)),) * 2,
            check=True,
        )
        for i, out in zip(active, outs):
            if isinstance(out, DivergenceError):
                ended[i] = (False, str(out))
                continue
            checks[i] = add_checks(checks[i], out.checks, int(k0))
            step = k0 + out.log["steps"][-1]
            W[i] = out.W
            logs[i]["steps"].append(step)
            logs[i]["weights"].append(out.W.copy())
            logs[i]["grad_norm"].append(out.log["grad_norm"][-1])
            if out.converged:
                ended[i] = (True, None)
    return [
        Descent(
            np.array(log["steps"]),
            log["weights"],
            np.array(log["grad_norm"]),
            bool(ended[i] and ended[i][0]),
            ended[i][1] if ended[i] else None,
            checks[i],
        )
        for i, log in enumerate(logs)
    ]


def add_checks(total: Checks, segment: Checks, start: int) -> Checks:
    """The checks of a run so far and of its next segment (starting at step `start`), as one run's;
    a segment's first step is compared with nothing (its first loss is the last one's again)."""
    first = lambda a, b: a if a >= 0 else (b + start if b >= 0 else -1)
    return Checks(
        total.loss_rises + segment.loss_rises,
        first(total.first_loss_rise, segment.first_loss_rise),
        total.gradient_reversals + segment.gradient_reversals,
        first(total.first_gradient_reversal, segment.first_gradient_reversal),
    )


# ------------------------------------------------------------------------------------- the cell
def times(taus, signal, draw_gap, data_gap, stationary_signal: float) -> dict:
    """tau_gen, tau_mem(draws) and tau_mem(data) of logged series (nan where not reached)."""
    return {
        "tau_gen": crossing(taus, signal, GEN_FRACTION * stationary_signal),
        "tau_mem_draws": crossing(taus, draw_gap, MEM_GAP),
        "tau_mem_data": crossing(taus, data_gap, MEM_GAP),
    }


def fresh_patches(cfg: TrainConfig, data) -> np.ndarray:
    """FRESH noise patches of the data's law, from their own stream of the seed."""
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, FRESH_STREAM]))
    return fresh_samples(data, FRESH, rng).x2


PROBE_STREAM = 26  # the probe's fresh samples: SeedSequence([seed, PROBE_STREAM])


def probed(W: np.ndarray, data, seed: int) -> dict:
    """The linear probe of sims.studies.probe (B5's) on the d-dimensional filters W, scored on
    fresh samples from their own stream of the seed (the same for every run of the seed)."""
    return probe(W, data, np.random.default_rng(np.random.SeedSequence([seed, PROBE_STREAM])))


def record(
    kind: str, seed: int, K: int, taus, logged, signal, noise, cosine, ref, **how
) -> tuple[dict, dict]:
    """A run's summary (its times, final values and how it ended) and its logged arrays."""
    gaps = memorisation(logged, ref.attainable)
    summary = dict(
        kind=kind,
        seed=seed,
        K=K,
        **times(taus, signal, gaps.draws, gaps.data, ref.stationary_signal),
        tau_end=float(taus[-1]),
        signal=float(signal[-1]),
        noise=float(noise[-1]),
        draw_gap=float(gaps.draws[-1]),
        data_gap=float(gaps.data[-1]),
        draw_cosine=float(cosine[-1]),
        **how,
    )
    arrays = dict(
        taus=np.asarray(taus, float),
        signal=np.asarray(signal, float),
        noise=np.asarray(noise, float),
        draw_gap=gaps.draws,
        data_gap=gaps.data,
        draw_cosine=np.asarray(cosine, float),
    )
    return summary, arrays


def group_cell(group: Group) -> Outcome:
    """A cell's runs (module docstring): per seed the exact flow, then each K (the exact loss
    first) as one stack of the seeds; the probe of each run's final filters where the cell asks."""
    model = models.get(group.model)
    runs, arrays, setup = [], {}, []
    start = time.process_time()

    def keep(summary, arr):
        i = len(runs)
        runs.append(summary)
        arrays.update({f"{i}:{k}": v for k, v in arr.items()})

    for seed in group.seeds:
        cfg = group.config(seed)
        run = prepare(cfg)
        fresh = fresh_patches(cfg, run.data)
        ref = reference(cfg, run, fresh)
        setup.append((seed, cfg, run, fresh, ref))
        regime = model.theory.regime
        how = dict(
            eta=run.eta,
            steps=0,
            converged=ref.status == "stationary",
            diverged=None,
            status=ref.status,
            attainable=ref.attainable,
            stationary_signal=ref.stationary_signal,
            tau_settled=ref.tau_settled,
            grad_norm=ref.grad_norm,
            regime=None if regime is None else regime(cfg, run.data).to_dict(),
        )
        if group.probe:
            how["probe"] = probed(ref.W, run.data, seed)
        nan = np.full(len(ref.taus), np.nan)
        keep(
            *record(
                "flow", seed, EXACT, ref.taus, ref.losses, ref.signal, ref.noise, nan, ref, **how
            )
        )
    horizon = max(HORIZON * ref.tau_settled for *_, ref in setup)
    for K in ((EXACT,) if group.descend_exact else ()) + tuple(group.draws):
        members = [member(cfg, run, fresh, K) for _, cfg, run, fresh, _ in setup]
        total = min(group.max_steps, max(int(math.ceil(horizon / mb.eta)) for mb in members))
        results = descend_logged(setup[0][1], members, total)
        halvings = [0] * len(members)
        for i, res in enumerate(results):  # amendment 1: a run that left its flow, at half the step
            while res.checks.loss_rises > 0 and halvings[i] < HALVINGS:
                halvings[i] += 1
                members[i] = members[i]._replace(eta=members[i].eta / 2)
                steps = min(group.max_steps, int(math.ceil(horizon / members[i].eta)))
                res = descend_logged(setup[0][1], [members[i]], steps)[0]
            results[i] = res
        for (seed, cfg, run, _, ref), mb, res, halved in zip(setup, members, results, halvings):
            fixed = None if K == EXACT else fixed_objective(cfg, mb, K)
            obj = objectives_for(model, cfg, mb.x1, mb.x2, mb.y, cfg.d, mb.fresh, fixed)
            weights = [W[..., : mb.W0.shape[-1]] for W in res.weights]
            logged = [losses(W, obj) for W in weights]
            pairs = np.array([magnitudes(W @ mb.mu.T, W @ mb.x2.T) for W in weights])
            cos = [np.nan if mb.eps is None else draw_cosine(W, mb.eps) for W in weights]
            how = dict(
                eta=mb.eta,
                steps=int(res.steps[-1]),
                converged=res.converged,
                diverged=res.diverged,
                capped=bool(res.steps[-1] >= group.max_steps and not res.converged),
                horizon=horizon,
                eta_halvings=halved,
                **res.checks._asdict(),
            )
            if group.probe:
                how["probe"] = probed(weights[-1] @ mb.rows, run.data, seed)
            kind = "exact" if K == EXACT else "fixed"
            keep(
                *record(
                    kind,
                    seed,
                    K,
                    mb.eta * res.steps,
                    logged,
                    pairs[:, 0],
                    pairs[:, 1],
                    cos,
                    ref,
                    **how,
                )
            )
    return Outcome({"runs": runs, "cpu_seconds": time.process_time() - start}, arrays)


def fixed_objective(cfg: TrainConfig, mb: Member, K: int):
    """The fixed draws' loss of a member (FAST_DRAWS where the module has it, else the model's)."""
    fast = FAST_DRAWS.get(cfg.model)
    if fast is not None:
        return fast(mb.x1, mb.x2, mb.eps, cfg.diffusion_times, cfg.objective, cfg.scale)
    fixed = cfg.replace(noise="fixed", noise_samples=K)
    return models.get(cfg.model).objective(fixed, mb.x1, mb.x2, mb.y, cfg.d, None, mb.eps)


# ----------------------------------------------------------------------------------- the study
class Law(NamedTuple):
    """A data law held fixed while n changes: ||mu||^2 and ||xi||^2 (None: sigma_xi = 1, ||xi||^2 =
    d), so that the signal group G_s = (alpha / beta)^2 n_j ||mu||^2 / n = ||mu||^2 / 2 (balanced
    labels, alpha = beta) is the same at every n and the noise group G_n = ||xi||^2 / n falls like
    1 / n (theory.law)."""

    mu2: float
    xi2: float | None

    def settings(self, d: int) -> dict:
        """snr and sigma_xi of the law in dimension d."""
        xi2 = d if self.xi2 is None else self.xi2
        return {"snr": math.sqrt(self.mu2 / xi2), "sigma_xi": math.sqrt(xi2 / d)}


# the science study's two regimes: G_s = 50 with sigma_xi = 1 (saturated at every n), and G_s =
# 0.125 with ||xi||^2 = 5 (G_n = 0.25 at n = 20; linear at every n of the grid)
LAWS = {"saturated": Law(100.0, None), "linear": Law(0.25, 5.0)}


@dataclass(frozen=True)
class Grid:
    """A cell of the study: a data law, n and the width m."""

    law: str
    n: int
    m: int


def group(size, law: str, n: int, m: int, draws: tuple, seed: int, model: str) -> Group:
    """The cell's Group: its seeds come from (law, n) alone, so that every width sees the same data
    and initial weights' law (and the cell of the n grid at m equal to the widths' is one cell)."""
    return Group(
        model=model,
        regime=law,
        n=n,
        d=size.d,
        m=m,
        **LAWS[law].settings(size.d),
        sigma0=size.sigma0,
        seeds=tuple(cell_seed(seed, "memorise", law, n, i) for i in range(size.seeds)),
        draws=tuple(K for K in draws if 2 * n * K <= size.max_draws),
        max_steps=size.max_steps,
    )


def cells(preset_name: str, seed: int, model: str = MODEL) -> dict:
    size = presets.get(preset_name).memorise
    out = {}
    for law in size.laws:
        for n in size.n:
            out[Grid(law, n, size.m)] = (
                "memorise",
                group(size, law, n, size.m, size.draws, seed, model),
            )
        for m in size.widths:
            out[Grid(law, size.width_n, m)] = (
                "memorise",
                group(size, law, size.width_n, m, size.width_draws, seed, model),
            )
    return out


class Record(NamedTuple):
    """One run of a cell, as its summary holds it (nan where JSON holds null), with its logged
    series (`series`: taus, signal, noise, draw_gap, data_gap, draw_cosine)."""

    kind: str  # "flow" (the exact loss's gradient flow), "exact" or "fixed" (descent)
    seed: int
    K: int  # draws (EXACT for the exact loss)
    tau_gen: float
    tau_mem_draws: float
    tau_mem_data: float
    tau_end: float
    signal: float
    noise: float
    draw_gap: float
    data_gap: float
    draw_cosine: float
    eta: float
    steps: int
    converged: bool
    diverged: str | None
    capped: bool
    info: dict  # the rest of the summary (the flow's status, regime, probe, ...)
    series: dict

    @classmethod
    def of(cls, summary: dict, series: dict) -> Record:
        fields = {k: summary.get(k) for k in cls._fields if k not in ("info", "series")}
        for k, v in fields.items():
            if v is None and k not in ("diverged",):
                fields[k] = False if k in ("converged", "capped") else float("nan")
        info = {k: v for k, v in summary.items() if k not in cls._fields}
        return cls(**fields, info=info, series=series)


def records(cell) -> list[Record]:
    """The Records of a finished memorise cell."""
    out = []
    for i, summary in enumerate(cell.summary["runs"]):
        prefix = f"{i}:"
        series = {k[len(prefix) :]: v for k, v in cell.arrays.items() if k.startswith(prefix)}
        out.append(Record.of(summary, series))
    return out


@dataclass(frozen=True)
class Memorised:
    """The study's numbers: every cell's runs (Grid -> [Record]) and the preset's sizes."""

    size: object
    runs: dict
    preset_name: str

    def at(self, law: str, n: int, m: int) -> list:
        return self.runs.get(Grid(law, n, m), [])


def measure(preset_name: str, results: dict, seed: int = 0) -> Memorised:
    return Memorised(
        presets.get(preset_name).memorise,
        {name: records(cell) for name, cell in results.items()},
        preset_name,
    )


STUDY = Study("memorise", cells, measure)


# ------------------------------------------------------------------------- aggregates over seeds
class Mean(NamedTuple):
    """The runs of one kind and K in one cell, over its seeds: the geometric mean of each time when
    every seed reached it (else nan: censored), the arithmetic mean of the final values, and how the
    runs ended."""

    kind: str
    K: int
    seeds: int
    tau_gen: float
    tau_mem_draws: float
    tau_mem_data: float
    tau_end: float  # the shortest run's last tau
    data_gap: float
    draw_gap: float
    draw_cosine: float
    signal: float
    noise: float
    converged: int  # seeds whose run stopped at ||grad L|| < TOL (the flow: stationary)
    capped: int  # seeds whose run the step cap stopped
    diverged: int


def _geometric(values) -> float:
    v = np.asarray(values, float)
    return float(np.exp(np.mean(np.log(v)))) if v.size and np.all(v > 0) else float("nan")


def mean_of(runs: list[Record]) -> Mean:
    """The Mean of records of one kind and K (module docstring's censoring)."""
    ok = [r for r in runs if r.diverged is None]
    mean = lambda f: float(np.mean([getattr(r, f) for r in ok])) if ok else float("nan")
    timed = lambda f: _geometric([getattr(r, f) for r in ok]) if len(ok) == len(runs) else np.nan
    return Mean(
        kind=runs[0].kind,
        K=runs[0].K,
        seeds=len(runs),
        tau_gen=timed("tau_gen"),
        tau_mem_draws=timed("tau_mem_draws"),
        tau_mem_data=timed("tau_mem_data"),
        tau_end=float(min(r.tau_end for r in runs)),
        data_gap=mean("data_gap"),
        draw_gap=mean("draw_gap"),
        draw_cosine=mean("draw_cosine"),
        signal=mean("signal"),
        noise=mean("noise"),
        converged=sum(bool(r.converged) for r in runs),
        capped=sum(bool(r.capped) for r in runs),
        diverged=len(runs) - len(ok),
    )


def means(runs: list[Record]) -> dict:
    """{(kind, K): Mean} of a cell's records."""
    groups: dict = {}
    for r in runs:
        groups.setdefault((r.kind, r.K), []).append(r)
    return {key: mean_of(rs) for key, rs in groups.items()}


def left_flow(m: Memorised, names) -> dict:
    """Of the descent runs in the cells `names`: how many ran, and which left the gradient flow
    (sims.descent's check: the loss rose somewhere), with the tau of the first rise."""
    runs = [(name, r) for name in names for r in m.runs.get(name, []) if r.kind != "flow"]
    left = [
        f"{cell_words(name)} K = {r.K or 'exact'} seed {r.seed}: from tau = "
        f"{r.eta * r.info['first_loss_rise']:.3g}"
        for name, r in runs
        if r.info.get("loss_rises", 0) > 0
    ]
    halved = [r.info.get("eta_halvings", 0) for _, r in runs]
    return {
        "descent_runs": len(runs),
        "repeated_at_a_smaller_step": sum(h > 0 for h in halved),
        "halvings": sum(halved),
        "left_the_flow": left,
    }


def ordered(d: dict) -> list:
    """A dict's items with numeric keys in numeric order (report.json holds them as sorted text)."""

    def key(k):
        try:
            return (0, float(k), "")
        except (TypeError, ValueError):
            return (1, 0.0, str(k))

    return sorted(d.items(), key=lambda kv: key(kv[0]))


def seeds(count: int) -> str:
    """'1 seed', '3 seeds'."""
    return f"{count} seed{'s' if count != 1 else ''}"


def cell_words(name) -> str:
    """A cell's name in words (its dataclass fields)."""
    return " ".join(f"{k} = {v}" for k, v in asdict(name).items())


def domain_sentence(e: dict) -> str:
    """The entry's domain in one sentence (REPORT.md prints the paragraph)."""
    d = (e.get("domain") or {}).get("measured") or {}
    return f"Domain: {d['headline']}; measured over {d['measured_over']}." if d else ""


def departures(left: dict) -> str:
    """Which descent runs left the gradient flow (a rising loss), in words."""
    if not left:
        return ""
    runs = left.get("left_the_flow", [])
    return (
        f"Of {left['descent_runs']} descent runs, {left.get('repeated_at_a_smaller_step', 0)} "
        f"were repeated at a smaller step because their loss rose (amendment 1), and "
        f"{len(runs)} still left the gradient flow{': ' + '; '.join(runs) if runs else ''}."
    )
