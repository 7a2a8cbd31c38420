"""The stationary-ratio law (theory.law): its limits, its crossover constant, and agreement with the
reduced flow (theory.predict) and with gradient descent on data that meet its premises."""

import pytest
import sympy as sp

from sims import symmetric
from sims.config import TrainConfig
from sims.train import prepare, train
from theory import law
from theory.predict import predict

M = [1, 4, 16]


@pytest.mark.parametrize("m", M)
def test_linear_limit_is_the_weight_ratio(m):
    """G_s, G_n -> 0: R -> G_s / G_n = n_j ||mu||^2 / ||xi||^2 (Θ(n·SNR²), slope 1)."""
    for G_s, G_n in ((1e-7, 1e-6), (3e-7, 1e-7)):
        assert symmetric.stationary(G_s, G_n, m).ratio == pytest.approx(G_s / G_n, rel=2e-3)
    assert law.local_slope(1e-7, 1e-6, m) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("m", M)
def test_saturated_limit_is_one(m):
    """G_s, G_n -> infinity at a fixed ratio 10: R -> 1, while the weight ratio stays 10."""
    gaps = [abs(symmetric.stationary(10 * G, G, m).ratio - 1) for G in (1e4, 1e6, 1e8)]
    assert gaps[-1] < 0.01 and gaps[0] >= gaps[1] >= gaps[2]  # m = 1: R's sum mode survives, R = 1
    assert law.local_slope(1e7, 1e6, m) < law.SATURATED_SLOPE


def test_crossover_constant_exact_for_one_and_two_neurons():
    assert law.crossover_constant(1) == 1.0
    assert law.crossover_constant(2) == pytest.approx(1.25, rel=1e-14)
    # the m = 2 linear-regime state in closed form (sympy's solution of dF/dQ = dF/dP = 0, Q = s^2):
    # s = 300^(1/3) / 10, P = 90^(1/3) / 15; then gamma_2 = 2 Lambda / H = 5/4 exactly
    s, P = sp.root(300, 3) / 10, sp.root(90, 3) / 15
    Q = s**2
    g, o = Q + P / 2, Q - P / 2
    Lam = -2 * s + 2 * g * Q + g**2 + 6 * (g**2 + o**2) / 2
    H = 2 * g * Q + 4 * (Q**2 + P**2 / 4)
    assert sp.nsimplify(sp.simplify(2 * Lam / H)) == sp.Rational(5, 4)


@pytest.mark.parametrize("m", M)
def test_first_order_slope_is_one_over_one_plus_gs_over_gamma(m):
    """1 - slope = G_s / gamma_m to first order (noise-dominated, both groups small): tests
    gamma_m."""
    G_s, G_n = 1e-5, 1e-3
    slope = law.local_slope(G_s, G_n, m)
    assert (1 - slope) / (G_s / law.crossover_constant(m)) == pytest.approx(1.0, abs=0.01)


def test_slope_is_set_by_the_signal_group():
    """While the noise group is small the local slope depends on G_s alone (the level on G_n)."""
    for G_s in (0.05, 0.5):
        slopes = [law.local_slope(G_s, G_n, 4) for G_n in (1e-3, 1e-2, 1e-1)]
        assert max(slopes) - min(slopes) < 0.05
        assert abs(slopes[0] - 1 / (1 + G_s / law.crossover_constant(4))) < 0.1


def test_boundary_lies_between_first_order_and_crossover():
    """The exact slope-0.7 boundary at small G_n, against the first-order formula (0.43 gamma_m)."""
    exact = law.boundary(1e-3, 4, lo=1e-2, hi=1e2)
    assert law.linear_boundary(4) < exact < 3 * law.linear_boundary(4)
    assert (
        law.local_slope(0.9 * exact, 1e-3, 4)
        > law.THETA_SLOPE[0]
        > law.local_slope(1.1 * exact, 1e-3, 4)
    )


def test_regime_names():
    assert law.regime_name(1.0) == "linear" and law.regime_name(0.7) == "linear"
    assert law.regime_name(0.5) == "crossover" and law.regime_name(1.4) == "crossover"
    assert law.regime_name(0.1) == "saturated"


