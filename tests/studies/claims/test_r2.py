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


# ------------------------------------------------------------------------ where R2 holds (domain)
def racer(B, state="symmetric", nsnr2=1.0, rep=0, reached=True, i0=None):
    """A made-up race-map cell (sims.studies.racemap.Racer) with race group B (lag 0.01)."""
    from sims.studies.racemap import Racer

    i0 = (3 * 0.01 * B) ** 2 if i0 is None else i0
    return Racer(nsnr2, rep, B * 1e-3, state, reached, None, i0, 0.01, B, 1e5, None)


def test_threshold_share():
    assert r2.split([(1, False), (2, False), (3, True), (4, True)]) == 1.0
    assert r2.split([(1, False), (2, True), (3, False), (4, True)]) == 0.75
    assert r2.split([(1, True), (2, False)]) == 0.5


def test_domain_regions_along_b():
    cells = [
        racer(1e-4, "asymmetric"),
        racer(1e-3, "asymmetric"),
        racer(3e-3, "symmetric"),
        racer(5e-3, "asymmetric"),  # a mixed cell between B_lo and the symmetric run
        racer(1e-2, "symmetric"),
        racer(2e-2, "asymmetric", rep=1),  # another seed's cell inside the symmetric range
        racer(1.0, "symmetric"),
        racer(10.0, "none"),
        racer(1e-5, "none", reached=False),  # ran out of time: left out
        racer(2e-3, "asymmetric", nsnr2=10.0),
        racer(2e-2, "symmetric", nsnr2=10.0),
        racer(5.0, "symmetric", nsnr2=10.0),
        racer(30.0, "asymmetric", nsnr2=10.0),
    ]
    rec = r2.domain_judged(cells)
    per = rec["measured"]["per_nsnr2"]
    assert (per["1"]["B_lo"], per["1"]["B_a"], per["1"]["B_b"], per["1"]["B_up"]) == (
        1e-3,
        3e-3,
        3e-3,
        10.0,
    )
    # of the 7 cells below B_up = 10, one threshold in B puts 5 on the right side (< 80 %)
    assert per["1"]["threshold_share_B"] == pytest.approx(5 / 7)
    assert per["10"]["threshold_share_B"] == 1.0
    assert (per["10"]["B_lo"], per["10"]["B_a"], per["10"]["B_b"], per["10"]["B_up"]) == (
        2e-3,
        2e-2,
        5.0,
        30.0,
    )
    pooled = rec["measured"]["pooled_regions_as_first_committed"]
    assert [(r["verdict"], r["bounds"]) for r in pooled] == [
        (DOES_NOT, {"B": [None, 1e-3]}),
        (IN_PART, {"B": [2e-3, 1e-2]}),  # the cells strictly between B_lo = 1e-3 and max B_a
        (IN_PART, {"B": [5e-3, 10.0]}),  # ... and between min B_b = 3e-3 and max B_up = 30
        (DOES_NOT, {"B": [30.0, None], "I0": [(3 * 0.01 * 10.0) ** 2, None]}),
    ]  # no common symmetric run (B_a = 2e-2 > B_b = 3e-3): no region holds
    # amendment 2: per n·SNR², the symmetric run read down from the upper end
    at1, at10 = {"n·SNR²": [1.0, 1.0]}, {"n·SNR²": [10.0, 10.0]}
    assert [(r["verdict"], r["bounds"]) for r in rec["regions"]] == [
        (DOES_NOT, {"B": [None, 1e-3], **at1}),
        (IN_PART, {"B": [3e-3, 2e-2], **at1}),
        (HOLDS, {"B": [1.0, 1.0], **at1}),
        (DOES_NOT, {"B": [10.0, None], "I0": [(3 * 0.01 * 10.0) ** 2, None], **at1}),
        (DOES_NOT, {"B": [None, 2e-3], **at10}),
        (HOLDS, {"B": [2e-2, 5.0], **at10}),
        (DOES_NOT, {"B": [30.0, None], "I0": [(3 * 0.01 * 30.0) ** 2, None], **at10}),
    ]
    assert rec["measured"]["B_decides_lower_transition"] is False
    assert len(rec["measured"]["left_out"]) == 1


def test_domain_holds_region_and_a_line_without_symmetric_cells():
    cells = [racer(b, "asymmetric" if b < 0.01 else "symmetric") for b in (1e-3, 3e-3, 0.1, 1.0)]
    cells += [racer(b, "asymmetric", nsnr2=0.1) for b in (1e-3, 1.0)]
    rec = r2.domain_judged(cells)
    assert [(r["verdict"], r["bounds"]) for r in rec["regions"]] == [
        (DOES_NOT, {"n·SNR²": [0.1, 0.1]}),
        (DOES_NOT, {"B": [None, 3e-3], "n·SNR²": [1.0, 1.0]}),
        (HOLDS, {"B": [0.1, 1.0], "n·SNR²": [1.0, 1.0]}),
    ]
    assert [r["verdict"] for r in rec["measured"]["pooled_regions_as_first_committed"]] == [
        DOES_NOT,
        HOLDS,
        DOES_NOT,
    ]
    assert rec["measured"]["B_decides_lower_transition"] is True
    assert rec["text"] == (
        "holds where 0.1 ≤ B ≤ 1 and n·SNR² = 1; does not hold where n·SNR² = 0.1 or where "
        "B ≤ 0.003 and n·SNR² = 1"
    )
    assert rec["short"] == "at n·SNR² = 0.1, 1: holds from B = none, 0.1; not up to B = 1, 0.003"
