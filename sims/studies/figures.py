"""The one figure helper every study draws with (`figure`), and what the figures share: the colours
of signal and noise, how a model's predicted early growth is drawn, text wrapping, cell text
colours.

Theory (the models' predictions, the reduced ODE) is drawn as lines, simulation as markers. Each
claim's figures are in its module (sims.studies.claims); Noisy-MNIST's in
sims.studies.mnist_figures.
"""

from __future__ import annotations

import textwrap
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sims import io

COLORS = {"signal": "tab:red", "noise": "tab:blue"}
# a model's predicted early growth (sims.models.Look.growth) from a0 at rate r per unit tau, and its
# label
GROWTH = {
    "linear": (lambda a0, rate, tau: a0 + rate * tau, "predicted rate {rate:.3g} per unit τ"),
    "exponential": (lambda a0, rate, tau: a0 * np.exp(rate * tau), "predicted ∝ exp({rate:.3g} τ)"),
}


@contextmanager
def figure(
    path: Path,
    rows: int = 1,
    cols: int = 1,
    *,
    figsize,
    layout: str | None = "constrained",
    squeeze: bool = True,
):
    """`with figure(path, rows, cols, figsize=...) as (fig, axes):` a new figure from matplotlib's
    object API (no pyplot state, nothing to close), written atomically to `path` as PNG when the
    block ends."""
    fig = Figure(figsize=figsize, layout=layout)
    yield fig, fig.subplots(rows, cols, squeeze=squeeze)
    io.write_figure(path, fig)


def wrap(text: str, width: int = 150) -> str:
    return "\n".join(textwrap.wrap(text, width))


def text_colour(rgba) -> str:
    """Black on light cells, white on dark ones (relative luminance of the cell's colour)."""
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
