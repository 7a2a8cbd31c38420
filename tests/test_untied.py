"""The untied and the fixed-output denoiser (sims.untied): eq. (U) and its hand-derived gradients
against a plain loop, finite differences, Monte Carlo and the tied model (V = W); the span basis;
the conserved ||w_r||^2 - 2 ||v_r||^2; the curvature at a fit."""

import numpy as np
import pytest

from sims import diffusion, schedules, span, untied
from sims.data import make_data
from sims.diffusion import objective_target

OBJECTIVES = tuple(diffusion.OBJECTIVES)
MODES = pytest.mark.parametrize("train_output", [True, False], ids=["untied", "fixed-output"])


def time_for(objective):
    """A diffusion time valid for the objective (velocity needs alpha + beta = 1)."""
    return (0.35, 0.65) if objective == "velocity" else (0.8, 0.6)


def problem(rng, n=3, d=6, m=3, w_scale=0.5):
    return (
        w_scale * rng.standard_normal((2, m, d)),
        rng.standard_normal((n, d)),
        rng.standard_normal((n, d)),
    )


def loop_loss_and_grad(WV, x1, x2, alpha, beta, c, a, b):
    """Eq. (U) and both gradients by plain loops over patches and neuron pairs, each term's partial
    derivatives written out and chained through a_r = <w_r, z>, q_r = <v_r, z>, G_rs = <w_r, w_s>,
    H_rs = <v_r, v_s>, C_rr = <w_r, v_r>."""
    W, V = WV
    m, d = W.shape
    n = x1.shape[0]
    G = np.array([[W[r] @ W[s] for s in range(m)] for r in range(m)])
    H = np.array([[V[r] @ V[s] for s in range(m)] for r in range(m)])
    C = np.array([W[r] @ V[r] for r in range(m)])
    al2, be2 = alpha**2, beta**2
    loss, gW, gV = 0.0, np.zeros_like(W), np.zeros_like(V)
    for i in range(n):
        for z in (x1[i], x2[i]):
            A = np.array([W[r] @ z for r in range(m)])
            Q = np.array([V[r] @ z for r in range(m)])
            dA, dQ, dC = np.zeros(m), np.zeros(m), np.zeros(m)
            dG, dH = np.zeros((m, m)), np.zeros((m, m))
            loss += a * a * (z @ z) + b * b * d
            for r in range(m):
                # -4 b c alpha beta a_r C_rr
                loss += -4 * b * c * alpha * beta * A[r] * C[r]
                dA[r] += -4 * b * c * alpha * beta * C[r]
                dC[r] += -4 * b * c * alpha * beta * A[r]
                # -2 a c (alpha^2 a_r^2 + beta^2 G_rr) q_r
                loss += -2 * a * c * (al2 * A[r] ** 2 + be2 * G[r, r]) * Q[r]
                dA[r] += -4 * a * c * al2 * A[r] * Q[r]
                dG[r, r] += -2 * a * c * be2 * Q[r]
                dQ[r] += -2 * a * c * (al2 * A[r] ** 2 + be2 * G[r, r])
                for s in range(m):
                    M = (
                        al2**2 * A[r] ** 2 * A[s] ** 2
                        + al2 * be2 * (A[r] ** 2 * G[s, s] + A[s] ** 2 * G[r, r])
                        + al2 * be2 * 4 * A[r] * A[s] * G[r, s]
                        + be2**2 * (G[r, r] * G[s, s] + 2 * G[r, s] ** 2)
                    )
                    # c^2 H_rs M_rs
                    loss += c * c * H[r, s] * M
                    dH[r, s] += c * c * M
                    k = c * c * H[r, s]
                    dA[r] += k * (2 * al2**2 * A[r] * A[s] ** 2 + al2 * be2 * 2 * A[r] * G[s, s])
                    dA[r] += k * al2 * be2 * 4 * A[s] * G[r, s]
                    dA[s] += k * (2 * al2**2 * A[r] ** 2 * A[s] + al2 * be2 * 2 * A[s] * G[r, r])
                    dA[s] += k * al2 * be2 * 4 * A[r] * G[r, s]
                    dG[s, s] += k * (al2 * be2 * A[r] ** 2 + be2**2 * G[r, r])
                    dG[r, r] += k * (al2 * be2 * A[s] ** 2 + be2**2 * G[s, s])
                    dG[r, s] += k * (al2 * be2 * 4 * A[r] * A[s] + be2**2 * 4 * G[r, s])
            for r in range(m):
                gW[r] += dA[r] * z + dC[r] * V[r]
                gV[r] += dQ[r] * z + dC[r] * W[r]
                for s in range(m):
                    gW[r] += (dG[r, s] + dG[s, r]) * W[s]
                    gV[r] += (dH[r, s] + dH[s, r]) * V[s]
    return loss / (2 * n), np.stack([gW, gV]) / (2 * n)


