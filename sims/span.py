"""One orthonormal basis of the span of the data and the initial filters, where descent is exact.

Both gradients lie in span(data rows, current filters) (diffusion: dW = dA^T Z + (S + S^T) W;
classification: rows of the data), so W_k = W_0 + (a combination of data rows and rows of W_0) never
leaves span{signal vectors, x1 rows, xi_1 .. xi_n, rows of W_0}, and every inner product the losses
and the logged alignments use is preserved by an orthonormal basis of that span. Gradient descent on
the coordinates (W B, x B) is therefore gradient descent on (W, x) up to rounding, at a cost per
inner product of the span's dimension r instead of d.

The basis is B = [Q, V]: Q (d, k) spans the data, V (d, j) the part of W_0 orthogonal to it
(theory.reduced writes W = A Q^T + R with R = Rc V^T). Noise drawn once for the whole run (fixed
diffusion draws eps) enters the gradient like data, so its rows join Q.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sims.data import Dataset

# singular value of the data rows scaled to unit norm below which a direction counts as dependent
RANK_TOL = 1e-6
WELL_CONDITIONED = (
    1e-2  # smallest over largest eigenvalue of R0 R0^T for orthonormalising by Cholesky (`basis`)
)
FILTER_TOL = (
    1e-10  # a filter's part outside the span of the data and the other filters, relative to its
)
# own norm, below which it counts as dependent


class Basis(NamedTuple):
    """The basis as orthonormal rows (r, d), C-ordered so that coordinates x @ matrix and the map
    back W @ rows read it in one pass: the first k rows (Q^T) span the data, the rest (V^T) the
    initial filters' part outside it (none when not asked for)."""

    rows: np.ndarray
    k: int
    signal_copies: bool = (
        False  # whether the signal patches x1 were copies of the signal vectors (`coordinates`)
    )

    @property
    def Q(self) -> np.ndarray:
        """The data span (d, k) (a view)."""
        return self.rows[: self.k].T

    @property
    def V(self) -> np.ndarray:
        """The filters' part outside the data span (d, j) (a view)."""
        return self.rows[self.k :].T

    @property
    def matrix(self) -> np.ndarray:
        """[Q, V] (d, k + j) (a view)."""
        return self.rows.T

    @property
    def dim(self) -> int:
        return self.rows.shape[0]


def data_rows(
    data: Dataset, extra: np.ndarray | None = None, signal_copies: bool | None = None
) -> np.ndarray:
    """Orthonormal rows Q^T (k, d) spanning the signal vectors (mu_+1, mu_-1, or every mu_{j,k}),
    the xi_i (and the x1 rows if they are not signal vectors, and the rows of `extra` (..., d) if
    given); dependent directions are dropped.

    From the Gram matrix of the rows scaled to unit norm, D^-1 Z Z^T D^-1 = U diag(s^2) U^T (D: the
    row norms): Q^T = (U / s)^T D^-1 Z, then one Cholesky re-orthonormalisation (Q^T <- L^-1 Q^T,
    Q^T Q = L L^T). Three products of cost O(d k^2) (the scaling is folded into the small matrix); a
    thin SVD of Z^T gives the same span but is ~50x slower at d = 1e6. A direction is dropped as
    dependent when the unit rows' singular value is below RANK_TOL: scaling first keeps a row that
    is small beside the others (noise patches beside a signal 10^7 times longer) instead of taking
    its smallness for dependence. With more rows than dimensions (thousands of fixed draws at small
    d) Q is the eigenvectors of the d x d Gram of the unit rows instead. `signal_copies`:
    `_signal_rows(data)` if the caller has it.
    """
    rows = [data.signals, data.x2]
    if not (_signal_rows(data) if signal_copies is None else signal_copies):
        rows.insert(1, data.x1)
    if extra is not None:
        rows.append(extra.reshape(-1, data.d))
    Z = np.vstack(rows)
    if (
        Z.shape[0] > Z.shape[1]
    ):  # more rows than dimensions (many fixed draws): the d x d Gram is smaller
        norms = np.sqrt(np.einsum("ij,ij->i", Z, Z))
        Zu = Z[norms > 0] / norms[norms > 0, None]
        s2, V = np.linalg.eigh(Zu.T @ Zu)
        return np.ascontiguousarray(V[:, s2 > RANK_TOL**2].T)
    G = Z @ Z.T
    norms = np.sqrt(np.diag(G))
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)  # zero rows stay out
    s2, U = np.linalg.eigh(G * scale[:, None] * scale[None, :])
    keep = s2 > RANK_TOL**2
    Qt = ((U[:, keep] / np.sqrt(s2[keep])) * scale[:, None]).T @ Z
    L = np.linalg.cholesky(Qt @ Qt.T)
    return np.linalg.inv(L) @ Qt


