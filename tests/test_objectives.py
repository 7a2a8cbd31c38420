"""The diffusion objective family (target a x0 + b eps, eq. T of sims.diffusion) and the schedules.

Oracles: a plain loop differentiated by hand in W directly (not through a_r and G), central finite
differences, Monte Carlo with explicit eps draws, sympy (Wick/Isserlis from first principles), and a
frozen copy of the eps-prediction code as it was before the objectives were added (bit-for-bit).
"""

import numpy as np
import pytest
import sympy as sp

from sims import FldmError, diffusion, schedules
from sims.diffusion import objective_target
from theory import derive
from theory.derive import alpha as s_alpha, beta as s_beta, c as s_c

OBJECTIVES = ("eps", "x0", "v", "velocity")
VP = (0.8, 0.6)  # alpha^2 + beta^2 = 1
LINEAR = (0.35, 0.65)  # alpha + beta = 1, the velocity objective's path


def time_for(objective):
    return LINEAR if objective == "velocity" else VP


def problem(rng, n=3, d=6, m=3, w_scale=0.5):
    return (
        w_scale * rng.standard_normal((m, d)),
        rng.standard_normal((n, d)),
        rng.standard_normal((n, d)),
    )


def loop_loss_and_grad(W, x1, x2, alpha, beta, c, a, b):
    """Eq. (T) term by term with plain loops over patches and neurons, each term differentiated by
    hand with respect to the rows w_k directly: d a_r / d w_k = [r = k] z, d G_rs / d w_k = [r = k]
    w_s + [s = k] w_r."""
    m, d = W.shape
    n = x1.shape[0]
    loss, grad = 0.0, np.zeros_like(W)
    for z in list(x1) + list(x2):
        al = [W[r] @ z for r in range(m)]
        G = [[W[r] @ W[s] for s in range(m)] for r in range(m)]
        loss += b * b * d + a * a * (z @ z)  # b^2 d + a^2 ||z||^2
        for r in range(m):
            # -2 b E<f, eps> = -4 c alpha beta b a_r G_rr
            loss += -4 * c * alpha * beta * b * al[r] * G[r][r]
            grad[r] += -4 * c * alpha * beta * b * (G[r][r] * z + 2 * al[r] * W[r])
            # -2 a E<f, z> = -2 a c (alpha^2 a_r^3 + beta^2 G_rr a_r)
            loss += -2 * a * c * (alpha**2 * al[r] ** 3 + beta**2 * G[r][r] * al[r])
            grad[r] += (
                -2
                * a
                * c
                * (3 * alpha**2 * al[r] ** 2 * z + beta**2 * (G[r][r] * z + 2 * al[r] * W[r]))
            )
            for s in range(m):
                # E||f||^2 term c^2 F, F = G_rs phi_rs; partials in the slots a_r, a_s, G_rs, G_rr,
                # G_ss
                ar, as_, grs, grr, gss = al[r], al[s], G[r][s], G[r][r], G[s][s]
                phi = (
                    alpha**4 * ar**2 * as_**2
                    + alpha**2 * beta**2 * (ar**2 * gss + as_**2 * grr + 4 * ar * as_ * grs)
                    + beta**4 * (grr * gss + 2 * grs**2)
                )
                loss += c * c * grs * phi
                d_ar = grs * (
                    2 * alpha**4 * ar * as_**2 + alpha**2 * beta**2 * (2 * ar * gss + 4 * as_ * grs)
                )
                d_as = grs * (
                    2 * alpha**4 * ar**2 * as_ + alpha**2 * beta**2 * (2 * as_ * grr + 4 * ar * grs)
                )
                d_grs = phi + grs * (4 * alpha**2 * beta**2 * ar * as_ + 4 * beta**4 * grs)
                d_grr = grs * (alpha**2 * beta**2 * as_**2 + beta**4 * gss)
                d_gss = grs * (alpha**2 * beta**2 * ar**2 + beta**4 * grr)
                grad[r] += c * c * (d_ar * z + d_grs * W[s] + 2 * d_grr * W[r])
                grad[s] += c * c * (d_as * z + d_grs * W[r] + 2 * d_gss * W[s])
    return loss / (2 * n), grad / (2 * n)