def central_difference(fun, X, h=1e-6):
    grad = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        E = np.zeros_like(X)
        E[idx] = h
        grad[idx] = (fun(X + E) - fun(X - E)) / (2 * h)
    return grad


# ---- eq. (U) and its gradients ------------------------------------------------------------------


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("scale", [None, 0.7])
def test_matches_plain_loop(rng, objective, scale):
    WV, x1, x2 = problem(rng)
    al, be = time_for(objective)
    c = 1 / WV.shape[1] if scale is None else scale
    target = objective_target(objective, al, be)
    loss, grad = untied.loss_and_grad(WV, x1, x2, alpha=al, beta=be, scale=scale, target=target)
    loss_ref, grad_ref = loop_loss_and_grad(WV, x1, x2, al, be, c, *target)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-10, atol=1e-12)


@MODES
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_gradient_matches_finite_differences(rng, objective, train_output):
    """Both layers' gradients (fixed output: the first layer's, and exactly 0 for the output's)."""
    WV, x1, x2 = problem(rng, n=4, d=7, m=3)
    times = schedules.schedule_times("cosine", 3, objective)

    def fun(X):
        return untied.loss_and_grad_times(
            X, x1, x2, times, objective=objective, train_output=train_output
        )

    loss, grad = fun(WV)
    fd = central_difference(lambda X: fun(X)[0], WV)
    np.testing.assert_allclose(grad[0], fd[0], rtol=1e-6, atol=1e-7)
    if train_output:
        np.testing.assert_allclose(grad[1], fd[1], rtol=1e-6, atol=1e-7)
        assert np.abs(fd[1]).max() > 1e-2  # the output layer's gradient is not small here
    else:
        assert not np.any(grad[1])
        assert loss == untied.loss_and_grad_times(WV, x1, x2, times, objective=objective)[0]


@MODES
@pytest.mark.parametrize("objective", ["eps", "x0", "v"])
def test_hessian_vector_product_matches_finite_differences(rng, objective, train_output):
    """One direction and a stack, two diffusion times; fixed output: the Hessian in W alone."""
    WV, x1, x2 = problem(rng, n=4, d=7, m=3)
    times = ((0.8, 0.6, 1.0), (0.5, 0.9, 0.3))

    def grad(X):
        return untied.loss_and_grad_times(
            X, x1, x2, times, objective=objective, train_output=train_output
        )[1]

    T = rng.standard_normal((5,) + WV.shape)
    if not train_output:
        T[:, 1] = 0.0
    h = 1e-5
    fd = np.stack([(grad(WV + h * t) - grad(WV - h * t)) / (2 * h) for t in T])
    hv = untied.hessian_vector_product(
        WV, T, x1, x2, times, objective=objective, train_output=train_output
    )
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-6 * np.abs(fd).max())
    one = untied.hessian_vector_product(
        WV, T[0], x1, x2, times, objective=objective, train_output=train_output
    )
    np.testing.assert_allclose(one, hv[0], rtol=1e-12, atol=1e-12 * np.abs(hv).max())


def test_fixed_output_hessian_ignores_the_output_direction(rng):
    WV, x1, x2 = problem(rng, n=3, d=6, m=2)
    times = ((0.8, 0.6, 1.0),)
    T = rng.standard_normal(WV.shape)
    T0 = T.copy()
    T0[1] = 0.0
    hv = untied.hessian_vector_product(WV, T, x1, x2, times, train_output=False)
    np.testing.assert_array_equal(
        hv, untied.hessian_vector_product(WV, T0, x1, x2, times, train_output=False)
    )
    assert not np.any(hv[1])


