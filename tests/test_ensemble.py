"""Stacked training (sims.train.train_many) equals separate runs of sims.train.train."""

import numpy as np
import pytest
from compare import assert_extra_close
from each import MODELS

from sims import DivergenceError, FldmError, models
from sims.config import TrainConfig
from sims.train import train, train_many

RTOL = 1e-10
ARRAYS = ("loss", "grad_norm", "signal", "noise", "W")


def assert_same_run(a, b):
    assert np.array_equal(a.steps, b.steps)
    assert a.converged == b.converged
    assert_extra_close(a.extra, b.extra, RTOL)
    for key in ARRAYS:
        x, y = getattr(a, key), getattr(b, key)
        assert x.shape == y.shape, key
        assert np.max(np.abs(x - y)) <= RTOL * np.max(np.abs(x)), key
    for key in ("x1", "x2", "y", "mu"):
        assert np.array_equal(getattr(a.data, key), getattr(b.data, key))


def settings(model, **kw):
    base = dict(model=model, n=6, d=40, m=3, steps=150, log_every=7, n_test=50)
    base.update(kw)
    return [
        TrainConfig(seed=s, nsnr2=v, **base) for s, v in ((0, 0.5), (1, 2.0), (2, 6.75), (3, 1.0))
    ]


@pytest.mark.parametrize("model", MODELS)
def test_equals_separate_runs(model):
    configs = settings(model)
    # one member stops early on its own tolerance, the others run on
    probe = train(configs[1])
    # (just above a logged gradient norm: exactly at one, the stop would hang on the last bit of
    # rounding)
    configs[1] = configs[1].replace(tol=float(np.median(probe.grad_norm)) * (1 + 1e-9))
    separate = [train(c) for c in configs]
    assert separate[1].converged and not separate[0].converged
    for a, b in zip(separate, train_many(configs)):
        assert_same_run(a, b)


def test_several_diffusion_times_and_scale():
    configs = settings("diffusion", times=((0.9, 0.4, 1.0), (0.6, 0.8, 0.5)), scale=0.4)
    for a, b in zip([train(c) for c in configs], train_many(configs)):
        assert_same_run(a, b)


def test_full_dimension_when_the_span_fills_it():
    configs = settings("diffusion", d=12)  # 2n + 2 + m = 17 >= d: no basis change
    for a, b in zip([train(c) for c in configs], train_many(configs)):
        assert_same_run(a, b)


def test_given_data_and_initial_weights():
    configs = settings("classification")
    first = [train(c) for c in configs]
    datas = [r.data for r in first[::-1]]
    W0s = [0.5 * r.W for r in first]
    for a, b in zip(
        [train(c, d, w) for c, d, w in zip(configs, datas, W0s)], train_many(configs, datas, W0s)
    ):
        assert_same_run(a, b)


def test_unstackable_settings_fall_back_to_separate_runs():
    configs = settings("diffusion")
    configs[2] = configs[2].replace(noise="fixed", noise_samples=2)
    configs[3] = configs[3].replace(m=2)
    for a, b in zip([train(c) for c in configs], train_many(configs)):
        assert_same_run(a, b)


def diverging(model):
    """Settings whose member 2 diverges: a huge step size where that overshoots (a denoiser), else
    (descent on the logistic loss only grows the margins) non-finite outputs from the start."""
    configs = settings(model)
    W0s = [None] * len(configs)
    try:
        train(configs[2].replace(eta=1e3))
    except DivergenceError:
        configs[2] = configs[2].replace(eta=1e3)
    else:
        W0s[2] = np.full(models.get(model).weight_shape(configs[2].m, configs[2].d), 1e200)
    with pytest.raises(DivergenceError):
        train(configs[2], W0=W0s[2])
    return configs, W0s


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow that makes the member diverge
@pytest.mark.parametrize("model", MODELS)
def test_a_diverging_member_raises_by_name(model):
    configs, W0s = diverging(model)
    at_step = (
        r"(gradient descent diverged at step \d+|the loss or its gradient is not finite at the "
        r"initial weights|at the initial weights the loss is beyond float64's range)"
    )
    with pytest.raises(DivergenceError, match=r"member 2 \(seed 2\): " + at_step):
        train_many(configs, W0s=W0s)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow that makes the member diverge
@pytest.mark.parametrize("model", MODELS)
def test_a_diverging_member_can_be_returned(model):
    configs, W0s = diverging(model)
    results = train_many(configs, W0s=W0s, errors="return")
    assert isinstance(results[2], DivergenceError)
    for i in (0, 1, 3):
        assert_same_run(train(configs[i]), results[i])


def test_bad_input():
    configs = settings("diffusion")
    with pytest.raises(FldmError, match="one each"):
        train_many(configs, datas=[None])
    with pytest.raises(FldmError, match="errors must be"):
        train_many(configs, errors="ignore")
    assert train_many([]) == []


def test_stacked_losses_equal_member_losses(rng):
    from sims import classification, diffusion

    S, n, d, m = 3, 5, 30, 4
    x1, x2 = rng.standard_normal((2, S, n, d))
    y = rng.choice([-1.0, 1.0], size=(S, n))
    Wd, Wc = 0.3 * rng.standard_normal((S, m, d)), 0.3 * rng.standard_normal((S, 2, m, d))
    loss_d, grad_d = diffusion.loss_and_grad(Wd, x1, x2, alpha=0.8, beta=0.6, scale=0.5)
    loss_c, grad_c = classification.loss_and_grad(Wc, x1, x2, y)
    for s in range(S):
        l_d, g_d = diffusion.loss_and_grad(Wd[s], x1[s], x2[s], alpha=0.8, beta=0.6, scale=0.5)
        l_c, g_c = classification.loss_and_grad(Wc[s], x1[s], x2[s], y[s])
        assert loss_d[s] == pytest.approx(l_d, rel=1e-13) and loss_c[s] == pytest.approx(
            l_c, rel=1e-13
        )
        np.testing.assert_allclose(grad_d[s], g_d, rtol=1e-12, atol=1e-14 * np.abs(g_d).max())
        np.testing.assert_allclose(grad_c[s], g_c, rtol=1e-12, atol=1e-14 * np.abs(g_c).max())


def test_logged_trajectories_are_bounded():
    """A run whose log would pass sims.train.MAX_LOG_BYTES is refused before it starts (train and
    train_many)."""
    cfg = TrainConfig(n=6, d=40, m=3, steps=10**9, log_every=1)
    with pytest.raises(FldmError, match="set log_every to at least"):
        train(cfg)
    with pytest.raises(FldmError, match="set log_every to at least"):
        train_many([cfg, cfg.replace(seed=1)])
    from sims.train import check_log_size

    message = None
    try:
        check_log_size(cfg, 6)
    except FldmError as exc:
        message = str(exc)
    least = int(message.rsplit(" ", 1)[1])
    check_log_size(cfg.replace(log_every=least), 6)  # the advised log_every is accepted
