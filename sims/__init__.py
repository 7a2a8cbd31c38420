"""Reference simulations for "On the Feature Learning in Diffusion Models" (Han, Huang, Cao, Zou, ICLR 2025).

Modules: `data` (two-patch data, Definition 2.1), `diffusion` and `classification` (the two models with
hand-derived gradients), `train` (full-batch gradient descent), `cli` (the `fldm` command).
"""

__version__ = "0.1.0"


class FldmError(ValueError):
    """A problem with the user's input or run, reported as one line by the command line."""


class DivergenceError(FldmError):
    """Gradient descent produced a non-finite or exploding loss."""
