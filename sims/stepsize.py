"""The automatic step size (eta 'auto'): plain gradient descent with one eta, chosen once before the
first step to be stable at every curvature the run is expected to meet.

Descent W <- W - eta grad L is stable near a point whose largest Hessian eigenvalue is lambda iff
eta lambda < 2 (with eta lambda > 1 it converges while oscillating). The curvature changes along a
run; four scales bound it, and eta is the smallest of their limits (`limit` names the one that
binds):

  "data"      near the stationary point the curvature along a data direction z grows like
              n_z ||z||^2 / (2n) (sims.config.auto_eta): eta <= 0.25 / kappa_data, divided by the
              model's eta_factor (sims.models: objectives that fit x0, the augmented classifier's
              larger inputs). At the stationary points of the quick study's 36 predicted settings (m
              = 1 to 8, d = 500 to 8000, n SNR^2 = 0.05 to 50) eta lambda_max is 0.16 to 0.50 with
              it.
  "initial"   at the start the curvature is that of the initial weights, large when sigma0^2 d is
      (at
              d = 1e5, sigma0 = 0.01: lambda_0 ~ 3e5 and eta_data lambda_0 ~ 30): lambda_0 = the
              largest Hessian eigenvalue at W0 (`top_curvature`), eta <= ETA_CURVATURE / lambda_0.
              It falls as the weights shrink to their stationary size.
  "draws"     with K fixed noise draws (--noise fixed) a neuron can memorise a draw eps_p: along
              w = t eps_p / ||eps_p|| the loss is (c t^3 q^2 - b ||eps_p||)^2 / (2nK) + ..., q =
              beta ||eps_p||, b the coefficient of eps in the target (1 for noise prediction), whose
              minimum has curvature 18 c^(2/3) (beta |b|)^(4/3) ||eps_p||^(8/3) / (2nK) (summed over
              diffusion times with their weights): eta <= ETA_CURVATURE / that. Measured at
              converged runs (m = 1 to 8, K = 1 to 4, d = 300 to 4000) the largest curvature was
              0.96 to 1.6 times this. This curvature appears only once the draws are memorised (the
              issue's K = 1 run diverged at step 8 with the data limit). The formula is
              sims.diffusion.memorised_curvature, reached through the model's draws_curvature (the
              logistic loss has none).
  "stationary" the curvature at the stationary point itself, which the data scale misses when the
  patches
              are short (small sigma_xi): there the weights' own terms (c^2 beta^4 C(G) in eq. (E))
              set it, and they grow with the filters from sigma0^2 d to their stationary norm.
              lambda* = the largest Hessian eigenvalue at the stationary filters of the symmetric
              law (sims.symmetric, for the eps objective at one diffusion time; the model's
              `stationary_filters`), eta <= ETA_STATIONARY / lambda*: eta lambda* <= 1, so descent
              converges there without oscillating. Example: n = 10, d = 1000, m = 2, sigma_xi =
              0.03, n SNR^2 = 0.2, seed 3: the data limit gave eta = 3.67 and descent left the flow
              at step ~5 (curvature 0.82 at the stationary point); this limit gives 1.27. It binds
              in none of the quick preset's runs (their outputs are unchanged by it).
The "initial" and "stationary" limits need an objective that is one function of W: for the augmented
classifier with fresh draws (no closed-form expectation) it is left out.

Not covered, and no fixed eta can be: a flow that reaches no stationary point and meets ever larger
curvature (theory.predict finds one at m = 32, n SNR^2 = 67.5). The descent loop (sims.descent)
reports a rising loss or oscillating gradients when they happen.

Everything here is computed from the run's data, initial weights and draws in an orthonormal basis
of their span (sims.span), so every engine, the ODE and the predictions get the same eta.
"""

from __future__ import annotations

import numpy as np

from sims import models, span
from sims.config import auto_eta
from sims.data import Dataset

