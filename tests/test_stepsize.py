"""The automatic step size (sims.stepsize) and the descent loop's checks (sims.descent)."""

import warnings

import numpy as np
import pytest

from sims import DivergenceError, models, span, stepsize
from sims.config import TrainConfig, auto_eta
from sims.descent import descend
from sims.train import prepare, train


def quadratic(eigenvalues, rng):
    """L(W) = W^T A W / 2 with A of the given spectrum: its Hessian is A everywhere."""
    U, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues),) * 2))
    A = U @ np.diag(eigenvalues) @ U.T
    return lambda W: (0.5 * W @ A @ W, A @ W)


@pytest.mark.parametrize(
    "eigenvalues, top", [((1.0, 2.0, 5.0), 5.0), ((-5.0, 1.0, 2.0), 2.0), ((-3.0, -1.0), -1.0)]
)
def test_top_curvature_is_the_largest_eigenvalue_even_under_a_larger_negative_one(
    rng, eigenvalues, top
):
    fun = quadratic(eigenvalues, rng)
    assert stepsize.top_curvature(
        fun, None, rng.standard_normal(len(eigenvalues))
    ) == pytest.approx(top, rel=1e-6)


def span_objective(cfg, run, W):
    """The run's objective in a basis of its span, and W there (the oracle builds its Hessian
    densely)."""
    M = span.basis(run.data, run.W0, run.draws).matrix
    model = models.get(cfg.model)
    fun = model.objective(
        cfg,
        run.data.x1 @ M,
        run.data.x2 @ M,
        run.data.y,
        run.data.d,
        None,
        None if run.draws is None else run.draws @ M,
    )
    return fun, W @ M


def dense_top(fun, W, h=1e-6):
    """The largest eigenvalue of the central-difference Hessian (the oracle)."""
    cols = []
    for i in range(W.size):
        e = np.zeros(W.size)
        e[i] = h
        cols.append(
            ((fun(W + e.reshape(W.shape))[1] - fun(W - e.reshape(W.shape))[1]) / (2 * h)).ravel()
        )
    H = np.array(cols)
    return np.linalg.eigvalsh((H + H.T) / 2)[-1]


def test_defaults_keep_the_data_step():
    """With sigma0^2 d small and exact noise the data limit binds: eta is sims.config.auto_eta as
    before."""
    run = prepare(TrainConfig())
    assert run.eta_limit == "data" and run.eta == auto_eta(run.data.x1, run.data.x2)


def test_large_initial_weights_set_eta_from_the_initial_curvature():
    """d = 1e5, sigma0 = 0.01 (sigma0^2 d = 10): the data step diverged at step 2; the initial
    curvature (checked against the dense Hessian) sets eta lambda_0 = ETA_CURVATURE, and descent is
    calm."""
    cfg = TrainConfig(d=100_000, steps=100, log_every=100)
    run = prepare(cfg)
    assert run.eta_limit == "initial"
    fun, W = span_objective(cfg, run, run.W0)
    assert run.eta * dense_top(fun, W) == pytest.approx(stepsize.ETA_CURVATURE, rel=0.05)
    assert train(cfg).summary()["descent_note"] == ""
    with pytest.raises(DivergenceError):
        train(cfg.replace(eta=auto_eta(run.data.x1, run.data.x2)))


def test_one_fixed_draw_is_stable_with_the_default_step():
    """--noise fixed --noise-samples 1 with the defaults diverged at step 8 with the data step; the
    memorised draws' curvature sets eta, descent converges without a rise or a reversal, and the
    curvature it meets at the end is the formula's within a factor 2 (the premise of the "draws"
    limit)."""
    cfg = TrainConfig(noise="fixed", noise_samples=1, steps=6000, log_every=6000, tol=1e-8)
    run = prepare(cfg)
    assert run.eta_limit == "draws"
    result = train(cfg)
    s = result.summary()
    assert (
        result.converged
        and s["descent_note"] == ""
        and s["loss_rises"] == s["gradient_reversals"] == 0
    )
    fun, W = span_objective(cfg, run, result.W)
    ratio = stepsize.top_curvature(fun, None, W) / models.get("diffusion").draws_curvature(
        cfg, run.draws, cfg.n
    )
    assert 0.5 < ratio < 2
    with pytest.raises(DivergenceError):
        train(cfg.replace(eta=auto_eta(run.data.x1, run.data.x2)))


def test_a_two_cycle_is_reported():
    """The issue's --eta 5e-4 with one fixed draw settles into a 2-cycle: no divergence, but the
    summary says the gradients reversed."""
    s = train(
        TrainConfig(noise="fixed", noise_samples=1, eta=5e-4, steps=1500, log_every=1500)
    ).summary()
    assert s["gradient_reversals"] > 100 and "reversed" in s["descent_note"]


