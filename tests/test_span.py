"""The span engine (descent in a basis of span(data, fixed draws, W0), sims.span) equals
d-dimensional descent: W (mapped back), loss and alignments to 1e-10 relative."""

import numpy as np
import pytest
from compare import assert_extra_close
from each import MODELS

from sims import FldmError, span
from sims.config import TrainConfig
from sims.data import make_data
from sims.train import engine, train

RTOL = 1e-10
SMALL = dict(n=5, d=60, m=3, nsnr2=2.0, steps=200, log_every=25, n_test=50)


def assert_equal_runs(span, full):
    assert span.extra.pop("engine") == "span" and full.extra.pop("engine") == "full"
    assert np.array_equal(span.steps, full.steps) and span.converged == full.converged
    assert_extra_close(span.extra, full.extra, RTOL)
    for key in ("loss", "grad_norm", "signal", "noise", "W"):
        a, b = getattr(span, key), getattr(full, key)
        assert a.shape == b.shape, key
        assert np.max(np.abs(a - b)) <= RTOL * np.max(np.abs(b)), key


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("data_noise", ["projected", "isotropic", "orthogonal"])
def test_span_engine_equals_full_descent(model, data_noise):
    cfg = TrainConfig(model=model, data_noise=data_noise, **SMALL)
    assert engine(cfg) == "span"
    assert_equal_runs(train(cfg), train(cfg.replace(engine="full")))


def test_fixed_noise_draws_join_the_basis():
    # eta below auto: with auto eta these few draws make descent chaotic (the loss jumps about), and
    # then rounding alone separates any two computations
    cfg = TrainConfig(
        model="diffusion", noise="fixed", noise_samples=2, eta=0.01, **{**SMALL, "d": 80}
    )
    span = train(cfg)
    assert span.extra["engine"] == "span"  # 2 n K = 20 draws + 7 data + 3 filters < 80
    assert_equal_runs(span, train(cfg.replace(engine="full")))


def test_user_data_and_initial_weights(tmp_path, rng):
    """Correlated signal patches (not copies of mu), dependent initial filters (two equal rows)."""
    data = make_data(6, 50, nsnr2=3.0, rng=rng)
    x1 = data.x1 + 0.3 * rng.standard_normal(data.x1.shape)
    path = tmp_path / "d.npz"
    np.savez(path, x1=x1, x2=data.x2, y=data.y, mu=data.mu)
    W0 = 0.05 * rng.standard_normal((3, 50))
    W0[2] = W0[1]
    np.save(tmp_path / "w.npy", W0)
    for model, init in (("diffusion", str(tmp_path / "w.npy")), ("classification", None)):
        cfg = TrainConfig(
            model=model,
            data=str(path),
            init=init,
            n=6,
            d=50,
            m=3,
            steps=150,
            log_every=30,
            n_test=40,
        )
        assert_equal_runs(train(cfg), train(cfg.replace(engine="full")))


def test_resampled_noise_runs_in_full_dimension():
    cfg = TrainConfig(
        model="diffusion", noise="resampled", noise_samples=2, **{**SMALL, "steps": 3}
    )
    assert engine(cfg) == "full" and train(cfg).extra["engine"] == "full"
    with pytest.raises(FldmError, match="--engine span needs"):
        train(cfg.replace(engine="span"))


def test_no_basis_when_the_span_fills_the_space():
    cfg = TrainConfig(model="diffusion", **{**SMALL, "n": 8, "d": 12, "steps": 5})
    assert train(cfg).extra["engine"] == "full"  # 2 + 8 + 3 >= 12: nothing to gain


@pytest.mark.parametrize(
    "filters", ["random", "dependent", "near_data", "in_data", "zero", "ill_conditioned", "short"]
)
def test_basis_is_orthonormal_and_holds_the_data_and_filters(rng, filters):
    """Every way `span.basis` orthonormalises the filters (Cholesky when they are independent and
    well conditioned, else QR; a second projection when a filter lies mostly in the data span) gives
    orthonormal rows whose span holds every data row and filter, one row per independent filter."""
    data = make_data(6, 200, nsnr2=3.0, rng=rng)
    Z = np.vstack([data.mu, data.x2])
    W0 = {
        "random": lambda: rng.standard_normal((4, 200)),
        "dependent": lambda: rng.standard_normal((4, 200))[[0, 1, 1, 2]],
        "near_data": lambda: rng.standard_normal((4, 8)) @ Z + 1e-6 * rng.standard_normal((4, 200)),
        "in_data": lambda: rng.standard_normal((4, 8)) @ Z,
        "zero": lambda: np.zeros((4, 200)),
        "ill_conditioned": lambda: np.diag([1.0, 1.0, 1.0, 1e-4]) @ rng.standard_normal((4, 200)),
        "short": lambda: np.diag([1.0, 1.0, 1.0, 1e-12]) @ rng.standard_normal((4, 200)),
    }[filters]()
    B = span.basis(data, W0)
    extra = {
        "random": 4,
        "dependent": 3,
        "near_data": 4,
        "in_data": 0,
        "zero": 0,
        "ill_conditioned": 4,
        "short": 4,
    }[filters]
    assert B.k == 8 and B.dim == 8 + extra
    assert np.abs(B.rows @ B.rows.T - np.eye(B.dim)).max() < 1e-13
    for X in (Z, W0):  # every row to rounding of its own norm
        residual = np.linalg.norm(X - (X @ B.matrix) @ B.rows, axis=1)
        assert np.all(residual <= 1e-12 * np.linalg.norm(X, axis=1) + 1e-300)


@pytest.mark.parametrize("nsnr2", [1e14, 1e40])
def test_small_rows_beside_large_ones_stay_in_the_basis(rng, nsnr2):
    """A data row much shorter than another is not dependent on it: at n·SNR² = 1e14 the signals are
    10^6.5 times longer than the noise patches, and the basis still holds every noise patch to
    rounding of its own norm (the rank test once read singular values relative to the largest and
    dropped every noise patch). Exactly repeated rows are still dropped."""
    data = make_data(6, 200, nsnr2=nsnr2, rng=rng)
    B = span.basis(data, 0.01 * rng.standard_normal((3, 200)))
    assert B.k == 2 + 6
    for X in (data.mu, data.x2):
        residual = X - (X @ B.matrix) @ B.rows
        assert np.all(np.linalg.norm(residual, axis=1) <= 1e-12 * np.linalg.norm(X, axis=1))
    twice = make_data(6, 200, nsnr2=3.0, rng=rng)
    assert (
        span.data_rows(twice, extra=np.vstack([twice.x2[:2], 1e-9 * twice.x2[2:3]])).shape[0]
        == 2 + 6
    )


def test_more_rows_than_dimensions_span_what_the_rows_span(rng):
    """With more rows than d (many fixed draws at small d) the basis comes from the d x d Gram of
    the unit rows: every direction the rows reach, however short the rows that reach it."""
    data = make_data(3, 12, nsnr2=3.0, rng=rng)
    draws = rng.standard_normal((40, 12))
    assert span.data_rows(data, extra=draws).shape[0] == 12
    inside = np.vstack([data.mu, data.x2])  # 5 directions
    flat = (rng.standard_normal((40, 5)) @ inside) * np.logspace(0, -8, 40)[:, None]
    Qt = span.data_rows(data, extra=flat)
    assert Qt.shape[0] == 5
    assert np.abs(Qt @ Qt.T - np.eye(5)).max() < 1e-12