# ---- the tied model is V = W --------------------------------------------------------------------


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("schedule", ["single", "ddpm-linear", "cosine"])
def test_tied_weights_reduce_to_sims_diffusion(rng, objective, schedule):
    """L(W, W) is the tied loss; the tied gradient is the sum of both slots' gradients; the tied
    Hessian along D is the sum of both slots of the untied Hessian along (D, D)."""
    W, x1, x2 = problem(rng, n=4, d=6, m=3)[0][0], *problem(rng, n=4, d=6)[1:]
    al, be = time_for(objective)
    times = schedules.schedule_times(
        schedule, 1 if schedule == "single" else 3, objective, alpha=al, beta=be
    )
    WW = np.stack([W, W])
    loss, grad = untied.loss_and_grad_times(WW, x1, x2, times, objective=objective, scale=0.6)
    loss_t, grad_t = diffusion.loss_and_grad_times(W, x1, x2, times, objective=objective, scale=0.6)
    assert loss == pytest.approx(loss_t, rel=1e-13)
    np.testing.assert_allclose(grad.sum(axis=0), grad_t, rtol=1e-12, atol=1e-13)
    D = rng.standard_normal((2,) + W.shape)
    hv = untied.hessian_vector_product(
        WW, np.stack([D, D], axis=1), x1, x2, times, objective=objective, scale=0.6
    )
    hv_t = diffusion.hessian_vector_product(W, D, x1, x2, times, objective=objective, scale=0.6)
    np.testing.assert_allclose(hv.sum(axis=1), hv_t, rtol=1e-11, atol=1e-12 * np.abs(hv_t).max())


def test_term_weights_split_the_tied_k1():
    times = schedules.schedule_times("cosine", 4, "v")
    targets = diffusion.targets_of(times, "v")
    k, tied = untied.untied_weights(targets, 0.3), diffusion.term_weights(targets, 0.3)
    assert k.k1e + k.k1x == pytest.approx(tied.k1, rel=1e-14)
    assert k.k1e == pytest.approx(sum(4 * 0.3 * al * be * al * w for al, be, w in times), rel=1e-14)
    assert (k.k2, k.k3, k.k4, k.k5, k.a2, k.b2) == tied[1:]
    eps = untied.untied_weights(diffusion.targets_of(times, "eps"), 0.3)
    assert eps.k1x == 0.0 and eps.k5 == 0.0


# ---- Monte Carlo --------------------------------------------------------------------------------


@MODES
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_exact_expectation_matches_monte_carlo(objective, train_output):
    """Means over B batches of K draws (seeded): the exact loss and every gradient entry lie within
    5 standard errors of the Monte Carlo mean, which is within 3 % of the exact gradient."""
    rng = np.random.default_rng(17 + len(objective))
    WV, x1, x2 = problem(rng, n=2, d=5, m=2)
    times = ((*time_for(objective), 1.0),)
    B, K = 200, 500
    eps = rng.standard_normal((B, K, 4, 5))
    losses, grads = untied.loss_and_grad_sampled_times(
        np.broadcast_to(WV, (B,) + WV.shape),
        x1,
        x2,
        eps,
        times,
        objective=objective,
        train_output=train_output,
    )
    loss, grad = untied.loss_and_grad_times(
        WV, x1, x2, times, objective=objective, train_output=train_output
    )
    assert abs(losses.mean() - loss) < 5 * losses.std(ddof=1) / np.sqrt(B)
    live = grads[:, : 2 if train_output else 1]
    se = live.std(axis=0, ddof=1) / np.sqrt(B)
    assert np.all(np.abs(live.mean(axis=0) - grad[: live.shape[1]]) < 5 * se)
    assert np.linalg.norm(grads.mean(axis=0) - grad) < 0.03 * np.linalg.norm(grad)
    if not train_output:
        assert not np.any(grads[:, 1])


