"""`fldm plot`: a quick look at finished runs, drawn from their result files.

Every `fldm train` and `fldm ode` run writes RUN_DIR/result.npz (steps, loss, grad_norm, signal,
noise, W) and RUN_DIR/result.json (config, seed, version, summary). `plot_runs` draws, for one or
several such runs of the same model, the headline alignments over the iterations, as in the paper's
Figure 2,

    signal = mean_j max_r <w_r, mu_j>,   noise = mean_i max_r <w_r, xi_i>
        (sims.models.summarize;
                                                                              |.| and own-class
                                                                              filters for
                                                                              classification)

and the training loss. Gradient descent is drawn with markers, the reduced ODE (theory, `fldm ode`)
with lines, so a run and its ODE overlay directly; the settings the runs share go into the title,
the ones that differ into each run's legend entry. The x axis is the iteration when the runs share
their step size eta, else tau = eta * iteration (theory.ode's time).

The summary needs the labels y (classification counts only own-class filters); result.npz does not
hold them, so they are rebuilt from the saved config exactly as sims.train built the data (same
seed), and checked against the saved final summary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from sims import FldmError, models
from sims.config import TrainConfig, takes
from sims.studies.figures import COLORS, figure
from sims.train import build_data, seeds

ARRAYS = ("steps", "loss", "signal", "noise")
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


@dataclass(frozen=True)
class SavedRun:
    """One finished run read back from its folder: the config, the curves and how it was
    computed."""

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


def load_run(folder: str | Path) -> SavedRun:
    """Read RUN_DIR/result.json and RUN_DIR/result.npz; every problem is one FldmError that names
    the file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FldmError(f"run folder {folder} does not exist")
    js, npz = folder / "result.json", folder / "result.npz"
    if not js.is_file() or not npz.is_file():
        missing = " and ".join(p.name for p in (js, npz) if not p.is_file())
        raise FldmError(
            f"{folder} has no {missing}: give the --out folder of `fldm train` or `fldm ode`"
        )
    try:
        meta = json.loads(js.read_text())
        config, summary = TrainConfig.from_dict(meta["config"]), meta["summary"]
    except (ValueError, KeyError, TypeError) as exc:
        raise FldmError(f"cannot read {js} as a run's result ({exc})") from None
    try:
        with np.load(npz, allow_pickle=False) as f:
            arrays = {k: f[k] for k in ARRAYS if k in f.files}
    except Exception as exc:  # zip errors, truncated files
        raise FldmError(f"cannot read {npz} as an .npz file: {exc}") from None
    missing = [k for k in ARRAYS if k not in arrays]
    if missing:
        raise FldmError(
            f"{npz} lacks {missing}; it is not a result file of `fldm train` or `fldm ode`"
        )
    T = len(arrays["steps"])
    if T == 0 or any(len(arrays[k]) != T for k in ARRAYS):
        raise FldmError(
            f"{npz}: steps, loss, signal and noise must have the same (non-zero) length"
        )
    y = _labels(config, js)
    model = models.get(config.model)
    curves = np.array(
        [model.summary(s, x, y)[:2] for s, x in zip(arrays["signal"], arrays["noise"])]
    )
    final = (summary.get("signal"), summary.get("noise"))
    if None not in final and not np.allclose(curves[-1], final, rtol=1e-9, atol=0):
        raise FldmError(
            f"the labels rebuilt from {js} do not reproduce its saved summary; was the data "
            f"file {config.data} changed since the run?"
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


def _labels(config: TrainConfig, source: Path) -> np.ndarray:
    """The run's labels, from its data file or redrawn from its seed exactly as sims.train.prepare
    does."""
    try:
        return build_data(config, seeds(config.seed)["data"]).y
    except FldmError as exc:
        raise FldmError(f"{source}: the run's data are needed for its labels: {exc}") from None


def settings_text(configs: list[TrainConfig]) -> tuple[str, list[str]]:
    """(the settings every run shares, the settings that differ, for each run) as 'name=value'
    lists, named as the command-line options; the SNR as nsnr2 = n SNR^2 however it was given."""
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
    common = [
        k for k in names if len({shown(c, k) for c in configs}) == 1
    ]  # equal as shown (4 digits)
    shared = ", ".join(shown(configs[0], k) for k in common)
    own = [", ".join(shown(c, k) for k in names if k not in common) for c in configs]
    return shared, own


def plot_runs(folders: list[str | Path], out: str | Path | None = None) -> Path:
    """Draw the alignments and the loss of the runs in `folders` into `out` (default: the first
    run's folder/plot.png); return the path written."""
    if not folders:
        raise FldmError("give at least one run folder")
    runs = [load_run(f) for f in folders]
    kinds = {r.config.model for r in runs}
    if len(kinds) > 1:
        listing = ", ".join(f"{r.folder} ({r.config.model})" for r in runs)
        raise FldmError(
            f"cannot overlay runs of different models: {listing}; plot each model separately"
        )
    path = Path(out) if out is not None else runs[0].folder / "plot.png"
    if path.suffix.lower() != ".png":
        raise FldmError(f"--out must name a .png file, got {path}")
    model = runs[0].config.model
    same_eta = len({r.eta for r in runs}) == 1
    shared, own = settings_text([r.config for r in runs])
    with figure(path, 1, 2, figsize=(11, 4.4)) as (fig, (ax_align, ax_loss)):
        gd = ode = 0
        for run, extra in zip(runs, own):
            x = run.steps if same_eta else run.tau
            name = f"{run.folder}: {'reduced ODE' if run.ode else 'gradient descent'}"
            name += f" ({extra})" if extra else ""
            if run.ode:
                style, ode = dict(ls=LINES[ode % len(LINES)], marker=""), ode + 1
                every = 1
            else:
                style, gd = dict(ls="", marker=MARKERS[gd % len(MARKERS)], ms=4, mfc="none"), gd + 1
                every = max(1, len(x) // MAX_MARKERS)
            for q, curve in (("signal", run.signal), ("noise", run.noise)):
                ax_align.plot(
                    x[::every], curve[::every], color=COLORS[q], label=f"{q}, {name}", **style
                )
            ax_loss.plot(x[::every], run.loss[::every], color="k", label=name, **style)
        xlabel = "iteration" if same_eta else "τ = η·iteration"
        ax_align.set_xlabel(xlabel)
        ax_align.set_ylabel("max_r ⟨w_r, μ_j⟩ (signal), max_r ⟨w_r, ξ_i⟩ (noise)")
        ax_align.set_title("alignments (mean over j and i of the max over neurons)", fontsize=9)
        ax_loss.set_xlabel(xlabel)
        ax_loss.set_ylabel("training loss")
        ax_loss.set_title("loss", fontsize=9)
        if models.get(model).look.log_axis:  # exponential growth, loss decaying to 0
            ax_align.set_yscale("log")
            ax_loss.set_yscale("log")
        ax_align.legend(fontsize=7)
        ax_loss.legend(fontsize=7)
        eta = f", η={runs[0].eta:.4g}" if same_eta else ""
        fig.suptitle(f"{model}: {shared}{eta}", fontsize=10)
    return path
