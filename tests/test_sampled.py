"""The sampled DDPM loss: stacks, regression targets, and the resampled loss that draws only what it
needs.

`loss_and_grad_resampled` must have the law of `loss_and_grad_sampled` on fresh draws. Both are
sampled B times (as one stack) and compared by z-scores: for the mean of each statistic and for each
second central moment (covariance) of the statistics, z = difference / its standard error, the
standard error estimated from the same samples. With 4000 draws a side every z is close to N(0, 1)
for a correct implementation (checked over 12 other seeds: standard deviation 0.95 to 0.98, largest
|z| of 7,200 was 3.8). The file makes 713 comparisons that must pass (counted at CASES), so by
Bonferroni the chance that any |z| passes Z_MAX = 5 (two-sided p = 5.7e-7 each) is below 713 *
5.7e-7 = 4.1e-4. The generators are seeded, so every run makes the same draws.
"""

import numpy as np
import pytest

from sims import diffusion, sampled
from sims.data import make_data

ALPHA, BETA = 0.8, 0.6
DRAWS = 4000
Z_MAX = 5.0
TARGETS = {"eps": (0.0, 1.0), "x0": (1.0, 0.0), "v": (-BETA, ALPHA), "flow": (-1.0, 1.0)}


def z_scores(A, B):
    """z-scores of the differences of column means and of second central moments of samples A, B
    (rows)."""

    def moments(S):
        C = S - S.mean(axis=0)
        iu = np.triu_indices(S.shape[1])
        P = (C[:, :, None] * C[:, None, :])[
            :, iu[0], iu[1]
        ]  # products whose means are the covariances
        return np.concatenate([S, P], axis=1)

    MA, MB = moments(A), moments(B)
    se = np.sqrt(MA.var(axis=0, ddof=1) / len(MA) + MB.var(axis=0, ddof=1) / len(MB))
    return (MA.mean(axis=0) - MB.mean(axis=0)) / se


def problem(rng, n, d, m, weights, noise="projected", size=1.0):
    """Data with ||mu|| = ||xi|| ~ size, and weights: "small" init, "grown", "span" (rows in the
    data span), "repeated" (grown, with the first neuron twice: W is rank deficient)."""
    data = make_data(n, d, snr=1.0, sigma_xi=size / np.sqrt(d), noise=noise, rng=rng)
    Z = np.concatenate([data.x1, data.x2])
    if weights == "small":
        W = 0.1 * rng.standard_normal((m, d)) / np.sqrt(d)
    elif weights in ("grown", "repeated"):
        W = rng.standard_normal((m, d)) / np.sqrt(d) + rng.standard_normal(
            (m, 2 * n)
        ) @ Z / np.sqrt(2 * n)
        if weights == "repeated":
            W[1] = W[0]
    else:
        W = rng.standard_normal((m, 2 * n)) @ Z / np.sqrt(2 * n)
    return W, data.x1, data.x2


def statistics(loss, grad, P):
    """Per draw: the loss, projections <grad, P_l>, ||grad|| and the rows' Gram entry <grad_1,
    grad_2>."""
    cols = [loss, *np.einsum("bmd,lmd->lb", grad, P), np.sqrt(np.sum(grad * grad, axis=(1, 2)))]
    if grad.shape[1] > 1:
        cols.append(np.sum(grad[:, 0] * grad[:, 1], axis=1))
    return np.stack(cols, axis=1)


def direct(W, x1, x2, K, rng, times, target, draws=DRAWS, chunk=500):
    """`draws` (loss, grad) of the sampled loss on fresh eps, shared by all times (as sims.train
    does)."""
    n, d = x1.shape
    losses, grads = [], []
    for start in range(0, draws, chunk):
        eps = rng.standard_normal((min(chunk, draws - start), K, 2 * n, d))
        loss, grad = sampled.sum_over_times(
            lambda a, b, eps=eps: sampled.loss_and_grad_sampled(
                W, x1, x2, eps, alpha=a, beta=b, target=target
            ),
            times,
        )
        losses.append(loss)
        grads.append(grad)
    return np.concatenate(losses), np.concatenate(grads)


def resampled(W, x1, x2, K, rng, times, target, draws=DRAWS):
    """`draws` (loss, grad) of the resampled loss: one stacked call, each member its own draws."""
    return sampled.loss_and_grad_resampled_times(
        np.broadcast_to(W, (draws,) + W.shape), x1, x2, K, rng, times, target=target
    )