def test_fresh_draws_average_to_the_exact_objective():
    """K fresh draws per call: the mean of 200 calls (K = 500, one stacked call of 200 members with
    draws of their own) is within 5 standard errors of the exact loss and gradient."""
    rng = np.random.default_rng(29)
    WV, x1, x2 = problem(rng, n=2, d=5, m=2)
    times = schedules.schedule_times("ddpm-linear", 2, "v")
    B = 200
    losses, grads = untied.loss_and_grad_fresh(
        np.broadcast_to(WV, (B,) + WV.shape), x1, x2, 500, rng, times, objective="v"
    )
    loss, grad = untied.loss_and_grad_times(WV, x1, x2, times, objective="v")
    assert abs(losses.mean() - loss) < 5 * losses.std(ddof=1) / np.sqrt(B)
    se = grads.std(axis=0, ddof=1) / np.sqrt(B)
    assert np.all(np.abs(grads.mean(axis=0) - grad) < 5 * se)
    assert np.std(losses) > 0  # every member drew its own eps


@MODES
def test_sampled_gradient_matches_finite_differences(rng, train_output):
    WV, x1, x2 = problem(rng)
    eps = rng.standard_normal((5, 6, 6))
    times = ((0.8, 0.6, 0.6), (0.6, 0.8, 0.4))

    def fun(X):
        return untied.loss_and_grad_sampled_times(
            X, x1, x2, eps, times, objective="v", train_output=train_output
        )

    grad = fun(WV)[1]
    fd = central_difference(lambda X: fun(X)[0], WV)
    np.testing.assert_allclose(grad[0], fd[0], rtol=1e-6, atol=1e-7)
    if train_output:
        np.testing.assert_allclose(grad[1], fd[1], rtol=1e-6, atol=1e-7)
    else:
        assert not np.any(grad[1])


@pytest.mark.parametrize("objective", ["eps", "v"])
def test_stacks_equal_separate_calls(rng, objective):
    S, n, d, m = 3, 4, 6, 3
    WV = 0.5 * rng.standard_normal((S, 2, m, d))
    X1, X2 = rng.standard_normal((S, n, d)), rng.standard_normal((S, n, d))
    eps = rng.standard_normal((S, 2, 2 * n, d))
    times = schedules.schedule_times("ddpm-linear", 3, objective)
    kw = dict(objective=objective, scale=0.4)
    loss, grad = untied.loss_and_grad_times(WV, X1, X2, times, **kw)
    shared_loss, shared_grad = untied.loss_and_grad_times(WV, X1[0], X2[0], times, **kw)
    mc_loss, mc_grad = untied.loss_and_grad_sampled_times(WV, X1, X2, eps, times, **kw)
    assert loss.shape == shared_loss.shape == mc_loss.shape == (S,)
    for s in range(S):
        for got_l, got_g, args in (
            (loss, grad, (X1[s], X2[s])),
            (shared_loss, shared_grad, (X1[0], X2[0])),
        ):
            l_s, g_s = untied.loss_and_grad_times(WV[s], *args, times, **kw)
            assert got_l[s] == pytest.approx(l_s, rel=1e-13)
            np.testing.assert_allclose(got_g[s], g_s, rtol=1e-12, atol=1e-14)
        l_s, g_s = untied.loss_and_grad_sampled_times(WV[s], X1[s], X2[s], eps[s], times, **kw)
        assert mc_loss[s] == pytest.approx(l_s, rel=1e-13)
        np.testing.assert_allclose(mc_grad[s], g_s, rtol=1e-12, atol=1e-14)


def test_loss_at_zero(rng):
    """With either layer 0, f = 0: the loss is a^2 sum ||z||^2 / (2n) + b^2 d, the gradient 0."""
    n, d = 3, 9
    WV, x1, x2 = problem(rng, n=n, d=d)
    mean_sq = (np.sum(x1**2) + np.sum(x2**2)) / (2 * n)
    for objective in OBJECTIVES:
        al, be = time_for(objective)
        a, b = objective_target(objective, al, be)
        for zero in (np.zeros_like(WV), np.stack([WV[0], 0 * WV[1]]), np.stack([0 * WV[0], WV[1]])):
            loss, grad = untied.loss_and_grad(zero, x1, x2, alpha=al, beta=be, target=(a, b))
            assert loss == pytest.approx(a * a * mean_sq + b * b * d, rel=1e-14)
            if not np.any(zero):
                assert not np.any(grad)


