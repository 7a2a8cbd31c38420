import numpy as np
import pytest
from hypothesis import settings

# Derandomised property tests: the same examples on every run and machine.
settings.register_profile("repro", derandomize=True, deadline=None, max_examples=25, print_blob=True)
settings.load_profile("repro")


@pytest.fixture
def rng():
    return np.random.default_rng(20250101)
