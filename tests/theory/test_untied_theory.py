"""The early-learning theory of the untied and the fixed-output denoiser (theory.untied): eq. (U)
by Wick's theorem, the leading-order rates against the exact gradient, the leading-order flow and
its linearised closed form against gradient descent at small sigma0."""

import numpy as np
import pytest
import sympy as sp

from sims import diffusion, schedules, span, untied
from sims.data import make_data
from theory import untied as tu
from theory.derive import alpha, beta, c, d, eps_coef, x0_coef, z2

MODES = pytest.mark.parametrize("train_output", [True, False], ids=["untied", "fixed-output"])


@pytest.mark.parametrize("m", [1, 2])
def test_wick_expectation_equals_eq_U(m):
    assert sp.expand(tu.expected_patch_loss(m) - tu.closed_patch_loss(m)) == 0


def test_eq_U_is_what_sims_untied_evaluates(rng):
    """The closed form at the invariants of two patches, against sims.untied's loss (n = 1)."""
    m, dim = 2, 5
    WV = rng.standard_normal((2, m, dim))
    Z = rng.standard_normal((2, dim))
    al, be, cc, a, b = 0.8, 0.6, 0.7, -0.6, 0.8
    loss, _ = untied.loss_and_grad(WV, Z[:1], Z[1:], alpha=al, beta=be, scale=cc, target=(a, b))
    expr = tu.closed_patch_loss(m)
    W, V = WV
    values = {alpha: al, beta: be, c: cc, d: dim, x0_coef: a, eps_coef: b}
    for r in range(m):
        for s in range(m):
            values[sp.Symbol(f"G{min(r, s) + 1}{max(r, s) + 1}", real=True)] = W[r] @ W[s]
            values[sp.Symbol(f"H{min(r, s) + 1}{max(r, s) + 1}", real=True)] = V[r] @ V[s]
            values[sp.Symbol(f"C{r + 1}{s + 1}", real=True)] = W[r] @ V[s]
    total = 0.0
    for z in Z:
        values[z2] = z @ z
        for r in range(m):
            values[sp.Symbol(f"a{r + 1}", real=True)] = W[r] @ z
            values[sp.Symbol(f"q{r + 1}", real=True)] = V[r] @ z
        total += float(expr.subs(values))
    assert total / 2 == pytest.approx(loss, rel=1e-12)


# ---- the leading-order rates --------------------------------------------------------------------


def _exact_rates(WV, x1, x2, times, objective, train_output):
    """d/dtau of the invariants under the exact flow -grad L (sims.untied), by the chain rule."""
    grad = untied.loss_and_grad_times(
        WV, x1, x2, times, objective=objective, train_output=train_output
    )[1]
    (W, V), (dW, dV) = WV, -grad
    Z = np.concatenate([x1, x2])
    return tu.Neurons(
        dW @ Z.T,
        dV @ Z.T,
        np.sum(dW * V, 1) + np.sum(W * dV, 1),
        2 * np.sum(W * dW, 1),
        2 * np.sum(V * dV, 1),
    )


@MODES
@pytest.mark.parametrize("objective", tuple(diffusion.OBJECTIVES))
def test_leading_rates_are_the_exact_initial_rates_at_small_sigma0(objective, train_output):
    """At sigma0 = 1e-5 every leading rate is the exact one to 1e-8 relative (the next order is
    sigma0^3 smaller: at 1e-3 the error is 1e-4 to 1e-6, measured); the data are not orthogonal."""
    rng = np.random.default_rng(3)
    n, dim, m = 6, 300, 3
    data = make_data(n, dim, nsnr2=1.0, noise="isotropic", rng=rng)
    times = schedules.schedule_times("cosine", 3, objective)
    WV = 1e-5 * rng.standard_normal((2, m, dim))
    exact = _exact_rates(WV, data.x1, data.x2, times, objective, train_output)
    lead = tu.leading_rates(WV, data.x1, data.x2, times, objective, train_output=train_output)
    for name, e, got in zip(tu.Neurons._fields, exact, lead):
        assert np.abs(got - e).max() <= 1e-8 * np.abs(e).max() + 1e-300, name
    if not train_output:
        assert not np.any(lead.q) and not np.any(lead.H)


# ---- the leading-order flow against gradient descent --------------------------------------------


