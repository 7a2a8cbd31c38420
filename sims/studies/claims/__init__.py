"""Every claim the report judges, one module each, in report order (`CLAIMS`); `verdict_table`
writes the README's one-line-per-claim table from a report.json:

    python -m sims.studies.claims figures/report.json

D1, D2, C1, E1 (the paper's synthetic study) and E2 (Noisy-MNIST) are the paper's claims; B1-B5
(beyond Definition 2.1), O1, O2, A1 (other objectives, a noise-augmented classifier), R1, R2 (D2
under other readings, the stationary branches), U1, U2 (untying the denoiser's layers, fixing its
output layer) and M1a-M1c, M2 (when a denoiser memorises, and the best diffusion time for its
features, after three recent papers) are the project's own questions. What a claim module defines,
and how to add one: sims.studies.claims.base.
"""

from __future__ import annotations

from sims.studies.claims import (
    a1,
    b1,
    b2,
    b3,
    b4,
    b5,
    c1,
    d1,
    d2,
    e1,
    e2,
    m1a,
    m1b,
    m1c,
    m2,
    o1,
    o2,
    r1,
    r2,
    u1,
    u2,
)
from sims.studies.claims.base import PAPER

CLAIMS = (d1, d2, c1, e1, e2, b1, b2, b3, b4, b5, o1, o2, a1, r1, r2, u1, u2, m1a, m1b, m1c, m2)
REPORT_LINK = "figures/REPORT.md"  # where the table's links point (the README's path to the report)


def anchor(claim_id: str) -> str:
    """The id of a claim's section in REPORT.md (its heading carries it as an HTML anchor)."""
    return claim_id.lower()


def verdict_table(report: dict, link: str = REPORT_LINK) -> str:
    """One markdown line per claim of the report: its id (linked to its REPORT.md section), the
    claim in a few words, whose question it is, its verdict, and where it holds (its domain in a
    few words, for a claim whose domain was mapped; else "not mapped")."""
    lines = [
        "| claim | in a few words | question | verdict | where (domain) |",
        "|---|---|---|---|---|",
    ]
    for e in report["claims"]:
        whose = "the paper's" if e["origin"] == PAPER else "the project's"
        where = e["domain"]["short"] if e.get("domain") else "not mapped"
        lines.append(
            f"| [{e['id']}]({link}#{anchor(e['id'])}) | {e['short']} | {whose} | {e['verdict']} "
            f"| {where} |"
        )
    return "\n".join(lines)
