"""The layering rule: the core imports neither the theory nor matplotlib, and the model is dispatched in
one place."""

import subprocess
import sys
from pathlib import Path

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


def test_core_and_theory_do_not_compare_model_names():
    """`cfg.model == "..."` appears nowhere in the core or the theory: models answer through sims.models
    (the studies, which compare the two models by name, may name them)."""
    root = Path(__file__).resolve().parents[1]
    files = [root / (name.replace(".", "/") + ".py") for name in CORE[1:]] + sorted(
        (root / "theory").glob("*.py")
    )
    offenders = [
        f"{p.relative_to(root)}:{i}"
        for p in files
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if "model ==" in line or "model !=" in line
    ]
    assert offenders == []
