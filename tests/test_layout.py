"""The layering rule: the core imports neither the theory nor matplotlib, and a model is dispatched
in one place (sims.models), never by comparing its name."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sims.models import MODELS

CORE = (
    "sims",
    "sims.config",
    "sims.data",
    "sims.diffusion",
    "sims.classification",
    "sims.models",
    "sims.span",
    "sims.descent",
    "sims.stepsize",
    "sims.train",
    "sims.io",
)


def test_core_imports_neither_theory_nor_matplotlib():
    code = (
        f"import sys\nfor name in {CORE!r}:\n    __import__(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('theory', 'matplotlib'))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == ""


# a comparison with a model's name: `model == ...`, `... != cfg.model`, `x["model"] == ...`,
# `.model in (...)`, or with a quoted model name; the heads of for-loops are not comparisons
NAMES = "|".join(sorted(MODELS))
COMPARISONS = [
    re.compile(r"\bmodel(\.name)?\s*(==|!=|(\bnot\s+)?\bin\s*[(\[{A-Z])"),
    re.compile(r"(==|!=)\s*(\w+\.)*model(\.name)?\b(?![\"'(])"),
    re.compile(r"[\"']model[\"']\]\s*(==|!=)"),
    re.compile(rf"(==|!=|\bin\b)\s*[(\[{{]?\s*[\"']({NAMES})[\"']"),
    re.compile(rf"[\"']({NAMES})[\"']\s*(==|!=)"),
]
FOR_HEAD = re.compile(r"\bfor\s+[\w\s,()]+?\s+in\b")
# a user's two names held to each other (e.g. a file's against a command's)
ALLOWED = "# names, not dispatch"


def compares_a_name(line: str) -> bool:
    code = FOR_HEAD.sub("", line)
    return ALLOWED not in line and any(c.search(code) for c in COMPARISONS)


def test_no_model_name_is_compared_outside_the_registry():
    """No module of sims/ or theory/ (studies included) decides anything by a model's name: models
    answer through sims.models, whose registry is the one place that maps names to models."""
    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "sims").rglob("*.py")) + sorted((root / "theory").rglob("*.py"))
    files = [p for p in files if p != root / "sims" / "models.py"]
    assert len(files) > 40
    offenders = [
        f"{p.relative_to(root)}:{i}: {line.strip()}"
        for p in files
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if compares_a_name(line)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "line",
    [
        'if cfg.model == "diffusion":',
        "if model != other:",
        'keys += ["x"] if model == "classification" else []',
        'sel = [r for r in runs if r["model"] == model]',
        'if "classification" == name:',
        'kinds = {"diffusion", "classification"} if m in ("diffusion", "x") else 0',
        "if c.model in ONLY:",
    ],
)
def test_the_scan_finds_a_comparison(line):
    assert compares_a_name(line), line


@pytest.mark.parametrize(
    "line",
    [
        'cfg.replace(model="diffusion")',
        'models.get("diffusion").objective(cfg)',
        "for model in PAPER_PAIR:",
        "for ax, model in zip(axes, PAPER_PAIR):",
        "model = models.get(cfg.model)",
        "return [r for r in rows if r.nsnr2 == nsnr2]",
        'why = None if name == "model" else inapplicable(name, model, command, settings)',
        "the paper's study uses a larger model in its full preset",
    ],
)
def test_the_scan_passes_what_is_not_a_comparison(line):
    assert not compares_a_name(line), line
