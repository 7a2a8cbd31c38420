"""The claim registry (sims.studies.claims): every claim module is listed once, in report order, and
each answers the claim interface (sims.studies.claims.base); its rule states its thresholds; the
verdict table has one line per claim of a report, linked to its REPORT.md section."""

import ast
from pathlib import Path

import pytest

import sims.studies.claims as registry
from sims.studies.cells import Study
from sims.studies.claims import CLAIMS, verdict_table
from sims.studies.claims.base import IN_PART, PAPER, PROJECT, VERDICTS, Entry, Spec

IDS = [claim.SPEC.id for claim in CLAIMS]


def test_every_claim_module_is_registered_once():
    folder = Path(registry.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "__main__", "base"}
    assert sorted(m.__name__.rsplit(".", 1)[1] for m in CLAIMS) == sorted(modules)
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("claim", CLAIMS, ids=IDS)
def test_claim_module_answers_the_interface(claim):
    assert isinstance(claim.SPEC, Spec) and isinstance(claim.STUDY, Study)
    assert claim.SPEC.id.lower() == claim.__name__.rsplit(".", 1)[1]
    assert claim.SPEC.origin in (PAPER, PROJECT)
    assert claim.SPEC.claim and claim.SPEC.short and len(claim.SPEC.short) < 90
    for name in ("verdict", "figures", "paragraph"):
        assert callable(getattr(claim, name)), name


def own_constants(claim) -> dict:
    """The upper-case names the claim's module assigns itself (at top level), with their values."""
    tree = ast.parse(Path(claim.__file__).read_text())
    names = [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id.isupper()
    ]
    return {name: getattr(claim, name) for name in names}


@pytest.mark.parametrize("claim", CLAIMS, ids=IDS)
def test_rule_states_every_threshold_of_its_module(claim):
    """Each number the module defines (a threshold: an upper-case constant) is printed in its
    rule."""
    rule = claim.SPEC.rule
    assert f"'{IN_PART}'" in rule
    for name, value in own_constants(claim).items():
        numbers = value if isinstance(value, tuple) else (value,)
        if not all(isinstance(v, float) for v in numbers):
            continue
        for v in numbers:
            assert f"{v:g}" in rule or f"{v:.0%}" in rule, (name, v)


def test_paper_claims_come_first():
    origins = [claim.SPEC.origin for claim in CLAIMS]
    assert origins == sorted(origins, key=[PAPER, PROJECT].index)
    assert IDS[:5] == ["D1", "D2", "C1", "E1", "E2"]


def test_verdict_table_has_a_linked_line_per_claim():
    report = {
        "claims": [
            {
                "id": c.SPEC.id,
                "verdict": VERDICTS[i % 3],
                "short": c.SPEC.short,
                "origin": c.SPEC.origin,
            }
            for i, c in enumerate(CLAIMS)
        ]
    }
    table = verdict_table(report).splitlines()
    assert len(table) == 2 + len(IDS)
    for line, claim in zip(table[2:], CLAIMS):
        cid = claim.SPEC.id
        whose = "the paper's" if claim.SPEC.origin == PAPER else "the project's"
        assert line.startswith(
            f"| [{cid}](figures/REPORT.md#{cid.lower()}) | {claim.SPEC.short} | {whose} |"
        )
    assert verdict_table(report, link="").splitlines()[2].startswith("| [D1](#d1) |")


def test_entry_carries_its_origin_and_an_unmapped_domain():
    entry = CLAIMS[0].SPEC.entry(VERDICTS[0], {"x": 1.0}, note="[note] ")
    assert isinstance(entry, Entry) and entry.domain is None and entry.origin == PAPER
    assert entry.claim.startswith("[note] ") and entry.id == IDS[0]
    with pytest.raises(AssertionError):
        CLAIMS[0].SPEC.entry("maybe", {})
