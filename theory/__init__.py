"""Theory for the two models: sympy derivations, the reduced alignment dynamics and its predictions."""