def central_difference(fun, W, h=1e-6):
    grad = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        grad[idx] = (fun(W + E) - fun(W - E)) / (2 * h)
    return grad


def sampled_target_loss(W, Z, eps, alpha, beta, c, a, b):
    """Monte Carlo ||f(W, alpha z + beta eps) - a z - b eps||^2 for draws eps (..., N, d) of the N
    patches Z, summed over patches, per draw, and its gradient per draw: d||e||^2/dw_r = 2c (h_r^2 e
    + 2 h_r <w_r, e> u)."""
    U = alpha * Z + beta * eps
    H = U @ W.T
    R = c * (H * H) @ W - a * Z - b * eps
    loss = (R * R).sum(axis=(-2, -1))
    grad = 2 * c * (np.swapaxes(H * H, -1, -2) @ R + np.swapaxes(2 * H * (R @ W.T), -1, -2) @ U)
    return loss, grad


# --- the objectives
# ---------------------------------------------------------------------------------


def test_objective_targets():
    assert objective_target("eps", 0.8, 0.6) == (0.0, 1.0)
    assert objective_target("x0", 0.8, 0.6) == (1.0, 0.0)
    assert objective_target("v", 0.8, 0.6) == (-0.6, 0.8)
    assert objective_target("velocity", 0.35, 0.65) == (-1.0, 1.0)
    with pytest.raises(FldmError, match="unknown objective 'score'"):
        objective_target("score", 0.8, 0.6)
    with pytest.raises(FldmError, match="alpha \\+ beta = 1"):
        objective_target("velocity", 0.8, 0.6)


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("scale", [None, 0.7])
def test_matches_plain_loop(rng, objective, scale):
    W, x1, x2 = problem(rng)
    al, be = time_for(objective)
    c = 1 / W.shape[0] if scale is None else scale
    target = objective_target(objective, al, be)
    loss, grad = diffusion.loss_and_grad(W, x1, x2, alpha=al, beta=be, scale=scale, target=target)
    loss_ref, grad_ref = loop_loss_and_grad(W, x1, x2, al, be, c, *target)
    assert loss == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_gradient_matches_finite_differences(rng, objective):
    W, x1, x2 = problem(rng, n=4, d=7, m=4)
    times = schedules.schedule_times("cosine", 3, objective)
    fun = lambda V: diffusion.loss_and_grad_times(V, x1, x2, times, objective=objective)[0]
    _, grad = diffusion.loss_and_grad_times(W, x1, x2, times, objective=objective)
    np.testing.assert_allclose(grad, central_difference(fun, W), rtol=1e-6, atol=1e-7)


