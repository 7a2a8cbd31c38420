"""The one figure helper every study draws with (`figure`), and what the figures share: the colours
of signal and noise, how a model's predicted early growth is drawn, text wrapping, cell text
colours.

Theory (the models' predictions, the reduced ODE) is drawn as lines, simulation as markers. Each
claim's figures are in its module (sims.studies.claims); Noisy-MNIST's in
sims.studies.mnist_figures.

Every figure states its settings: `figure` writes a caption under it, the figure's own settings
(n, d, m, steps, ...) where the caller gives them and the preset it was made in (`preset`, which
`fldm reproduce` sets). And no figure draws rounding noise: before it is written every drawn
coordinate and every axes' limits are rounded to io.REPORT_DIGITS significant digits (`snap`), so
that a value whose last bits differ between machines (another BLAS kernel, another
thread count) draws the same pixels.
"""

from __future__ import annotations

import textwrap
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection, PathCollection, PolyCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sims import io

COLORS = {"signal": "tab:red", "noise": "tab:blue"}
# a model's predicted early growth (sims.models.Look.growth) from a0 at rate r per unit tau, and its
# label
GROWTH = {
    "linear": (lambda a0, rate, tau: a0 + rate * tau, "predicted rate {rate:.3g} per unit τ"),
    "exponential": (lambda a0, rate, tau: a0 * np.exp(rate * tau), "predicted ∝ exp({rate:.3g} τ)"),
}


EARLY_SHARE = 0.1  # fig_synthetic's inset: the first tenth of a run, on linear axes
# the reduced ODE is integrated to a relative tolerance of theory.ode.RTOL (1e-9) a step, and its
# error adds up over a run: fig_ode_vs_gd draws ODE - GD on a grid of this many times the largest
# |alignment| (0.1 pixel of its panels)
ODE_RESOLUTION = 1e-6

_PRESET: ContextVar[str | None] = ContextVar("preset", default=None)


@contextmanager
def preset(name: str):
    """Inside the block every figure's caption names the preset `name` (fldm reproduce)."""
    token = _PRESET.set(name)
    try:
        yield
    finally:
        _PRESET.reset(token)


def settings_of(cfg=None, steps=None, **more) -> str:
    """A figure's settings in words: 'n = 20, d = 2000, m = 4, σ₀ = 0.01, 2000 steps' from a
    TrainConfig or a preset (anything with n, d, m and sigma0), the steps if given, then `more`
    ('name = value')."""
    parts = []
    if cfg is not None:
        parts += [f"n = {cfg.n}", f"d = {cfg.d}", f"m = {cfg.m}", f"σ₀ = {cfg.sigma0:g}"]
    if steps is not None:
        parts.append(f"{steps} steps")
    parts += [f"{k} = {v}" for k, v in more.items()]
    return ", ".join(parts)


def study_settings(p) -> str:
    """The synthetic study's settings (a presets.Preset) for a figure's caption."""
    return (
        f"{settings_of(p)}, {p.replicates} seeds, {p.base_steps} steps at n·SNR² ≤ 2 (more "
        f"above: presets.steps_for)"
    )


def caption(settings: str | None = None) -> str:
    """A figure's caption: its settings and the preset it was made in ('' if neither is known)."""
    name = _PRESET.get()
    made = f"made by fldm reproduce --{name} (sims/studies/presets.py)" if name else ""
    return "; ".join(part for part in (settings, made) if part)


@contextmanager
def figure(
    path: Path,
    rows: int = 1,
    cols: int = 1,
    *,
    figsize,
    layout: str | None = "constrained",
    squeeze: bool = True,
    settings: str | None = None,
    title: str | None = None,
):
    """`with figure(path, rows, cols, figsize=...) as (fig, axes):` a new figure from matplotlib's
    object API (no pyplot state, nothing to close), written atomically to `path` as PNG when the
    block ends, with its caption (`caption`: `settings`, e.g. "n = 20, d = 2000, m = 4, 2000
    steps", and the preset) under it and its coordinates snapped (`snap`). A figure drawn without
    a layout engine (layout=None) leaves room for the caption at its bottom itself. `title`: the
    figure's title, wrapped to its width."""
    fig = Figure(figsize=figsize, layout=layout)
    yield fig, fig.subplots(rows, cols, squeeze=squeeze)
    if title:
        fig.suptitle(wrap(title, int(14 * figsize[0])), fontsize=9)
    if text := caption(settings):
        fig.supxlabel(wrap(text, int(13 * figsize[0])), fontsize=7, color="dimgray")
    snap(fig)
    io.write_figure(path, fig)


