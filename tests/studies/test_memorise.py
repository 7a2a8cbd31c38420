"""The memorisation study (sims.studies.memorise) and the best-time study (sims.studies.besttime):
the laws' groups, the cells of each preset, a cell's runs against the core (sims.train, the exact
flow), censoring and the seeds' means."""

import math

import numpy as np
import pytest

from sims.config import TrainConfig
from sims.descent import Checks
from sims.studies import besttime, memorise, presets
from sims.studies.memorise import EXACT, LAWS, Grid, Group, Record, mean_of
from sims.train import prepare, train
from theory.law import regime_of, setting_groups

TINY = Group(
    model=memorise.MODEL,
    regime="saturated",
    n=6,
    d=40,
    m=2,
    **LAWS["saturated"].settings(40),
    sigma0=0.01,
    seeds=(3, 4),
    draws=(1, 8),
    max_steps=3000,
)


@pytest.fixture(scope="module")
def cell():
    out = memorise.group_cell(TINY)
    return out, memorise.records(type("C", (), {"summary": out.summary, "arrays": out.arrays}))


def test_log_steps():
    for total in (1, 7, 1000, 12345):
        k = memorise.log_steps(total)
        assert k[0] == 0 and k[-1] == total and np.all(np.diff(k) > 0)
    k = memorise.log_steps(10**4)  # PER_DECADE a decade where rounding to steps keeps them apart
    assert np.sum(k > 1000) == memorise.PER_DECADE and len(k) <= 2 + 4 * memorise.PER_DECADE


@pytest.mark.parametrize("n", [4, 20, 40])
def test_laws_hold_the_signal_group_and_their_regime(n):
    d = 200
    for name, law in LAWS.items():
        cfg = TrainConfig(n=n, d=d, m=4, labels="balanced", **law.settings(d))
        data = prepare(cfg).data
        G_s, G_n = setting_groups(cfg, data)
        assert G_s == pytest.approx(law.mu2 / 2)  # alpha = beta, n_j = n / 2
        xi2 = d if law.xi2 is None else law.xi2
        assert G_n == pytest.approx(xi2 / n, rel=0.3)  # ||xi_i||^2 scatters about sigma_xi^2 d
        assert regime_of(cfg, data).d2 == name


@pytest.mark.parametrize("preset", ["tiny", "quick", "full"])
def test_cells_of_each_preset(preset):
    size = presets.get(preset).memorise
    cells = memorise.cells(preset, 0)
    for name, (kind, group) in cells.items():
        assert kind == "memorise" and group.n == name.n and group.m == name.m
        assert all(2 * group.n * K <= size.max_draws for K in group.draws)
        assert len(group.seeds) == size.seeds
    for law in size.laws:  # every width sees the seeds of its n
        seeds = {cells[Grid(law, size.width_n, w)][1].seeds for w in size.widths}
        assert len(seeds) == 1
    if preset == "full":
        assert len(size.n) >= 5 and max(size.n) >= 10 * min(size.n)
        assert max(size.draws) == 256 and min(size.draws) == 1
        assert min(size.widths) < size.width_n < max(size.widths)
    times = besttime.cells(preset, 0)
    assert len(times) == len(size.time_index) * len(size.nsnr2)
    for name, (_, group) in times.items():
        alpha, beta = besttime.times(size)[name.k]
        assert (group.alpha, group.beta) == (alpha, beta) and group.probe
        assert group.n * group.snr**2 == pytest.approx(name.nsnr2)


def test_a_cell_has_the_flow_the_exact_run_and_each_K_per_seed(cell):
    out, records = cell
    kinds = [(r.kind, r.K, r.seed) for r in records]
    want = [("flow", EXACT, s) for s in TINY.seeds]
    want += [
        (kind, K, s)
        for kind, K in [("exact", EXACT), ("fixed", 1), ("fixed", 8)]
        for s in TINY.seeds
    ]
    assert kinds == want
    for r in records:
        taus = r.series["taus"]
        assert taus[0] == 0 and np.all(np.diff(taus) > 0)
        assert r.series["data_gap"][0] == 0  # from the initial weights
        if r.K == EXACT:
            assert np.all(np.isnan(r.series["draw_gap"])) and np.isnan(r.tau_mem_draws)
        else:
            assert r.series["draw_gap"][0] == 0 and r.draw_cosine > 0
    flow = {r.seed: r for r in records if r.kind == "flow"}
    assert all(r.info["status"] == "stationary" and r.info["attainable"] > 0 for r in flow.values())
    for r in records:
        if r.kind == "exact":  # descent on the exact loss follows its flow
            assert r.tau_gen == pytest.approx(flow[r.seed].tau_gen, rel=0.1)
            assert r.tau_end >= memorise.HORIZON * flow[r.seed].info["tau_settled"]


def test_the_exact_run_is_the_core_descent(cell):
    """descend_logged on the exact loss ends where sims.train does, with the same eta and steps."""
    _, records = cell
    seed = TINY.seeds[0]
    r = next(x for x in records if x.kind == "exact" and x.seed == seed)
    res = train(TINY.config(seed).replace(steps=r.steps, log_every=r.steps, tol=0.0))
    signal = np.abs(res.signal[-1]).max(axis=0).mean()
    assert res.extra["eta"] == r.eta and signal == pytest.approx(r.signal, rel=1e-8)


def test_records_read_null_as_nan_and_means_censor():
    def rec(seed, tau, **kw):
        summary = dict(
            kind="fixed",
            seed=seed,
            K=4,
            tau_gen=tau,
            tau_mem_draws=None,
            tau_mem_data=2.0,
            tau_end=5.0,
            signal=1.0,
            noise=1.0,
            draw_gap=1.0,
            data_gap=0.5,
            draw_cosine=0.3,
            eta=0.1,
            steps=50,
            converged=None,
            diverged=None,
            capped=False,
            extra=1,
            **kw,
        )
        return Record.of(summary, {})

    a, b = rec(0, 1.0), rec(1, 4.0)
    assert math.isnan(a.tau_mem_draws) and a.converged is False and a.info == {"extra": 1}
    m = mean_of([a, b])
    assert m.tau_gen == pytest.approx(2.0) and m.tau_mem_data == pytest.approx(2.0)
    assert math.isnan(m.tau_mem_draws)  # no seed reached it
    assert math.isnan(mean_of([a, rec(1, None)]).tau_gen)  # one seed did not: censored


def test_checks_add_over_segments():
    """A run's checks over its segments: counts add, the first step is the first segment's that has
    one (shifted by the segment's start)."""
    none, total = Checks(), Checks()
    total = memorise.add_checks(total, none, 0)
    total = memorise.add_checks(total, Checks(2, 5, 1, 7), 100)
    total = memorise.add_checks(total, Checks(3, 1, 0, -1), 200)
    assert total == Checks(5, 105, 1, 107)


def test_left_flow_names_the_runs_whose_loss_rose(cell):
    _, records = cell
    rose = records[-1]._replace(info={**records[-1].info, "loss_rises": 3, "first_loss_rise": 10})
    memo = memorise.Memorised(None, {Grid("saturated", 6, 2): records[:-1] + [rose]}, "tiny")
    left = memorise.left_flow(memo, [Grid("saturated", 6, 2)])
    assert left["descent_runs"] == len(records) - len(TINY.seeds)  # the flows are not descent
    (only,) = left["left_the_flow"]
    assert f"K = {rose.K}" in only and f"seed {rose.seed}" in only
    assert f"tau = {rose.eta * 10:.3g}" in only
