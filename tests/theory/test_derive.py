"""The sympy derivations (theory.derive) against the closed forms in sims.diffusion and
theory.predict."""

import numpy as np
import pytest
import sympy as sp

from sims import diffusion
from sims.config import TrainConfig
from sims.train import prepare
from theory import derive, predict, reduced
from theory.derive import alpha, beta, c


@pytest.mark.parametrize("m", [1, 2])
def test_wick_expectation_equals_paper_closed_form(m):
    assert sp.expand(derive.expected_patch_loss(m) - derive.paper_patch_loss(m)) == 0


def test_isserlis_fourth_and_sixth_moments():
    G = derive.gram_symbols(2)
    assert sp.expand(derive.isserlis((0, 0, 0, 0), G) - 3 * G[0, 0] ** 2) == 0
    assert sp.expand(derive.isserlis((0, 0, 1, 1), G) - (G[0, 0] * G[1, 1] + 2 * G[0, 1] ** 2)) == 0
    assert sp.expand(derive.isserlis((0,) * 6, G) - 15 * G[0, 0] ** 3) == 0
    assert derive.isserlis((0, 1, 1), G) == 0


def test_sympy_loss_and_gradient_equal_sims_diffusion(rng):
    m, dim = 2, 3
    W = rng.standard_normal((m, dim))
    x1, x2 = rng.standard_normal((1, dim)), rng.standard_normal((1, dim))
    a_, b_ = 0.8, 0.6
    loss, grad = diffusion.loss_and_grad(W, x1, x2, alpha=a_, beta=b_, scale=0.7)
    expr, w = derive.loss_in_weights(m, np.vstack([x1, x2]))
    expr = expr.subs({alpha: sp.Rational(4, 5), beta: sp.Rational(3, 5), c: sp.Rational(7, 10)})
    point = dict(zip(w, W.ravel()))
    assert float(expr.subs(point)) == pytest.approx(loss, rel=1e-12)
    sym_grad = np.array([float(sp.diff(expr, wi).subs(point)) for wi in w]).reshape(m, dim)
    np.testing.assert_allclose(sym_grad, grad, rtol=1e-10, atol=1e-12)


def test_leading_rate_is_the_k1_term():
    G11, nk, zk2, n, S1, ak1 = sp.symbols("G11 n_k z_k2 n S1 a_k1")
    expected = 4 * c * alpha * beta / (2 * n) * (G11 * nk * zk2 + 2 * S1 * ak1)
    got = derive.leading_rate().subs(
        {sp.Symbol(s.name, positive=True): s for s in (nk, zk2, n, S1)}
    )
    got = got.subs({sp.Symbol("G11", real=True): G11, sp.Symbol("a_k1", real=True): ak1})
    assert sp.simplify(got - expected) == 0


def test_leading_rates_match_exact_initial_rates_at_small_init():
    # orthogonal data, tiny sigma0: the exact d/dtau at tau = 0 is the leading-order formula
    cfg = TrainConfig(n=6, d=400, m=3, nsnr2=1.0, sigma0=1e-4, data_noise="orthogonal")
    _, data, W0, *_ = prepare(cfg)
    red, Wr0 = reduced.reduce(cfg, data, W0)
    exact = predict.summary_rates(red, Wr0, data.y)
    lead = predict.leading_rates(cfg, data, W0)
    np.testing.assert_allclose(exact, lead, rtol=1e-6)


def test_sympy_m1_stationary_point_equals_closed_form():
    a_star, g_star = derive.stationary_m1()
    for av, bv, cv in [(2**-0.5, 2**-0.5, 1.0), (0.9, 0.4, 0.5)]:
        point = {alpha: av, beta: bv, c: cv}
        want = derive.stationary_m1_closed_form(av, bv, cv)
        assert float(a_star.subs(point)) == pytest.approx(want[0], rel=1e-12)
        assert float(g_star.subs(point)) == pytest.approx(want[1], rel=1e-12)
