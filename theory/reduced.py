"""The alignment dynamics: gradient descent on W written in a basis of the data (theory/PAPER.md,
"The reduced dynamics").

Let Q (d x k) be an orthonormal basis of span{signal vectors, xi_1 .. xi_n} (the actual data,
orthogonal or not; sims.span) and write every filter matrix as
    W = A Q^T + R,    R Q = 0.
Both losses see W only through the patch alignments Z W^T = Z Q A^T (Z the patches) and, for
diffusion, G = W W^T = A A^T + R R^T.

Diffusion. The gradient is dA^T Z + N W with N = dL/dG + dL/dG^T (m x m, see sims.diffusion), so its
part outside span(Q) is N R: R <- (I - eta N) R stays in the row space of R0 = W0 - W0 Q Q^T. Factor
R0 = Rc0 V^T with V (d x m) orthonormal (a QR of R0^T; fewer columns if the initial filters are
dependent); then R = Rc V^T for an m x m matrix Rc at every step (V is sims.span's basis of the
initial filters outside the data), and gradient descent on W is *exactly* gradient descent on the (k
+ m)-dimensional
    Wr = [A, Rc]   with patches   [Z Q, 0]
under the same closed-form loss (up to the constant d - (k + m)). The state (A, Rc Rc^T = R R^T)
holds m k + m^2 numbers, independent of d; Rc is Rc Rc^T up to a rotation Rc -> Rc O that leaves the
loss unchanged (a gauge symmetry). Nothing is approximated: the map equals d-dimensional descent for
any data.

Classification. The gradient lies in span(Q), so R never changes and Wr = A (2, m, k) alone evolves
under the same logistic loss on the patches Z Q.

The untied and fixed-output denoisers (sims.untied). Both gradients are combinations of the patches
and the rows of W and V (grad_X = [dA, dQ]^T Z + S X for X = [W; V], S the 2m x 2m matrix of
sims.untied), so the part of X outside span(Q) is moved by S alone and stays in the row space of
the 2m initial rows' parts outside the data: Wr = [A, Rc] (2, m, k + 2m), descent on it is exact in
the same way, and the state holds 2m k + (2m)^2 numbers, independent of d (the fixed output layer's
rows keep their coordinates).

In continuous time tau = eta * step, descent becomes the gradient flow dWr/dtau = -grad L(Wr)
(theory.ode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sims import models, span
from sims.config import TrainConfig
from sims.data import Dataset

FD_STEP = (
    1e-6  # central-difference step of `hessian_product` for models without a closed-form Hessian
)


@dataclass(frozen=True)
class Reduced:
    """One setting in reduced coordinates: patches, signals and labels expressed in the basis [Q,
    V]."""

    cfg: TrainConfig  # the run's settings (model, diffusion times, output scale)
    x1: np.ndarray  # (n, p) signal patches in reduced coordinates
    x2: np.ndarray  # (n, p) noise patches
    mu: np.ndarray  # (F, p) signal vectors (sims.data `signals`: mu_+1, mu_-1 for Definition 2.1)
    y: np.ndarray  # (n,) labels
    d: int  # the original patch dimension
    Q: np.ndarray  # (d, k) orthonormal basis of the data span
    V: (
        np.ndarray | None
    )  # (d, j) basis with R = Rc V^T, when the filters move outside the data; else None
    R: (
        np.ndarray | None
    )  # the constant part of W outside the data span, when it does not move; else None

    @property
    def k(self) -> int:
        return self.Q.shape[1]

    @property
    def model(self):
        return models.get(self.cfg.model)


def check(cfg: TrainConfig) -> None:
    """Refuse a setting the reduced dynamics does not describe (before any work is done for it): one
    whose loss has no closed-form expectation (sims.models `expected`)."""
    models.get(cfg.model).expected(cfg)


def reduce(cfg: TrainConfig, data: Dataset, W0: np.ndarray) -> tuple[Reduced, np.ndarray]:
    """The reduced setting and the reduced initial state Wr0 for data and initial weights W0.

    Cost O(d k^2) once (the basis); everything after it is independent of d. The flow is that of the
    exact expected loss (for --noise resampled, the mean flow; sims.models `expected`).
    """
    model = models.get(cfg.model)
    cfg = model.expected(cfg)  # a one-line error when there is no closed-form expectation
    moves = model.moves_outside_data(cfg)
    B = span.basis(data, W0 if moves else None)
    Q = B.Q
    A0 = W0 @ Q  # (m, k) or (2, m, k)
    R0 = W0 - A0 @ Q.T  # the part of W0 outside the data span
    x1, x2, mu = data.x1 @ Q, data.x2 @ Q, data.signals @ Q
    common = dict(cfg=cfg, y=np.asarray(data.y), d=data.d, Q=Q)
    if not moves:
        return Reduced(x1=x1, x2=x2, mu=mu, V=None, R=R0, **common), A0
    j = B.V.shape[1]  # m, unless the initial filters are dependent
    pad = lambda X: np.hstack([X, np.zeros((X.shape[0], j))])
    red = Reduced(x1=pad(x1), x2=pad(x2), mu=pad(mu), V=B.V, R=None, **common)
    return red, np.concatenate([A0, R0 @ B.V], axis=-1)  # R0 = Rc0 V^T


def loss_and_grad(red: Reduced, Wr: np.ndarray):
    """The training loss of the full model (its d-dependent constant included) and its gradient in
    reduced coordinates: the model's own objective (sims.models), applied to the reduced patches."""
    return red.model.objective(red.cfg, red.x1, red.x2, red.y, red.d, None)(Wr)


