"""`fldm plot`: runs read back from their result files give the summary sims.train computed; a train
run and its ODE overlay, both models side by side on one time axis; titles and legends stay inside
the figure and off the axes; a pair that is not one run's, or disagrees with its config, is refused
in one line."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from each import MODELS
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sims import FldmError, cli, io
from sims.config import TrainConfig
from sims.data import make_data, save_npz
from sims.models import summarize
from sims.studies import runplot
from sims.studies.runplot import draw, load_run, plot_runs, settings_text
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
        FldmError,
        match="the run's data and initial weights are needed: data file .* does not exist",
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
    with pytest.raises(FldmError, match="do not give the summary saved in .*result.json"):
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


def rendered(fig):
    """The figure drawn (as it is saved), and its size in pixels."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer(), fig.bbox


def inside(box, outer) -> bool:
    return (
        box.x0 >= outer.x0 - 1
        and box.x1 <= outer.x1 + 1
        and box.y0 >= outer.y0 - 1
        and (box.y1 <= outer.y1 + 1)
    )


def test_both_models_side_by_side_on_one_time_axis(tmp_path):
    """One column per model (registry order), alignments above the loss; runs with different step
    sizes are drawn at tau = eta * step in every panel."""
    saved(tmp_path, "clf", "classification")
    saved(tmp_path, "gd", "diffusion", eta=0.01)
    saved(tmp_path, "ode", "diffusion", run=run_ode)
    runs = [load_run(tmp_path / k) for k in ("clf", "gd", "ode")]
    assert len({r.eta for r in runs}) == 2
    fig = draw(runs)
    axes = np.array(fig.axes).reshape(2, 2)
    assert [ax.get_title().split(":")[0] for ax in axes[0]] == ["diffusion", "classification"]
    for ax in axes.ravel():
        assert "τ" in axes[1, 0].get_xlabel() and ax.get_xlabel() in ("", "τ = η·iteration")
    (clf_signal, _), clf_loss = axes[0, 1].lines, axes[1, 1].lines[0]
    assert np.allclose(clf_loss.get_xdata(), runs[0].tau[:: max(1, len(runs[0].tau) // 40)])
    assert np.allclose(clf_signal.get_ydata(), runs[0].signal[:: max(1, len(runs[0].tau) // 40)])
    gd_lines = axes[0, 0].lines[:2]
    assert np.allclose(gd_lines[0].get_xdata()[-1], 0.01 * runs[1].steps[-1])
    assert plot_runs([tmp_path / k for k in ("clf", "gd", "ode")], tmp_path / "p.png").is_file()
    same = draw([load_run(tmp_path / "clf"), load_run(tmp_path / "ode")])  # one eta: iterations
    assert same.axes[2].get_xlabel() == "iteration" and "η=" in same._suptitle.get_text()


def long_title_runs(tmp_path):
    """Diffusion runs whose shared settings make a long title (every diffusion option set)."""
    kw = dict(objective="v", schedule="cosine", sigma_xi=0.5, sigma0=0.02, noise="exact")
    saved(tmp_path, "a", "diffusion", **kw)
    saved(tmp_path, "b", "diffusion", seed=1, **kw)
    return [load_run(tmp_path / k) for k in ("a", "b")]


def test_titles_are_wrapped_inside_the_figure(tmp_path):
    """Every title lies inside the figure (the old single-line diffusion title was cut at both
    edges), and every line of it is shorter than the figure is wide."""
    fig = draw(long_title_runs(tmp_path))
    renderer, box = rendered(fig)
    titles = [fig._suptitle] + [ax.title for ax in fig.axes]
    assert any("\n" in t.get_text() for t in titles)  # long enough to be wrapped
    for t in titles:
        if t.get_text():
            assert inside(t.get_window_extent(renderer), box), t.get_text()


@pytest.mark.parametrize("count", [3, 50])
def test_legend_outside_the_axes_or_summarised(tmp_path, count):
    """A legend lies below the panels, inside the figure, off every axes; beyond MAX_LEGEND runs it
    is a summary (the two colours, one entry per style, what differs); no warning is raised."""
    cfg = TrainConfig(model="diffusion", **{**TINY, "steps": 10, "log_every": 5})
    for k in range(count):
        train(cfg.replace(seed=k, nsnr2=1.0 + k)).save(tmp_path / f"r{k}")
    runs = [load_run(tmp_path / f"r{k}") for k in range(count)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = draw(runs)
        renderer, box = rendered(fig)
    legend = fig.axes[1].get_legend()
    where = legend.get_window_extent(renderer)
    assert inside(where, box)
    for ax in fig.axes:
        assert not where.overlaps(ax.get_window_extent(renderer))
    texts = [t.get_text() for t in legend.get_texts()]
    if count <= runplot.MAX_LEGEND:
        assert len(texts) == 2 + count and all("gradient descent" in t for t in texts[2:])
    else:
        assert len(texts) == 3 and texts[2] == "gradient descent: 50 runs (markers)"
        title = " ".join(legend.get_title().get_text().split())
        assert title == "50 runs; nsnr2 1 ... 50; seed 0 ... 49"


def test_differing_settings_summary():
    assert runplot.differing([["seed=3", "objective=v"], ["seed=10", "objective=eps"]]) == (
        "seed 3 ... 10; objective: 2 values"
    )
    assert runplot.differing([[], []]) == ""


def edit(folder: Path, **changes):
    """Change result.json's config (keys as TrainConfig's) and save it as it was written."""
    meta = json.loads((folder / "result.json").read_text())
    meta["config"].update(changes)
    (folder / "result.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "changes, message",
    [
        (
            dict(model="classification"),
            r"W \(2, 40\) instead of \(2, 2, 40\), which the config gives \(model classification",
        ),
        (
            dict(m=3),
            r"signal \(9, 2, 2\) instead of \(9, 3, 2\), noise .* W \(2, 40\) instead of \(3, 40\)",
        ),
        (dict(n=7), r"noise \(9, 2, 6\) instead of \(9, 2, 7\), which .*n = 7"),
        (dict(d=41), r": W \(2, 40\) instead of \(2, 41\), which .*d = 41"),
        (dict(features=2), r"signal \(9, 2, 2\) instead of \(9, 2, 4\), which .*4 signal vectors"),
        (dict(steps=45), "logged steps .*0 ... 40, 9 of them.* steps = 45, log_every = 5"),
        (dict(steps=35), "logged steps .*steps = 35"),
        (dict(log_every=4), "log_every = 4"),
        (dict(seed=1), "the initial alignments saved are not those of the initial weights"),
        (dict(sigma0=0.02), "the initial alignments saved are not those"),
        (dict(nsnr2=2.5), "the initial alignments saved .*rebuilt from its settings"),
        (dict(sigma_xi=0.9), "the initial alignments saved"),
    ],
)
def test_an_edited_config_is_refused(tmp_path, changes, message):
    """Each edited setting is found by the arrays' shapes, the logged steps or the alignments that
    the config's data and initial weights give, in one line (never an IndexError)."""
    saved(tmp_path, "gd", "diffusion")
    load_run(tmp_path / "gd")
    edit(tmp_path / "gd", **changes)
    with pytest.raises(FldmError, match=message) as err:
        load_run(tmp_path / "gd")
    assert "\n" not in str(err.value)


def test_edited_final_weights_and_data_files_are_refused(tmp_path):
    """A changed data file, and arrays edited with their checksum, are found by the alignments."""
    data = make_data(6, 40, snr=0.5, rng=np.random.default_rng(1))
    save_npz(data, tmp_path / "data.npz")
    saved(tmp_path, "clf", "classification", data=str(tmp_path / "data.npz"))
    save_npz(make_data(6, 40, snr=0.5, rng=np.random.default_rng(2)), tmp_path / "data.npz")
    with pytest.raises(FldmError, match=r"rebuilt from its files \(--data .*data.npz\)"):
        load_run(tmp_path / "clf")
    saved(tmp_path, "gd", "diffusion")
    with np.load(tmp_path / "gd" / "result.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["W"] = 1.5 * arrays["W"]  # written with a matching checksum
    io.write_npz(tmp_path / "gd" / "result.npz", **arrays)
    meta = json.loads((tmp_path / "gd" / "result.json").read_text())
    meta["arrays_sha256"] = io.arrays_sha256(arrays)
    (tmp_path / "gd" / "result.json").write_text(json.dumps(meta))
    with pytest.raises(FldmError, match="the final alignments saved are not those of the final"):
        load_run(tmp_path / "gd")


def test_a_pair_of_two_runs_is_refused(tmp_path):
    """A result.json beside another run's result.npz (same shapes) fails the checksum; a missing
    column is named; a pair without a checksum is drawn with a note."""
    saved(tmp_path, "a", "diffusion")
    saved(tmp_path, "b", "diffusion", seed=1)
    (tmp_path / "b" / "result.npz").replace(tmp_path / "a" / "result.npz")
    with pytest.raises(FldmError, match="does not match the checksum in .*a/result.json: the two"):
        load_run(tmp_path / "a")
    saved(tmp_path, "c", "diffusion")
    with np.load(tmp_path / "c" / "result.npz") as f:
        arrays = {k: f[k] for k in f.files if k != "noise"}
    io.write_npz(tmp_path / "c" / "result.npz", **arrays)
    with pytest.raises(FldmError, match=r"lacks \['noise'\]"):
        load_run(tmp_path / "c")
    saved(tmp_path, "old", "diffusion")
    meta = json.loads((tmp_path / "old" / "result.json").read_text())
    del meta["arrays_sha256"]
    (tmp_path / "old" / "result.json").write_text(json.dumps(meta))
    notes = []
    assert load_run(tmp_path / "old", note=notes.append).steps[-1] == TINY["steps"]
    assert len(notes) == 1 and "holds no checksum of its arrays" in notes[0]


def test_a_converged_run_ends_early(tmp_path):
    """A run that stopped at --tol logs its last step where it stopped: drawn, not refused."""
    result = saved(tmp_path, "gd", "diffusion", steps=4000, log_every=100, tol=1e-3)
    assert result.converged and result.steps[-1] < 4000
    assert load_run(tmp_path / "gd").steps[-1] == result.steps[-1]


def test_plot_on_a_file_says_what_it_is(tmp_path, capsys):
    saved(tmp_path, "gd", "diffusion")
    plot_runs([tmp_path / "gd"], tmp_path / "p.png")
    (tmp_path / "notes.txt").write_text("x")
    cases = {
        tmp_path
        / "gd"
        / "result.json": f"is a run's result.json, not its folder: give {tmp_path}/gd",
        tmp_path / "gd" / "result.npz": "is a run's result.npz, not its folder",
        tmp_path / "p.png": "is a PNG image, not a run folder",
        tmp_path / "notes.txt": "is a file, not a run folder",
    }
    for path, message in cases.items():
        assert cli.main(["plot", str(path)]) == 2
        err = capsys.readouterr().err
        assert (
            err.startswith("fldm: error: run folder ") and message in err and err.count("\n") == 1
        )