def premises_config(**kw) -> TrainConfig:
    """Orthogonal noise patches of equal norm and balanced labels: every premise of the law."""
    return TrainConfig(
        model="diffusion", n=10, d=200, data_noise="orthogonal", labels="balanced", **kw
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(sigma_xi=1.0, nsnr2=0.5, m=4),
        dict(sigma_xi=0.05, nsnr2=0.5, m=4, eta=0.5),
        dict(sigma_xi=1.0, nsnr2=5.0, m=1),
    ],
)
def test_law_equals_the_reduced_flow_where_its_premises_hold(kw):
    cfg = premises_config(**kw)
    stat = predict(cfg).stationary
    regime = law.regime_of(cfg, prepare(cfg).data)
    assert stat.found and stat.branch == "symmetric"
    assert regime.premises == []
    assert regime.law_ratio == pytest.approx(stat.ratio, rel=1e-9)


def test_ratio_depends_on_n_and_d_only_through_the_groups():
    """(n, d) = (10, 200) and (20, 400) at the same sigma_xi and n·SNR² have the same groups and
    ratio; doubling n alone at the same d halves G_n and moves the ratio."""
    a = premises_config(sigma_xi=0.3, nsnr2=1.0, m=2)
    b = a.replace(n=20, d=400)
    c = a.replace(n=20)
    ra, rb, rc = (predict(cfg).stationary.ratio for cfg in (a, b, c))
    assert ra == pytest.approx(rb, rel=1e-8)
    assert abs(rc / ra - 1) > 0.01
    ga = law.setting_groups(a, prepare(a).data)
    gc = law.setting_groups(c, prepare(c).data)
    assert ga == pytest.approx(law.setting_groups(b, prepare(b).data), rel=1e-12)
    assert gc[1] == pytest.approx(ga[1] / 2, rel=1e-12)


def test_groups_carry_alpha_over_beta_squared():
    """Another time with the same (alpha/beta)^2 sigma_xi^2: the same groups and the same ratio."""
    a = premises_config(
        sigma_xi=0.2, nsnr2=2.0, m=2
    )  # alpha = beta: (alpha/beta)^2 sigma_xi^2 = 0.04
    b = a.replace(sigma_xi=0.1, alpha=0.8, beta=0.4)  # (alpha/beta)^2 sigma_xi^2 = 4 * 0.01
    ga = law.setting_groups(a, prepare(a).data)
    gb = law.setting_groups(b, prepare(b).data)
    assert gb == pytest.approx(ga, rel=1e-12)
    assert predict(b).stationary.ratio == pytest.approx(predict(a).stationary.ratio, rel=1e-8)


def test_law_against_descent():
    """Long gradient descent (span engine, to ||grad L|| < 1e-10) ends at the law's ratio."""
    cfg = premises_config(
        sigma_xi=0.1, nsnr2=1.0, m=2, eta=0.5, steps=60_000, log_every=60_000, tol=1e-10
    )
    res = train(cfg)
    regime = law.regime_of(cfg, res.data)
    assert res.summary()["final_grad_norm"] < 1e-10
    assert res.summary()["ratio"] == pytest.approx(regime.law_ratio, rel=1e-7)


def test_regime_of_refuses_settings_outside_the_law():
    cfg = premises_config(sigma_xi=1.0, nsnr2=1.0, schedule="cosine")
    r = law.regime_of(cfg, prepare(cfg).data)
    assert r.d2 is None and "one diffusion time" in r.reason and "not covered" in r.line()
    cfg = premises_config(sigma_xi=1.0, nsnr2=1.0, objective="x0")
    assert "eps objective" in law.regime_of(cfg, prepare(cfg).data).reason


def test_small_initialisation_group():
    """I0 = sigma0^2 d / G_rr*: the default at d = 2000 is small, sigma0 sqrt(d) = 10 is not."""
    small = TrainConfig(model="diffusion", n=20, d=2000, sigma0=0.01)
    big = small.replace(sigma0=0.1, d=10_000)
    rs, rb = (law.regime_of(c, prepare(c).data) for c in (small, big))
    assert rs.small_initialisation and not rb.small_initialisation
    assert rb.init_ratio > 100 * rs.init_ratio  # sigma0^2 d is 500 times larger