def _signal_rows(data: Dataset) -> bool:
    """Whether every signal patch x1_i is the signal vector signals[signal_index[i]] (no copy of x1
    made)."""
    signals, index = data.signals, data.signal_index
    return all(np.array_equal(row, signals[j]) for row, j in zip(data.x1, index))


def basis(data: Dataset, W0: np.ndarray | None = None, extra: np.ndarray | None = None) -> Basis:
    """The basis [Q, V] of span(data, rows of extra, rows of W0): Q spans the data and `extra` (e.g.
    fixed noise draws), V (d, j) is an orthonormal basis of the filters' parts R0 outside Q's span
    (j = the number of filters unless they are dependent; none when W0 is None).

    R0 = F - (F Q) Q^T, projected once more when that cancelled much of a filter (its norm fell
    below half: "twice is enough"). Well-conditioned R0 (every eigenvalue of R0 R0^T above
    WELL_CONDITIONED times the largest, and above (FILTER_TOL max ||f||)^2: random initial filters)
    is orthonormalised by a Cholesky factor of R0 R0^T, one pass over its m rows. Otherwise from the
    SVD of R0 with each row divided by its filter's norm: the right singular vectors whose singular
    values exceed FILTER_TOL (the others are directions in which the filters depend on each other or
    lie in the data span, each measured against its own filter, so a short filter beside long ones
    is kept), orthogonalised once more against Q and by a QR among themselves. (A QR of R0^T, used
    before, drops a dependent filter's column but keeps the later filters' components along that
    arbitrary column: with a repeated filter before the last, the span missed part of the last one.)
    """
    copies = _signal_rows(data)
    Qt = data_rows(data, extra, copies)
    k = Qt.shape[0]
    if W0 is None:
        return Basis(Qt, k, copies)
    F = W0.reshape(-1, data.d)
    R0 = F - (F @ Qt.T) @ Qt
    f2, r2 = np.einsum("ij,ij->i", F, F), np.einsum("ij,ij->i", R0, R0)
    if np.any(r2 < f2 / 4):
        R0 -= (R0 @ Qt.T) @ Qt
    G = R0 @ R0.T
    lam = (
        np.linalg.eigvalsh(G) if np.all(np.isfinite(G)) else np.zeros(1)
    )  # (huge filters overflow G)
    scale = max(np.sqrt(np.max(f2)), 1e-300)
    rows = np.empty((k + F.shape[0], data.d))
    rows[:k] = Qt
    if lam[0] > max(
        WELL_CONDITIONED * lam[-1], (FILTER_TOL * scale) ** 2
    ):  # independent, well conditioned
        np.matmul(np.linalg.inv(np.linalg.cholesky(G)), R0, out=rows[k:])
        return Basis(rows, k, copies)
    unit = np.divide(
        1.0, np.sqrt(f2), out=np.zeros_like(f2), where=f2 > 0
    )  # each filter on its own scale
    _, sv, Vt = np.linalg.svd(R0 * unit[:, None], full_matrices=False)
    Vt = Vt[sv > FILTER_TOL]
    V, _ = np.linalg.qr((Vt - (Vt @ Qt.T) @ Qt).T)
    rows[k : k + V.shape[1]] = V.T
    return Basis(rows[: k + V.shape[1]], k, copies)


def coordinates(B: Basis, data: Dataset, W0: np.ndarray, draws: np.ndarray | None = None) -> tuple:
    """(data, W0, draws) in the basis B: every d-vector x as its coordinates x @ B.matrix (the
    signal patches from the signal vectors' when they are copies of them)."""
    # rows @ a^T rather than a @ rows^T: the same products, which two OpenBLAS threads share better
    # (1.5x at d = 1e6, r = 26)
    f = lambda a: np.ascontiguousarray(np.swapaxes(B.rows @ np.swapaxes(a, -1, -2), -1, -2))
    x1 = f(data.signals)[data.signal_index] if B.signal_copies else None
    return data.map(f, x1=x1), f(W0), None if draws is None else f(draws)
