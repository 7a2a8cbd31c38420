"""`fldm plot`: runs read back from their result files give the summary sims.train computed, a train
run and its ODE overlay in one PNG, and every bad input is one clear error."""

import json

import numpy as np
import pytest
from each import MODELS

from sims import FldmError, cli
from sims.config import TrainConfig
from sims.data import make_data, save_npz
from sims.models import summarize
from sims.studies.runplot import load_run, plot_runs, settings_text
from sims.train import train
from theory.ode import run_ode

PNG = b"\x89PNG\r\n\x1a\n"
TINY = dict(n=6, d=40, m=2, steps=40, log_every=5, nsnr2=2.0)


def saved(tmp_path, name, model, run=train, **kw):
    cfg = TrainConfig(model=model, **{**TINY, **kw})
    result = run(cfg)
    result.save(tmp_path / name)
    return result


@pytest.mark.parametrize("model", MODELS)
def test_loaded_curves_are_the_models_summary(tmp_path, model):
    """Every logged step's summary from the saved arrays (labels rebuilt from the seed) equals the
    one sims.models.summarize gives on the run in memory; the last equals result.json's."""
    result = saved(tmp_path, "run", model, seed=3)
    run = load_run(tmp_path / "run")
    for k in range(len(result.steps)):
        s = summarize(
            model, result.signal[k], result.noise[k], result.data.y
        )  # the labels in memory
        assert (run.signal[k], run.noise[k]) == pytest.approx((s.signal, s.noise), rel=1e-12)
    assert run.signal[-1] == pytest.approx(result.summary()["signal"], rel=1e-12)
    assert np.array_equal(run.steps, result.steps) and np.array_equal(run.loss, result.loss)
    assert run.eta == result.extra["eta"] and not run.ode


def test_plot_a_run_and_its_ode(tmp_path):
    saved(tmp_path, "gd", "diffusion")
    saved(tmp_path, "ode", "diffusion", run=run_ode)
    assert load_run(tmp_path / "ode").ode
    path = plot_runs([tmp_path / "gd", tmp_path / "ode"], tmp_path / "both.png")
    assert path == tmp_path / "both.png" and path.read_bytes()[:8] == PNG
    assert (
        plot_runs([tmp_path / "gd"]) == tmp_path / "gd" / "plot.png"
    )  # default: beside the first run
    assert (tmp_path / "gd" / "plot.png").read_bytes()[:8] == PNG


def test_plot_classification_from_a_data_file(tmp_path):
    data = make_data(6, 40, snr=0.5, rng=np.random.default_rng(1))
    save_npz(data, tmp_path / "data.npz")
    saved(tmp_path, "clf", "classification", data=str(tmp_path / "data.npz"))
    saved(tmp_path, "clf2", "classification", data=str(tmp_path / "data.npz"), seed=1)
    assert plot_runs([tmp_path / "clf", tmp_path / "clf2"]).read_bytes()[:8] == PNG
    (tmp_path / "data.npz").unlink()
    with pytest.raises(
        FldmError, match="the run's data are needed for its labels: data file .* does not exist"
    ):
        load_run(tmp_path / "clf")


def test_settings_in_title_and_legend():
    a, b = (
        TrainConfig(model="diffusion", n=20, nsnr2=0.75),
        TrainConfig(model="diffusion", n=20, snr=0.75**0.5 / 20**0.5, seed=2),
    )
    shared, own = settings_text([a, b])
    assert (
        "n=20" in shared
        and "nsnr2=0.75" in shared
        and "alpha=0.7071" in shared
        and "seed" not in shared
    )
    assert own == ["seed=0", "seed=2"]
    shared, _ = settings_text([TrainConfig(model="classification")])
    assert "alpha" not in shared and "noise=" not in shared  # diffusion-only settings
    shared, _ = settings_text(
        [TrainConfig(model="classification", augment=(0.8, 0.6), noise="fixed")]
    )
    assert "augment=(0.8, 0.6)" in shared and "noise=fixed" in shared and "objective" not in shared
    shared, _ = settings_text([TrainConfig(objective="x0", schedule="cosine")])
    assert "objective=x0" in shared and "schedule=cosine" in shared and "augment" not in shared


def test_plot_errors(tmp_path):
    saved(tmp_path, "gd", "diffusion")
    saved(tmp_path, "clf", "classification")
    (tmp_path / "empty").mkdir()
    cases = [
        ([tmp_path / "nowhere"], None, "run folder .*nowhere does not exist"),
        ([tmp_path / "empty"], None, "has no result.json and result.npz: give the --out folder"),
        ([tmp_path / "gd", tmp_path / "clf"], None, "cannot overlay runs of different models"),
        ([tmp_path / "gd"], tmp_path / "x.pdf", "must name a .png file"),
        ([], None, "at least one run folder"),
    ]
    for folders, out, message in cases:
        with pytest.raises(FldmError, match=message):
            plot_runs(folders, out)
    (tmp_path / "gd" / "result.npz").write_bytes(b"not a zip")
    with pytest.raises(FldmError, match="cannot read .*result.npz"):
        load_run(tmp_path / "gd")
    meta = json.loads((tmp_path / "clf" / "result.json").read_text())
    meta["summary"]["signal"] *= 2  # a summary the arrays do not give
    (tmp_path / "clf" / "result.json").write_text(json.dumps(meta))
    with pytest.raises(FldmError, match="do not reproduce its saved summary"):
        load_run(tmp_path / "clf")
    (tmp_path / "clf" / "result.json").write_text("{")
    with pytest.raises(FldmError, match="cannot read .*result.json"):
        load_run(tmp_path / "clf")


def test_cli_plot(tmp_path, capsys):
    saved(tmp_path, "gd", "diffusion")
    assert cli.main(["plot", str(tmp_path / "gd"), "--out", str(tmp_path / "p.png")]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'p.png'}"
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG
    assert cli.main(["plot", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