def _descent(objective, train_output, sigma0=1e-3, n=10, dim=2000, nsnr2=2.0, seed=1, m=3):
    """Gradient descent on the exact loss in span coordinates (sims.span: the same trajectory as
    in d dimensions), eta a quarter of the data scale's."""
    rng = np.random.default_rng(seed)
    data = make_data(n, dim, nsnr2=nsnr2, noise="orthogonal", rng=rng)
    WV0 = sigma0 * rng.standard_normal((2, m, dim))
    times = schedules.schedule_times("cosine", 2, objective)
    B = span.basis(data, WV0)
    cdata, cWV0, _ = span.coordinates(B, data, WV0, None)
    targets = diffusion.targets_of(times, objective)
    fun = untied.exact_objective(cdata.x1, cdata.x2, targets, dim=dim, train_output=train_output)
    eta = 0.25 / (np.max(np.sum(cdata.x2**2, axis=1)) / (2 * n))
    return cdata, cWV0, times, fun, eta


def _run(fun, X, eta, steps):
    for _ in range(steps):
        X = X - eta * fun(X)[1]
    return X


@pytest.mark.parametrize(
    "objective, train_output, steps, divide",
    [
        ("eps", True, 4000, 1),
        ("eps", False, 6000, 1),
        ("x0", True, 1900, 20),
        ("v", True, 2300, 10),
    ],
)
def test_leading_flow_follows_descent_at_small_sigma0(objective, train_output, steps, divide):
    """sigma0 = 1e-3, d = 2000: once the alignments have grown 3.3 to 6.5 times, the leading-order
    flow is within 2 % of descent (0.4 to 0.8 % measured; the x0 and v flows blow up in finite
    time, at tau ~ 0.25 and ~ 0.6 here, where the early phase ends)."""
    cdata, X0, times, fun, eta = _descent(objective, train_output)
    eta /= divide
    X = _run(fun, X0, eta, steps)
    got = tu.invariants(X, cdata.x1, cdata.x2)
    a0 = tu.invariants(X0, cdata.x1, cdata.x2).a
    flow = tu.leading_flow(
        X0, cdata.x1, cdata.x2, [steps * eta], times, objective, train_output=train_output
    )
    assert np.abs(got.a).max() > 3 * np.abs(a0).max()  # a real growth, not the initial transient
    assert np.abs(flow.a[0] - got.a).max() <= 0.02 * np.abs(got.a).max()
    if train_output:
        assert np.abs(flow.q[0] - got.q).max() <= 0.02 * np.abs(got.q).max()


# ---- noise prediction: the linearised growth ----------------------------------------------------


def test_fixed_output_leading_flow_is_its_linear_closed_form(rng):
    """With V fixed, the leading flow of noise prediction is linear in W: the closed form of
    `linear_alignments` is that flow (to the integrator's tolerance), exponential at lambda."""
    n, dim, m = 8, 600, 3
    data = make_data(n, dim, nsnr2=1.5, rng=rng)
    WV = 1e-3 * rng.standard_normal((2, m, dim))
    times = schedules.schedule_times("ddpm-linear", 3, "eps")
    lam = tu.growth_rates(WV, data.x1, data.x2, times, train_output=False)
    taus = np.array([1.0, 2.0, 4.0]) / lam.max()
    Z = np.concatenate([data.x1, data.x2])
    flow = tu.leading_flow(WV, data.x1, data.x2, taus, times, train_output=False, rtol=1e-12)
    lin = tu.linear_alignments(WV, data.x1, data.x2, Z, taus, times, train_output=False)
    np.testing.assert_allclose(lin, flow.a, rtol=0, atol=1e-8 * np.abs(flow.a).max())
    assert np.abs(flow.a[-1]).max() > 5 * np.abs(WV[0] @ Z.T).max()


def test_untied_linear_closed_form_holds_longer_at_larger_d():
    """Untied, N_r, Q_r and <v_r, x> move at relative order e^(2 lambda tau) / d: at lambda tau = 3
    the closed form's error against the leading flow (relative to the change) is 5 % at d = 2000
    and 0.3 % at d = 20000 (measured); held to 10 % and 1 %."""
    times = schedules.schedule_times("cosine", 2, "eps")
    for dim, tol in ((2000, 0.1), (20000, 0.01)):
        rng = np.random.default_rng(2)
        data = make_data(10, dim, nsnr2=2.0, noise="orthogonal", rng=rng)
        WV = 1e-3 * rng.standard_normal((2, 3, dim))
        Z = np.concatenate([data.x1, data.x2])
        tau = [3 / tu.growth_rates(WV, data.x1, data.x2, times).max()]
        flow = tu.leading_flow(WV, data.x1, data.x2, tau, times)
        lin = tu.linear_alignments(WV, data.x1, data.x2, Z, tau, times)
        change = np.abs(flow.a[0] - WV[0] @ Z.T).max()
        assert np.abs(lin[0] - flow.a[0]).max() <= tol * change