def significant(values, digits: int = io.REPORT_DIGITS, scale: float | None = None) -> np.ndarray:
    """Float values rounded to `digits` significant digits (0, NaN and infinities kept): each its
    own, or, given `scale`, all on one grid, the step of `digits` digits of `scale` (a value far
    below the scale, rounding noise about 0, becomes 0)."""
    a = np.array(values, dtype=float)
    finite = np.isfinite(a) & (a != 0)
    if scale is not None and np.isfinite(scale) and scale > 0:
        step = 10.0 ** (np.floor(np.log10(scale)) - digits + 1)
        a[finite] = np.round(a[finite] / step) * step
        return a
    exponent = np.floor(np.log10(np.abs(a[finite])))
    factor = 10.0 ** (digits - 1 - exponent)
    a[finite] = np.round(a[finite] * factor) / factor
    return a


def _numeric(values) -> bool:
    try:
        np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


def _largest(values) -> float | None:
    a = np.abs(np.asarray(values, dtype=float))
    a = a[np.isfinite(a)]
    return float(a.max()) if a.size and a.max() > 0 else None


def _rounder(log: bool, digits: int):
    """values -> values rounded: on a log axis each to `digits` significant digits; on a linear
    one on the grid of `digits` digits of their largest magnitude (or of `scale`)."""

    def rounded(values, scale=None):
        if log:
            return significant(values, digits)
        return significant(values, digits, scale if scale is not None else _largest(values))

    return rounded


def _pairs(rx, ry, xy, scales=(None, None)) -> np.ndarray:
    """(x, y) rows rounded, x by rx and y by ry."""
    xy = np.array(xy, dtype=float).reshape(-1, 2)
    return np.column_stack([rx(xy[:, 0], scales[0]), ry(xy[:, 1], scales[1])])


def snap(fig: Figure, digits: int = io.REPORT_DIGITS) -> None:
    """Round every coordinate drawn in data space (lines, markers, filled bands, bars, line
    collections, texts placed at data points, images and their colour limits) to `digits` digits,
    and each axes' limits as drawn (automatic ones are computed from the data first) alike: the
    pixels depend on the numbers to `digits` digits only. On a linear axis a drawn array is rounded
    on the grid of its largest magnitude, so that a value at rounding level about 0 (the residual
    of two equal curves) draws as 0; on a log axis each value to its own digits."""
    for ax in fig.axes:
        if hasattr(ax, "_colorbar"):  # a colorbar follows its image's colour limits
            continue
        rx = _rounder(ax.get_xscale() == "log", digits)
        ry = _rounder(ax.get_yscale() == "log", digits)
        both = partial(_pairs, rx, ry)

        for line in ax.lines:
            x, y = line.get_xdata(orig=True), line.get_ydata(orig=True)
            if _numeric(x) and _numeric(y):
                line.set_data(rx(x), ry(y))
        for coll in ax.collections:
            if isinstance(coll, PolyCollection):
                paths = [p.vertices for p in coll.get_paths()]
                if paths:
                    every = np.concatenate(paths)
                    scales = (_largest(every[:, 0]), _largest(every[:, 1]))
                    coll.set_verts([both(v, scales) for v in paths])
            elif isinstance(coll, LineCollection):
                coll.set_segments([both(seg) for seg in coll.get_segments()])
            elif isinstance(coll, PathCollection):  # scatter: markers at data points
                coll.set_offsets(both(coll.get_offsets()))
        limits = (_largest(ax.get_xlim()), _largest(ax.get_ylim()))
        for patch in ax.patches:
            if isinstance(patch, Rectangle):
                x, y, w, h = patch.get_bbox().bounds
                (x, y), (w, h) = both([x, y], limits)[0], both([w, h], limits)[0]
                patch.set_bounds(x, y, w, h)
        for text in ax.texts:
            if text.get_transform() is ax.transData and _numeric(text.get_position()):
                text.set_position(tuple(both(text.get_position(), limits)[0]))
        for image in ax.images:
            array = image.get_array()
            log = isinstance(image.norm, LogNorm)
            if array is not None and np.issubdtype(array.dtype, np.floating):
                data = np.ma.getdata(array)
                mask = np.ma.getmaskarray(array) | ~np.isfinite(data)
                image.set_data(np.ma.array(_rounder(log, digits)(data), mask=mask))
            image.set_clim(*_rounder(log, digits)(image.get_clim()))
        # the limits as drawn (automatic ones are computed from the data here), rounded alike; a
        # range that was rounding noise only is widened as matplotlib widens a constant's
        for axis, get, set_, r in (
            (ax.xaxis, ax.get_xlim, ax.set_xlim, rx),
            (ax.yaxis, ax.get_ylim, ax.set_ylim, ry),
        ):
            lo, hi = r(get())
            set_(*(axis.get_major_locator().nonsingular(lo, hi) if lo == hi else (lo, hi)))


def wrap(text: str, width: int = 150) -> str:
    return "\n".join(textwrap.wrap(text, width))


def text_colour(rgba) -> str:
    """Black on light cells, white on dark ones (relative luminance of the cell's colour)."""
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
