"""The noise-augmented classifier: the logistic loss on x_t = alpha x0 + beta eps over K draws of
eps (sims.classification.loss_and_grad_augmented) and its place behind the classification model."""

import json

import numpy as np
import pytest
from compare import assert_extra_close

from sims import FldmError, classification, models
from sims.cli import main
from sims.config import TrainConfig
from sims.train import engine, prepare, train, train_many
from theory.ode import run_ode

SMALL = dict(model="classification", n=5, d=80, m=2, nsnr2=2.0, steps=60, log_every=20, n_test=50)
ARRAYS = ("steps", "loss", "grad_norm", "signal", "noise", "W")


def loop_loss_and_grad(W, x1, x2, y, eps, alpha, beta):
    """Sample by sample and draw by draw: l = log(1 + exp(-y f)), dl/dw_{j,r} = -y sigmoid(-y f)
    (2/m) sign_j sum_p <w_{j,r}, u^(p)> u^(p)."""
    K, (n, _), m = eps.shape[0], x1.shape, W.shape[1]
    loss, grad = 0.0, np.zeros_like(W)
    for k in range(K):
        for i in range(n):
            u = (alpha * x1[i] + beta * eps[k, i], alpha * x2[i] + beta * eps[k, n + i])
            f = sum(
                sign * sum((W[j, r] @ p) ** 2 for r in range(m) for p in u) / m
                for j, sign in ((0, 1.0), (1, -1.0))
            )
            loss += np.log1p(np.exp(-y[i] * f))
            dl_df = -y[i] / (1 + np.exp(y[i] * f))
            for j, sign in ((0, 1.0), (1, -1.0)):
                for r in range(m):
                    grad[j, r] += dl_df * sign * 2 / m * sum((W[j, r] @ p) * p for p in u)
    return loss / (K * n), grad / (K * n)


def problem(rng, n=3, d=5, m=2, K=4):
    return (
        0.7 * rng.standard_normal((2, m, d)),
        rng.standard_normal((n, d)),
        rng.standard_normal((n, d)),
        rng.choice([-1.0, 1.0], size=n),
        rng.standard_normal((K, 2 * n, d)),
    )


def test_matches_a_plain_loop(rng):
    W, x1, x2, y, eps = problem(rng)
    loss, grad = classification.loss_and_grad_augmented(W, x1, x2, y, eps, alpha=0.8, beta=0.6)
    want_loss, want_grad = loop_loss_and_grad(W, x1, x2, y, eps, 0.8, 0.6)
    assert loss == pytest.approx(want_loss, rel=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-13)