def test_growth_is_exponential_not_linear():
    """Descent (sigma0 = 1e-3, d = 2000, noise prediction): by lambda tau = 3 the line of the
    initial rates misses the alignments' change by more than half of it (measured: 0.94 and
    1.06 times), while the leading flow follows it (the test above)."""
    for nsnr2 in (0.5, 4.0):
        cdata, X0, times, fun, eta = _descent("eps", True, nsnr2=nsnr2, seed=4)
        lam = tu.growth_rates(X0, cdata.x1, cdata.x2, times)
        steps = int(3 / lam.max() / eta)
        X = _run(fun, X0, eta, steps)
        probes = np.concatenate([cdata.mu, cdata.x2])
        change = (X[0] - X0[0]) @ probes.T  # (m, 2 + n)
        rate0 = (-fun(X0)[1][0]) @ probes.T
        assert np.abs(change - rate0 * steps * eta).max() > 0.5 * np.abs(change).max()


def test_rate_ratio_tends_to_the_tied_ratio():
    """Along the leading flow (sigma0 = 1e-4) at lambda tau = 3, the most grown neuron's rate of
    <w_r, mu_j> over that of <w_r, xi_i> is <s, mu_j> / <s, xi_i> = n_j ||mu||^2 / ||xi_i||^2 (the
    tied ratio) up to 3 times the summed `ratio_correction`s (measured: at most 1.8 times, over 3
    seeds), a deviation that falls with d (largest 31 % at d = 2000, 10 % at d = 8000)."""
    worst = {}
    for dim in (2000, 8000):
        worst[dim] = 0.0
        for nsnr2 in (0.5, 4.0):
            cdata, X0, times, _, _ = _descent(
                "eps", True, sigma0=1e-4, dim=dim, nsnr2=nsnr2, seed=4
            )
            x1, x2, y = cdata.x1, cdata.x2, cdata.y
            tau = [3 / tu.growth_rates(X0, x1, x2, times).max()]
            flow = tu.leading_flow(X0, x1, x2, tau, times)
            rates = tu.leading_rhs(
                tu.Neurons(*(v[0] for v in flow)),
                np.concatenate([x1, x2]) @ np.concatenate([x1, x2]).T,
                tu.kappas_of(times, "eps", 3, len(y), None),
            ).a
            r = np.argmax(np.abs(flow.C[0]))
            for j, label in enumerate((1, -1)):
                k = int(np.flatnonzero(y == label)[0])  # a sample whose signal patch is mu_j
                for i in range(len(y)):
                    want = tu.rate_ratio(x1, x2, cdata.mu[j], x2[i])
                    n_j = np.sum(y == label)
                    mu2, xi2 = cdata.mu[j] @ cdata.mu[j], x2[i] @ x2[i]
                    assert want == pytest.approx(n_j * mu2 / xi2, rel=1e-12)  # orthogonal data
                    dev = abs(rates[r, k] / rates[r, len(y) + i] / want - 1)
                    bound = tu.ratio_correction(x1, x2, cdata.mu[j], dim)
                    bound += tu.ratio_correction(x1, x2, x2[i], dim)
                    assert dev <= 3 * bound
                    worst[dim] = max(worst[dim], dev)
    assert worst[8000] < 0.6 * worst[2000]


def test_growth_rate_scales_with_sigma0_and_needs_noise_prediction(rng):
    data = make_data(5, 400, nsnr2=1.0, rng=rng)
    WV = rng.standard_normal((2, 3, 400))
    times = schedules.schedule_times("cosine", 2, "eps")
    lam = tu.growth_rates(1e-3 * WV, data.x1, data.x2, times)
    np.testing.assert_allclose(tu.growth_rates(2e-3 * WV, data.x1, data.x2, times), 2 * lam)
    s = np.concatenate([data.x1, data.x2]).sum(axis=0)
    k1e = 4 * (1 / 3) * sum(al * be * w for al, be, w in times)
    approx = k1e / (2 * 5) * 1e-3 * np.sqrt(2 * 400) * np.linalg.norm(s)
    np.testing.assert_allclose(lam, approx, rtol=0.2)  # ~ kappa_1e sigma0 sqrt(2d) ||s||
    with pytest.raises(ValueError, match="x0 part"):
        tu.growth_rates(WV, data.x1, data.x2, schedules.schedule_times("cosine", 2, "v"), "v")


