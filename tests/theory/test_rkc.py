"""The stabilised explicit integrator (theory.rkc) on problems with exact solutions, and the
long-time flow of the diffusion model (theory.ode.long_flow) built on it."""

import numpy as np
import pytest

from sims.config import TrainConfig
from sims.train import prepare, train
from theory import reduced, rkc
from theory.ode import flow, long_flow


def stiff_linear(rng, p=12, low=1e-2, high=1e4):
    """dy/dtau = -S y with S = U diag(lambda) U^T (spectrum from low to high): y(tau) = U e^{-lambda
    tau} U^T y0."""
    U, _ = np.linalg.qr(rng.standard_normal((p, p)))
    lam = np.geomspace(low, high, p)
    S = U @ np.diag(lam) @ U.T
    exact = lambda tau, y0: U @ (np.exp(-lam * tau) * (U.T @ y0))
    return S, lam, exact


@pytest.mark.parametrize("rtol", [1e-8, 1e-6])
def test_rkc_matches_the_exact_solution_of_a_stiff_linear_flow(rng, rtol):
    S, lam, exact = stiff_linear(rng)
    y0 = rng.standard_normal(S.shape[0])
    taus = np.concatenate([[0.0], np.geomspace(1e-4, 100.0, 60)])
    calls = []
    F = lambda y: calls.append(1) or -S @ y
    t, Y, status, (nfev, steps, _) = rkc.integrate(
        F, y0, taus, lambda y: lam[-1], rtol=rtol, atol=1e-12
    )
    assert status == "ok" and np.array_equal(t, taus) and nfev == len(calls)
    err = max(np.abs(Y[i] - exact(tau, y0)).max() for i, tau in enumerate(taus))
    assert err < 100 * rtol * np.abs(y0).max()  # the global error of a local-error control


def test_rkc_cost_grows_like_the_square_root_of_the_stiffness(rng):
    """100 times the stiffness costs about 10 times the evaluations (forward Euler: 100 times)."""
    work = []
    for high in (1e3, 1e5):
        S, lam, _ = stiff_linear(np.random.default_rng(1), high=high)
        y0 = np.ones(S.shape[0])
        work.append(
            rkc.integrate(
                lambda y, S=S: -S @ y,
                y0,
                [0.0, 50.0],
                lambda y, lam=lam: lam[-1],
                rtol=1e-6,
                atol=1e-12,
            )[3][0]
        )
    assert work[1] / work[0] < 20
    assert work[1] < 0.05 * 1e5 * 50 / 2  # forward Euler: lambda_max tau / 2 evaluations


def test_rkc_dense_output_between_steps_is_third_order():
    """The cubic Hermite interpolant is exact for cubics."""
    y = lambda t: 1 - 2 * t + 0.5 * t**2 + 0.25 * t**3
    dy = lambda t: -2 + t + 0.75 * t**2
    for t in (0.3, 1.1, 1.9):
        assert rkc.hermite(0.2, y(0.2), dy(0.2), 2.0, y(2.0), dy(2.0), t) == pytest.approx(
            y(t), rel=1e-13
        )


def test_rkc_stops_where_stop_says(rng):
    S, lam, exact = stiff_linear(rng, p=6, high=10.0)
    y0 = rng.standard_normal(6)
    stop = lambda tau, y, Fy: "small" if np.linalg.norm(Fy) < 1e-3 else ""
    t, Y, status, _ = rkc.integrate(
        lambda y: -S @ y, y0, [0.0, 1e4], lambda y: lam[-1], rtol=1e-8, atol=1e-12, stop=stop
    )
    assert status == "small" and np.linalg.norm(S @ Y[-1]) < 1e-3 and t[-1] < 1e4


def test_long_flow_follows_the_lsoda_flow():
    cfg = TrainConfig(n=6, d=200, m=3, nsnr2=2.0)
    run = prepare(cfg)
    red, Wr0 = reduced.reduce(cfg, run.data, run.W0)
    taus = run.eta * np.array([0.0, 10.0, 300.0, 3000.0, 10000.0])
    _, lsoda, _ = flow(red, Wr0, taus, rtol=1e-10, atol=1e-13)
    t, states, status, top = long_flow(red, Wr0, taus, gtol=0.0, eta=run.eta, rtol=1e-8, atol=1e-11)
    assert status == "ok" and np.array_equal(t, taus)
    np.testing.assert_allclose(states, lsoda, rtol=0, atol=1e-6 * np.abs(lsoda).max())
    H = reduced.hessian(red, states[-1])  # the top curvature it tracks
    assert top == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-2)


def test_long_flow_stops_where_descent_with_eta_becomes_unstable_and_descent_does():
    """With eta above 2 / (largest curvature at the stationary point) the flow is not followed to
    the end, and gradient descent with that eta indeed does not settle: its checks report it."""
    cfg = TrainConfig(n=6, d=200, m=2, nsnr2=2.0)
    run = prepare(cfg)
    red, Wr0 = reduced.reduce(cfg, run.data, run.W0)
    t, states, status, _ = long_flow(
        red, Wr0, [0.0, 1e5 * run.eta], gtol=1e-8, eta=run.eta, rtol=1e-7, atol=1e-10
    )
    assert status == "stationary"
    top = np.linalg.eigvalsh(reduced.hessian(red, states[-1]))[-1]
    eta = 3.0 / top
    _, _, status, _ = long_flow(
        red, Wr0, [0.0, 1e5 * eta], gtol=1e-8, eta=eta, rtol=1e-7, atol=1e-10
    )
    assert status.startswith("unstable")
    try:
        gd = train(cfg.replace(eta=eta, steps=4000, log_every=4000))
        assert gd.summary()["descent_note"] != "" and not gd.converged
    except Exception as exc:  # or it diverges outright
        assert "diverged" in str(exc)
