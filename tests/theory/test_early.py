"""The early phase in closed form (theory.early): the orbit against a numerical solution, the
leading-order alignments against the exact reduced flow and gradient descent from small weights,
the window groups and the closed-form linearity index, the race group's scaling with sigma0, and
C1's boundary as a function of Z = sigma0 sigma_xi sqrt(d) alone."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from sims.config import TrainConfig
from sims.models import summarize
from sims.train import prepare, train
from theory import early, reduced
from theory.ode import flow
from theory.predict import boundary_nsnr2


def unit_system(t, y):
    """dg/dt = 6 s g, ds/dt = g + 2 s^2, d(log E)/dt = 2 s (the module docstring's units)."""
    g, s, _ = y
    return [6 * s * g, g + 2 * s * s, 2 * s]


@pytest.mark.parametrize("s0", [0.0, 0.07, -0.2])
def test_orbit_solves_the_unit_system(s0):
    c = math.sqrt(1 - s0 * s0)
    w = np.linspace(s0 / c, 3.0, 60)
    o = early.orbit(w, s0)
    keep = o.t < 0.95 * early.blowup_clock(s0)
    sol = solve_ivp(
        unit_system, [0, o.t[keep][-1]], [1.0, s0, 0.0], rtol=1e-12, atol=1e-13, dense_output=True
    )
    g, s, logE = sol.sol(o.t[keep])
    np.testing.assert_allclose(g, o.g[keep], rtol=1e-8)
    np.testing.assert_allclose(s, o.s[keep], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(np.exp(logE), o.E[keep], rtol=1e-8)


@pytest.mark.parametrize("s0", [0.0, 0.1, -0.1])
def test_blowup_clock(s0):
    """pi/4 at s0 = 0 exactly; the solver's norm passes 1e8 just before the closed form's t_b, and
    near it g = 1 / (9 (t_b - t)^2)."""
    tb = early.blowup_clock(s0)
    if s0 == 0:
        assert tb == math.pi / 4
    big = lambda t, y: y[0] - 1e8
    big.terminal = True
    sol = solve_ivp(unit_system, [0, 10], [1.0, s0, 0.0], rtol=1e-12, atol=1e-13, events=big)
    t_hit = sol.t_events[0][0]
    c3 = (1 - s0 * s0) ** 1.5
    assert t_hit < tb and tb - t_hit == pytest.approx(1e-4 / 3 / math.sqrt(c3 * c3), rel=2e-2)


def small_start(sigma0=1e-5, seed=2, nsnr2=0.75, **kw):
    cfg = TrainConfig(
        model="diffusion", n=10, d=400, m=3, nsnr2=nsnr2, sigma0=sigma0, seed=seed, **kw
    )
    run = prepare(cfg)
    return cfg, run


def test_leading_alignments_start_at_the_initial_ones_with_the_leading_rate():
    """At tau = 0 the alignments are W0's, and their slope is k (G_rr <Sigma, z> + 2 S_r <w_r, z>)
    (theory.derive.leading_rate: a dropped factor 2 or 1/(2n) fails)."""
    cfg, run = small_start()
    data, W0 = run.data, run.W0
    h = 1e-6 * early.neurons(cfg, data, W0).clock.min()
    sig, noi = early.leading_alignments(cfg, data, W0, [0.0, h])
    Z = np.vstack([data.signals, data.x2])
    np.testing.assert_allclose(np.concatenate([sig[0], noi[0]], axis=1), W0 @ Z.T, rtol=1e-12)
    sigma = early.patch_sum(data)
    G, S = np.sum(W0 * W0, axis=1), W0 @ sigma
    k = 4 * (1 / cfg.m) * cfg.alpha * cfg.beta / (2 * data.n)
    rate = k * (G[:, None] * (Z @ sigma)[None, :] + 2 * S[:, None] * (W0 @ Z.T))
    slope = (np.concatenate([sig[1], noi[1]], axis=1) - W0 @ Z.T) / h
    np.testing.assert_allclose(slope, rate, rtol=1e-4)


def test_leading_alignments_follow_the_exact_flow_from_small_weights():
    """From sigma0 = 1e-5 the reduced flow (every order) stays within 1e-3 of the closed form up
    to 90 % of the first blow-up, where the first neuron's norm^2 has grown ~ 25 times."""
    cfg, run = small_start()
    data, W0 = run.data, run.W0
    nn = early.neurons(cfg, data, W0)
    taus = np.linspace(0, 0.9 * nn.blowup.min(), 7)
    sig, noi = early.leading_alignments(cfg, data, W0, taus)
    red, Wr0 = reduced.reduce(cfg, data, W0)
    _, states = flow(red, Wr0, taus)[:2]
    for k, Wr in enumerate(states):
        s_ex, n_ex = reduced.alignments(red, Wr)
        scale = np.abs(n_ex).max()
        assert np.abs(sig[k] - s_ex).max() < 1e-3 * scale
        assert np.abs(noi[k] - n_ex).max() < 1e-3 * scale
    G_end = np.sum(reduced.lift(red, states[-1]) ** 2, axis=1)
    first = int(np.argmin(nn.blowup))
    assert G_end[first] > 20 * nn.G0[first]


def test_leading_summaries_match_descent_and_its_linearity_index():
    """Descent from sigma0 = 1e-4 logged every step: the headline summaries agree with the closed
    form to 1e-3 through the window, and so do their linearity indices."""
    from sims.studies.measures import linear_window, linearity

    cfg, run = small_start(sigma0=1e-4, nsnr2=2.0)
    steps = int(0.8 * early.neurons(cfg, run.data, run.W0).blowup.min() / run.eta)
    r = train(cfg.replace(steps=steps, log_every=1))
    y = run.data.y
    taus = run.eta * r.steps
    lead = [
        summarize(cfg.model, s, z, y)
        for s, z in zip(*early.leading_alignments(cfg, run.data, run.W0, taus))
    ]
    sim = [summarize(cfg.model, s, z, y) for s, z in zip(r.signal, r.noise)]

    class T:
        pass

    idx = {}
    for name, seq in (("lead", lead), ("sim", sim)):
        t = T()
        t.signal_max = np.array([p.signal for p in seq])
        t.noise_max = np.array([p.noise for p in seq])
        k = linear_window(t)
        idx[name] = (k, linearity(t.signal_max, k), linearity(t.noise_max, k))
    assert abs(idx["lead"][0] - idx["sim"][0]) <= 2
    assert idx["lead"][1] == pytest.approx(idx["sim"][1], rel=1e-2)
    assert idx["lead"][2] == pytest.approx(idx["sim"][2], rel=1e-2)


def test_window_groups_at_a_typical_draw():
    """With orthogonal patches and initial summaries kappa_m sigma0 ||z||, the run's groups are the
    typical ones; they scale as 1/sqrt(d) and do not depend on sigma0 or sigma_xi."""
    n, d, m, x = 12, 3000, 4, 1.5
    for sigma0, sigma_xi in ((1e-3, 1.0), (0.3, 0.01)):
        cfg = TrainConfig(
            model="diffusion",
            n=n,
            d=d,
            m=m,
            nsnr2=x,
            sigma0=sigma0,
            sigma_xi=sigma_xi,
            data_noise="orthogonal",
            labels="balanced",
            seed=1,
        )
        run = prepare(cfg.replace(eta=1.0))
        W0 = run.W0 / np.linalg.norm(run.W0, axis=1, keepdims=True) * sigma0 * math.sqrt(d)
        kappa = early.expected_max_normal(m)
        mu, xi = np.linalg.norm(run.data.mu[0]), np.linalg.norm(run.data.x2[0])
        got = early.window_groups(run.data, W0, kappa * sigma0 * mu, kappa * sigma0 * xi)
        want = early.typical_window_groups(n, d, m, x)
        assert got.signal == pytest.approx(want.signal, rel=1e-9)
        assert got.noise == pytest.approx(want.noise, rel=1e-9)
    quarter = early.typical_window_groups(n, 4 * d, m, x)
    assert quarter.window == pytest.approx(want.window / 2, rel=1e-12)


def test_expected_max_normal_against_sampling():
    rng = np.random.default_rng(np.random.SeedSequence(7))
    draws = rng.standard_normal((200_000, 4)).max(axis=1)
    assert early.expected_max_normal(4) == pytest.approx(draws.mean(), abs=0.01)
    assert early.expected_max_normal(1) == 0.0


def test_linearity_index_closed_form():
    """Index -> 1 as Lambda -> 0 (like 1 + c Lambda^2), grows with Lambda; the window never passes
    the blow-up t_b = pi/4; one feature's index is that of two equal features."""
    small = [early.linearity_index([lam], 5.0)[1] - 1 for lam in (1e-3, 2e-3)]
    assert small[1] / small[0] == pytest.approx(4.0, rel=0.02)
    values = [early.linearity_index([lam, 2 * lam], 5.0) for lam in (0.01, 0.1, 1.0, 10.0)]
    assert all(a[1] < b[1] for a, b in zip(values, values[1:]))
    assert all(t < math.pi / 4 for t, _ in values)
    assert early.linearity_index([0.2], 5.0)[1] == pytest.approx(
        early.linearity_index([0.2, 0.2], 5.0)[1], rel=1e-12
    )
    # small Lambda: t_w = (growth - 1) Lambda to leading order
    assert early.linearity_index([1e-4], 5.0)[0] == pytest.approx(4e-4, rel=1e-3)


def test_race_group_scales_with_sigma0():
    """A seed fixes the lag (it does not depend on sigma0), so B = sqrt(I0) / (3 lag) ~ sigma0."""
    a = small_start(sigma0=1e-3)
    b = small_start(sigma0=1e-5)
    ra = early.race(a[0], a[1].data, a[1].W0, init_ratio=4e-2)
    rb = early.race(b[0], b[1].data, b[1].W0, init_ratio=4e-6)
    assert ra.lag == pytest.approx(rb.lag, rel=1e-9) and ra.lag > 0
    assert ra.group / rb.group == pytest.approx(100.0, rel=1e-9)
    assert ra.group == pytest.approx(math.sqrt(4e-2) / (3 * ra.lag))


@pytest.mark.parametrize("m", [1, 4])
def test_boundary_depends_on_z_alone(m):
    """theory.predict's boundary is theory.early.boundary_of(Z, n, m): the same for sigma0 and
    sigma_xi traded at a fixed product; 2 + log(n / x) / Lf; nan once Lf <= 0."""
    base = TrainConfig(model="classification", n=20, d=2000, m=m, sigma0=0.01)
    z = early.alignment_group(base)
    for k in (1e-3, 10.0):
        other = base.replace(sigma0=base.sigma0 * k, sigma_xi=base.sigma_xi / k)
        assert boundary_nsnr2(other) == pytest.approx(boundary_nsnr2(base), rel=1e-12)
    x = early.boundary_of(z, 20, m)
    assert x == pytest.approx(boundary_nsnr2(base), rel=1e-12)
    assert x == pytest.approx(2 + math.log(20 / x) / early.log_factor(z, m), rel=1e-10)
    assert early.boundary_of(1e-9, 20, m) < early.boundary_of(z, 20, m)
    assert math.isnan(early.boundary_of(2 * math.sqrt(m) / early.expected_max_abs_normal(m), 20, m))


def test_classifier_depends_on_sigma0_and_sigma_xi_through_z():
    """sigma0 -> k sigma0, sigma_xi -> sigma_xi / k with one seed: the same alignments, winner and
    test error (the data's common scale only rescales time, and auto eta follows it)."""
    cfg = TrainConfig(
        model="classification",
        n=10,
        d=300,
        m=2,
        nsnr2=3.0,
        sigma0=0.01,
        steps=300,
        log_every=50,
        seed=4,
    )
    a = train(cfg)
    b = train(cfg.replace(sigma0=0.01 * 7, sigma_xi=1 / 7))
    np.testing.assert_allclose(a.noise, b.noise, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(a.signal, b.signal, rtol=1e-7, atol=1e-12)
    assert a.summary()["test_error"] == b.summary()["test_error"]
