"""The models a test that is about any model runs over, read from the registry (sims.models): a test
parametrised over these lists runs a newly registered model without an edit."""

from sims import models

MODELS = list(models.MODELS)  # every model, by name
# the models whose theory predicts them (the reduced ODE, fldm predict); others say it does not
# reach
WITH_THEORY = [name for name, model in models.MODELS.items() if model.theory.predict is not None]
