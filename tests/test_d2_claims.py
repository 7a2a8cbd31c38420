"""The rules of issue 10's sections (sims.studies.d2_claims) on made-up measurements: every verdict of R1 and R2
reachable, at each boundary, for the reason its rule states."""

import pytest

from sims.studies import d2_claims as dc

EPS = 1e-9  # inside a band's closed end by more than the fitted slope's rounding
GRID = (0.5, 1.0, 2.0)  # ratio = n·SNR²^slope stays in (0.1, 10) for every slope tested


def row(nsnr2, ratio, signal_gain=10.0, noise_gain=10.0):
    return {"nsnr2": nsnr2, "ratio": ratio, "signal_gain": signal_gain, "noise_gain": noise_gain}


def series(slope, **gains):
    return [row(v, v**slope, **gains) for v in GRID]


def test_rules_are_formatted_from_the_constants():
    r1, r2 = dc.RULES["R1"], dc.RULES["R2"]
    assert (
        f"[{dc.THETA_SLOPE[0]:g}, {dc.THETA_SLOPE[1]:g}]" in r1
        and f"[{dc.PART_SLOPE[0]:g}, {dc.PART_SLOPE[1]:g}]" in r1
    )
    assert f"> {dc.LEARNED_GAIN:g}x" in r1 and dc.GROWTH in r1
    assert f"{dc.SYMMETRIC_SHARE:.0%}" in r2


@pytest.mark.parametrize(
    "slopes, verdict",
    [
        ({"exact loss": 0.1, "fixed K = 1": 1.0}, dc.HOLDS),  # one stationary series is enough
        (
            {"exact loss": 0.1, "m = 4": dc.THETA_SLOPE[0] + EPS},
            dc.HOLDS,
        ),  # the band's ends are in it
        ({"exact loss": dc.THETA_SLOPE[1] - EPS}, dc.HOLDS),
        ({"exact loss": dc.THETA_SLOPE[0] - 0.01}, dc.IN_PART),  # just below: grows, not linearly
        ({"exact loss": dc.THETA_SLOPE[1] + 0.01}, dc.IN_PART),
        ({"exact loss": dc.PART_SLOPE[0] + EPS}, dc.IN_PART),
        ({"exact loss": dc.PART_SLOPE[1] - EPS}, dc.IN_PART),
        ({"exact loss": dc.PART_SLOPE[0] - 0.01}, dc.DOES_NOT),  # flat
        ({"exact loss": dc.PART_SLOPE[1] + 0.01}, dc.DOES_NOT),  # too steep
        ({"exact loss": 0.1, dc.GROWTH: 1.0}, dc.IN_PART),  # only the growth phase is Θ(n·SNR²)
        ({"exact loss": 0.1, dc.GROWTH: 0.05}, dc.DOES_NOT),
    ],
)
def test_robustness(slopes, verdict):
    got = dc.robustness_verdict({k: series(s) for k, s in slopes.items()})
    assert got["verdict"] == verdict and got["id"] == "R1"
    for k, s in slopes.items():
        assert got["measured"]["per_series"][k]["slope"] == pytest.approx(s)


@pytest.mark.parametrize("gains", [dict(signal_gain=dc.LEARNED_GAIN), dict(noise_gain=1.0)])
def test_robustness_needs_both_features_learned(gains):
    """A slope-1 series that has memorised its draws (a feature not grown past LEARNED_GAIN) does not count."""
    got = dc.robustness_verdict({"fixed K = 16": series(1.0, **gains)})
    assert (
        got["verdict"] == dc.DOES_NOT
        and not got["measured"]["per_series"]["fixed K = 16"]["both_learned_everywhere"]
    )
    ratio_out = [
        row(0.5, 0.05),
        row(1.0, 1.0),
        row(2.0, 2.0),
    ]  # ratio below BOTH_LEARNED_RATIO at one point
    assert dc.robustness_verdict({"exact loss": ratio_out})["verdict"] == dc.DOES_NOT


def stationary(branch="symmetric", morse=0, found=True):
    return {
        "found": found,
        "branch": branch if found else None,
        "morse_index": morse if found else None,
    }


def test_state_of_a_record():
    assert dc.state(stationary()) == "symmetric"
    assert dc.state(stationary("asymmetric")) == "asymmetric"
    assert dc.state(stationary(morse=2)) == "symmetric saddle"
    assert dc.state(stationary(found=False)) == "none"


VALUES = (0.01, 0.1, 1.0, 10.0, 100.0)


@pytest.mark.parametrize(
    "states, verdict",
    [
        (["symmetric"] * 5, dc.HOLDS),
        (["asymmetric", "symmetric", "symmetric", "symmetric", "none"], dc.IN_PART),
        (["asymmetric", "asymmetric", "symmetric", "symmetric saddle", "none"], dc.DOES_NOT),
    ],
)
def test_branch_verdict(states, verdict):
    grid = {(4, v): s for v, s in zip(VALUES, states)}
    assert dc.branch_verdict(grid)["verdict"] == verdict


def test_branch_share_boundary():
    half = {(m, v): s for m in (1, 2) for v, s in zip((0.1, 1.0), ("symmetric", "asymmetric"))}
    got = dc.branch_verdict(half)
    assert (
        got["measured"]["symmetric_share"] == dc.SYMMETRIC_SHARE == 0.5
        and got["verdict"] == dc.IN_PART
    )


def test_where_the_symmetric_branch_ends():
    r = dc.symmetric_range(
        list(zip(VALUES, ["asymmetric", "symmetric", "symmetric", "none", "asymmetric"]))
    )
    assert (r["lowest"], r["highest"], r["ends_below"], r["ends_above"], r["contiguous"]) == (
        0.1,
        1.0,
        0.01,
        10.0,
        True,
    )
    gaps = dc.symmetric_range(
        list(zip(VALUES, ["symmetric", "none", "symmetric", "symmetric", "symmetric"]))
    )
    assert not gaps["contiguous"] and gaps["ends_below"] is None and gaps["ends_above"] is None
    assert dc.symmetric_range([(1.0, "none")])["lowest"] is None
