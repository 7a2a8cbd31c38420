"""B4, the project's: diffusion learns a weak (s = 0.3) or rare (p = 0.1) second feature at a lower
n·SNR² than the classifier ('comprehensive' against 'easy-to-learn components').

Read from the features study (sims.studies.features): each model's gain of the second feature over
the n·SNR² sweep, and from it the n·SNR² from which the feature is learned. Figure: the gains
against n·SNR².
"""

from __future__ import annotations

import math
from pathlib import Path

from sims.models import PAPER_PAIR
from sims.studies import features
from sims.studies.claims.base import (
    IN_PART,
    LEARNED_GAIN,
    OTHERWISE,
    PROJECT,
    Entry,
    Figure,
    Spec,
    g,
    learned,
    span,
    verdict as judge,
)
from sims.studies.features import FeatureRow
from sims.studies.figures import figure
from sims.studies.presets import FEATURE_NSNR2, RARE, SCENARIOS, WEAK
from sims.studies.synthetic import CLASSIFIER, DENOISER

SPEC = Spec(
    id="B4",
    claim="Weak and rare features: diffusion learns a weak (s = 0.3) or rare (p = 0.1) second "
    "feature at "
    "a lower n·SNR² than the classifier ('comprehensive' against 'easy-to-learn components').",
    short="weak and rare features: diffusion learns them at a lower n·SNR²",
    rule=(
        f"for each scenario (weak: strengths {WEAK['strengths']}, frequencies {WEAK['freqs']}; "
        f"rare: "
        f"strengths {RARE['strengths']}, frequencies {RARE['freqs']}; n·SNR² in "
        f"{list(FEATURE_NSNR2)}, "
        f"exact shares with balanced labels) and model, the learned-from n·SNR² of the second "
        f"feature "
        f"(gain > {LEARNED_GAIN:g} from there on; infinite if not learned at the largest tested "
        f"n·SNR²). "
        f"Holds if diffusion's is strictly lower than the classifier's in both scenarios; "
        f"'{IN_PART}' if "
        f"in one; {OTHERWISE}"
    ),
    origin=PROJECT,
)
STUDY = features.STUDY
D, C = DENOISER.name, CLASSIFIER.name


def learned_from(rows: list[dict], key: str) -> float:
    """The smallest tested n·SNR² from which on rows[key] (a gain) is learned at every larger tested
    value; inf if not learned at the largest."""
    rows = sorted(rows, key=lambda r: r["nsnr2"])
    threshold = math.inf
    for r in reversed(rows):
        if not learned(r[key]):
            break
        threshold = r["nsnr2"]
    return threshold


def judged(scenarios: dict) -> Entry:
    """The rule on {scenario: rows {"nsnr2", "diffusion_gain", "classification_gain"} (the second
    feature's gains, and context)} for the names of SCENARIOS; a scenario left out is not one where
    diffusion is earlier."""
    thresholds = {
        name: {m: learned_from(rows, f"{m}_gain") for m in (D, C)}
        for name, rows in scenarios.items()
    }
    # "both scenarios": one that was not tested does not count as earlier
    earlier = [
        name in thresholds and thresholds[name][D] < thresholds[name][C] for name in SCENARIOS
    ]
    return SPEC.entry(
        judge(all(earlier), any(earlier)),
        {"learned_from_nsnr2": thresholds, "per_scenario": scenarios},
    )


def verdict(rows: list[FeatureRow]) -> Entry:
    scenarios: dict = {}
    for r in rows:
        scenarios.setdefault(r.scenario, []).append(r.gain_dict())
    return judged(scenarios)


def paragraph(e: dict) -> str:
    parts = []
    for name, rows in e["measured"]["per_scenario"].items():
        t = e["measured"]["learned_from_nsnr2"][name]
        when = {
            m: g(t[m])
            if t[m] is not None and math.isfinite(t[m])
            else "none (not learned at the largest)"
            for m in t
        }
        top = max(rows, key=lambda r: r["nsnr2"])
        parts.append(
            f"{name} feature: the n·SNR² from which it is learned at every larger tested value is "
            f"{when[D]} for {D} and {when[C]} for the classifier (gains "
            f"{span(r[f'{D}_gain'] for r in rows)} and {span(r[f'{C}_gain'] for r in rows)} over "
            f"n·SNR² = {span(r['nsnr2'] for r in rows)}; at n·SNR² = {g(top['nsnr2'])} the strong "
            f"feature's gain is {g(top[f'{D}_strong_gain'])} for {D} and "
            f"{g(top[f'{C}_strong_gain'])} for the classifier)"
        )
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def figures(rows: list[FeatureRow], out: Path) -> list[Figure]:
    return [fig_features(rows, out)]


def fig_features(rows: list[FeatureRow], out: Path) -> Figure:
    """Gain of the second (weak or rare) feature and of the strong one against n SNR^2, per
    scenario."""
    path = out / "fig_features.png"
    scenarios = list(dict.fromkeys(r.scenario for r in rows))
    with figure(path, 1, len(scenarios), figsize=(5.5 * len(scenarios), 4.5), squeeze=False) as (
        fig,
        axes,
    ):
        for ax, scenario in zip(axes[0], scenarios):
            table = [r for r in rows if r.scenario == scenario]
            x = [r.nsnr2 for r in table]
            for model in PAPER_PAIR:
                ax.plot(
                    x,
                    [r.gains[model.name].gain for r in table],
                    "o-",
                    color=model.look.color,
                    label=f"{model.name}: {scenario} feature",
                )
                ax.plot(
                    x,
                    [r.gains[model.name].strong_gain for r in table],
                    "s--",
                    mfc="none",
                    color=model.look.color,
                    label=f"{model.name}: strong feature",
                )
            ax.axhline(
                LEARNED_GAIN, color="k", lw=0.8, ls=":", label=f"learned: gain > {LEARNED_GAIN:g}"
            )
            spec = SCENARIOS[scenario]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("n·SNR² (of ||μ||, the strong feature)")
            ax.set_ylabel("alignment gain over initialisation")
            ax.set_title(
                f"{scenario}: strengths {spec['strengths']}, frequencies {spec['freqs']}",
                fontsize=9,
            )
            ax.legend(fontsize=6)
    return Figure(
        path.name,
        "; ".join(
            f"{r.scenario} n·SNR²={r.nsnr2:g}: second-feature gain {D} {r.gains[D].gain:.3g}, "
            f"{C} {r.gains[C].gain:.3g}"
            for r in rows
        ),
    )