def test_denoise_is_the_network(rng):
    WV, x1, _ = problem(rng)
    want = sum(np.outer((x1 @ w) ** 2, v) for w, v in zip(*WV)) / WV.shape[1]
    np.testing.assert_allclose(untied.denoise(WV, x1), want, rtol=1e-12)


@MODES
@pytest.mark.parametrize("noise", ["exact", "fixed"])
def test_flow_conserves_the_layer_balance(rng, noise, train_output):
    """<w_r, grad_w_r> = 2 <v_r, grad_v_r> for every neuron (f is invariant under w_r -> s w_r,
    v_r -> v_r / s^2), so the flow conserves ||w_r||^2 - 2 ||v_r||^2; the fixed output instead
    conserves nothing of the kind (its W-part alone is <w_r, grad_w_r> != 0)."""
    WV, x1, x2 = problem(rng, n=3, d=6, m=3)
    times = schedules.schedule_times("cosine", 2, "v")
    if noise == "exact":
        grad = untied.loss_and_grad_times(WV, x1, x2, times, objective="v")[1]
    else:
        eps = rng.standard_normal((2, 6, 6))
        grad = untied.loss_and_grad_sampled_times(WV, x1, x2, eps, times, objective="v")[1]
    first, output = np.sum(WV[0] * grad[0], axis=1), np.sum(WV[1] * grad[1], axis=1)
    np.testing.assert_allclose(first, 2 * output, rtol=1e-11, atol=1e-13 * np.abs(first).max())
    assert np.abs(first).min() > 1e-3


# ---- span basis: descent in span(data, both layers' initial rows, fixed draws) ------------------


def _descend(fun, X, eta, steps):
    losses = []
    for _ in range(steps):
        loss, grad = fun(X)
        losses.append(loss)
        X = X - eta * grad
    return X, np.array(losses)


@MODES
@pytest.mark.parametrize(
    "objective, fixed", [("eps", False), ("v", False), ("x0", False), ("v", True), ("x0", True)]
)
def test_descent_in_the_span_basis_is_descent_in_d(objective, fixed, train_output):
    """300 steps in d = 60 and in the coordinates of sims.span.basis(data, WV0 [, draws]) (both
    layers' rows are the basis's filters): the same trajectory to 1e-10, the weights having moved by
    more than 30 % of their size (32 to 80 % here). The layers mix (W's rows leave span(data, rows
    of W0)) exactly when the exact loss has an eps part (s_C = -k1e s_a != 0); with b = 0, or on
    fixed draws (whose W-gradient is a combination of the inputs u = alpha z + beta eps), each
    layer stays in span(data, draws, its own initial rows)."""
    rng = np.random.default_rng(5 if fixed else 6)
    n, d, m = 5, 60, 3
    data = make_data(n, d, nsnr2=2.0, rng=rng)
    WV0 = 0.3 * rng.standard_normal((2, m, d))
    times = schedules.schedule_times("cosine", 2, objective)
    draws = rng.standard_normal((2, 2 * n, d)) if fixed else None
    B = span.basis(data, WV0, draws)
    assert B.dim < d
    cdata, cWV0, cdraws = span.coordinates(B, data, WV0, draws)

    def objective_on(x1, x2, eps, dim):
        if eps is None:
            targets = diffusion.targets_of(times, objective)
            return untied.exact_objective(x1, x2, targets, dim=dim, train_output=train_output)
        return lambda X: untied.loss_and_grad_sampled_times(
            X, x1, x2, eps, times, objective=objective, train_output=train_output
        )

    eta, steps = (0.003 if fixed else 0.01), 300  # fixed draws diverge at 0.01
    full, loss_full = _descend(objective_on(data.x1, data.x2, draws, d), WV0, eta, steps)
    small, loss_small = _descend(objective_on(cdata.x1, cdata.x2, cdraws, d), cWV0, eta, steps)
    back = small @ B.rows
    assert np.max(np.abs(back - full)) <= 1e-10 * np.max(np.abs(full))
    np.testing.assert_allclose(loss_small, loss_full, rtol=1e-10)
    assert np.linalg.norm(full - WV0) > 0.3 * np.linalg.norm(WV0)
    if not train_output:
        np.testing.assert_array_equal(full[1], WV0[1])
    for layer in (0, 1) if train_output else (0,):
        own = span.basis(data, WV0[layer], draws).rows  # data, draws and this layer's W0 rows
        off = np.linalg.norm(full[layer] - (full[layer] @ own.T) @ own)
        if objective != "x0" and not fixed:
            assert off > 1e-3 * np.linalg.norm(full[layer])
        else:
            assert off < 1e-12 * np.linalg.norm(full[layer])


