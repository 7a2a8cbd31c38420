"""Reference simulations for "On the Feature Learning in Diffusion Models" (Han, Huang, Cao, Zou,
ICLR 2025).

The core, which imports neither `theory` nor matplotlib: `data` (two-patch data, Definition 2.1),
`diffusion` and `classification` (each loss beside its hand-derived gradient), `models` (the two
models behind one interface, and the registry), `config` (one validated run configuration), `span`
(the basis where descent is exact), `descent` (the one gradient-descent loop and its checks),
`stepsize` (the automatic step size), `train` (one run or many stacked), `io` (atomic result files).
On top: `cli` (the `fldm` command) and `studies` (the synthetic study and Noisy-MNIST as cached
sweep cells; see sims/studies/__init__.py). The theory (sympy derivations, reduced ODE, predictions)
is in `theory`.
"""

__version__ = "0.1.0"


class FldmError(ValueError):
    """A problem with the user's input or run, reported as one line by the command line."""


class DivergenceError(FldmError):
    """Gradient descent produced a non-finite or exploding loss."""
