"""Predictions (theory.predict) against closed forms and against gradient descent."""

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sims import cli
from sims.config import TrainConfig
from sims.models import summarize
from sims.train import prepare, train
from theory import derive, predict, reduced
from theory.ode import flow


def test_m1_stationary_point_is_the_closed_form_and_the_ratio_is_one():
    """m = 1: the surviving orthogonal part forces dL/d||w||^2 = 0, every patch alignment solves the
    same cubic, a* = (beta / (c alpha^3 (1 + sqrt 3)))^(1/3), ||w||^2 = alpha^2 a*^2 / (sqrt 3
    beta^2)."""
    for nsnr2 in (0.1, 5.0):
        cfg = TrainConfig(
            n=10, d=300, m=1, nsnr2=nsnr2, data_noise="orthogonal", alpha=0.8, beta=0.6
        )
        p = predict.predict(cfg).stationary
        a_star, g_star = derive.stationary_m1_closed_form(0.8, 0.6, 1.0)
        np.testing.assert_allclose(p.signal, a_star, rtol=1e-9)
        np.testing.assert_allclose(p.noise, a_star, rtol=1e-9)
        assert p.ratio == pytest.approx(1.0, abs=1e-9)
        assert p.stable and p.morse_index == 0 and p.max_eigenvalue < 0 and p.surviving_rank == 1
        assert p.branch == "symmetric" and p.dL_dG_on_surviving < 1e-8
        W = train(cfg.replace(steps=20000, tol=1e-10)).W  # descent goes there too
        assert np.sum(W**2) == pytest.approx(g_star, rel=1e-7)


def test_stationary_ratio_is_one_where_signal_and_noise_patches_weigh_the_same():
    """With orthogonal data and balanced labels, n SNR^2 = 2 makes n_j ||mu||^2 = ||xi_i||^2: every
    patch direction then obeys the same stationarity equation and the ratio is exactly 1 for any m;
    below it the signal patches weigh less (ratio < 1), above it more (ratio > 1)."""
    base = TrainConfig(n=8, d=400, m=3, data_noise="orthogonal", labels="balanced")
    ratios = {x: predict.stationary_ratio(base.replace(nsnr2=x)) for x in (0.5, 2.0, 8.0)}
    assert ratios[2.0] == pytest.approx(1.0, abs=1e-9)
    assert ratios[0.5] < 0.99 and ratios[8.0] > 1.01


@pytest.mark.parametrize("m,nsnr2", [(3, 0.3), (4, 5.0)])
def test_each_patch_alignment_is_the_root_of_one_scalar_equation(m, nsnr2):
    """At the stationary point the neurons share their data-span part and each patch alignment is
    the root a(w) of psi_w(a) = w/(2n) phi(a) + nu a, which depends on the patch only through its
    weight w = n_z ||z||^2; the roots, found independently by brentq, are the stationary
    alignments."""
    cfg = TrainConfig(n=10, d=500, m=m, nsnr2=nsnr2, data_noise="orthogonal")
    stat = predict.predict(cfg).stationary
    eq = stat.scalar_equation
    assert stat.branch == "symmetric" and stat.groups == [m] and stat.surviving_rank == m - 1
    assert eq.applies and eq.reason == "" and eq.nu > 0
    assert eq.max_abs_error < 1e-9
    weights = np.concatenate([eq.signal_weights, eq.noise_weights])
    roots = np.concatenate([eq.signal_roots, eq.noise_roots])
    assert np.all(np.diff(roots[np.argsort(weights)]) >= -1e-12)  # a(w) increases with w
    assert np.mean(eq.signal_roots) / np.mean(eq.noise_roots) == pytest.approx(stat.ratio, rel=1e-9)


def test_classification_rates_are_the_exponential_growth_of_the_flow():
    cfg = TrainConfig(
        model="classification", n=6, d=300, m=2, nsnr2=1.0, sigma0=1e-6, data_noise="orthogonal"
    )
    _, data, W0, eta, *_ = prepare(cfg)
    p = predict.predict(cfg)
    red, Wr0 = reduced.reduce(cfg, data, W0)
    tau = 0.5 / p.rates.noise
    _, states, _ = flow(red, Wr0, [0.0, tau])
    signal, noise = reduced.alignments(red, states)
    own = (data.y < 0).astype(int)
    grow_s = np.log(np.abs(signal[1, [0, 1], :, [0, 1]] / signal[0, [0, 1], :, [0, 1]])) / tau
    grow_n = np.log(np.abs(noise[1, own, :, np.arange(6)] / noise[0, own, :, np.arange(6)])) / tau
    # f stays ~ 0 at this scale, so every own-class filter grows at exactly lambda (to 1e-6)
    np.testing.assert_allclose(grow_s.mean(), p.rates.signal, rtol=1e-6)
    np.testing.assert_allclose(grow_n.mean(), p.rates.noise, rtol=1e-6)


