"""The alignment ODE (theory.ode): invariants, a closed-form special case, and agreement with
descent."""

import numpy as np
import pytest
from each import WITH_THEORY
from scipy import optimize, special

from sims import models
from sims.config import TrainConfig
from sims.data import Dataset
from sims.train import prepare, train
from theory import reduced
from theory.ode import flow, logged_steps, run_ode


def reduced_setting(cfg):
    _, data, W0, eta, *_ = prepare(cfg)
    red, Wr0 = reduced.reduce(cfg, data, W0)
    return red, Wr0, data, eta


@pytest.mark.parametrize("model", WITH_THEORY)
def test_at_tau_zero_the_ode_is_the_initial_state(model):
    cfg = TrainConfig(model=model, n=6, d=100, m=2, steps=20, log_every=10)
    ode, gd = run_ode(cfg), train(cfg)
    for key in ("signal", "noise", "loss", "grad_norm"):
        np.testing.assert_allclose(
            getattr(ode, key)[0], getattr(gd, key)[0], rtol=1e-12, atol=1e-14
        )
    red, Wr0, _, _ = reduced_setting(cfg)
    t, states, status = flow(red, Wr0, [0.0])
    assert status == "ok" and t[0] == 0 and np.array_equal(states[0], Wr0)
    np.testing.assert_array_equal(ode.steps, logged_steps(20, 10))


def test_tol_stops_the_ode_where_descent_stops():
    cfg = TrainConfig(n=6, d=200, m=2, tol=1e-6, steps=20000, log_every=500)
    ode, gd = run_ode(cfg), train(cfg)
    assert ode.converged and gd.converged
    assert abs(ode.steps[-1] - gd.steps[-1]) <= 0.01 * gd.steps[-1]
    assert ode.grad_norm[-1] == pytest.approx(1e-6, rel=1e-6)


@pytest.mark.parametrize("model", WITH_THEORY)
def test_many_times_at_once_equal_each_time_alone(model):
    cfg = TrainConfig(model=model, n=6, d=100, m=2, nsnr2=2.0)
    red, Wr0, _, eta = reduced_setting(cfg)
    taus = eta * np.array([0.0, 7.0, 100.0, 900.0, 3000.0])
    _, together, _ = flow(red, Wr0, taus)
    for tau, state in zip(taus, together):
        _, alone, _ = flow(red, Wr0, [tau])
        # two adaptive solves with rtol 1e-9 agree to well within 1e-6 of the state's size
        np.testing.assert_allclose(alone[-1], state, rtol=0, atol=1e-6 * np.abs(state).max())


def test_closed_form_classification_special_case():
    """n = 1, m = 1, y = +1, the noise alignment and the class -1 filter at zero: with u = <w, mu>^2
    / m, du/dtau = kappa u / (1 + e^u), kappa = 4 ||mu||^2 / m, so tau(u) = (ln(u/u0) + Ei(u) -
    Ei(u0)) / kappa."""
    d, mu_norm, u0 = 6, 1.3, 0.01
    mu = np.zeros((2, d))
    mu[0, 0] = mu[1, 1] = mu_norm
    xi = np.zeros((1, d))
    xi[0, 2] = 2.0
    data = Dataset(x1=mu[:1], x2=xi, y=np.array([1]), mu=mu)
    W0 = np.zeros((2, 1, d))
    W0[0, 0, 0] = np.sqrt(u0) / mu_norm  # <w, mu> = sqrt(m u0) with m = 1
    W0[0, 0, 4] = 0.3  # a part orthogonal to all data: it never moves
    cfg = TrainConfig(model="classification", n=1, d=d, m=1)
    red, Wr0 = reduced.reduce(cfg, data, W0)
    kappa = 4 * mu_norm**2
    tau_of = lambda u: (np.log(u / u0) + special.expi(u) - special.expi(u0)) / kappa
    taus = np.linspace(0, 5.0, 41)
    _, states, _ = flow(red, Wr0, taus)
    u_ode = (reduced.alignments(red, states)[0][:, 0, 0, 0]) ** 2
    u_true = np.array(
        [
            optimize.brentq(lambda u, t=t: tau_of(u) - t, u0 * (1 - 1e-12), 50.0, xtol=1e-14)
            if t > 0
            else u0
            for t in taus
        ]
    )
    assert u_true[-1] > 3  # through the exponential phase into saturation
    atol, rtol = 1e-9, 1e-6
    assert np.max(np.abs(u_ode - u_true) / (atol + rtol * np.abs(u_true))) < 1
    np.testing.assert_allclose(reduced.lift(red, states[-1])[0, 0, 4], 0.3)


