"""R2's rule (sims.studies.claims.r2) on made-up map states: every verdict reachable, at each
boundary, for the reason its rule states."""

import pytest

from sims.studies.branchmap import Branch
from sims.studies.claims import r2
from sims.studies.claims.base import DOES_NOT, HOLDS, IN_PART


def stationary(branch="symmetric", morse=0, found=True):
    return Branch.of(
        {
            "found": found,
            "branch": branch if found else None,
            "morse_index": morse if found else None,
        }
    )


def test_state_of_a_record():
    assert stationary().state == "symmetric"
    assert stationary("asymmetric").state == "asymmetric"
    assert stationary(morse=2).state == "symmetric saddle"
    assert stationary(found=False).state == "none"


VALUES = (0.01, 0.1, 1.0, 10.0, 100.0)


@pytest.mark.parametrize(
    "states, verdict",
    [
        (["symmetric"] * 5, HOLDS),
        (["asymmetric", "symmetric", "symmetric", "symmetric", "none"], IN_PART),
        (["asymmetric", "asymmetric", "symmetric", "symmetric saddle", "none"], DOES_NOT),
    ],
)
def test_branch_verdict(states, verdict):
    grid = {(4, v): s for v, s in zip(VALUES, states)}
    assert r2.judged(grid).verdict == verdict


def test_branch_share_boundary():
    half = {(m, v): s for m in (1, 2) for v, s in zip((0.1, 1.0), ("symmetric", "asymmetric"))}
    got = r2.judged(half)
    assert got.measured["symmetric_share"] == r2.SYMMETRIC_SHARE == 0.5 and got.verdict == IN_PART


def test_where_the_symmetric_branch_ends():
    r = r2.symmetric_range(
        list(zip(VALUES, ["asymmetric", "symmetric", "symmetric", "none", "asymmetric"]))
    )
    assert (r["lowest"], r["highest"], r["ends_below"], r["ends_above"], r["contiguous"]) == (
        0.1,
        1.0,
        0.01,
        10.0,
        True,
    )
    gaps = r2.symmetric_range(
        list(zip(VALUES, ["symmetric", "none", "symmetric", "symmetric", "symmetric"]))
    )
    assert not gaps["contiguous"] and gaps["ends_below"] is None and gaps["ends_above"] is None
    assert r2.symmetric_range([(1.0, "none")])["lowest"] is None