@pytest.mark.parametrize(
    "eta_lambda, rises, reversals", [(0.5, False, False), (1.5, False, True), (2.5, True, True)]
)
def test_checks_on_a_quadratic(rng, eta_lambda, rises, reversals):
    """On L = lambda x^2 / 2, descent multiplies x by 1 - eta lambda: below 1 calm, between 1 and 2
    the gradient flips sign each step while the loss falls, above 2 the loss rises too."""
    lam = 3.0
    fun = lambda members: lambda W: (0.5 * lam * np.sum(W * W, axis=1), lam * W)
    (outcome,) = descend(
        fun,
        rng.standard_normal((1, 4)),
        eta_lambda / lam,
        0.0,
        steps=10,
        log_every=10,
        align=lambda members, W: (W, W),
    )
    assert (outcome.checks.loss_rises > 0) == rises and (
        outcome.checks.gradient_reversals > 0
    ) == reversals
    if reversals:
        assert outcome.checks.first_gradient_reversal == 1


def double_well(a):
    """L(x) = sum_j (-a x_j^2 / 2 + x_j^4 / 4) for each member's row x of a stack: the loss falls
    from small x to the wells x_j = +-sqrt(a), where the curvature 2a makes descent with eta a > 1
    oscillate, so the checks fire late in a run, not from its first step."""
    a = np.asarray(a, float)[:, None]
    return lambda W: (np.sum(-a * W * W / 2 + W**4 / 4, axis=1), -a * W + W**3)


def checks_step_by_step(fun, w, eta, tol, steps):
    """The module docstring of sims.descent for one run, one step at a time: its Checks, or
    "diverged"."""
    from sims.descent import EXPLODE, GRAD_FLOOR, REVERSAL_COS, RISE_TOL, Checks

    counts, first, prev, floor = [0, 0], [-1, -1], None, 0.0
    for k in range(steps + 1):
        loss, g = (v[0] for v in fun(w[None]))
        norm = np.sqrt(g @ g)
        if prev is not None:
            prev_loss, prev_g, prev_norm = prev
            hits = (
                loss > prev_loss + RISE_TOL * max(1.0, abs(prev_loss)),
                min(norm, prev_norm) > floor and g @ prev_g < REVERSAL_COS * norm * prev_norm,
            )
            for col, hit in enumerate(hits):
                counts[col] += hit
                first[col] = k if hit and first[col] < 0 else first[col]
        else:
            loss0, floor = abs(loss), GRAD_FLOOR * max(1.0, norm)
        if not (abs(loss) <= EXPLODE * max(loss0, 1.0) and np.isfinite(norm)):
            return "diverged"
        if norm < tol or k == steps:
            return Checks(counts[0], first[0], counts[1], first[1])
        prev = (loss, g, norm)
        w = w - eta * g


@pytest.mark.parametrize("block", [1, 3, 1024])
@pytest.mark.parametrize("log_every", [1, 7])
def test_checks_counted_in_blocks_equal_a_count_step_by_step(monkeypatch, block, log_every):
    """descend tallies the checks in blocks of steps: a stack whose members converge, diverge or run
    to the end, each at its own step, gets the counts and first steps of one run at a time, whatever
    the block's length and wherever members leave; and the same weights whatever the block."""
    from sims import descent

    monkeypatch.setattr(descent, "BLOCK", block)
    a = np.array([1.0, 1.0, 1.0, 1.0, 2.0])
    eta = np.array([0.3, 0.7, 1.2, 5.0, 0.6])  # calm, reversals, rises and reversals, diverges
    tol = np.array([1e-9, 0.0, 0.0, 0.0, 0.0])
    W0 = np.full((5, 3), 1e-3) * np.array([1.0, -2.0, 3.0])
    steps = 60
    outcomes = descend(
        lambda members: double_well(a[members]),
        W0,
        eta,
        tol,
        steps=steps,
        log_every=log_every,
        align=lambda members, W: (W, W),
    )
    expected = [
        checks_step_by_step(double_well(a[[i]]), W0[i], eta[i], tol[i], steps) for i in range(5)
    ]
    assert expected[0] != "diverged" and expected[0].loss_rises == 0
    assert expected[1].gradient_reversals > 0 and expected[1].first_gradient_reversal > 5
    assert expected[2].loss_rises > 0 and expected[3] == "diverged"
    for outcome, want in zip(outcomes, expected):
        if want == "diverged":
            assert isinstance(outcome, DivergenceError)
        else:
            assert outcome.checks == want
    assert outcomes[0].converged and len(outcomes[0].log["steps"]) < len(outcomes[1].log["steps"])
    reference = descend(
        lambda members: double_well(a[members]),
        W0,
        eta,
        tol,
        steps=steps,
        log_every=1,
        align=lambda members, W: (W, W),
        check=False,
    )
    for outcome, plain in zip(outcomes, reference):
        if not isinstance(outcome, DivergenceError):
            assert np.array_equal(outcome.W, plain.W)


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(model="diffusion", n=6, d=300, m=3, objective="x0", seed=2),
        TrainConfig(
            model="diffusion",
            n=6,
            d=300,
            m=3,
            objective="v",
            schedule="cosine",
            num_times=3,
            seed=2,
        ),
        TrainConfig(
            model="classification",
            n=6,
            d=300,
            m=3,
            augment=(0.6, 0.8),
            noise="fixed",
            noise_samples=2,
            seed=2,
        ),
    ],
)
def test_eta_factor_is_the_same_in_span_coordinates(cfg):
    """auto_step reads the model's eta_factor from the data in span coordinates (norms are
    preserved, no pass over d); the factor must not read the coordinates' width as d (the augmented
    classifier's uses d)."""
    run = prepare(cfg)
    B = span.basis(run.data, run.W0, run.draws)
    small = span.coordinates(B, run.data, run.W0, run.draws)[0]
    assert small.d < run.data.d
    model = models.get(cfg.model)
    direct = model.eta_factor(cfg, run.data, run.data.d)
    assert model.eta_factor(cfg, small, run.data.d) == pytest.approx(direct, rel=1e-12)
    if cfg.augment is not None:
        assert direct > 1.0