def ode_vs_gd(cfg, eta):
    """run_ode and train with step size eta, and their largest alignment difference: over the whole
    run and at the end."""
    ode, gd = run_ode(cfg.replace(eta=eta)), train(cfg.replace(eta=eta))
    assert np.array_equal(ode.steps, gd.steps)
    gap = np.maximum(
        np.abs(ode.signal - gd.signal).reshape(len(gd.steps), -1).max(axis=1),
        np.abs(ode.noise - gd.noise).reshape(len(gd.steps), -1).max(axis=1),
    )
    return gap.max(), gap[-1], gd


@pytest.mark.parametrize(
    "model,data_noise,d",
    [
        ("diffusion", "orthogonal", 200),
        ("diffusion", "projected", 1500),
        ("classification", "orthogonal", 200),
        ("classification", "projected", 1500),
        ("untied", "projected", 1500),
        ("fixed-output", "projected", 1500),
    ],
)
def test_ode_follows_gradient_descent_at_small_eta(model, data_noise, d):
    """Descent is forward Euler for the flow: the gap is O(eta) over a fixed tau, here tau = 25
    (diffusion: growth and the stationary phase) or 2 (classification: exponential growth and
    saturation; its fast exponential rates need eta a quarter of the auto step for the same
    accuracy; the untied models' exponential growth likewise)."""
    base = TrainConfig(model=model, n=8, d=d, m=3, nsnr2=1.0, data_noise=data_noise)
    red, Wr0, data, eta0 = reduced_setting(base)
    linear = models.get(model).look.growth == "linear"
    tau, first = (25.0, 1.0) if linear else (2.0, 0.25)
    gaps, ends = [], []
    for factor in (first, first / 2):
        eta = factor * eta0
        cfg = base.replace(steps=int(round(tau / eta)), log_every=int(round(tau / eta)) // 20)
        gap, end, gd = ode_vs_gd(cfg, eta)
        gaps.append(gap)
        ends.append(end)
    scale = max(np.abs(gd.signal).max(), np.abs(gd.noise).max())
    # stated tolerance: 5 % of the alignment scale at the larger step size, and first order in eta
    assert gaps[0] < 0.05 * scale
    assert 0.4 < gaps[1] / gaps[0] < 0.6
    if linear:  # a denoiser: both reach the same stationary point
        assert gd.grad_norm[-1] < 1e-5 * gd.grad_norm[0]
        assert ends[0] < 1e-6 * scale


@pytest.mark.slow
@pytest.mark.parametrize("model", WITH_THEORY)
@pytest.mark.parametrize("nsnr2", [0.075, 0.75, 6.75])
def test_ode_overlays_descent_at_the_default_setting(model, nsnr2):
    """d = 2000, n = 20, m = 4, auto eta, 3000 steps: the summaries agree (diffusion: to 1e-3, both
    reach the stationary point; classification: to 5 %, with the same winner)."""
    cfg = TrainConfig(model=model, nsnr2=nsnr2)
    ode, gd = run_ode(cfg).summary(), train(cfg).summary()
    if "test_error" not in gd:  # a denoiser: both at the stationary point
        assert ode["ratio"] == pytest.approx(gd["ratio"], rel=1e-3)
    else:
        assert ode["ratio"] == pytest.approx(gd["ratio"], rel=0.05)
        assert (ode["ratio"] > 1) == (gd["ratio"] > 1)
        assert ode["test_error"] == pytest.approx(gd["test_error"], abs=0.05)


@pytest.mark.parametrize("model", ["diffusion", "untied", "fixed-output"])
def test_the_jacobian_changes_the_cost_not_the_flow(model):
    """flow(..., jacobian=True) hands the solver -Hessian from the closed-form products: the same
    states to the solver's tolerance."""
    cfg = TrainConfig(model=model, n=6, d=200, m=2, nsnr2=2.0, sigma_xi=0.3)
    red, Wr0, _, eta = reduced_setting(cfg)
    taus = eta * np.array([0.0, 50.0, 500.0, 3000.0])
    _, plain, s1 = flow(red, Wr0, taus)
    _, given, s2 = flow(red, Wr0, taus, jacobian=True)
    assert s1 == s2 == "ok"
    np.testing.assert_allclose(given, plain, rtol=0, atol=1e-6 * np.abs(plain).max())
