"""Reference simulations for "On the Feature Learning in Diffusion Models" (Han, Huang, Cao, Zou, ICLR 2025).

Modules: `data` (two-patch data, Definition 2.1), `diffusion` and `classification` (the two models with
hand-derived gradients), `config` (one validated run configuration), `train` (full-batch gradient descent),
`ensemble` (many runs of one shape in one stacked computation), `io` (atomic result files), `cli` (the
`fldm` command), and `studies` (the synthetic study and Noisy-MNIST: cached sweep cells, measures, figures,
claims and the report; see sims/studies/__init__.py). The theory (sympy derivations, reduced ODE,
predictions) is in `theory`.
"""

__version__ = "0.1.0"


class FldmError(ValueError):
    """A problem with the user's input or run, reported as one line by the command line."""


class DivergenceError(FldmError):
    """Gradient descent produced a non-finite or exploding loss."""