def projections(rng, W, x1, x2):
    """Fixed test directions: one random, one shared by all rows, one off the span of W and the
    data."""
    m, d = W.shape
    shared = np.broadcast_to(rng.standard_normal(d), (m, d))
    B = np.linalg.qr(np.concatenate([W, x1, x2]).T)[0]
    off = rng.standard_normal((m, d))
    off -= (off @ B) @ B.T
    return np.stack([rng.standard_normal((m, d)), shared, off])


CASES = {  # name: (n, d, m, K, weights, noise, target[, data size])
    "small init, eps": (2, 8, 2, 2, "small", "projected", "eps"),
    "grown, eps, isotropic": (2, 8, 2, 2, "grown", "isotropic", "eps"),
    "grown, x0": (2, 8, 3, 2, "grown", "projected", "x0"),
    "grown, v, isotropic": (2, 8, 2, 3, "grown", "isotropic", "v"),
    "rows in data span, eps": (2, 8, 2, 2, "span", "projected", "eps"),
    "rows in data span, flow": (2, 8, 3, 2, "span", "isotropic", "flow"),
    "repeated neuron, flow": (2, 8, 3, 2, "repeated", "projected", "flow"),
    "m = 1, v": (2, 8, 1, 2, "grown", "projected", "v"),
    "m = 1, x0": (3, 8, 1, 2, "small", "isotropic", "x0"),
    "m > 2nK, flow": (1, 6, 3, 1, "grown", "projected", "flow"),
    "m > 2nK, x0": (1, 6, 3, 1, "grown", "isotropic", "x0"),
    "d = m + 1, eps": (1, 4, 3, 2, "grown", "isotropic", "eps"),
    "m >= d (no orthogonal part), v": (1, 3, 4, 2, "grown", "projected", "v"),
    "d >> r, eps": (2, 200, 2, 2, "grown", "projected", "eps"),
    "d >> r, flow": (2, 200, 2, 2, "small", "isotropic", "flow"),
    "d >> r, 2nK = m, eps": (1, 200, 2, 1, "small", "projected", "eps"),
    "large data, flow": (2, 12, 2, 1, "small", "projected", "flow", 4.0),
    "large data, v": (1, 10, 2, 2, "small", "isotropic", "v", 4.0),
}
# Comparisons: k statistics give k means and k (k + 1) / 2 covariances: 27 (m > 1) or 20 (m = 1).
# CASES 16 x 27 + 2 x 20 = 472, CONDITIONAL 3 x 27 + 20 = 101, two times 27, stack 2 x 27 = 54,
# exact means 3 x 13 + 1 + 19 = 59: 713 in all.


@pytest.mark.parametrize("name", CASES)
def test_resampled_has_the_law_of_direct_draws(name):
    n, d, m, K, weights, noise, target, *size = CASES[name]
    rng = np.random.default_rng(list(CASES).index(name))
    W, x1, x2 = problem(rng, n, d, m, weights, noise, *size)
    P = projections(rng, W, x1, x2)
    times = ((ALPHA, BETA, 1.0),)
    A = statistics(*direct(W, x1, x2, K, rng, times, TARGETS[target]), P)
    B = statistics(*resampled(W, x1, x2, K, rng, times, TARGETS[target]), P)
    z = z_scores(A, B)
    assert np.max(np.abs(z)) < Z_MAX, np.round(z, 2)


class InSpanZero:
    """A generator whose first draw (the in-span part g of the resampled loss) is zeros:
    conditioning."""

    def __init__(self, rng):
        self.rng, self.first = rng, True

    def __getattr__(self, name):
        return getattr(self.rng, name)

    def standard_normal(self, size):
        if self.first:
            self.first = False
            return np.zeros(size)
        return self.rng.standard_normal(size)


CONDITIONAL = {  # name: (n, d, m, K, weights, noise, target[, data size])
    "2nK = m, eps": (1, 30, 2, 1, "grown", "projected", "eps"),
    "2nK = m, flow": (1, 30, 2, 1, "grown", "isotropic", "flow", 3.0),
    "2nK > m, v": (2, 12, 2, 2, "grown", "projected", "v", 3.0),
    "2nK > m, eps, m = 1": (2, 12, 1, 2, "grown", "isotropic", "eps"),
}