def test_fresh_draws_leave_the_span(rng):
    """A gradient on fresh draws has a part outside span(data, W, V) (no basis fixed in advance)."""
    n, d, m = 3, 40, 2
    data = make_data(n, d, nsnr2=1.0, rng=rng)
    WV = 0.3 * rng.standard_normal((2, m, d))
    B = span.basis(data, WV).rows
    grad = untied.loss_and_grad_fresh(WV, data.x1, data.x2, 2, rng, ((0.8, 0.6, 1.0),))[1]
    off = grad - (grad @ B.T) @ B
    assert np.linalg.norm(off) > 0.1 * np.linalg.norm(grad)


# ---- curvature scales for the step size ---------------------------------------------------------


def test_fit_curvature_is_the_balanced_neuron_s():
    """One neuron fitting a clean patch (beta = 0, so the loss is ||f(alpha z) - a z||^2 on the fit)
    with ||w||^2 = 2 ||v||^2: the largest Hessian eigenvalue, from the Hessian-vector products, is
    6 2^(2/3) |a|^(4/3) (c alpha^2 ||z||)^(2/3) times the data scale ||z||^2 / (2n)."""
    d, alpha, a_coef, c = 4, 0.7, 1.0, 1.0
    z = np.array([1.5, 0.0, 0.0, 0.0])
    x1, x2 = z[None], np.zeros((1, d))
    nz = np.linalg.norm(z)
    s = (np.sqrt(2) * a_coef / (c * alpha**2 * nz)) ** (1 / 3)  # s^2 t = a / (c alpha^2 ||z||)
    WV = np.zeros((2, 1, d))
    WV[0, 0, 0], WV[1, 0, 0] = s, s / np.sqrt(2)
    times = ((alpha, 0.0, 1.0),)
    loss, grad = untied.loss_and_grad_times(WV, x1, x2, times, objective="x0", scale=c)
    assert loss == pytest.approx(0.0, abs=1e-12) and np.abs(grad).max() < 1e-12
    E = np.eye(WV.size).reshape((WV.size,) + WV.shape)
    Hm = untied.hessian_vector_product(WV, E, x1, x2, times, objective="x0", scale=c)
    top = np.linalg.eigvalsh(Hm.reshape(WV.size, WV.size))[-1]
    factor = untied.untied_fit_curvature_factor(times, "x0", c, nz**2) - 1
    assert top == pytest.approx(factor * nz**2 / 2, rel=1e-10)
    assert factor == pytest.approx(6 * 2 ** (2 / 3) * (c * alpha**2 * nz) ** (2 / 3), rel=1e-12)


def test_curvature_factors_for_noise_prediction_and_draws(rng):
    times = schedules.schedule_times("cosine", 3, "eps")
    assert untied.untied_fit_curvature_factor(times, "eps", 0.25, 9.0) == 1.0
    draws = rng.standard_normal((2, 6, 10))
    tied = diffusion.memorised_curvature(times, "eps", 0.25, draws, 3)
    got = untied.untied_memorised_curvature(times, "eps", 0.25, draws, 3)
    assert got == pytest.approx(tied * 6 * 2 ** (2 / 3) / 18, rel=1e-14)
