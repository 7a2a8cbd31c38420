"""E2, the paper's: on Noisy-MNIST, diffusion learns both the signal and the noise; the classifier
learns the signal at high n·SNR² and memorises the noise at low n·SNR².

Read from the Noisy-MNIST study (sims.studies.mnist): each model's median ratio and gains, and the
classifier's held-out test accuracy, at the study's "low" and "high" n·SNR². Its figures (filters,
alignments, the n·SNR² sweep) and mnist.json are written with it.
"""

from __future__ import annotations

from pathlib import Path

from sims.studies import mnist
from sims.studies.claims.base import (
    BOTH_LEARNED_RATIO,
    BOTH_RATIO,
    IN_PART,
    LEARNED_GAIN,
    OTHERWISE,
    PAPER,
    Entry,
    Figure,
    Spec,
    g,
    verdict as judge,
)
from sims.studies.measures import WINNER_RATIO
from sims.studies.mnist import MnistResult
from sims.studies.synthetic import CLASSIFIER, DENOISER

LOW_ACCURACY = 0.75  # Noisy-MNIST, low n SNR^2: the classifier's test accuracy below this
HIGH_ACCURACY = 0.9  # high n SNR^2: above this

SPEC = Spec(
    id="E2",
    claim="Noisy-MNIST: diffusion learns both signal and noise; classification learns the signal "
    "at high "
    "n·SNR² and memorises noise at low.",
    short="Noisy-MNIST: diffusion both, classification one as n·SNR² decides",
    rule=(
        f"holds if on Noisy-MNIST (the study's 'low' and 'high' n·SNR²) diffusion learns both "
        f"features at "
        f"both ({BOTH_RATIO}, signal and noise each grown > {LEARNED_GAIN:g}x from initialisation) "
        f"while "
        f"the classifier memorises noise at the low one (ratio < {WINNER_RATIO:g}, test accuracy < "
        f"{LOW_ACCURACY:g}) and learns the signal at the high one (ratio > {WINNER_RATIO:g}, test "
        f"accuracy > {HIGH_ACCURACY:g}); '{IN_PART}' if only one model behaves as claimed; "
        f"{OTHERWISE}"
    ),
    origin=PAPER,
)
STUDY = mnist.STUDY


def judged(result: dict) -> Entry:
    """The rule on the Noisy-MNIST record (mnist.json's content): its "comparison" rows at the
    levels "low" and "high"."""
    rows = {r["level"]: r for r in result["comparison"] if r["level"] in ("low", "high")}
    lo, hi = rows["low"], rows["high"]
    d, c = DENOISER.name, CLASSIFIER.name
    diff_ok = all(
        BOTH_LEARNED_RATIO[0] < r[f"{d}_ratio"] < BOTH_LEARNED_RATIO[1]
        and r[f"{d}_signal_gain"] > LEARNED_GAIN
        and r[f"{d}_noise_gain"] > LEARNED_GAIN
        for r in (lo, hi)
    )
    cls_ok = (
        lo[f"{c}_ratio"] < WINNER_RATIO < hi[f"{c}_ratio"]
        and lo[f"{c}_test_accuracy"] < LOW_ACCURACY
        and hi[f"{c}_test_accuracy"] > HIGH_ACCURACY
    )
    gains = ("ratio", "signal_gain", "noise_gain")
    keys = ["nsnr2", *(f"{d}_{k}" for k in gains), *(f"{c}_{k}" for k in (*gains, "test_accuracy"))]
    return SPEC.entry(
        judge(diff_ok and cls_ok, diff_ok or cls_ok),
        {
            "settings": {
                k: result.get("settings", {}).get(k)
                for k in ("digits", "n", "m", "sigma0", "steps", "repeats")
            },
            "data": result.get("data", {}).get(
                "credit", "MNIST (Y. LeCun, C. Cortes; CC BY-SA 3.0)"
            ),
            **{
                r["level"] + f" (n·SNR² = {r['nsnr2']})": {k: r[k] for k in keys}
                for r in result["comparison"]
            },
        },
    )


def verdict(m: MnistResult) -> Entry:
    return judged(m.result)


def paragraph(e: dict) -> str:
    d, c = DENOISER.name, CLASSIFIER.name
    levels = [v for k, v in e["measured"].items() if k.startswith(("low", "high"))]
    parts = [
        f"at n·SNR² = {g(r['nsnr2'])} diffusion's ratio is {g(r[f'{d}_ratio'])} (gains "
        f"{g(r[f'{d}_signal_gain'])} and {g(r[f'{d}_noise_gain'])}), the classifier's "
        f"{g(r[f'{c}_ratio'])} with test accuracy {g(r[f'{c}_test_accuracy'])}"
        for r in levels
    ]
    return "On Noisy-MNIST (medians over the repeats), " + "; ".join(parts) + "."


def figures(m: MnistResult, out: Path) -> list[Figure]:
    """The study's figures, written with mnist.json and mnist.npz."""
    result = mnist.write(out, m)
    return [Figure(result["figures"][k], result["captions"][k]) for k in result["figures"]]
