"""Data beyond Definition 2.1: correlated signals, imbalance, several features per class.

The defaults must reproduce Definition 2.1's data bit for bit (same random stream); the options must
give the stated moments: cosines and norms exactly, frequencies within a binomial tolerance
(TOL_SIGMAS standard deviations), and exact shares with balanced labels."""

import math

import numpy as np
import pytest
from each import MODELS, WITH_THEORY

from sims import FldmError
from sims.cli import build_parser, config_from_args
from sims.config import TrainConfig
from sims.data import (
    fresh_batches,
    fresh_samples,
    label_index,
    load_npz,
    make_data,
    save_npz,
    shares,
)
from sims.models import summarize
from sims.train import train

TOL_SIGMAS = 4.0  # a count within this many binomial standard deviations of n p


def within_binomial(count, n, p):
    return abs(count - n * p) <= TOL_SIGMAS * math.sqrt(n * p * (1 - p))


# ------------------------------------------------------------------------------- the default, bit
# for bit
def definition_2_1(n, d, snr, sigma_xi, noise, labels, rng):
    """The generator as it was before the options: labels, then noise (a copy of the old code)."""
    mu = np.zeros((2, d))
    mu[0, 0] = mu[1, 1] = snr * sigma_xi * np.sqrt(d)
    if labels == "random":
        y = rng.choice(np.array([1, -1]), size=n)
    else:
        y = rng.permutation(np.where(np.arange(n) < (n + 1) // 2, 1, -1))
    if noise == "isotropic":
        xi = sigma_xi * rng.standard_normal((n, d))
    elif noise == "projected":
        xi = sigma_xi * rng.standard_normal((n, d))
        xi[:, :2] = 0.0
    else:
        q, r = np.linalg.qr(rng.standard_normal((d - 2, n)))
        q = q * np.sign(np.diag(r))
        xi = np.zeros((n, d))
        xi[:, 2:] = sigma_xi * np.sqrt(d) * q.T
    return mu[(y < 0).astype(int)], xi, y, mu


@pytest.mark.parametrize("noise", ["projected", "isotropic", "orthogonal"])
@pytest.mark.parametrize("labels", ["random", "balanced"])
@pytest.mark.parametrize("n", [7, 20])
def test_defaults_reproduce_definition_2_1_bit_for_bit(noise, labels, n):
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    data = make_data(n, 40, snr=0.3, sigma_xi=0.7, noise=noise, labels=labels, rng=a)
    x1, x2, y, mu = definition_2_1(n, 40, 0.3, 0.7, noise, labels, b)
    for got, want in ((data.x1, x1), (data.x2, x2), (data.y, y), (data.mu, mu)):
        assert np.array_equal(got, want)
    assert a.bit_generator.state == b.bit_generator.state  # the same draws were consumed
    assert (
        data.features is None
        and data.feature is None
        and data.snr == np.linalg.norm(mu[0]) / (0.7 * np.sqrt(40))
    )


def test_default_fresh_samples_keep_their_stream():
    data = make_data(10, 30, snr=0.5, rng=np.random.default_rng(1))
    test = fresh_samples(data, 50, np.random.default_rng(2))
    rng = np.random.default_rng(2)
    y = rng.choice(np.array([1, -1]), size=50)  # the old order: labels, then the noise
    xi = rng.standard_normal((50, 30))
    q = np.linalg.qr(data.mu.T)[0]
    xi -= (xi @ q) @ q.T
    assert (
        np.array_equal(test.y, y)
        and np.array_equal(test.x2, xi)
        and np.array_equal(test.x1, data.mu[label_index(y)])
    )


def test_default_config_trains_on_the_same_data():
    base = train(TrainConfig(n=6, d=30, m=2, steps=3, log_every=1, seed=3))
    explicit = train(
        TrainConfig(
            n=6,
            d=30,
            m=2,
            steps=3,
            log_every=1,
            seed=3,
            signal_cos=0.0,
            balance=0.5,
            features=1,
            feature_strengths=(1.0,),
            feature_freqs=(1.0,),
        )
    )
    assert np.array_equal(base.W, explicit.W) and np.array_equal(base.signal, explicit.signal)


# ------------------------------------------------------------------------------------------- the
# moments
@pytest.mark.parametrize("C", [-0.5, 0.0, 0.5, 0.9])
def test_signal_cosine_and_norms_are_exact(rng, C):
    data = make_data(
        30, 60, snr=0.4, signal_cos=C, strengths=(1.0, 0.3, 2.0), freqs=(0.5, 0.25, 0.25), rng=rng
    )
    S = data.signals @ data.signals.T
    norm = 0.4 * np.sqrt(60)
    for k, s in enumerate((1.0, 0.3, 2.0)):
        assert S[2 * k, 2 * k] == pytest.approx((s * norm) ** 2, rel=1e-14)
        assert S[2 * k + 1, 2 * k + 1] == pytest.approx((s * norm) ** 2, rel=1e-14)
        assert S[2 * k, 2 * k + 1] == pytest.approx(C * (s * norm) ** 2, rel=1e-14, abs=1e-12)
    other = np.ones_like(S, dtype=bool)
    for k in range(3):
        other[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = False
    assert np.all(S[other] == 0)  # features of different k are orthogonal
    assert np.all(data.x2 @ data.signals.T == 0)  # noise orthogonal to every signal
    assert np.array_equal(data.x1, data.signals[data.feature])
    assert np.array_equal(
        data.feature % 2, label_index(data.y)
    )  # each sample's feature is of its own class
    assert data.snr == pytest.approx(0.4, rel=1e-14) and np.array_equal(data.mu, data.signals[:2])


def test_orthogonal_noise_with_several_features(rng):
    data = make_data(
        10, 40, snr=0.5, noise="orthogonal", strengths=(1.0, 0.5), freqs=(0.5, 0.5), rng=rng
    )
    B = np.vstack([data.signals, data.x2])
    G = B @ B.T
    assert np.allclose(G[4:, :4], 0, atol=1e-10) and np.allclose(
        G[4:, 4:], np.diag(np.diag(G[4:, 4:])), atol=1e-9
    )


@pytest.mark.parametrize("P", [0.5, 0.8, 0.95])
def test_random_labels_follow_the_balance(P):
    n = 4000
    data = make_data(n, 10, snr=1.0, balance=P, rng=np.random.default_rng(11))
    assert within_binomial(np.sum(data.y == 1), n, P)


@pytest.mark.parametrize(
    "n, P, positives",
    [(20, 0.5, 10), (21, 0.5, 11), (20, 0.8, 16), (20, 0.95, 19), (10, 0.25, 3), (7, 0.9, 6)],
)
def test_balanced_labels_are_exact(n, P, positives, rng):
    data = make_data(n, 10, snr=1.0, balance=P, labels="balanced", rng=rng)
    assert np.sum(data.y == 1) == positives == math.floor(P * n + 0.5)


def test_random_features_follow_their_frequencies():
    n, freqs = 6000, (0.6, 0.3, 0.1)
    data = make_data(
        n, 20, snr=1.0, strengths=(1.0, 1.0, 1.0), freqs=freqs, rng=np.random.default_rng(12)
    )
    k = data.feature // 2
    for j in (0, 1):
        in_class = label_index(data.y) == j
        for kk, p in enumerate(freqs):
            assert within_binomial(np.sum(k[in_class] == kk), in_class.sum(), p)


def test_balanced_features_get_exact_shares(rng):
    data = make_data(
        20,
        20,
        snr=1.0,
        labels="balanced",
        balance=0.5,
        strengths=(1.0, 1.0),
        freqs=(0.9, 0.1),
        rng=rng,
    )
    k = data.feature // 2
    for j in (0, 1):
        assert np.bincount(k[label_index(data.y) == j], minlength=2).tolist() == [9, 1]
    assert shares((0.5, 0.3, 0.2), 7).tolist() == [4, 2, 1] and shares((0.9, 0.1), 4).tolist() == [
        4,
        0,
    ]
    assert shares((1 / 3,) * 3, 10).sum() == 10


def test_fresh_samples_follow_the_same_law():
    data = make_data(
        20,
        50,
        snr=0.5,
        balance=0.8,
        signal_cos=0.5,
        strengths=(1.0, 0.3),
        freqs=(0.7, 0.3),
        rng=np.random.default_rng(13),
    )
    test = fresh_samples(data, 5000, np.random.default_rng(14))
    assert within_binomial(np.sum(test.y == 1), 5000, 0.8)
    assert within_binomial(np.sum(test.feature // 2 == 1), 5000, 0.3)
    assert np.array_equal(test.x1, data.signals[test.feature]) and np.array_equal(
        test.feature % 2, label_index(test.y)
    )
    assert np.allclose(test.x2 @ data.signals.T, 0, atol=1e-9)
    whole = fresh_samples(data, 23, np.random.default_rng(7))
    parts = list(fresh_batches(data, 23, np.random.default_rng(7), batch=5))
    assert np.array_equal(np.concatenate([p.x2 for p in parts]), whole.x2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(signal_cos=1.0), "signal_cos must be"),
        (dict(signal_cos=-1.0), "signal_cos must be"),
        (dict(balance=0.0), "balance"),
        (dict(balance=1.0), "balance"),
        (dict(strengths=(1.0, 0.0), freqs=(0.5, 0.5)), "strengths must be positive"),
        (dict(strengths=(1.0, 1.0), freqs=(0.5, 0.4)), "sum to 1"),
        (dict(strengths=(1.0, 1.0), freqs=(1.0, 0.0)), "frequencies must be positive"),
        (dict(strengths=(1.0, 1.0), freqs=(1.0,)), "one strength and one frequency"),
        (dict(strengths=(1.0,) * 5, freqs=(0.2,) * 5), "d >= 2K \\+ 1 = 11"),
    ],
)
def test_bad_options(rng, kwargs, message):
    with pytest.raises(FldmError, match=message):
        make_data(5, 10, snr=1.0, rng=rng, **kwargs)


# ------------------------------------------------------------------------------------------ config
# and files
def parse(*argv):
    return config_from_args(build_parser().parse_args(["train", "diffusion", *argv]))[0]


def test_command_line_and_toml_options(tmp_path):
    cfg = parse(
        "--features",
        "2",
        "--feature-strengths",
        "1,0.3",
        "--feature-freqs",
        "0.9,0.1",
        "--signal-cos",
        "-0.5",
        "--balance",
        "0.8",
    )
    assert (
        cfg.strengths == (1.0, 0.3)
        and cfg.freqs == (0.9, 0.1)
        and cfg.signal_cos == -0.5
        and cfg.balance == 0.8
    )
    (tmp_path / "c.toml").write_text("features = 2\nfeature_strengths = [1, 0.3]\n")
    cfg = parse("--config", str(tmp_path / "c.toml"))
    assert cfg.feature_strengths == (1, 0.3) and cfg.freqs == (0.5, 0.5)
    assert TrainConfig(features=3).freqs == (1 / 3,) * 3


@pytest.mark.parametrize(
    "values, message",
    [
        (dict(features=2, feature_strengths=(1.0,)), "has 1 values for features = 2"),
        (dict(features=2, feature_freqs=(0.2, 0.2)), "sum to 1"),
        (dict(feature_strengths="1,2"), "list of numbers"),
        (dict(features=0), "features must be a positive integer"),
        (dict(signal_cos=2.0), "signal_cos"),
        (dict(balance=1.5), "balance"),
        (dict(n=20, d=21, features=2, data_noise="orthogonal"), "d >= n \\+ 4"),
    ],
)
def test_bad_config(values, message):
    with pytest.raises(FldmError, match=message):
        TrainConfig(**values)


def test_command_line_errors_are_one_line(capsys):
    from sims.cli import main

    assert main(["train", "diffusion", "--feature-strengths", "1,x"]) == 2
    assert "is not a number" in capsys.readouterr().err


def test_npz_round_trip_with_features(tmp_path, rng):
    data = make_data(
        16,
        20,
        snr=0.4,
        signal_cos=0.3,
        strengths=(1.0, 0.5),
        freqs=(0.75, 0.25),
        labels="balanced",
        rng=rng,
    )
    save_npz(data, tmp_path / "d.npz")
    back = load_npz(tmp_path / "d.npz")
    for k in ("x1", "x2", "y", "mu", "features", "feature"):
        assert np.array_equal(getattr(back, k), getattr(data, k))
    assert back.freqs == (
        0.75,
        0.25,
    )  # fresh samples of loaded data: the file's feature frequencies
    arrays = dict(np.load(tmp_path / "d.npz"))
    arrays["feature"] = (arrays["feature"] + 1) % 4  # samples with the other class's features
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FldmError, match="of its own class"):
        load_npz(tmp_path / "bad.npz")
    arrays.pop("feature")
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FldmError, match="give both"):
        load_npz(tmp_path / "bad.npz")


def test_loaded_data_with_features_trains(tmp_path, rng):
    data = make_data(
        8, 20, snr=0.5, strengths=(1.0, 0.5), freqs=(0.5, 0.5), labels="balanced", rng=rng
    )
    save_npz(data, tmp_path / "d.npz")
    res = train(TrainConfig(n=8, d=20, m=2, steps=4, log_every=2, data=str(tmp_path / "d.npz")))
    assert res.signal.shape == (3, 2, 4)


# ------------------------------------------------------------------------------- per-feature
# logging
@pytest.mark.parametrize(
    "model, shape", [("diffusion", (2, 3, 4)), ("classification", (2, 2, 3, 4))]
)
def test_signal_is_logged_per_feature(model, shape):
    cfg = TrainConfig(
        model=model,
        n=10,
        d=40,
        m=3,
        steps=5,
        log_every=5,
        features=2,
        feature_strengths=(1.0, 0.3),
        signal_cos=0.5,
        balance=0.7,
        labels="balanced",
    )
    res = train(cfg)
    assert res.signal.shape == shape
    np.testing.assert_allclose(res.signal[-1], res.W @ res.data.signals.T, rtol=1e-10, atol=1e-12)
    s = summarize(model, res.signal[-1], res.noise[-1], res.data.y)
    assert len(s.per_feature) == 2 and s.signal == s.per_feature[0]
    # the per-feature summary is the headline summary of that feature's columns
    for k in (0, 1):
        cols = res.signal[-1][..., 2 * k : 2 * k + 2]
        assert summarize(model, cols, res.noise[-1], res.data.y).signal == s.per_feature[k]


@pytest.mark.parametrize("model", MODELS)
def test_span_engine_is_exact_beyond_definition_2_1(model):
    cfg = TrainConfig(
        model=model,
        n=8,
        d=60,
        m=2,
        steps=30,
        log_every=10,
        features=2,
        feature_strengths=(1.0, 0.3),
        feature_freqs=(0.75, 0.25),
        signal_cos=0.9,
        balance=0.75,
        labels="balanced",
        nsnr2=3.0,
        seed=4,
    )
    span, full = train(cfg.replace(engine="span")), train(cfg.replace(engine="full"))
    assert span.extra["engine"] == "span" and full.extra["engine"] == "full"
    np.testing.assert_allclose(span.W, full.W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(span.signal, full.signal, rtol=1e-9, atol=1e-12)


# -------------------------------------------------------------------------------------------
# predictions
def test_predict_says_when_the_closed_forms_do_not_apply():
    from theory.predict import predict

    base = TrainConfig(model="classification", n=10, d=200, m=2, steps=100)
    plain = predict(base).to_dict()
    assert plain["not_definition_2_1"] == [] and plain["boundary_nsnr2"] > 0
    assert plain["linear_rates"]["signal"] == pytest.approx(plain["rates"]["signal"], rel=1e-12)
    for change, words in (
        (dict(signal_cos=0.5), "not orthogonal"),
        (dict(balance=0.8), "imbalanced"),
        (dict(features=2), "2 features per class"),
    ):
        out = predict(base.replace(**change)).to_dict()
        assert out["boundary_nsnr2"] is None and words in out["boundary_not_applicable"]
        assert any(words in reason for reason in out["not_definition_2_1"])


def test_linear_signal_rates_are_the_growth_of_the_linearised_flow():
    """With correlated signals the class-+1 signal block grows like exp(lambda tau), lambda the top
    eigenvalue of (1/(m n)) sum_i y_i mu_i mu_i^T: check it against the closed form for two
    vectors."""
    from sims.data import Dataset
    from theory.predict import linear_signal_rates

    C, a = 0.6, 2.0
    mu = np.array([[a, 0.0, 0.0], [a * C, a * math.sqrt(1 - C**2), 0.0]])
    y = np.array([1, 1, 1, -1])
    data = Dataset(x1=mu[label_index(y)], x2=np.zeros((4, 3)), y=y, mu=mu)
    m, n = 2, 4
    # M_+ = (3 mu+ mu+^T - mu- mu-^T) / (m n): in the basis of mu+, mu- its Gram form gives the
    # eigenvalues
    M = (3 * np.outer(mu[0], mu[0]) - np.outer(mu[1], mu[1])) / (m * n)
    want = np.linalg.eigvalsh(M)
    got = linear_signal_rates(data, m)
    assert got[0] == pytest.approx(want.max(), rel=1e-12) and got[1] == pytest.approx(
        (-want).max(), rel=1e-12
    )


def test_diffusion_predictions_for_correlated_data():
    from theory.predict import predict

    out = predict(TrainConfig(n=8, d=60, m=2, steps=100, signal_cos=0.5, nsnr2=2.0)).to_dict()
    equation = out["stationary"]["scalar_equation"]  # its premise: orthogonal data
    assert (
        out["stationary"]["found"]
        and not equation["applies"]
        and "not orthogonal" in equation["reason"]
    )
    assert "not orthogonal" in out["not_definition_2_1"][0] and np.isfinite(
        out["initial_rate_ratio"]
    )


@pytest.mark.parametrize("model", WITH_THEORY)
def test_ode_overlays_descent_beyond_definition_2_1(model):
    """The reduced ODE logs the same per-feature arrays as descent and starts from the same
    state."""
    from sims.train import prepare
    from theory.ode import run_ode

    cfg = TrainConfig(
        model=model,
        n=6,
        d=40,
        m=2,
        steps=200,
        log_every=100,
        features=2,
        feature_strengths=(1.0, 0.5),
        signal_cos=0.5,
        balance=0.7,
        labels="balanced",
        nsnr2=2.0,
    )
    cfg = cfg.replace(
        eta=prepare(cfg).eta / 10
    )  # a tenth of the auto step over as many steps: the flow
    gd, ode = train(cfg), run_ode(cfg)
    assert ode.signal.shape == gd.signal.shape and ode.noise.shape == gd.noise.shape
    np.testing.assert_allclose(ode.signal[0], gd.signal[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ode.signal[-1], gd.signal[-1], rtol=0.02, atol=1e-3)
