"""`fldm train`: files written, and every bad input a one-line error with exit code 2."""

import json
import subprocess
import sys

import numpy as np
import pytest
from each import MODELS

from sims import models
from sims.cli import main

FAST = ["--n", "6", "--d", "30", "--m", "2", "--steps", "20", "--log-every", "5"]


@pytest.mark.parametrize("model", MODELS)
def test_train_writes_result_files(tmp_path, model, capsys):
    assert main(["train", model, *FAST, "--out", str(tmp_path)]) == 0
    layers = models.get(model).layers(np.zeros(models.get(model).weight_shape(2, 30)))
    with np.load(tmp_path / "result.npz") as f:
        assert set(f.files) == {"steps", "loss", "grad_norm", "signal", "noise", *layers}
        assert list(f["steps"]) == [0, 5, 10, 15, 20]
        assert models.get(model).joined(f).shape == models.get(model).weight_shape(2, 30)
        assert {name: f[name].shape for name in layers} == {
            name: w.shape for name, w in layers.items()
        }
    meta = json.loads((tmp_path / "result.json").read_text())
    assert meta["config"]["model"] == model and meta["config"]["n"] == 6 and meta["seed"] == 0
    assert set(meta["summary"]) >= {"signal", "noise", "ratio", "converged"}
    printed = json.loads(capsys.readouterr().out)
    assert printed["signal"] == meta["summary"]["signal"]
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_config_file_and_override(tmp_path):
    (tmp_path / "c.toml").write_text(
        "n = 6\nd = 30\nm = 2\nsteps = 4\nlog-every = 2\nsigma_xi = 0.5\nseed = 9\n"
    )
    assert (
        main(
            [
                "train",
                "diffusion",
                "--config",
                str(tmp_path / "c.toml"),
                "--seed",
                "3",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    cfg = json.loads((tmp_path / "result.json").read_text())["config"]
    assert cfg["sigma_xi"] == 0.5 and cfg["seed"] == 3 and cfg["steps"] == 4


def test_data_file_sets_n_and_d(tmp_path):
    from sims.data import make_data, save_npz

    save_npz(make_data(5, 12, snr=0.5, rng=np.random.default_rng(1)), tmp_path / "d.npz")
    assert (
        main(
            [
                "train",
                "classification",
                "--data",
                str(tmp_path / "d.npz"),
                "--steps",
                "3",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    cfg = json.loads((tmp_path / "result.json").read_text())["config"]
    assert (cfg["n"], cfg["d"]) == (5, 12)


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "regression"], "invalid choice"),
        (["train", "diffusion", "--n", "0"], "n must be a positive integer"),
        (["train", "diffusion", "--d", "-3"], "d must be a positive integer"),
        (["train", "diffusion", "--snr", "0"], "snr must be a positive"),
        (["train", "diffusion", "--nsnr2", "nan"], "nsnr2 must be a positive"),
        (["train", "diffusion", "--eta", "-0.1"], "eta must be a positive"),
        (["train", "diffusion", "--sigma0", "0"], "sigma0 must be a positive"),
        (["train", "diffusion", "--snr", "1", "--nsnr2", "1"], "give either snr or nsnr2"),
        (["train", "diffusion", "--eta", "fast"], "not a number"),
        (["train", "diffusion", "--data", "missing.npz"], "does not exist"),
        (["train", "diffusion", "--init", "missing.npy"], "does not exist"),
        (["train", "diffusion", "--config", "missing.toml"], "does not exist"),
        (
            ["train", "diffusion", "--n", "30", "--d", "20", "--data-noise", "orthogonal"],
            "d >= n \\+ 2",
        ),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, args, message):
    assert main(args + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fldm: error:") and err.count("\n") == 1
    assert __import__("re").search(message, err), err


def test_bad_toml_key(tmp_path, capsys):
    (tmp_path / "c.toml").write_text("learning_rate = 0.1\n")
    assert main(["train", "diffusion", "--config", str(tmp_path / "c.toml")]) == 2
    assert "unknown setting(s) ['learning_rate']" in capsys.readouterr().err


def test_divergence_exits_cleanly_and_writes_nothing(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "diffusion",
                *FAST,
                "--eta",
                "100",
                "--sigma0",
                "0.5",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "diverged at step" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_module_entry_point_has_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sims", "train", "diffusion", "--n", "-1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("fldm: error: n must be")


def test_results_are_ordinary_readable_files(tmp_path):
    import os
    import stat

    assert main(["train", "diffusion", *FAST, "--out", str(tmp_path)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    for name in ("result.npz", "result.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_data_file_named_in_the_config(tmp_path):
    from sims.data import make_data, save_npz

    save_npz(make_data(5, 12, snr=0.5, rng=np.random.default_rng(1)), tmp_path / "d.npz")
    (tmp_path / "c.toml").write_text(f'data = "{tmp_path / "d.npz"}"\nsteps = 3\n')
    assert (
        main(["train", "diffusion", "--config", str(tmp_path / "c.toml"), "--out", str(tmp_path)])
        == 0
    )
    cfg = json.loads((tmp_path / "result.json").read_text())["config"]
    assert (cfg["n"], cfg["d"]) == (5, 12)
