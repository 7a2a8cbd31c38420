"""Theory for the two models: sympy derivations, the reduced alignment dynamics and its predictions.

Modules
  derive   sympy: the expected DDPM loss by Wick's theorem (== eq. E of sims.diffusion), the early growth
           rate, the m = 1 stationary point in closed form.
  reduced  W = A Q^T + R in a basis Q of the data: the exact gradient-descent map on (A, R R^T) (diffusion)
           or A (classification), of size independent of d.
  ode      its gradient flow in tau = eta * step, via scipy.integrate.solve_ivp:
               run_ode(cfg, data=None, W0=None, progress=None) -> sims.train.Result
  predict  rates, the near-linear phase, stationary points and their stability, the classification
           winner and phase boundary:
               predict(cfg, data=None) -> dict
               stationary_ratio(cfg, data=None) -> float
               boundary_nsnr2(cfg, data=None) -> float
  explain  a prediction in words (what `fldm predict` prints; --json prints the dict):
               explain(prediction) -> str
WALKTHROUGH.md follows the paper from the data model to each claim, with the code and commands for each.
"""