@pytest.mark.parametrize("name", CONDITIONAL)
def test_resampled_given_the_in_span_draws(name):
    """Given eps's part in span(W) (here 0), the rest of the result is a Gaussian and chi-square mix
    whose coupling between loss and gradient is what matters; direct draws with that part set to 0
    must agree."""
    n, d, m, K, weights, noise, target, *size = CONDITIONAL[name]
    rng = np.random.default_rng(100 + list(CONDITIONAL).index(name))
    W, x1, x2 = problem(rng, n, d, m, weights, noise, *size)
    P = projections(rng, W, x1, x2)
    Q = np.linalg.qr(W.T)[0]
    losses, grads = [], []
    for _ in range(DRAWS // 500):
        eps = rng.standard_normal((500, K, 2 * n, d))
        eps -= (eps @ Q) @ Q.T
        loss, grad = sampled.loss_and_grad_sampled(
            W, x1, x2, eps, alpha=ALPHA, beta=BETA, target=TARGETS[target]
        )
        losses.append(loss)
        grads.append(grad)
    A = statistics(np.concatenate(losses), np.concatenate(grads), P)
    B = statistics(
        *resampled(W, x1, x2, K, InSpanZero(rng), ((ALPHA, BETA, 1.0),), TARGETS[target]), P
    )
    z = z_scores(A, B)
    assert np.max(np.abs(z)) < Z_MAX, np.round(z, 2)


def test_several_times_share_the_draws():
    """Two diffusion times on the same eps (as sims.train draws them): the joint law over times."""
    rng = np.random.default_rng(200)
    W, x1, x2 = problem(rng, 2, 8, 2, "grown", "projected")
    P = projections(rng, W, x1, x2)
    times = ((0.9, np.sqrt(1 - 0.81), 0.5), (ALPHA, BETA, 1.5))
    A = statistics(*direct(W, x1, x2, 2, rng, times, TARGETS["flow"]), P)
    B = statistics(*resampled(W, x1, x2, 2, rng, times, TARGETS["flow"]), P)
    z = z_scores(A, B)
    assert np.max(np.abs(z)) < Z_MAX, np.round(z, 2)


def test_stack_of_different_problems():
    """A stack alternating two problems (different data, weights and shapes of the span): each
    member has the law of direct draws of its own problem."""
    rng = np.random.default_rng(201)
    problems = [
        problem(rng, 2, 8, 2, "grown", "isotropic"),
        problem(rng, 2, 8, 2, "span", "projected"),
    ]
    stack = [np.stack([p[i] for p in problems] * (DRAWS // 2)) for i in range(3)]
    loss, grad = sampled.loss_and_grad_resampled(
        *stack, 2, rng, alpha=ALPHA, beta=BETA, target=TARGETS["v"]
    )
    for k, (W, x1, x2) in enumerate(problems):
        P = projections(rng, W, x1, x2)
        A = statistics(
            *direct(W, x1, x2, 2, rng, ((ALPHA, BETA, 1.0),), TARGETS["v"], draws=DRAWS // 2), P
        )
        z = z_scores(A, statistics(loss[k::2], grad[k::2], P))
        assert np.max(np.abs(z)) < Z_MAX, np.round(z, 2)


@pytest.mark.parametrize("weights", ["small", "grown", "span", "zero"])
def test_resampled_mean_is_the_exact_expectation(weights):
    """Noise prediction: the mean over draws of the resampled loss and of every gradient entry lies
    within Z_MAX standard errors of the exact expectation (sims.diffusion.loss_and_grad)."""
    rng = np.random.default_rng(300 + ["small", "grown", "span", "zero"].index(weights))
    W, x1, x2 = problem(rng, 2, 6, 2, "grown" if weights == "zero" else weights, "projected")
    if weights == "zero":
        W = np.zeros_like(W)
    loss, grad = sampled.loss_and_grad_resampled(
        np.broadcast_to(W, (DRAWS,) + W.shape), x1, x2, 3, rng, alpha=ALPHA, beta=BETA
    )
    exact_loss, exact_grad = diffusion.loss_and_grad(W, x1, x2, alpha=ALPHA, beta=BETA)
    samples = np.concatenate([loss[:, None], grad.reshape(DRAWS, -1)], axis=1)
    expected = np.concatenate([[exact_loss], exact_grad.ravel()])
    if weights == "zero":
        assert np.all(grad == 0) and np.all(exact_grad == 0)
        samples, expected = samples[:, :1], expected[:1]
    z = (samples.mean(axis=0) - expected) / (samples.std(axis=0, ddof=1) / np.sqrt(DRAWS))
    assert np.max(np.abs(z)) < Z_MAX, np.round(z, 2)


def test_resampled_times_mean_is_the_exact_expectation():
    rng = np.random.default_rng(310)
    W, x1, x2 = problem(rng, 2, 6, 3, "grown", "isotropic")
    times = ((0.9, np.sqrt(1 - 0.81), 0.5), (ALPHA, BETA, 1.5))
    loss, grad = sampled.loss_and_grad_resampled_times(
        np.broadcast_to(W, (DRAWS,) + W.shape), x1, x2, 2, rng, times
    )
    exact_loss, exact_grad = diffusion.loss_and_grad_times(W, x1, x2, times)
    samples = np.concatenate([loss[:, None], grad.reshape(DRAWS, -1)], axis=1)
    z = (samples.mean(axis=0) - np.concatenate([[exact_loss], exact_grad.ravel()])) / (
        samples.std(axis=0, ddof=1) / np.sqrt(DRAWS)
    )
    assert np.max(np.abs(z)) < Z_MAX, np.round(z, 2)


class ScaledPerp:
    """A generator that scales the resampled loss's orthogonal draw (q x d normals) by `factor`."""

    def __init__(self, rng, d, factor):
        self.rng, self.d, self.factor = rng, d, factor

    def __getattr__(self, name):
        return getattr(self.rng, name)

    def standard_normal(self, size):
        draw = self.rng.standard_normal(size)
        return self.factor * draw if np.ndim(draw) and np.shape(draw)[-1] == self.d else draw


@pytest.mark.parametrize("factor", [0.0, 1.1])
def test_the_check_sees_a_wrong_orthogonal_part(factor):
    """The distribution check has power: with the part of the gradient orthogonal to W dropped
    (factor 0) or its covariance 21% too large (factor 1.1), the same comparison fails by far, even
    on 1000 draws."""
    n, d, m, K, weights, noise, target = CASES["d >> r, eps"]
    rng = np.random.default_rng(list(CASES).index("d >> r, eps"))
    W, x1, x2 = problem(rng, n, d, m, weights, noise)
    P = projections(rng, W, x1, x2)
    times = ((ALPHA, BETA, 1.0),)
    A = statistics(*direct(W, x1, x2, K, rng, times, TARGETS[target], draws=1000), P)
    B = statistics(
        *resampled(W, x1, x2, K, ScaledPerp(rng, d, factor), times, TARGETS[target], draws=1000), P
    )
    assert np.max(np.abs(z_scores(A, B))) > 3 * Z_MAX


def old_loss_and_grad_sampled(W, x1, x2, eps, alpha, beta):
    """sims.sampled.loss_and_grad_sampled before stacks and targets (commit c6fc2f5), verbatim."""
    n, d = x1.shape
    K = eps.shape[0]
    c = 1.0 / W.shape[0]
    U = (alpha * np.vstack([x1, x2])[None] + beta * eps).reshape(-1, d)
    E = eps.reshape(-1, d)
    H = U @ W.T
    H2 = H * H
    R = c * H2 @ W - E
    norm = 2 * n * K
    loss = np.sum(R * R) / norm
    grad = 2 * c * (H2.T @ R + (2 * H * (R @ W.T)).T @ U) / norm
    return float(loss), grad


def test_default_target_gives_the_old_numbers_bit_for_bit(rng):
    W, x1, x2 = problem(rng, 5, 30, 4, "grown")
    eps = rng.standard_normal((7, 10, 30))
    loss, grad = sampled.loss_and_grad_sampled(W, x1, x2, eps, alpha=ALPHA, beta=BETA)
    old_loss, old_grad = old_loss_and_grad_sampled(W, x1, x2, eps, ALPHA, BETA)
    assert loss == old_loss and np.array_equal(grad, old_grad)


def test_stacked_sampled_loss_equals_separate_calls(rng):
    S, n, d, m, K = 3, 4, 9, 3, 5
    W, x1, x2 = (
        rng.standard_normal((S, m, d)),
        rng.standard_normal((S, n, d)),
        rng.standard_normal((S, n, d)),
    )
    eps = rng.standard_normal((S, K, 2 * n, d))
    for target in TARGETS.values():
        loss, grad = sampled.loss_and_grad_sampled(
            W, x1, x2, eps, alpha=ALPHA, beta=BETA, scale=0.3, target=target
        )
        assert loss.shape == (S,) and grad.shape == (S, m, d)
        for s in range(S):
            l_s, g_s = sampled.loss_and_grad_sampled(
                W[s], x1[s], x2[s], eps[s], alpha=ALPHA, beta=BETA, scale=0.3, target=target
            )
            assert loss[s] == pytest.approx(l_s, rel=1e-13)
            np.testing.assert_allclose(grad[s], g_s, rtol=1e-12, atol=1e-13 * np.abs(g_s).max())


def test_sampled_loss_with_a_target_by_plain_loop(rng):
    """loss = 1/(2nK) sum_k,i,p ||f(W, alpha z + beta eps) - a z - b eps||^2, and its gradient by
    differences."""
    W, x1, x2 = problem(rng, 2, 5, 3, "grown")
    eps = rng.standard_normal((3, 4, 5))
    a, b = TARGETS["v"]
    Z = np.concatenate([x1, x2])
    loop = np.mean(
        [
            np.sum(
                (diffusion.denoise(W, ALPHA * Z[j] + BETA * eps[k, j]) - a * Z[j] - b * eps[k, j])
                ** 2
            )
            for k in range(3)
            for j in range(4)
        ]
    )
    fun = lambda V: sampled.loss_and_grad_sampled(
        V, x1, x2, eps, alpha=ALPHA, beta=BETA, target=(a, b)
    )
    loss, grad = fun(W)
    assert loss == pytest.approx(loop, rel=1e-13)
    h = 1e-6
    numeric = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        numeric[idx] = (fun(W + E)[0] - fun(W - E)[0]) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "kind",
    [
        "generic",
        "short row",
        "zero row",
        "repeated row",
        "nearly parallel rows",
        "more rows than columns",
    ],
)
def test_orthonormal_rows(rng, kind):
    """Orthonormal to rounding, and the rows of A lie in their span to rounding (nothing is near
    RANK_TOL). Nearly parallel rows (singular value 1e-5) need the second pass: the first leaves
    errors near 1e-6."""
    A = rng.standard_normal((2, 5, 7))  # a stack of two
    if kind == "short row":
        A[:, 1] *= 1e-12  # counts as much as a long one: its own direction is kept
    elif kind == "zero row":
        A[:, 1] = 0.0
    elif kind == "repeated row":
        A[:, 1] = 3 * A[:, 0]
    elif kind == "nearly parallel rows":
        A[:, 1] = A[:, 0] + 1e-5 * rng.standard_normal((2, 7))
    elif kind == "more rows than columns":
        A = rng.standard_normal((2, 9, 7))
    Vt, Av, keep = sampled._orthonormal_rows(A)
    rank = {
        "generic": 5,
        "short row": 5,
        "zero row": 4,
        "repeated row": 4,
        "nearly parallel rows": 5,
        "more rows than columns": 7,
    }[kind]
    assert np.all(keep.sum(axis=-1) == rank)
    np.testing.assert_allclose(
        Vt @ np.swapaxes(Vt, -1, -2), np.eye(A.shape[1]) * keep[:, None, :], atol=1e-14
    )
    norms = np.linalg.norm(A, axis=-1)
    for coordinates in (A @ np.swapaxes(Vt, -1, -2), Av):
        residual = A - coordinates @ Vt
        assert np.all(np.linalg.norm(residual, axis=-1) <= 1e-14 * norms)


@pytest.mark.parametrize(
    "objective, schedule",
    [
        ("x0", "single"),
        ("v", "single"),
        ("v", "cosine"),
        ("velocity", "ddpm-linear"),
        ("eps", "cosine"),
    ],
)
def test_model_resampled_objective_averages_to_the_exact_one(objective, schedule):
    """The diffusion model's --noise resampled objective (the resampled loss where every time shares
    one target, direct draws for v over several times) averages to its --noise exact objective: loss
    and every gradient entry within Z_MAX standard errors."""
    from sims import models
    from sims.config import TrainConfig

    rng = np.random.default_rng(330)
    W, x1, x2 = problem(rng, 2, 6, 2, "grown", "projected")
    extra = (
        dict(num_times=3)
        if schedule != "single"
        else dict(alpha=0.5, beta=0.5)
        if objective == "velocity"
        else {}
    )
    cfg = TrainConfig(
        n=2,
        d=6,
        m=2,
        objective=objective,
        schedule=schedule,
        noise="resampled",
        noise_samples=2,
        **extra,
    )
    model = models.get("diffusion")
    fun = model.objective(cfg, x1, x2, np.ones(2), 6, rng)
    exact_loss, exact_grad = model.objective(
        cfg.replace(noise="exact"), x1, x2, np.ones(2), 6, rng
    )(W)
    draws = [fun(W) for _ in range(DRAWS)]
    samples = np.array([np.concatenate([[l], g.ravel()]) for l, g in draws])
    z = (samples.mean(axis=0) - np.concatenate([[exact_loss], exact_grad.ravel()])) / (
        samples.std(axis=0, ddof=1) / np.sqrt(DRAWS)
    )
    assert np.max(np.abs(z)) < Z_MAX, np.round(z, 2)


@pytest.mark.parametrize("shared", [0.0, 10.0])
def test_orthonormal_rows_are_the_canonical_basis(rng, shared):
    """Whether the unit rows' Gram matrix is well conditioned (one Cholesky pass) or not (eigh
    passes: rows sharing a direction 10 times their own, cos 0.99, lam_min / lam_max near 3e-3): Vt
    is Q^T of the QR of the unit rows' transpose with diag(R) > 0 (a LAPACK reference) and Av is
    lower triangular with a positive diagonal (to rounding); the rows' norms span 1e-3 to 1e3.
    """
    A = shared * rng.standard_normal(2000) + rng.standard_normal((3, 4, 2000))
    A *= np.array([1e-3, 1.0, 1e3, 1.0])[:, None]
    unit = A / np.linalg.norm(A, axis=-1, keepdims=True)
    lam = np.linalg.eigvalsh(unit @ np.swapaxes(unit, -1, -2))
    assert np.all(lam[:, 0] >= lam[:, -1] / 16) == (shared == 0)
    Q, R = np.linalg.qr(np.swapaxes(unit, -1, -2))
    expected = np.swapaxes(Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[..., None, :], -1, -2)
    Vt, Av, keep = sampled._orthonormal_rows(A)
    assert keep.all()
    np.testing.assert_allclose(Vt, expected, rtol=0, atol=1e-12)
    norms = np.linalg.norm(A, axis=-1)
    assert np.all(np.abs(np.triu(Av, 1)) <= 1e-12 * norms[..., None])
    assert np.all(np.diagonal(Av, axis1=-2, axis2=-1) > 0)
    assert np.all(np.linalg.norm(Av @ Vt - A, axis=-1) <= 1e-14 * norms)


def test_orthonormal_rows_are_continuous_where_eigenvalues_cross(rng):
    """Two rows whose cosine passes through 0: the unit-row Gram's eigenvalues 1 ± cos cross there,
    and an eigenvector basis swaps its vectors; the canonical basis (lower-triangular coordinates,
    positive diagonal) moves by about the change of A."""
    a, b = rng.standard_normal((2, 9))
    b -= (a @ b) / (a @ a) * a  # cos(a, b) = 0
    bases = [sampled._orthonormal_rows(np.stack([a, b + t * a]))[0] for t in (-1e-9, 1e-9)]
    assert np.abs(bases[0] - bases[1]).max() < 1e-7


def test_a_resampled_run_is_continuous_in_its_step_size():
    """Same seed, step size changed in its last digit: the trajectory changes in its last digits
    (the draws follow the weights continuously), not into another realisation (it moved 1.5-23%
    before)."""
    from sims.studies import d2robust
    from sims.train import prepare, train

    cells = d2robust.cells("quick", 0)
    cfg = cells[d2robust.Resampled(1, 0.1)][1].replace(seed=3)  # K = 1, d = 120, 400 steps
    eta = prepare(cfg).eta
    ratios = [train(cfg.replace(eta=e)).summary()["ratio"] for e in (eta, eta * (1 + 4e-16))]
    assert ratios[1] == pytest.approx(ratios[0], rel=1e-9)
