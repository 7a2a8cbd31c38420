"""Comparing a run's `extra` dict (numbers, strings, lists of numbers) between two computations.

pytest.approx takes a flat mapping of numbers only (from pytest 9.2 it refuses strings and nested
lists, which `extra` holds: eta_limit, descent_note, test_error_by_class), so each value is compared
by its kind.
"""

import numbers

import pytest


def assert_extra_close(actual: dict, expected: dict, rel: float) -> None:
    """Same keys; numbers (and lists of numbers) equal to `rel` relative, everything else
    exactly."""
    assert actual.keys() == expected.keys()
    for key, want in expected.items():
        got = actual[key]
        if isinstance(want, numbers.Real) and not isinstance(want, bool):
            assert got == pytest.approx(want, rel=rel), key
        elif isinstance(want, (list, tuple)) and all(isinstance(v, numbers.Real) for v in want):
            assert list(got) == pytest.approx(list(want), rel=rel), key
        else:
            assert got == want, key
