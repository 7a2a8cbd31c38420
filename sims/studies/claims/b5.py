"""B5, the project's: a linear probe on the diffusion model's learned features classifies samples
that carry only the weak or rare feature better than a probe on the classifier's features.

Read from the features study (sims.studies.features): each model's probe accuracy on the
weak/rare-only test set (sims.studies.probe: logistic regression with a bias on the features <w,
x^(p)>^2 of every filter w and both patches p, scaled by their root mean square on the training set,
with the penalty PROBE_L2 / 2 ||v||^2 on the mean logistic loss; fit on the training set, scored on
PROBE_TEST fresh samples of the training law and PROBE_TEST fresh samples whose signal patch is the
weak or rare feature). Figure: the probe accuracies against n·SNR².
"""

from __future__ import annotations

from pathlib import Path

from sims.models import PAPER_PAIR
from sims.studies import features
from sims.studies.claims.base import (
    IN_PART,
    OTHERWISE,
    PROJECT,
    Entry,
    Figure,
    Spec,
    span,
    tested,
    verdict as judge,
)
from sims.studies.features import FeatureRow
from sims.studies.figures import figure
from sims.studies.presets import SCENARIOS
from sims.studies.probe import PROBE_L2, PROBE_TEST
from sims.studies.synthetic import CLASSIFIER, DENOISER

PROBE_MARGIN = 0.05  # an out-of-distribution accuracy this much higher counts as better
TESTS = {"in_distribution": "training law", "ood": "only the weak/rare feature"}

SPEC = Spec(
    id="B5",
    claim="Downstream: a linear probe on the diffusion model's learned features classifies samples "
    "that "
    "carry only the weak or rare feature better than a probe on the classifier's features.",
    short="a linear probe: diffusion's features serve the weak/rare feature better",
    rule=(
        f"in each tested cell (scenario, n·SNR²), diffusion's probe is better if its accuracy on "
        f"the "
        f"weak/rare-only test set exceeds the classifier probe's by more than {PROBE_MARGIN:g}, "
        f"worse if "
        f"it falls short by more than {PROBE_MARGIN:g} (probe: L2 penalty {PROBE_L2:g}, "
        f"{PROBE_TEST} "
        f"test samples). Holds if better in more than half the cells and worse in none; "
        f"'{IN_PART}' if "
        f"better in at least one; {OTHERWISE}"
    ),
    origin=PROJECT,
)
STUDY = features.STUDY
D, C = DENOISER.name, CLASSIFIER.name


def judged(cells: list[dict]) -> Entry:
    """The rule on cells {"scenario", "nsnr2", "diffusion_ood", "classification_ood"} (probe
    accuracies on the weak/rare-only test set, and context such as the in-distribution ones)."""
    better = [c[f"{D}_ood"] - c[f"{C}_ood"] > PROBE_MARGIN for c in cells]
    worse = [c[f"{C}_ood"] - c[f"{D}_ood"] > PROBE_MARGIN for c in cells]
    return SPEC.entry(
        judge(2 * sum(better) > len(cells) and not any(worse), any(better)),
        {
            "diffusion_better": f"{sum(better)}/{len(cells)}",
            "diffusion_worse": f"{sum(worse)}/{len(cells)}",
            "per_cell": cells,
        },
    )


def verdict(rows: list[FeatureRow]) -> Entry:
    return judged([r.probe_dict() for r in rows])


def paragraph(e: dict) -> str:
    rows = e["measured"]["per_cell"]
    return (
        f"Over {tested(rows, 'scenario', 'nsnr2')}, the probe on the weak/rare-only test set "
        f"scores "
        f"{span(r[f'{D}_ood'] for r in rows)} on {D}'s features and "
        f"{span(r[f'{C}_ood'] for r in rows)} on the classifier's (training law: "
        f"{span(r[f'{D}_in_distribution'] for r in rows)} and "
        f"{span(r[f'{C}_in_distribution'] for r in rows)}). How differently the filters answer the "
        f"two classes' strong feature (0: every filter alike): "
        f"{span(r.get(f'{D}_response_asymmetry_strong') for r in rows)} for {D}, "
        f"{span(r.get(f'{C}_response_asymmetry_strong') for r in rows)} for the classifier."
    )


def figures(rows: list[FeatureRow], out: Path) -> list[Figure]:
    return [fig_probe(rows, out)]


def fig_probe(rows: list[FeatureRow], out: Path) -> Figure:
    """Probe accuracy against n SNR^2 per scenario: both models, both test sets."""
    path = out / "fig_probe.png"
    scenarios = sorted({r.scenario for r in rows}, key=list(SCENARIOS).index)
    style = {"in_distribution": "s--", "ood": "o-"}
    with figure(path, 1, len(scenarios), figsize=(5.5 * len(scenarios), 4.5), squeeze=False) as (
        fig,
        axes,
    ):
        for ax, scenario in zip(axes[0], scenarios):
            sel = [r for r in rows if r.scenario == scenario]
            x = [r.nsnr2 for r in sel]
            for model in PAPER_PAIR:
                for test, label in TESTS.items():
                    ax.plot(
                        x,
                        [getattr(r.probes[model.name], test) for r in sel],
                        style[test],
                        color=model.look.color,
                        mfc="none" if test == "in_distribution" else None,
                        label=f"{model.name}: {label}",
                    )
            ax.axhline(0.5, color="k", lw=0.5)
            ax.set_xscale("log")
            ax.set_ylim(0.4, 1.02)
            ax.set_xlabel("n·SNR² (of ||μ||, the strong feature)")
            ax.set_ylabel("linear probe test accuracy")
            ax.set_title(
                f"{scenario} feature: probe on ⟨w, x⁽ᵖ⁾⟩² (L2 {PROBE_L2:g})",
                fontsize=9,
            )
            ax.legend(fontsize=6)
    return Figure(
        path.name,
        "; ".join(
            f"{r.scenario} n·SNR²={r.nsnr2:g}: weak/rare-only accuracy {D} "
            f"{r.probes[D].ood:.3f}, {C} {r.probes[C].ood:.3f}"
            for r in rows
        ),
    )
