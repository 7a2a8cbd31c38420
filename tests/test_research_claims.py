"""The rules of issue 13's research questions (sims.studies.research_claims) on made-up rows: every verdict reachable,
each for the reason its rule states."""

import pytest

from sims.studies import research_claims as rc


def row(nsnr2, ratio, signal_gain=10.0, noise_gain=10.0):
    return {"nsnr2": nsnr2, "ratio": ratio, "signal_gain": signal_gain, "noise_gain": noise_gain}


GRID = (0.2, 1.0, 5.0)


def test_rules_are_formatted_from_the_constants():
    assert f"[{rc.THETA_SLOPE[0]:g}, {rc.THETA_SLOPE[1]:g}]" in rc.RULES["O1"]
    assert f"> {rc.LEARNED_GAIN:g}x" in rc.RULES["A1"] and f"{rc.AGREEMENT:.0%}" in rc.RULES["O2"]


@pytest.mark.parametrize(
    "slopes, verdict",
    [
        ((0.1, 1.0), rc.HOLDS),  # one series Θ(n·SNR²) is enough
        ((0.1, 0.5), rc.IN_PART),  # grows, not linearly
        ((0.1, 2.5), rc.DOES_NOT),  # too steep
        ((0.05,), rc.DOES_NOT),  # flat
    ],
)
def test_objectives(slopes, verdict):
    # ratio = 1 at n·SNR² = 1, so every ratio stays in (0.1, 10) for slopes up to 1.4
    series = {(f"obj{i}", "single"): [row(v, v**s) for v in GRID] for i, s in enumerate(slopes)}
    got = rc.objectives_verdict(series)
    assert got["verdict"] == verdict
    assert got["measured"]["per_series"]["obj0/single"]["slope"] == pytest.approx(slopes[0])


def test_objectives_need_both_features_learned():
    series = {("x0", "single"): [row(0.2, 0.2, signal_gain=1.5), row(1.0, 1.0), row(5.0, 5.0)]}
    assert rc.objectives_verdict(series)["verdict"] == rc.DOES_NOT


def test_x0_like_the_classifier():
    classifier = [row(0.1, 0.01), row(1.0, 0.5), row(10.0, 100.0)]  # noise, noise, signal
    like = [
        row(0.1, 0.001, signal_gain=0.5),
        row(1.0, 0.01, signal_gain=1.0),
        row(10.0, 50, noise_gain=1.5),
    ]
    assert rc.x0_verdict(like, classifier)["verdict"] == rc.HOLDS
    partly = [like[0], row(1.0, 1.0), row(10.0, 2.0)]
    got = rc.x0_verdict(partly, classifier)
    assert got["verdict"] == rc.IN_PART and got["measured"]["winner_take_all"] == 1
    assert rc.x0_verdict([row(v, 1.0) for v in GRID], classifier)["verdict"] == rc.DOES_NOT
    wrong_winner = [
        row(0.1, 50, noise_gain=1.0),
        row(1.0, 50, noise_gain=1.0),
        row(10.0, 0.01, signal_gain=1.0),
    ]
    assert rc.x0_verdict(wrong_winner, classifier)["verdict"] == rc.IN_PART


def test_augmented_classifier():
    assert rc.augmented_verdict([row(v, 1.0) for v in GRID])["verdict"] == rc.HOLDS
    ends = [
        row(10.0, 100.0, noise_gain=1.2),
        row(1.0, 1.0),
        row(0.1, 0.01, signal_gain=1.1),
    ]  # unsorted
    assert rc.augmented_verdict(ends)["verdict"] == rc.DOES_NOT
    moved = [row(0.1, 0.05, signal_gain=1.1), row(1.0, 1.0), row(10.0, 5.0)]  # high end learns both
    got = rc.augmented_verdict(moved)
    assert got["verdict"] == rc.IN_PART and not got["measured"]["keeps_both_ends"]