# ---- the predictions (fldm predict untied / fixed-output) ---------------------------------------


@MODES
@pytest.mark.parametrize("objective", ["eps", "v"])
def test_leading_move_is_the_leading_rhs_along_every_patch(rng, objective, train_output):
    """`leading_move`'s vectors read along each patch and each neuron's own rows give
    `leading_rhs` (two writings of the cubic part's flow)."""
    data = make_data(5, 30, nsnr2=1.0, rng=rng)
    WV = 0.1 * rng.standard_normal((2, 3, 30))
    times = schedules.schedule_times("cosine", 2, objective)
    kappas = tu.kappas_of(times, objective, 3, 5, None)
    dW, dV = tu.leading_move(WV, data.x1, data.x2, kappas, train_output)
    want = tu.leading_rates(WV, data.x1, data.x2, times, objective, train_output=train_output)
    Z = np.concatenate([data.x1, data.x2])
    W, V = WV
    np.testing.assert_allclose(dW @ Z.T, want.a, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dV @ Z.T, want.q, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(2 * np.sum(W * dW, 1), want.G, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.sum(dW * V + W * dV, 1), want.C, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("model", ["untied", "fixed-output"])
def test_prediction_rates_are_one_small_step_of_descent(model):
    """The predicted initial rates are the summaries' central difference along the descent
    direction (steps of 1e-3 eta); at sigma0 = 1e-4 the leading-order rates equal them to 1e-5; the
    fastest growth rate is that of the neurons' list, and the rate ratio is the tied formula's on
    orthogonal data."""
    from sims.config import TrainConfig
    from sims.train import prepare
    from theory.predict import predict

    cfg = TrainConfig(model=model, n=6, d=300, m=3, sigma0=1e-4, data_noise="orthogonal")
    p = predict(cfg)
    run = prepare(cfg)
    step = 1e-3 * p.eta
    fun = untied.exact_objective(
        run.data.x1,
        run.data.x2,
        ((2**-0.5, 2**-0.5, 1.0, 0.0, 1.0),),
        train_output=p.output_trained,
    )
    move = -fun(run.W0)[1]
    summary = lambda WV: np.array(tu._summary_pair(WV[0] @ run.data.mu.T, WV[0] @ run.data.x2.T))
    assert tuple(summary(run.W0)) == pytest.approx(tuple(p.initial), rel=1e-14)
    rates = (summary(run.W0 + step * move) - summary(run.W0 - step * move)) / (2 * step)
    assert tuple(rates) == pytest.approx(tuple(p.initial_rates), rel=1e-6)
    assert tuple(p.leading_rates) == pytest.approx(tuple(p.initial_rates), rel=1e-5)
    assert p.growth == "exponential" and p.growth_rate == max(p.growth_rates) > 0
    assert p.growth_rate == pytest.approx(p.growth_rate_formula, rel=0.3)
    assert p.rate_ratio == pytest.approx(p.rate_ratio_formula, rel=1e-12)
    if not p.output_trained:
        assert tuple(p.output_initial_rates) == (0.0, 0.0)


def test_predict_says_what_the_theory_does_not_reach():
    """Every prediction names the stationary point as out of reach; untied noise prediction at
    m >= 2 adds the missing step-size bound (not at m = 1, not with a fixed output); a target with
    an x0 part has no closed-form growth. `fldm predict` prints it in words."""
    from sims.cli import main
    from sims.config import TrainConfig
    from theory.explain import explain
    from theory.predict import predict

    base = TrainConfig(model="untied", n=6, d=200, m=2)
    bound = tu.NO_STEP_BOUND
    assert bound in predict(base).not_reached
    assert bound not in predict(base.replace(m=1)).not_reached
    assert bound not in predict(base.replace(model="fixed-output")).not_reached
    drift = predict(base.replace(objective="x0"))
    assert drift.growth == "output-layer drift" and drift.growth_rate is None
    assert bound not in drift.not_reached
    assert all(line in predict(base).not_reached for line in tu.NOT_REACHED)
    text = explain(predict(base).to_dict())
    assert "exponential" in text and "Not reached by the theory" in text and "nan" not in text
    assert "no closed form" in explain(drift.to_dict())
    assert main(["predict", "fixed-output", "--n", "6", "--d", "200", "--no-progress"]) == 0