def test_monte_carlo_oracle_gradient_is_its_loss_derivative(rng):
    W, x1, x2 = problem(rng, n=2, d=4, m=2)
    Z, eps = np.vstack([x1, x2]), rng.standard_normal((3, 4, 4))
    args = (0.8, 0.6, 0.4, -0.6, 0.8)
    _, grad = sampled_target_loss(W, Z, eps, *args)
    fd = central_difference(lambda V: sampled_target_loss(V, Z, eps, *args)[0].sum(), W)
    np.testing.assert_allclose(grad.sum(axis=0), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_exact_expectation_matches_monte_carlo(objective):
    """Means over B batches of K explicit eps draws: the exact loss and gradient lie within 5
    standard errors."""
    rng = np.random.default_rng(13)
    W, x1, x2 = problem(rng, n=2, d=5, m=3)
    al, be = time_for(objective)
    a, b = objective_target(objective, al, be)
    c, n = 1 / 3, 2
    B, K = 200, 500
    Z = np.vstack([x1, x2])
    eps = rng.standard_normal((B, K, 2 * n, 5))
    losses, grads = sampled_target_loss(W, Z, eps, al, be, c, a, b)
    losses, grads = losses.mean(axis=1) / (2 * n), grads.mean(axis=1) / (2 * n)  # per batch
    loss, grad = diffusion.loss_and_grad(W, x1, x2, alpha=al, beta=be, target=(a, b))
    assert abs(losses.mean() - loss) < 5 * losses.std(ddof=1) / np.sqrt(B)
    se = grads.std(axis=0, ddof=1) / np.sqrt(B)
    assert np.all(np.abs(grads.mean(axis=0) - grad) < 5 * se)
    assert np.linalg.norm(grads.mean(axis=0) - grad) < 0.03 * np.linalg.norm(grad)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_stacks_equal_separate_calls(rng, objective):
    S, n, d, m = 3, 4, 6, 3
    W = 0.5 * rng.standard_normal((S, m, d))
    X1, X2 = rng.standard_normal((S, n, d)), rng.standard_normal((S, n, d))
    times = schedules.schedule_times("ddpm-linear", 3, objective)
    loss, grad = diffusion.loss_and_grad_times(W, X1, X2, times, objective=objective, scale=0.4)
    shared_loss, shared_grad = diffusion.loss_and_grad_times(
        W, X1[0], X2[0], times, objective=objective, scale=0.4
    )
    assert loss.shape == shared_loss.shape == (S,)
    for s in range(S):
        l_s, g_s = diffusion.loss_and_grad_times(
            W[s], X1[s], X2[s], times, objective=objective, scale=0.4
        )
        assert loss[s] == pytest.approx(l_s, rel=1e-13)
        np.testing.assert_allclose(grad[s], g_s, rtol=1e-12, atol=1e-14)
        l_s, g_s = diffusion.loss_and_grad_times(
            W[s], X1[0], X2[0], times, objective=objective, scale=0.4
        )
        assert shared_loss[s] == pytest.approx(l_s, rel=1e-13)
        np.testing.assert_allclose(shared_grad[s], g_s, rtol=1e-12, atol=1e-14)


def test_loss_at_zero(rng):
    """At W = 0, f = 0 and the loss is E||a z + b eps||^2 averaged over patches: a^2 sum ||z||^2 /
    (2n) + b^2 d."""
    n, d = 3, 9
    _, x1, x2 = problem(rng, n=n, d=d)
    mean_sq = (np.sum(x1**2) + np.sum(x2**2)) / (2 * n)
    for al, be in [(0.8, 0.6), (2**-0.5, 2**-0.5), (0.1, 0.995), (0.35, 0.65)]:
        for objective in OBJECTIVES:
            if objective == "velocity" and al + be != 1:
                continue
            a, b = objective_target(objective, al, be)
            loss, grad = diffusion.loss_and_grad(
                np.zeros((3, d)), x1, x2, alpha=al, beta=be, target=(a, b)
            )
            assert np.all(grad == 0)
            want = {
                "eps": d,
                "x0": mean_sq,
                "v": be**2 * mean_sq + al**2 * d,
                "velocity": mean_sq + d,
            }[objective]
            assert loss == pytest.approx(want, rel=1e-14)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_reduced_coordinates_differ_by_noise_dimension_weight(rng, objective):
    """In an orthonormal r-dim basis Q holding the patches and W's rows, the loss is the full one
    minus noise_dimension_weight * (d - r), and the gradient is the full one in Q's coordinates."""
    d, r, n, m = 12, 5, 3, 2
    Q = np.linalg.qr(rng.standard_normal((d, r)))[0]
    Wr, x1r, x2r = (
        0.5 * rng.standard_normal((m, r)),
        rng.standard_normal((n, r)),
        rng.standard_normal((n, r)),
    )
    times = schedules.schedule_times("cosine", 4, objective)
    full, grad_full = diffusion.loss_and_grad_times(
        Wr @ Q.T, x1r @ Q.T, x2r @ Q.T, times, objective=objective
    )
    red, grad_red = diffusion.loss_and_grad_times(Wr, x1r, x2r, times, objective=objective)
    weight = diffusion.noise_dimension_weight(times, objective)
    b2 = {"eps": 1, "x0": 0, "v": sum(w * al**2 for al, _, w in times), "velocity": 1}[
        objective
    ]  # sum_k w_k b_k^2
    assert weight == pytest.approx(b2)
    assert full == pytest.approx(red + weight * (d - r), rel=1e-12)
    np.testing.assert_allclose(grad_full, grad_red @ Q.T, rtol=1e-10, atol=1e-13)


# --- eps prediction is the code before the objectives were added, to rounding
# -----------------------


def _frozen_exact_terms(W, blocks, alpha, beta, c):
    """sims.diffusion._exact_terms as of commit c6fc2f5, verbatim."""
    _T = lambda a: np.swapaxes(a, -1, -2)
    A = np.concatenate([Z @ _T(W) for Z in blocks], axis=-2)
    N, m = A.shape[-2:]
    G = W @ _T(W)
    g = np.diagonal(G, axis1=-2, axis2=-1)
    P = A * A
    p, a_sum = P.sum(axis=-2), A.sum(axis=-2)
    G2 = G * G
    Gg = (G @ g[..., None])[..., 0]
    PG, AG2 = P @ G, A @ G2
    k1, k2, k3, k4 = (
        4 * c * alpha * beta,
        c * c * alpha**4,
        c * c * alpha**2 * beta**2,
        N * c * c * beta**4,
    )
    total = (
        -k1 * (a_sum * g).sum(axis=-1)
        + k2 * (PG * P).sum(axis=(-2, -1))
        + 2 * k3 * (p * Gg).sum(axis=-1)
        + 4 * k3 * (AG2 * A).sum(axis=(-2, -1))
        + k4 * ((g * Gg).sum(axis=-1) + 2 * (G2 * G).sum(axis=(-2, -1)))
    )
    dA = A * (4 * k2 * PG + 4 * k3 * Gg[..., None, :]) + 8 * k3 * AG2 - k1 * g[..., None, :]
    S = (
        k2 * (_T(P) @ P)
        + 2 * k3 * p[..., :, None] * g[..., None, :]
        + 8 * k3 * (_T(A) @ A) * G
        + k4 * (g[..., :, None] * g[..., None, :] + 6 * G2)
    )
    diag = np.arange(m)
    S[..., diag, diag] += -k1 * a_sum + 2 * k3 * (G @ p[..., None])[..., 0] + 2 * k4 * Gg
    grad = (S + _T(S)) @ W
    start = 0
    for Z in blocks:
        grad += _T(dA[..., start : start + Z.shape[-2], :]) @ Z
        start += Z.shape[-2]
    return total, grad


def _frozen_loss_and_grad(W, x1, x2, *, alpha, beta, scale=None):
    n, d = x1.shape[-2:]
    c = 1.0 / W.shape[-2] if scale is None else scale
    total, grad = _frozen_exact_terms(W, (x1, x2), alpha, beta, c)
    grad /= 2 * n
    return d + total / (2 * n), grad


REGROUPED = (
    1e-13  # relative difference allowed between the regrouped terms and the frozen code (rounding)
)


@pytest.mark.parametrize(
    "seed, shape, scale, alpha, beta",
    [
        (0, ((4,), (20,), 50), None, 2**-0.5, 2**-0.5),
        (1, ((3,), (5,), 8), 0.7, 0.9, 0.4),
        (2, ((2, 4), (2, 6), 10), None, 0.3, 0.95),
        (3, ((3, 4), (6,), 10), 0.25, 0.6, 0.8),  # a stack of W on shared data
    ],
)
def test_eps_objective_is_the_previous_code_to_rounding(seed, shape, scale, alpha, beta):
    """Bit for bit until the terms were regrouped into fewer numpy calls and the times summed in the
    term weights (sims.diffusion.Weights, with the span engine's speed-ups); since then equal to
    rounding (REGROUPED relative)."""
    rng = np.random.default_rng(seed)
    (*lead_w, m), (*lead_x, n), d = shape
    W = (
        2 * rng.standard_normal((*lead_w, m, d)) / np.sqrt(d)
    )  # alignments of order 2: the loss is not just d
    x1, x2 = rng.standard_normal((*lead_x, n, d)), rng.standard_normal((*lead_x, n, d))
    want_loss, want_grad = _frozen_loss_and_grad(W, x1, x2, alpha=alpha, beta=beta, scale=scale)
    for kwargs in ({}, {"target": (0.0, 1.0)}, {"target": objective_target("eps", alpha, beta)}):
        loss, grad = diffusion.loss_and_grad(
            W, x1, x2, alpha=alpha, beta=beta, scale=scale, **kwargs
        )
        np.testing.assert_allclose(loss, want_loss, rtol=REGROUPED)
        np.testing.assert_allclose(
            grad, want_grad, rtol=REGROUPED, atol=REGROUPED * np.abs(want_grad).max()
        )
    times = ((alpha, beta, 0.3), (beta, alpha, 0.7))
    loss, grad = diffusion.loss_and_grad_times(W, x1, x2, times, scale=scale, objective="eps")
    parts = [
        _frozen_loss_and_grad(W, x1, x2, alpha=al, beta=be, scale=scale) for al, be, _ in times
    ]
    want_grad = 0.3 * parts[0][1] + 0.7 * parts[1][1]
    np.testing.assert_allclose(loss, 0.3 * parts[0][0] + 0.7 * parts[1][0], rtol=REGROUPED)
    np.testing.assert_allclose(
        grad, want_grad, rtol=REGROUPED, atol=REGROUPED * np.abs(want_grad).max()
    )


# --- sympy: eq. (T) from first principles
# ----------------------------------------------------------


@pytest.mark.parametrize("m", [1, 2, 3])
def test_wick_expectation_equals_target_closed_form(m):
    derived = derive.expected_target_loss(m)
    assert sp.expand(derived - derive.target_patch_loss(m)) == 0
    eps_only = derived.subs({derive.x0_coef: 0, derive.eps_coef: 1})
    assert sp.expand(eps_only - derive.expected_patch_loss(m)) == 0


def test_sympy_loss_and_gradient_equal_sims_diffusion(rng):
    """The v objective, whose target (-beta, alpha) has both coefficients non-zero and depends on
    the time."""
    objective, target, point = "v", (-s_beta, s_alpha), (sp.Rational(4, 5), sp.Rational(3, 5))
    m, dim = 2, 3
    W = rng.standard_normal((m, dim))
    x1, x2 = rng.standard_normal((1, dim)), rng.standard_normal((1, dim))
    al, be = float(point[0]), float(point[1])
    loss, grad = diffusion.loss_and_grad(
        W, x1, x2, alpha=al, beta=be, scale=0.7, target=objective_target(objective, al, be)
    )
    expr, w = derive.loss_in_weights(m, np.vstack([x1, x2]), target=target)
    expr = expr.subs({s_alpha: point[0], s_beta: point[1], s_c: sp.Rational(7, 10)})
    values = dict(zip(w, W.ravel()))
    assert float(expr.subs(values)) == pytest.approx(loss, rel=1e-12)
    sym_grad = np.array([float(sp.diff(expr, wi).subs(values)) for wi in w]).reshape(m, dim)
    np.testing.assert_allclose(sym_grad, grad, rtol=1e-10, atol=1e-12)


# --- schedules
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ddpm-linear", "cosine"])
@pytest.mark.parametrize("num_times", [1, 3, 7, 1000])
def test_schedule_weights_and_paths(kind, num_times):
    for objective in OBJECTIVES:
        times = np.array(schedules.schedule_times(kind, num_times, objective))
        al, be, w = times.T
        assert len(times) == num_times
        assert w.sum() == pytest.approx(1.0, rel=1e-12) and np.all(w == w[0])
        assert np.all(np.diff(al) < 0) and np.all(np.diff(be) > 0)  # noise grows with t
        if objective == "velocity":
            np.testing.assert_allclose(al + be, 1.0, rtol=0, atol=1e-15)
        else:
            np.testing.assert_allclose(al**2 + be**2, 1.0, rtol=0, atol=1e-15)
    vp = np.array(schedules.schedule_times(kind, num_times, "eps"))
    lin = np.array(schedules.schedule_times(kind, num_times, "velocity"))
    np.testing.assert_allclose(
        lin[:, 0] / lin[:, 1], vp[:, 0] / vp[:, 1], rtol=1e-12
    )  # same noise levels


def test_schedule_steps_are_bin_midpoints():
    abar = schedules.alpha_bar("ddpm-linear")
    al = np.array(schedules.schedule_times("ddpm-linear", 4))[:, 0]
    np.testing.assert_array_equal(al, np.sqrt(abar[[124, 374, 624, 874]]))  # t = 125, 375, 625, 875
    assert schedules.schedule_times("cosine", 1)[0][0] == np.sqrt(
        schedules.alpha_bar("cosine")[499]
    )  # t = 500
    every = np.array(schedules.schedule_times("ddpm-linear", 1000))[:, 0]
    np.testing.assert_array_equal(every, np.sqrt(abar))


def test_ddpm_linear_alpha_bar_known_values():
    abar = schedules.alpha_bar("ddpm-linear")
    assert abar.shape == (1000,)
    assert abar[0] == pytest.approx(1 - 1e-4, rel=1e-15)
    # prod_{s=1}^{1000} (1 - beta_s), beta_s = 1e-4 + (0.02 - 1e-4)(s - 1)/999, in exact rationals:
    # 4.0358297653757e-05
    assert abar[-1] == pytest.approx(4.0358297653757e-05, rel=1e-10)
    loop = 1.0
    for s in range(1, 101):
        loop *= 1 - (1e-4 + (0.02 - 1e-4) * (s - 1) / 999)
    assert abar[99] == pytest.approx(loop, rel=1e-13)


def test_cosine_alpha_bar_is_the_closed_form_clipped_at_the_end():
    abar = schedules.alpha_bar("cosine")
    f = lambda t: np.cos((t / 1000 + 0.008) / 1.008 * np.pi / 2) ** 2
    t = np.arange(1, 1000)
    np.testing.assert_allclose(
        abar[:-1], f(t) / f(0), rtol=1e-9
    )  # unclipped steps: alpha_bar(t) = f(t)/f(0)
    assert abar[-1] == pytest.approx(
        abar[-2] * (1 - 0.999), rel=1e-12
    )  # beta_1000 = 1 clipped to 0.999
    assert abar[0] == pytest.approx(f(1) / f(0), rel=1e-15)


def test_single_schedule_is_the_given_time():
    assert schedules.schedule_times("single", 1, alpha=0.8, beta=0.6) == ((0.8, 0.6, 1.0),)
    assert schedules.schedule_times("single", 1, "velocity", alpha=0.35, beta=0.65) == (
        (0.35, 0.65, 1.0),
    )


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (("linear", 3), {}, "unknown schedule 'linear'"),
        (("cosine", 0), {}, "integer >= 1"),
        (("cosine", 2.5), {}, "integer >= 1"),
        (("cosine", True), {}, "integer >= 1"),
        (("ddpm-linear", 1001), {}, "1000 steps"),
        (("cosine", 3, "score"), {}, "unknown objective 'score'"),
        (("single", 2), {"alpha": 0.8, "beta": 0.6}, "one time"),
        (("single", 1), {}, "needs alpha and beta"),
    ],
)
def test_schedule_input_errors(args, kwargs, message):
    with pytest.raises(FldmError, match=message):
        schedules.schedule_times(*args, **kwargs)


# --- the leading early rate for any target
# ------------------------------------------------------------


def test_leading_rate_for_a_general_target():
    """d<w_r, z_k>/dtau at lowest order = [k1 (G_rr n_k ||z_k||^2 + 2 S_r a_kr) + 3 k5 n_k ||z_k||^2
    a_kr^2] / (2n), k1 = 4 c alpha beta b + 2 a c beta^2, k5 = 2 a c alpha^2 (sympy, from the Wick
    expectation)."""
    got = derive.leading_rate(target=True)
    names = {s.name: s for s in got.free_symbols}
    nk, zk2, n, S1, ak1, G11 = (names[k] for k in ("n_k", "z_k2", "n", "S1", "a_k1", "G11"))
    a, b = derive.x0_coef, derive.eps_coef
    k1 = 4 * s_c * s_alpha * s_beta * b + 2 * a * s_c * s_beta**2
    k5 = 2 * a * s_c * s_alpha**2
    want = (k1 * (G11 * nk * zk2 + 2 * S1 * ak1) + 3 * k5 * nk * zk2 * ak1**2) / (2 * n)
    assert sp.simplify(got - want) == 0
    assert sp.simplify(got.subs({a: 0, b: 1}) - derive.leading_rate()) == 0