def test_gradient_matches_finite_differences(rng):
    W, x1, x2, y, eps = problem(rng, K=3)
    fun = lambda V: classification.loss_and_grad_augmented(V, x1, x2, y, eps, alpha=0.9, beta=1.3)[
        0
    ]
    grad = classification.loss_and_grad_augmented(W, x1, x2, y, eps, alpha=0.9, beta=1.3)[1]
    h, fd = 1e-6, np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        fd[idx] = (fun(W + E) - fun(W - E)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_one_draw_without_noise_is_the_plain_loss_bit_for_bit(rng):
    W, x1, x2, y, eps = problem(rng, K=1)
    got = classification.loss_and_grad_augmented(W, x1, x2, y, eps, alpha=1.0, beta=0.0)
    want = classification.loss_and_grad(W, x1, x2, y)
    assert got[0] == want[0] and np.array_equal(got[1], want[1])


def test_fast_resampled_is_the_direct_loss_when_the_filters_fill_the_space(rng):
    """d = 2m: Q is a basis of R^d, P = 0, and eps = Q g exactly, so the fast draws give the direct
    loss on those eps (the part drawn in law, beta C^T E P, vanishes). Q is the QR factor with
    diag(R) > 0."""
    W, x1, x2, y, _ = problem(rng, n=3, d=4, m=2, K=3)
    loss, grad = classification.loss_and_grad_augmented_resampled(
        W, x1, x2, y, 3, np.random.default_rng(5), alpha=0.8, beta=0.6
    )
    Q, R = np.linalg.qr(W.reshape(4, 4).T)
    Q = Q * np.sign(np.diagonal(R))  # the implementation's Q: diag(R) > 0
    eps = np.random.default_rng(5).standard_normal((3, 6, 4)) @ Q.T
    want = classification.loss_and_grad_augmented(W, x1, x2, y, eps, alpha=0.8, beta=0.6)
    assert loss == pytest.approx(want[0], rel=1e-12)
    np.testing.assert_allclose(grad, want[1], rtol=1e-10, atol=1e-13)


def test_fast_resampled_has_the_law_of_direct_draws():
    """Loss and gradient over B independent calls, fast and with explicit eps (K, 2n, d): their
    means and second moments agree within 5 standard errors (d = 6 > 2m = 2, so the part drawn in
    law matters)."""
    rng = np.random.default_rng(11)
    W, x1, x2, y, _ = problem(rng, n=2, d=6, m=1, K=2)
    W *= 2.0  # margins of order one: the sigmoid is not flat
    B, kw = 6000, dict(alpha=0.7, beta=0.9)
    fast = [
        classification.loss_and_grad_augmented_resampled(W, x1, x2, y, 2, rng, **kw)
        for _ in range(B)
    ]
    direct = [
        classification.loss_and_grad_augmented(W, x1, x2, y, rng.standard_normal((2, 4, 6)), **kw)
        for _ in range(B)
    ]

    def features(samples):  # loss, gradient entries, and all their pairwise products
        v = np.array([np.concatenate([[l], g.ravel()]) for l, g in samples])
        iu = np.triu_indices(v.shape[1])
        return np.hstack([v, (v[:, :, None] * v[:, None, :])[:, iu[0], iu[1]]])

    a, b = features(fast), features(direct)
    se = np.sqrt(a.var(axis=0, ddof=1) / B + b.var(axis=0, ddof=1) / B)
    z = np.abs(a.mean(axis=0) - b.mean(axis=0)) / se
    assert z.max() < 5, z.max()


@pytest.mark.parametrize("noise", ["resampled", "fixed"])
def test_beta_zero_trains_the_plain_classifier_exactly(noise):
    """No noise enters: nothing is drawn, the span basis and every number are those of the plain
    run."""
    plain = train(TrainConfig(**SMALL))
    aug = train(TrainConfig(**SMALL, augment=(1.0, 0.0), noise=noise, noise_samples=5))
    for key in ARRAYS:
        assert np.array_equal(getattr(plain, key), getattr(aug, key)), key
    assert plain.extra == aug.extra


def test_fixed_draws_join_the_span_basis():
    cfg = TrainConfig(**SMALL, augment=(0.8, 0.6), noise="fixed", noise_samples=2)
    span, full = train(cfg), train(cfg.replace(engine="full"))
    assert (
        span.extra.pop("engine") == "span" and full.extra.pop("engine") == "full"
    )  # 2nK + 7 + 4 < 80
    assert_extra_close(span.extra, full.extra, 1e-10)
    for key in ARRAYS[1:]:
        a, b = getattr(span, key), getattr(full, key)
        assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b)), key


def test_resampled_draws_need_full_dimension_and_change_every_step(rng):
    cfg = TrainConfig(**SMALL, augment=(0.8, 0.6), noise="resampled", noise_samples=3)
    assert engine(cfg) == "full" and train(cfg).extra["engine"] == "full"
    with pytest.raises(FldmError, match="--engine span needs"):
        train(cfg.replace(engine="span"))
    model = models.get("classification")
    W, x1, x2, y, eps = problem(rng, d=80, K=3)
    fresh = model.objective(cfg, x1, x2, y, 80, np.random.default_rng(0))
    fixed = model.objective(cfg.replace(noise="fixed"), x1, x2, y, 80, None, eps)
    assert fresh(W)[0] != fresh(W)[0] and fixed(W)[0] == fixed(W)[0]
    with pytest.raises(FldmError, match="full d-dimensional"):
        model.objective(cfg, x1[:, :10], x2[:, :10], y, 80, np.random.default_rng(0))