def hessian_product(red: Reduced):
    """(Wr, V) -> the Hessian of the reduced loss at Wr applied to V (one direction or a stack (S,
    *Wr.shape)): the model's closed form where it has one, else central differences of the exact
    gradient (step FD_STEP relative to the state)."""
    exact = red.model.hessian_product(red.cfg, red.x1, red.x2, red.d)
    if exact is not None:
        return exact

    def differences(Wr, V):
        V = np.asarray(V, dtype=float)
        h = FD_STEP * max(1.0, np.abs(Wr).max())
        one = lambda v: (
            (loss_and_grad(red, Wr + h * v)[1] - loss_and_grad(red, Wr - h * v)[1]) / (2 * h)
        )
        return one(V) if V.shape == Wr.shape else np.stack([one(v) for v in V])

    return differences


def hessian(red: Reduced, Wr: np.ndarray) -> np.ndarray:
    """The Hessian (p x p, p = Wr.size) of the reduced loss at Wr, symmetrised."""
    p = Wr.size
    H = hessian_product(red)(Wr, np.eye(p).reshape((p,) + Wr.shape)).reshape(p, p)
    return (H + H.T) / 2


def gd_map(red: Reduced, Wr: np.ndarray, eta: float, steps: int = 1) -> np.ndarray:
    """`steps` exact gradient-descent steps W <- W - eta grad L(W) in reduced coordinates."""
    for _ in range(steps):
        Wr = Wr - eta * loss_and_grad(red, Wr)[1]
    return Wr


def alignments(red: Reduced, Wr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(<w, mu_f>, <w, xi_i>) for every filter w, as sims.train.alignments gives them; Wr may carry
    leading time axes."""
    return Wr @ red.mu.T, Wr @ red.x2.T


def lift(red: Reduced, Wr: np.ndarray) -> np.ndarray:
    """The d-dimensional W = A Q^T + R of a reduced state."""
    if red.V is None:
        return Wr @ red.Q.T + red.R
    return Wr[..., : red.k] @ red.Q.T + Wr[..., red.k :] @ red.V.T


def orthogonal_gram(red: Reduced, Wr: np.ndarray) -> np.ndarray:
    """R R^T, the Gram matrix of the filters' parts orthogonal to all data (when they move)."""
    Rc = Wr[:, red.k :]
    return Rc @ Rc.T


def gauge_directions(red: Reduced, Wr: np.ndarray) -> np.ndarray:
    """Flattened tangent directions Rc -> Rc Omega (Omega antisymmetric) along which the diffusion
    loss is constant; an orthonormal basis (rows). Empty when the filters do not move outside the
    data."""
    if red.V is None:
        return np.zeros((0, Wr.size))
    k = red.k
    Rc = Wr[:, k:]
    a, b = np.triu_indices(Rc.shape[1], 1)
    if not a.size:
        return np.zeros((0, Wr.size))
    D = np.zeros((a.size,) + Wr.shape)
    pairs = np.arange(a.size)
    D[pairs, :, k + b] = Rc[:, a].T  # Omega_ab = 1, Omega_ba = -1: column b gains column a
    D[pairs, :, k + a] = -Rc[:, b].T  # and column a loses column b
    D = D.reshape(a.size, -1)
    s2, U = np.linalg.eigh(D @ D.T)  # orthonormalise through the small Gram matrix
    keep = s2 > 1e-18 * max(s2.max(), 1e-300)
    return (U[:, keep] / np.sqrt(s2[keep])).T @ D