def test_auto_eta_reaches_the_stationary_point_with_short_patches():
    """n = 10, d = 1000, m = 2, sigma_xi = 0.03, n SNR^2 = 0.2, seed 3: the data limit alone gave
    eta = 3.67, with which descent leaves the flow at step ~5 (the curvature at the stationary point
    is 0.82); the "stationary" limit sets eta, predict finds the point, and descent at that eta
    reaches it."""
    from theory.predict import predict

    cfg = TrainConfig(n=10, d=1000, m=2, sigma_xi=0.03, seed=3, nsnr2=0.2)
    run = prepare(cfg)
    assert run.eta_limit == "stationary" and run.eta < 2.0
    stat = predict(cfg).stationary
    assert stat.found and stat.descent_leaves_at_step is None and stat.descent_stable
    assert run.eta * -stat.eigenvalues[-1] < 1.2  # eta lambda* ~ 1 at the true point (the law's: 1)
    res = train(cfg.replace(steps=40_000, log_every=40_000, tol=1e-9))
    assert res.summary()["final_grad_norm"] < 1e-9
    # within ||grad L|| / lambda_min of the point (lambda_min ~ 6e-4 here): 1e-9 / 6e-4 ~ 2e-6 in W
    assert res.summary()["ratio"] == pytest.approx(stat.ratio, rel=1e-4)
    # the flow's point does not depend on eta: with eta = 4, descent leaves the flow but predict
    # still reports the same point, with the step where descent leaves
    wild = predict(cfg.replace(eta=4.0)).stationary
    assert wild.found and wild.ratio == pytest.approx(stat.ratio, rel=1e-9)
    assert 1 < wild.descent_leaves_at_step < 20 and not wild.descent_stable


def test_untied_noise_prediction_at_two_neurons_says_descent_left_the_flow():
    """No step-size bound covers the untied eps model at m >= 2 (sims.models.Untied): at d = 500,
    m = 2, n SNR^2 = 0.5 descent with the automatic step oscillates once a pair of neurons cancels,
    and the run's summary says so; the fixed-output model on the same data and W0 stays calm."""
    cfg = TrainConfig(model="untied", d=500, m=2, nsnr2=0.5, steps=3000, log_every=3000)
    loose = train(cfg).summary()
    assert loose["loss_rises"] > 0 and "the loss rose" in loose["descent_note"]
    fixed = train(cfg.replace(model="fixed-output")).summary()
    assert fixed["loss_rises"] == fixed["gradient_reversals"] == 0
    assert fixed["descent_note"] == ""


def test_untied_stationary_limit_keeps_descent_on_short_patches(monkeypatch):
    """Short patches (sigma_xi = 0.05): the untied model's curvature at its stationary point is set
    by the weights' own terms, which the data scale misses (as for the tied model). The "stationary"
    limit (the tied law's filters rescaled to the untied balance) binds and descent converges
    calmly; without it the data limit's step, 4 to 12 times larger here, diverges."""
    cfg = TrainConfig(
        model="untied", n=8, d=120, m=1, nsnr2=0.5, sigma_xi=0.05, steps=400, log_every=400
    )
    run = prepare(cfg)
    assert run.eta_limit == "stationary"
    calm = train(cfg).summary()
    assert calm["final_grad_norm"] < 1e-8 and calm["descent_note"] == ""
    monkeypatch.setattr(models.Untied, "stationary_filters", lambda self, cfg, data: None)
    loose = prepare(cfg)
    assert loose.eta_limit == "data" and loose.eta > 4 * run.eta
    with pytest.raises(DivergenceError):
        train(cfg)


def test_top_curvature_of_a_tiny_gradient_does_not_underflow():
    """A gradient whose squares underflow to 0 (entries 1e-200; seen at --alpha 1.5e15) still
    gives the curvature, without a divide-by-zero warning."""
    from sims.stepsize import top_curvature

    a = 3.0
    W = np.full((2, 5), 1e-200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lam = top_curvature(lambda W: (0.5 * a * np.sum(W * W), a * W), lambda W, v: a * v, W)
    assert lam == pytest.approx(a)