def test_augmented_runs_train_separately_in_a_stack():
    configs = [
        TrainConfig(**SMALL, seed=s, augment=(0.8, 0.6), noise="fixed", noise_samples=2)
        for s in (0, 1)
    ]
    for a, b in zip(train_many(configs), [train(c) for c in configs]):
        for key in ARRAYS:
            assert np.array_equal(getattr(a, key), getattr(b, key)), key


def test_auto_eta_covers_the_noised_inputs():
    plain = prepare(TrainConfig(**SMALL))
    aug = prepare(TrainConfig(**SMALL, augment=(0.8, 1.5), noise="fixed"))
    factor = 0.8**2 + 1.5**2 * 80 / np.sum(plain.data.x2**2, axis=1).min()
    assert aug.eta == pytest.approx(plain.eta / factor, rel=1e-12)
    # factor < 1: 1 (equal to rounding: the data limit is computed in each run's basis, here with
    # draws)
    assert prepare(TrainConfig(**SMALL, augment=(0.5, 0.1), noise="fixed")).eta == pytest.approx(
        plain.eta, rel=1e-13
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(augment=(1.0, 0.5)), "no closed-form expectation: give --noise resampled"),
        (dict(noise="fixed"), "--noise fixed for classification draws the noise of --augment"),
        (dict(augment=(0.0, 0.5), noise="fixed"), "alpha > 0 and beta >= 0"),
        (dict(augment=(1.0, -0.5), noise="fixed"), "alpha > 0 and beta >= 0"),
        (dict(augment=(1.0, 0.5, 2.0), noise="fixed"), "ALPHA,BETA"),
        (dict(augment=(1.0, float("nan")), noise="fixed"), "ALPHA,BETA"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(FldmError, match=message):
        TrainConfig(**{**SMALL, **kwargs})


def test_ode_and_predict_refuse_it(tmp_path, capsys):
    cfg = TrainConfig(**SMALL, augment=(1.0, 0.5), noise="resampled")
    with pytest.raises(FldmError, match="no closed-form expectation, so there is no alignment ODE"):
        run_ode(cfg)
    for command in ("ode", "predict"):
        out = ["--out", str(tmp_path)] if command == "ode" else []
        assert (
            main([command, "classification", "--n", "5", "--d", "40", "--augment", "1,0.5"] + out)
            == 2
        )
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--augment does not apply to fldm {command}" in err
        assert "no closed-form expectation" in err  # the reason, not only the rule


def test_command_line(tmp_path, capsys):
    out = tmp_path / "o"
    assert (
        main(
            [
                "train",
                "classification",
                "--n",
                "5",
                "--d",
                "40",
                "--m",
                "2",
                "--steps",
                "10",
                "--augment",
                "0.8,0.6",
                "--noise",
                "resampled",
                "--noise-samples",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    meta = json.loads((out / "result.json").read_text())
    assert meta["config"]["augment"] == [0.8, 0.6] and meta["config"]["noise"] == "resampled"
    assert 0 <= meta["summary"]["test_error"] <= 1
    capsys.readouterr()
    assert main(["train", "classification", "--augment", "0.8", "--out", str(tmp_path)]) == 2
    assert "augment must be ALPHA,BETA" in capsys.readouterr().err


def test_fast_draws_move_continuously_with_the_filters(rng):
    """The basis the fresh draws are expressed in is unique (QR with diag(R) > 0, the symmetric
    root), so the same generator state gives nearly the same loss and gradient at nearly the same W.
    Householder QR alone flips a basis vector's sign when the leading entry of a filter changes
    sign: another realisation."""
    W, x1, x2, y, _ = problem(rng, n=3, d=7, m=2)
    out = []
    for first in (1e-13, -1e-13):
        W[0, 0, 0] = first
        out.append(
            classification.loss_and_grad_augmented_resampled(
                W, x1, x2, y, 2, np.random.default_rng(4), alpha=0.8, beta=0.6
            )
        )
    assert out[0][0] == pytest.approx(out[1][0], rel=1e-10)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-9, atol=1e-11)
