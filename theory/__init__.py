"""Theory for the two models: sympy derivations, the reduced alignment dynamics and its predictions.

Modules
  derive   sympy: the expected DDPM loss by Wick's theorem (== eq. E of sims.diffusion), the early
      growth
           rate, the m = 1 stationary point in closed form.
  reduced W = A Q^T + R in a basis Q of the data: the exact gradient-descent map on (A, R R^T)
  (diffusion)
           or A (classification), of size independent of d, and its Hessian.
  ode      its gradient flow in tau = eta * step, via scipy.integrate.solve_ivp (and `rkc` for the
      stiff
           long-time flow):
               run_ode(cfg, data=None, W0=None, progress=None) -> sims.train.Result
  rkc      the second-order Runge-Kutta-Chebyshev integrator (explicit, stabilised for stiff flows).
  stationary  a stationary point's Morse index, branch, and the scalar equation where it applies.
  predict  rates, the near-linear phase, stationary points and their stability, the classification
           winner and phase boundary:
               predict(cfg, data=None) -> DiffusionPrediction | ClassificationPrediction
               (.to_dict()) stationary_ratio(cfg, data=None) -> float boundary_nsnr2(cfg, data=None)
               -> float
  explain  a prediction in words (what `fldm predict` prints; --json prints its dict):
               explain(prediction) -> str
WALKTHROUGH.md follows the paper from the data model to each claim, with the code and commands for
each.
"""
