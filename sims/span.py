"""One orthonormal basis of the span of the data and the initial filters, where descent is exact.

Both gradients lie in span(data rows, current filters) (diffusion: dW = dA^T Z + (S + S^T) W;
classification: rows of the data), so W_k = W_0 + (a combination of data rows and rows of W_0) never
leaves span{signal vectors, x1 rows, xi_1 .. xi_n, rows of W_0}, and every inner product the losses and the
logged alignments use is preserved by an orthonormal basis of that span. Gradient descent on the
coordinates (W B, x B) is therefore gradient descent on (W, x) up to rounding, at a cost per inner product
of the span's dimension r instead of d.

The basis is B = [Q, V]: Q (d, k) spans the data, V (d, j) the part of W_0 orthogonal to it
(theory.reduced writes W = A Q^T + R with R = Rc V^T). Noise drawn once for the whole run (fixed
diffusion draws eps) enters the gradient like data, so its rows join Q.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sims.data import Dataset

RANK_TOL = 1e-6  # singular value (relative to the largest) below which a data direction counts as dependent
FILTER_TOL = 1e-10  # a filter's part outside the span of the data and the earlier filters, relative to the
                    # largest filter norm, below which it counts as dependent


class Basis(NamedTuple):
    """Q (d, k): the data span; V (d, j): the initial filters' part outside it (j = 0 when not asked for)."""

    Q: np.ndarray
    V: np.ndarray

    @property
    def matrix(self) -> np.ndarray:
        """[Q, V] (d, k + j)."""
        return np.hstack([self.Q, self.V])

    @property
    def k(self) -> int:
        return self.Q.shape[1]

    @property
    def dim(self) -> int:
        return self.Q.shape[1] + self.V.shape[1]


def data_basis(data: Dataset, extra: np.ndarray | None = None) -> np.ndarray:
    """Orthonormal basis Q (d, k) of the span of the signal vectors (mu_+1, mu_-1, or every mu_{j,k}), the
    xi_i (and the x1 rows if they are not signal vectors, and the rows of `extra` (..., d) if given);
    dependent directions are dropped.

    From the small Gram matrix Z Z^T = U diag(s^2) U^T: Q = Z^T U / s, then one Cholesky
    re-orthonormalisation (Q <- Q L^-T, Q^T Q = L L^T). Two products of cost O(d k^2); a thin SVD of Z^T
    gives the same Q but is ~50x slower at d = 1e6.
    """
    rows = [data.signals, data.x2]
    if not np.array_equal(data.x1, data.signals[data.signal_index]):
        rows.insert(1, data.x1)
    if extra is not None:
        rows.append(extra.reshape(-1, data.d))
    Z = np.vstack(rows)
    s2, U = np.linalg.eigh(Z @ Z.T)
    keep = s2 > RANK_TOL**2 * max(s2.max(), 1e-300)
    Q = Z.T @ (U[:, keep] / np.sqrt(s2[keep]))
    L = np.linalg.cholesky(Q.T @ Q)
    return np.linalg.solve(L, Q.T).T


def basis(data: Dataset, W0: np.ndarray | None = None, extra: np.ndarray | None = None) -> Basis:
    """The basis [Q, V] of span(data, rows of extra, rows of W0): Q spans the data and `extra` (e.g. fixed
    noise draws), V (d, j) is an orthonormal basis of the filters' parts R0 outside Q's span (j = the
    number of filters unless they are dependent; empty when W0 is None).

    V comes from a QR of R0^T: a column whose diagonal entry is negligible belongs to a filter that depends
    on the earlier ones, and its Q column is an arbitrary direction (not even orthogonal to the data), so it
    is dropped; the rest are orthogonalised once more against Q.
    """
    Q = data_basis(data, extra)
    if W0 is None:
        return Basis(Q, np.zeros((data.d, 0)))
    F = W0.reshape(-1, data.d)
    R0 = F - (F @ Q) @ Q.T
    V, U = np.linalg.qr(R0.T)
    scale = max(np.sqrt(np.max(np.sum(F * F, axis=1))), 1e-300)
    V = V[:, np.abs(np.diag(U)) > FILTER_TOL * scale]
    V, _ = np.linalg.qr(V - Q @ (Q.T @ V))
    return Basis(Q, V)
