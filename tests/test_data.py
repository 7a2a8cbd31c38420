"""The two-patch generator (Definition 2.1) and the .npz loader."""

import numpy as np
import pytest

from sims import FldmError
from sims.data import fresh_batches, fresh_samples, label_index, load_npz, make_data, save_npz


def test_signal_patch_is_mu_of_the_label(rng):
    data = make_data(50, 100, snr=0.3, rng=rng)
    assert np.array_equal(data.x1[data.y == 1], np.tile(data.mu[0], (np.sum(data.y == 1), 1)))
    assert np.array_equal(data.x1[data.y == -1], np.tile(data.mu[1], (np.sum(data.y == -1), 1)))
    assert data.mu[0] @ data.mu[1] == 0
    assert np.linalg.norm(data.mu[0]) == pytest.approx(0.3 * np.sqrt(100))


def test_nsnr2_sets_the_snr(rng):
    data = make_data(25, 400, nsnr2=2.25, sigma_xi=0.5, noise="orthogonal", rng=rng)
    assert data.snr == pytest.approx(0.3, rel=1e-12)
    assert data.nsnr2 == pytest.approx(2.25, rel=1e-12)
    with pytest.raises(FldmError, match="exactly one"):
        make_data(5, 10, snr=1.0, nsnr2=1.0, rng=rng)


def test_projected_noise_is_orthogonal_to_the_signals(rng):
    data = make_data(30, 500, snr=1.0, sigma_xi=2.0, rng=rng)
    assert np.all(data.x2 @ data.mu.T == 0)
    # E||xi||^2 = sigma_xi^2 (d - 2)
    assert np.mean(np.sum(data.x2**2, axis=1)) == pytest.approx(4.0 * 498, rel=0.05)


def test_isotropic_noise_has_the_requested_scale(rng):
    data = make_data(200, 300, snr=1.0, sigma_xi=0.5, noise="isotropic", rng=rng)
    assert np.std(data.x2) == pytest.approx(0.5, rel=0.01)
    assert np.any(data.x2[:, :2] != 0)


def test_orthogonal_mode_is_exactly_orthogonal(rng):
    n, d, sigma_xi = 10, 40, 0.7
    data = make_data(n, d, snr=0.5, sigma_xi=sigma_xi, noise="orthogonal", rng=rng)
    B = np.vstack([data.mu, data.x2])
    gram = B @ B.T
    expected = np.diag([np.sum(data.mu[0] ** 2)] * 2 + [sigma_xi**2 * d] * n)
    np.testing.assert_allclose(gram, expected, atol=1e-10)
    with pytest.raises(FldmError, match="d >= n \\+ 2"):
        make_data(10, 11, snr=0.5, noise="orthogonal", rng=rng)


def test_balanced_labels(rng):
    data = make_data(21, 30, snr=1.0, labels="balanced", rng=rng)
    assert np.sum(data.y == 1) == 11 and np.sum(data.y == -1) == 10
    assert np.array_equal(label_index(np.array([1, -1, 1])), [0, 1, 0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0, d=10, snr=1.0), "n must be"),
        (dict(n=5, d=2, snr=1.0), "d must be"),
        (dict(n=5, d=10, snr=-1.0), "snr must be"),
        (dict(n=5, d=10, nsnr2=float("nan")), "nsnr2 must be"),
        (dict(n=5, d=10, snr=1.0, sigma_xi=0.0), "sigma_xi must be"),
        (dict(n=5, d=10, snr=1.0, noise="pink"), "noise must be"),
        (dict(n=5, d=10, snr=1.0, labels="odd"), "labels must be"),
    ],
)
def test_bad_generator_input(rng, kwargs, message):
    with pytest.raises(FldmError, match=message):
        make_data(rng=rng, **kwargs)


def test_fresh_samples_follow_the_training_distribution(rng):
    data = make_data(20, 400, snr=0.5, sigma_xi=1.5, noise="orthogonal", rng=rng)
    test = fresh_samples(data, 500, rng)
    assert np.array_equal(test.mu, data.mu)
    assert np.allclose(test.x2 @ data.mu.T, 0, atol=1e-9)
    assert np.mean(np.sum(test.x2**2, axis=1)) == pytest.approx(1.5**2 * 398, rel=0.02)
    assert 0.4 < np.mean(test.y == 1) < 0.6


def test_npz_round_trip(tmp_path, rng):
    data = make_data(7, 20, snr=0.4, rng=rng)
    save_npz(data, tmp_path / "d.npz")
    back = load_npz(tmp_path / "d.npz")
    for k in ("x1", "x2", "y", "mu"):
        assert np.array_equal(getattr(back, k), getattr(data, k))
    assert back.snr == pytest.approx(
        np.linalg.norm(data.mu[0]) / np.sqrt(np.mean(np.sum(data.x2**2, 1))), rel=1e-12
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.pop("mu"), "lacks key"),
        (lambda a: a.update(y=a["y"][:-1]), "y must have shape"),
        (lambda a: a.update(y=2 * a["y"]), r"only \+1 and -1"),
        (lambda a: a.update(x2=a["x2"][:, :-1]), "x1 and x2"),
        (lambda a: a.update(mu=a["mu"][:1]), "mu must have shape"),
        (lambda a: a["x1"].__setitem__((0, 0), np.nan), "NaN"),
    ],
)
def test_npz_validation(tmp_path, rng, change, message):
    data = make_data(5, 8, snr=0.4, rng=rng)
    arrays = dict(x1=data.x1.copy(), x2=data.x2.copy(), y=data.y.copy(), mu=data.mu.copy())
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(FldmError, match=message):
        load_npz(tmp_path / "bad.npz")


def test_npz_unreadable(tmp_path):
    """Files that are not an .npz archive are named as such by their first bytes (numpy would call
    them pickled data and suggest loading them unsafely); a damaged archive is 'cannot read'."""
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(
        FldmError, match="is not a numpy file; --data takes an .npz archive"
    ) as info:
        load_npz(tmp_path / "junk.npz")
    assert "pickle" not in str(info.value) and "unsafe" not in str(info.value)
    np.save(tmp_path / "one.npy", np.zeros((2, 3)))
    with pytest.raises(FldmError, match=r"is one array \(.npy\); --data takes an .npz archive"):
        load_npz(tmp_path / "one.npy")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 and then nothing a zip needs")
    with pytest.raises(FldmError, match="cannot read .* as an .npz file"):
        load_npz(tmp_path / "broken.npz")
    with pytest.raises(FldmError, match="does not exist"):
        load_npz(tmp_path / "missing.npz")


def test_fresh_batches_do_not_change_the_samples(rng):
    data = make_data(10, 50, snr=0.5, rng=rng)
    whole = fresh_samples(data, 23, np.random.default_rng(7))
    parts = list(fresh_batches(data, 23, np.random.default_rng(7), batch=5))
    assert [p.n for p in parts] == [5, 5, 5, 5, 3]
    for k in ("x1", "x2", "y"):
        assert np.array_equal(np.concatenate([getattr(p, k) for p in parts]), getattr(whole, k))