def test_predict_output_and_command_line(capsys):
    p = predict.predict(TrainConfig(n=6, d=200, m=2))
    out = p.to_dict()
    for key in (
        "initial_rates",
        "initial_rate_ratio",
        "linear_phase_tau",
        "linear_phase_steps",
        "stationary",
        "eta",
    ):
        assert key in out
    stat = out["stationary"]
    assert np.shape(stat["signal"]) == (2, 2) and np.shape(stat["noise"]) == (2, 6)
    assert (
        stat["stable"]
        and stat["found"]
        and stat["morse_index"] == 0
        and stat["branch"] == "symmetric"
    )
    assert stat["ratio"] == stat["summary"]["ratio"]
    assert 0 < out["linear_phase_tau"]["noise"] < stat["tau"]
    json.dumps(out)
    assert cli.main(["predict", "diffusion", "--n", "6", "--d", "200", "--m", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stationary"]["ratio"] == pytest.approx(
        stat["ratio"], rel=1e-12
    )
    assert (
        cli.main(["predict", "classification", "--n", "6", "--d", "200", "--nsnr2", "20", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert (
        out["winner"] == "signal"
        and out["boundary_nsnr2"] < 20
        and set(out["rates"]) == {"signal", "noise"}
    )
    assert predict.boundary_nsnr2(TrainConfig(model="classification", n=6, d=200)) == pytest.approx(
        out["boundary_nsnr2"], rel=0.3
    )


def test_ode_command_writes_the_train_keys(tmp_path):
    assert (
        cli.main(
            ["ode", "diffusion", "--n", "5", "--d", "60", "--steps", "50", "--out", str(tmp_path)]
        )
        == 0
    )
    with np.load(tmp_path / "result.npz") as f:
        assert set(f.files) == {"steps", "loss", "grad_norm", "signal", "noise", "W"}
        assert f["W"].shape == (4, 60) and f["signal"].shape == (6, 4, 2)
    assert cli.main(["ode", "diffusion", "--noise", "fixed", "--out", str(tmp_path)]) == 2


# ------------------------------------------------------------------------------------- properties


@settings(max_examples=8)
@given(
    n=st.integers(4, 16),
    log_nsnr2=st.floats(np.log(0.1), np.log(10)),
    m=st.integers(1, 4),
    seed=st.integers(0, 10_000),
)
def test_early_rate_ratio_matches_descent(n, log_nsnr2, m, seed):
    cfg = TrainConfig(
        n=n,
        d=4000,
        m=m,
        nsnr2=float(np.exp(log_nsnr2)),
        sigma0=1e-3,
        seed=seed,
        steps=4,
        log_every=4,
    )
    p = predict.predict(cfg)
    eta = p.eta / 10
    gd = train(cfg.replace(eta=eta))
    first, last = (summarize("diffusion", gd.signal[i], gd.noise[i], gd.data.y) for i in (0, -1))
    slope_s = (last.signal - first.signal) / (4 * eta)
    slope_n = (last.noise - first.noise) / (4 * eta)
    assert slope_s / slope_n == pytest.approx(p.initial_rate_ratio, rel=1e-3)
    # and the paper's n_j ||mu||^2 / ||xi||^2, up to the spread of ||w_r||^2 over neurons (~
    # sqrt(2/d))
    assert slope_s / slope_n == pytest.approx(p.rate_ratio_formula, rel=0.15)


@settings(max_examples=6)
@given(
    n=st.integers(6, 12),
    log_nsnr2=st.floats(np.log(0.2), np.log(5)),
    m=st.integers(1, 3),
    seed=st.integers(0, 10_000),
    data_noise=st.sampled_from(["orthogonal", "projected"]),
)
def test_stationary_ratio_matches_long_descent(n, log_nsnr2, m, seed, data_noise):
    cfg = TrainConfig(
        n=n, d=400, m=m, nsnr2=float(np.exp(log_nsnr2)), seed=seed, data_noise=data_noise
    )
    stat = predict.predict(cfg).stationary
    assert stat.found and stat.stable
    steps = int(3 * stat.steps)  # three times as long as the ODE needed to reach ||grad L|| = 1e-10
    gd = train(cfg.replace(steps=steps, log_every=steps, tol=1e-9))
    assert gd.converged
    assert gd.summary()["ratio"] == pytest.approx(stat.ratio, rel=1e-6)
    np.testing.assert_allclose(gd.signal[-1], stat.signal, atol=1e-6)
    np.testing.assert_allclose(gd.noise[-1], stat.noise, atol=1e-6)


@settings(max_examples=8)
@given(
    n=st.integers(10, 30),
    m=st.integers(2, 4),
    seed=st.integers(0, 10_000),
    factor=st.one_of(st.floats(0.15, 0.4), st.floats(2.5, 6.0)),
)
def test_classification_winner_matches_descent_away_from_boundary(n, m, seed, factor):
    base = TrainConfig(
        model="classification", n=n, d=1000, m=m, seed=seed, steps=2000, log_every=2000
    )
    cfg = base.replace(nsnr2=factor * predict.boundary_nsnr2(base))
    p = predict.predict(cfg)
    assert p.winner == ("signal" if factor > 1 else "noise")
    ratio = train(cfg).summary()["ratio"]
    assert ("signal" if ratio > 1 else "noise") == p.winner