ETA_CURVATURE = 0.5  # eta * (estimated curvature) for the "initial" and "draws" limits
ETA_STATIONARY = (
    1.0  # eta * (the curvature at the law's stationary filters) for the "stationary" limit
)
POWER_STEPS = 40  # power-iteration steps of `top_curvature` (each phase)
FD_STEP = 1e-6  # relative step of finite-difference Hessian-vector products
# For tests only: every automatic eta (`perturbed`: auto_step's, the window map's, Noisy-MNIST's and
# the memorisation study's draws limit) is moved by this many units in the last place
# (numpy.nextafter), so that a test can check that no tracked output depends on rounding
# (tests/studies/test_rounding.py). Read when eta is chosen, in the process that chooses it (a
# worker pool forked afterwards inherits it).
ULP_SHIFT = 0


def top_curvature(objective, hessian_product, W: np.ndarray) -> float:
    """The largest Hessian eigenvalue of `objective` at W, by power iteration from grad L(W)
    (POWER_STEPS steps; if the dominant eigenvalue is negative, POWER_STEPS more on H -
    lambda_dominant I). Hessian-vector products from `hessian_product` (W, V) -> H V, or central
    differences of the gradient if it is None. 0 when the Hessian vanishes (W = 0)."""
    if hessian_product is None:
        h = FD_STEP * max(np.linalg.norm(W), 1e-300)
        hessian_product = lambda W, v: (objective(W + h * v)[1] - objective(W - h * v)[1]) / (2 * h)
    v = objective(W)[1]
    if not np.any(v):
        v = W.copy()
    if not np.any(v):
        return 0.0

    def power(shift):
        u = v / np.max(np.abs(v))  # scaled first: the squares of a tiny gradient underflow to 0
        u, lam = u / np.linalg.norm(u), 0.0
        for _ in range(POWER_STEPS):
            Hu = hessian_product(W, u) - shift * u
            lam, norm = float(np.sum(u * Hu)), np.linalg.norm(Hu)
            if norm == 0 or not np.isfinite(norm):
                break
            u = Hu / norm
        return lam + shift

    lam = power(0.0)
    return power(lam) if lam < 0 else lam


def auto_step(
    cfg, data: Dataset, W0: np.ndarray, draws: np.ndarray | None, coords: tuple | None = None
) -> tuple[float, str]:
    """(eta, limit): the automatic step size of the module docstring and the name of the limit that
    sets it. `coords`: (data, W0, draws) in sims.span.basis(data, W0, draws)
    (sims.span.coordinates), if the caller has them (else they are computed here)."""
    model = models.get(cfg.model)
    mean = model.deterministic(cfg)  # resampled draws: the curvature of the expected loss
    if mean is not None and coords is None:  # (none in closed form: the augmented classifier's)
        coords = span.coordinates(span.basis(data, W0, draws), data, W0, draws)
    small = (
        data if coords is None else coords[0]
    )  # norms and Gram (auto_eta, eta_factor) are the same in the basis
    limits = {"data": auto_eta(small.x1, small.x2) / model.eta_factor(cfg, small, data.d)}
    if mean is not None:
        dc, Wc, draws_c = coords
        fun = model.objective(mean, dc.x1, dc.x2, data.y, data.d, None, draws_c)
        hvp = model.hessian_product(mean, dc.x1, dc.x2, data.d)
        lam0 = top_curvature(fun, hvp, Wc)
        if lam0 > 0:
            limits["initial"] = ETA_CURVATURE / lam0
        try:
            guess = model.stationary_filters(mean, dc)
        except ValueError:  # the law's point not found (groups far beyond its sweeps): no guess
            guess = None
        if guess is not None and (lam := top_curvature(fun, hvp, guess)) > 0:
            limits["stationary"] = ETA_STATIONARY / lam
    if draws is not None and (memorised := model.draws_curvature(cfg, draws, data.n)) > 0:
        limits["draws"] = ETA_CURVATURE / memorised
    limit = min(limits, key=limits.get)
    return perturbed(float(limits[limit])), limit


def perturbed(eta: float) -> float:
    """An automatic step size as the runs use it: eta itself, or moved by ULP_SHIFT units in the
    last place where a test sets it."""
    return shifted(eta, ULP_SHIFT) if ULP_SHIFT else eta


def shifted(x: float, ulps: int) -> float:
    """x moved by `ulps` units in the last place (towards +inf if ulps > 0)."""
    for _ in range(abs(ulps)):
        x = float(np.nextafter(x, np.inf if ulps > 0 else -np.inf))
    return x
