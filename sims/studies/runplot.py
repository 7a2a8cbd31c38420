"""`fldm plot`: a quick look at finished runs, drawn from their result files.

Every `fldm train` and `fldm ode` run writes RUN_DIR/result.npz (steps, loss, grad_norm, signal,
noise, W) and RUN_DIR/result.json (config, seed, version, summary, the arrays' SHA-256). `plot_runs`
draws, for runs of either model or both, the headline alignments over the iterations and the loss,
one column per model side by side as in the paper's Figure 2,

    signal = mean_j max_r <w_r, mu_j>,   noise = mean_i max_r <w_r, xi_i>

(sims.models.summarize; |.| and own-class filters for classification). Gradient descent is drawn
with markers, the reduced ODE (theory, `fldm ode`) with lines, so a run and its ODE overlay.
The settings all runs share go into the figure's title, those a model's runs share into its column's
title, the ones that differ into each run's legend entry below the panels (beyond MAX_LEGEND runs in
a column: one entry per style, and the range of what differs); titles are wrapped to the width. The
x axis is the iteration when every run has the same step size eta, else tau = eta * iteration
(theory.ode's time) in every panel.

A run is drawn only if its two files are one run's pair and agree with its config (`load_run`): the
arrays match the checksum in result.json; their shapes are those of the config's model, m, n, d and
signal vectors; the logged steps those of its steps and log_every; the first and last alignments
those of the initial and final weights with the data, both rebuilt from the config (its seeds, or
its files) as the run built them, which also gives the labels the summary needs (classification
counts only own-class filters); and the saved summary that of the last step.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sims import FldmError, io, models
from sims.config import TrainConfig, takes
from sims.data import Dataset
from sims.studies.figures import COLORS
from sims.train import Run, alignments, prepare

# what fldm train and ode save, besides the weights (W, and V for a model with an output layer of
# its own: the model's `layers`)
ARRAYS = ("steps", "loss", "grad_norm", "signal", "noise")
MARKERS = ("o", "s", "^", "D", "v", "P")  # gradient descent runs, in order
LINES = ("-", "--", ":", "-.")  # ODE runs, in order
TITLE_FIELDS = (
    "n",
    "d",
    "m",
    "nsnr2",
    "sigma_xi",
    "sigma0",
    "steps",
    "seed",
    "alpha",
    "beta",
    "objective",
    "schedule",
    "augment",
    "noise",
)
MAX_MARKERS = 40  # markers drawn per curve
MAX_LEGEND = 8  # runs per column listed one by one in its legend; beyond, a summary
MATCH_RTOL = 1e-6  # final alignments against W and the rebuilt data, relative to their largest size
LOG_SPAN = 1e3  # a panel whose positive values span more than this factor gets a log axis
COLUMN_WIDTH = 5.6  # inches per model column
TITLE_CHARS_PER_INCH = 12  # characters of a 10-point title per inch (wrapping)


@dataclass(frozen=True)
class SavedRun:
    """One finished run read back from its folder: its config, curves and how they were computed."""

    folder: Path
    config: TrainConfig
    steps: np.ndarray
    loss: np.ndarray
    signal: np.ndarray  # (T,) summary signal alignment at each logged step
    noise: np.ndarray  # (T,) summary noise alignment
    eta: float
    ode: bool  # the reduced ODE (fldm ode) rather than gradient descent

    @property
    def tau(self) -> np.ndarray:
        return self.eta * self.steps


def what_is(path: Path) -> str:
    """A few words on what a path that is not a run folder is."""
    if not path.exists() and not path.is_symlink():
        return "does not exist"
    if not path.is_file():
        return "is not a folder"
    if path.name in ("result.json", "result.npz"):
        return f"is a run's {path.name}, not its folder: give {path.parent}"
    with open(path, "rb") as fh:
        head = fh.read(8)
    kinds = {b"\x89PNG": "a PNG image", b"PK": "a zip archive (an .npz?)", b"{": "JSON text"}
    kind = next((k for magic, k in kinds.items() if head.startswith(magic)), "a file")
    return f"is {kind}, not a run folder"


def load_run(folder: str | Path, note=None) -> SavedRun:
    """Read RUN_DIR/result.json and RUN_DIR/result.npz and check them (module docstring); every
    problem is one FldmError that names the file. `note(text)` is told of a pair without a checksum
    (written before result.json carried one), which is drawn unchecked on that point."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FldmError(f"run folder {folder} {what_is(folder)}")
    js, npz = folder / "result.json", folder / "result.npz"
    if not js.is_file() or not npz.is_file():
        missing = " and ".join(p.name for p in (js, npz) if not p.is_file())
        raise FldmError(
            f"{folder} has no {missing}: give the --out folder of `fldm train` or `fldm ode`"
        )
    try:
        meta = json.loads(js.read_text())
        config, summary = TrainConfig.from_dict(meta["config"]), meta["summary"]
        checksum = meta.get("arrays_sha256")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FldmError(f"cannot read {js} as a run's result ({exc})") from None
    try:
        with np.load(npz, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as exc:  # zip errors, truncated files, object arrays
        raise FldmError(f"cannot read {npz} as an .npz file: {exc}") from None
    model = models.get(config.model)
    missing = [k for k in ARRAYS if k not in arrays]
    try:
        weights = model.joined(arrays)
    except KeyError as exc:
        weights = None
        missing.append(exc.args[0])
    except ValueError as exc:  # layers that do not fit together
        raise FldmError(f"{npz}: its weights do not form one {config.model} model: {exc}") from None
    if missing:
        raise FldmError(
            f"{npz} lacks {missing}; it is not a result file of `fldm train` or `fldm ode`"
        )
    if checksum is None:
        if note is not None:
            note(f"{js} holds no checksum of its arrays (an older fldm): the pair is not checked")
    elif io.arrays_sha256(arrays) != checksum:
        raise FldmError(
            f"{npz} does not match the checksum in {js}: the two files are not one run's pair "
            "(one was edited, or comes from another run)"
        )
    arrays = {**arrays, "W": weights}  # the weights in the model's shape (`joined`)
    start = _start(config, js)
    data = start.data
    _check_shapes(config, summary, arrays, data, npz)
    _check_alignments(config, arrays, start, js)
    curves = np.array(
        [model.summary(s, x, data.y)[:2] for s, x in zip(arrays["signal"], arrays["noise"])]
    )
    final = (summary.get("signal"), summary.get("noise"))
    if None not in final and not np.allclose(curves[-1], final, rtol=1e-9, atol=0):
        raise FldmError(
            f"the final alignments in {npz} do not give the summary saved in {js}: "
            "was result.json edited?"
        )
    return SavedRun(
        folder=folder,
        config=config,
        steps=arrays["steps"],
        loss=arrays["loss"],
        signal=curves[:, 0],
        noise=curves[:, 1],
        eta=float(summary.get("eta", config.eta or np.nan)),
        ode="ode_status" in summary,
    )


def _start(config: TrainConfig, source: Path) -> Run:
    """The run's data and initial weights, from its files or redrawn from its seed, by
    sims.train.prepare as the run itself (its eta is in the config: no step size is computed)."""
    try:
        return prepare(config)
    except FldmError as exc:
        raise FldmError(f"{source}: the run's data and initial weights are needed: {exc}") from None


def _check_shapes(config, summary, arrays, data: Dataset, npz: Path) -> None:
    """The arrays' shapes are those the config's model, m and data give, and the logged steps those
    of its steps and log_every (ending early only where the run converged)."""
    shape = models.get(config.model).weight_shape
    T = arrays["steps"].shape[0] if arrays["steps"].ndim == 1 else 0
    F = data.signals.shape[0]
    expected = {
        "steps": (T,),
        "loss": (T,),
        "grad_norm": (T,),
        "signal": (T, *shape(config.m, F)),
        "noise": (T, *shape(config.m, data.n)),
        "W": shape(config.m, data.d),
    }
    wrong = [
        f"{k} {arrays[k].shape} instead of {expected[k]}"
        for k in expected
        if arrays[k].shape != expected[k]
    ]
    if T == 0 or wrong:
        raise FldmError(
            f"{npz}: {', '.join(wrong) or 'no logged step'}, which the config gives (model "
            f"{config.model}, m = {config.m}, n = {data.n}, d = {data.d}, {F} signal vectors)"
        )
    steps = arrays["steps"]
    logged = np.arange(0, config.steps + 1, config.log_every)
    logged = logged if logged[-1] == config.steps else np.append(logged, config.steps)
    ok = np.array_equal(steps, logged)
    if summary.get("converged") and T >= 2:  # stopped at tol: the last step is where it stopped
        ok = np.array_equal(steps[:-1], logged[: T - 1]) and steps[-2] < steps[-1] <= config.steps
    if not ok:
        raise FldmError(
            f"{npz}: the logged steps ({steps[0]} ... {steps[-1]}, {T} of them) are not those of "
            f"steps = {config.steps}, log_every = {config.log_every} in the config"
        )


def _check_alignments(config, arrays, start: Run, js: Path) -> None:
    """The first and last logged alignments are those of the initial weights and of the final ones
    (W) with the data, as rebuilt from the config."""
    for when, W, k in (("initial", start.W0, 0), ("final", arrays["W"], -1)):
        for saved, rebuilt in zip(
            (arrays["signal"][k], arrays["noise"][k]), alignments(W, start.data)
        ):
            size = np.max(np.abs(saved))
            if np.all(np.isfinite(saved)) and np.max(np.abs(saved - rebuilt)) <= MATCH_RTOL * size:
                continue
            files = [f"--{k} {getattr(config, k)}" for k in ("data", "init") if getattr(config, k)]
            source = f"its files ({', '.join(files)}) and settings" if files else "its settings"
            raise FldmError(
                f"{js}: the {when} alignments saved are not those of the {when} weights with the "
                f"data rebuilt from {source}: the config was edited, or the files changed since"
            )


def settings(configs: list[TrainConfig]) -> tuple[list[str], list[list[str]]]:
    """(the settings every run shares, the settings that differ, for each run) as 'name=value'
    items, named as the command-line options, for runs of one model; the SNR as nsnr2 = n SNR^2
    however it was given."""
    model = configs[0].model
    names = [
        f.name
        for f in fields(TrainConfig)
        if f.name in TITLE_FIELDS
        and takes(model, f.name)
        and any(getattr(c, f.name) is not None for c in configs)
    ]
    if not any(models.get(c.model).noise_is_drawn(c) for c in configs):
        names.remove("noise")  # e.g. the classifier draws noise only with augment
    value = lambda cfg, k: cfg.n * cfg.snr_value**2 if k == "nsnr2" else getattr(cfg, k)
    shown = lambda cfg, k: (
        f"{k}={value(cfg, k):.4g}" if isinstance(value(cfg, k), float) else f"{k}={value(cfg, k)}"
    )
    common = [k for k in names if len({shown(c, k) for c in configs}) == 1]  # equal as shown
    return [shown(configs[0], k) for k in common], [
        [shown(c, k) for k in names if k not in common] for c in configs
    ]


def settings_text(configs: list[TrainConfig]) -> tuple[str, list[str]]:
    """`settings` as text: the shared settings, and each run's own, joined by commas."""
    shared, own = settings(configs)
    return ", ".join(shared), [", ".join(items) for items in own]


def wrap(text: str, inches: float, fontsize: float = 10) -> str:
    """Text wrapped to lines that fit `inches` at `fontsize` points."""
    chars = max(20, int(inches * TITLE_CHARS_PER_INCH * 10 / fontsize))
    return "\n".join(textwrap.wrap(text, chars, break_on_hyphens=False))


def differing(own: list[list[str]]) -> str:
    """What differs between many runs: 'name lo ... hi' for a number, 'name: k values' otherwise."""
    by_name: dict[str, list[str]] = {}
    for items in own:
        for item in items:
            name, _, value = item.partition("=")
            by_name.setdefault(name, []).append(value)
    parts = []
    for name, values in by_name.items():
        try:
            numbers = sorted(set(values), key=float)
            parts.append(f"{name} {numbers[0]} ... {numbers[-1]}")
        except ValueError:
            parts.append(f"{name}: {len(set(values))} values")
    return "; ".join(parts)


def _log_axis(ax, curves) -> None:
    """A log y axis when the positive values drawn span more than LOG_SPAN (exponential growth, a
    loss decaying to 0)."""
    values = np.concatenate([np.ravel(c) for c in curves])
    if np.all(values > 0) and values.max() > LOG_SPAN * values.min():
        ax.set_yscale("log")


def plot_runs(folders: list[str | Path], out: str | Path | None = None, note=None) -> Path:
    """Draw the runs in `folders` (`draw`) into `out` (default: the first run's folder/plot.png);
    return the path written. `note` as in `load_run`."""
    if not folders:
        raise FldmError("give at least one run folder")
    path = Path(out) if out is not None else None
    if path is not None and path.suffix.lower() != ".png":
        raise FldmError(f"--out must name a .png file, got {path}")
    runs = [load_run(f, note) for f in folders]
    path = path or runs[0].folder / "plot.png"
    io.write_figure(path, draw(runs))
    return path


def draw(runs: list[SavedRun]) -> Figure:
    """The alignments (top) and the loss (bottom) of the runs, one column per model (in the order
    of sims.models.MODELS)."""
    by_model: dict[str, list[SavedRun]] = {}
    for r in runs:
        by_model.setdefault(r.config.model, []).append(r)
    columns = [name for name in models.MODELS if name in by_model]
    same_eta = len({r.eta for r in runs}) == 1
    groups = {name: by_model[name] for name in columns}
    texts = {name: settings([r.config for r in group]) for name, group in groups.items()}
    everywhere = [s for s in texts[columns[0]][0] if all(s in texts[c][0] for c in columns)]
    width = COLUMN_WIDTH * len(columns)
    fig = Figure(figsize=(width, 8.2), layout="constrained")
    axes = fig.subplots(2, len(columns), squeeze=False)
    for col, name in enumerate(columns):
        ax_align, ax_loss = axes[0, col], axes[1, col]
        shared, own = texts[name]
        handles = _draw(groups[name], own, ax_align, ax_loss, same_eta)
        title = ", ".join(s for s in shared if s not in everywhere)
        ax_align.set_title(
            wrap(name + (f": {title}" if title else ""), COLUMN_WIDTH, 9), fontsize=9
        )
        ax_align.set_ylabel("alignment")
        ax_loss.set_ylabel("training loss")
        ax_loss.set_xlabel("iteration" if same_eta else "τ = η·iteration")
        _log_axis(ax_align, [np.r_[r.signal, r.noise] for r in groups[name]])
        _log_axis(ax_loss, [r.loss for r in groups[name]])
        look = models.get(name).look
        labels = {"signal": look.signal, "noise": look.noise}
        keys = [
            Line2D([], [], color=COLORS[q], lw=2, label=f"{q}: {labels[q]}")
            for q in ("signal", "noise")
        ]
        summary = None
        if len(groups[name]) > MAX_LEGEND:
            summary = f"{len(groups[name])} runs; {differing(own) or 'same settings'}"
        ax_loss.legend(
            handles=keys + handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            fontsize=7,
            title=summary and wrap(summary, COLUMN_WIDTH, 7),
            title_fontsize=7,
            frameon=False,
        )
    eta = [f"η={runs[0].eta:.4g}"] if same_eta else []
    fig.suptitle(wrap(", ".join(everywhere + eta), width, 10), fontsize=10)
    return fig


def _draw(runs: list[SavedRun], own: list[list[str]], ax_align, ax_loss, same_eta: bool) -> list:
    """Draw one model's runs; return the legend handles of their styles (one per run, or one per
    style beyond MAX_LEGEND runs)."""
    handles, gd, ode = [], 0, 0
    summarise = len(runs) > MAX_LEGEND
    for run, extra in zip(runs, own):
        x = run.steps if same_eta else run.tau
        if run.ode:
            style, ode = dict(ls=LINES[ode % len(LINES)], marker=""), ode + 1
            every = 1
        else:
            style, gd = dict(ls="", marker=MARKERS[gd % len(MARKERS)], ms=4, mfc="none"), gd + 1
            every = max(1, len(x) // MAX_MARKERS)
        for q, curve in (("signal", run.signal), ("noise", run.noise)):
            ax_align.plot(x[::every], curve[::every], color=COLORS[q], **style)
        ax_loss.plot(x[::every], run.loss[::every], color="k", **style)
        if not summarise:
            kind = "reduced ODE" if run.ode else "gradient descent"
            label = f"{run.folder}: {kind}" + (f" ({', '.join(extra)})" if extra else "")
            handles.append(Line2D([], [], color="0.3", label=wrap(label, COLUMN_WIDTH, 7), **style))
    if summarise:
        for kind, count, style in (
            ("gradient descent", gd, dict(ls="", marker=MARKERS[0], mfc="none")),
            ("reduced ODE", ode, dict(ls=LINES[0])),
        ):
            if count:
                drawn = "markers" if style["ls"] == "" else "lines"
                label = f"{kind}: {count} runs ({drawn})"
                handles.append(Line2D([], [], color="0.3", label=label, **style))
    return handles
