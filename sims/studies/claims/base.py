"""What every claim module is made of: its statement (`Spec`), the study whose cells it reads
(sims.studies.cells.Study), its verdict as a typed record (`Entry`), and the thresholds several
rules share.

A claim module (one per claim, listed in report order in `sims.studies.claims.CLAIMS`) defines

    SPEC                      Spec: id, the claim, a few words for the verdict table, the rule
                              (formatted from the module's named thresholds), and whether the
                              claim is the paper's or the project's own question
    STUDY                     Study: the cells it needs for a preset, and `measure`, which computes
                              the study's numbers once from the finished cells (claims that share a
                              study share its cells and its numbers)
    verdict(measures) -> Entry
                              the rule applied to the study's numbers (`SPEC.entry(verdict,
                              measured)`)
    figures(measures, out)    [Figure]: its figures written into `out`, each with a one-line summary
    paragraph(entry) -> str   its result in a few sentences, from the entry as report.json holds it

To add a claim: write its module (a new study too if no study has its cells) and list it in CLAIMS.
A verdict is "holds", "holds in part" or "does not hold in the tested range" (`verdict`).

Where a verdict holds. A claim module may also define

    DOMAIN                        DomainMap: the study that maps where the claim holds, `judge`
                                  (its numbers -> the Entry's `domain`, a `domain_record`) and
                                  `figures` (its numbers, out -> [Figure])

and `fldm reproduce` runs that study too and fills the entry's `domain`: the groups that decide the
claim, the regions of their plane with each one's bounds and verdict, and the same in words
("holds where ...; does not hold where ..."), which the verdict table and REPORT.md print beside
the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

HOLDS, IN_PART, DOES_NOT = "holds", "holds in part", "does not hold in the tested range"
VERDICTS = (HOLDS, IN_PART, DOES_NOT)
PAPER, PROJECT = "paper", "project"  # whose question a claim is: the paper's, or the project's own

# thresholds that several rules share
LEARNED_GAIN = (
    2.0  # a feature counts as learned once its alignment has grown more than this many times
)
BOTH_LEARNED_RATIO = (
    0.1,
    10.0,
)  # "both features learned": final signal / noise strictly between these
RATE_FACTOR = (
    2.0  # a measured growth-phase ratio within this factor of the predicted initial rate ratio
)
THETA_SLOPE = (0.7, 1.3)  # log-log slope of a ratio against n·SNR² read as Θ(n·SNR²)
PART_SLOPE = (0.2, 2.0)  # ... read as growing with n·SNR², but not linearly (outside THETA_SLOPE)
AGREEMENT = 0.8  # a share of settings where a prediction (or a winner) must agree

OTHERWISE = f"otherwise '{DOES_NOT}'."
BOTH_RATIO = f"ratio between {BOTH_LEARNED_RATIO[0]:g} and {BOTH_LEARNED_RATIO[1]:g}"


def verdict(holds: bool, in_part: bool) -> str:
    """HOLDS if `holds`, else IN_PART if `in_part`, else DOES_NOT."""
    return HOLDS if holds else IN_PART if in_part else DOES_NOT


def learned(gain: float) -> bool:
    """A feature is learned when its gain over initialisation exceeds LEARNED_GAIN (nan: not
    learned)."""
    return bool(gain > LEARNED_GAIN)


def between(value: float, bounds: tuple) -> bool:
    return bounds[0] <= value <= bounds[1]


def outcome(point) -> str:
    """Which features a point (signal_gain, noise_gain) has learned: "both", "signal", "noise",
    "neither"."""
    s, z = learned(point.signal_gain), learned(point.noise_gain)
    return "both" if s and z else "signal" if s else "noise" if z else "neither"


def both_learned(point) -> bool:
    """Both features learned, with the ratio in BOTH_LEARNED_RATIO."""
    return outcome(point) == "both" and BOTH_LEARNED_RATIO[0] < point.ratio < BOTH_LEARNED_RATIO[1]


@dataclass(frozen=True)
class Entry:
    """A claim's verdict as report.json holds it: the claim (in full, and `short` in a few words)
    and its rule, the verdict and the numbers the rule read (and a few more for context); `domain`
    is where the verdict holds (None: not mapped), and `origin` whether the claim is the paper's
    (PAPER) or the project's own question (PROJECT)."""

    id: str
    claim: str
    short: str
    rule: str
    verdict: str
    measured: dict
    origin: str
    domain: dict | None = None


@dataclass(frozen=True)
class Spec:
    """A claim's statement: `claim` in full, `short` in a few words (the verdict table), and its
    `rule`."""

    id: str
    claim: str
    short: str
    rule: str
    origin: str

    def entry(self, verdict: str, measured: dict, note: str = "") -> Entry:
        """The claim's Entry; `note` is put before the claim (e.g. a preset that runs a small
        slice)."""
        assert verdict in VERDICTS, verdict
        return Entry(
            self.id, note + self.claim, self.short, self.rule, verdict, measured, self.origin
        )


class Figure(NamedTuple):
    """A figure a claim wrote: its file name (in the output folder) and a one-line summary."""

    name: str
    summary: str


class DomainMap(NamedTuple):
    """Where a claim holds (module docstring): the study mapping it, the rule that reads its
    numbers into a `domain_record`, and its figures."""

    study: Any  # sims.studies.cells.Study
    judge: Callable[[Any], dict]
    figures: Callable[[Any, Any], list]


class Region(NamedTuple):
    """A region of a claim's domain: the verdict there and its bounds, {group: (lo, hi)} with None
    for an open end."""

    verdict: str
    bounds: dict


def reach(values, ok) -> float | None:
    """The last of the ordered `values` up to which ok(v) holds for every value (None if it fails
    at the first): how far a region extends along a grid."""
    last = None
    for v in values:
        if not ok(v):
            break
        last = v
    return last


def bounds_words(bounds: dict) -> str:
    """'Λ <= 0.1 and 0.01 <= I0 <= 1' for {"Λ": (None, 0.1), "I0": (0.01, 1)} ('m = 4' for
    (4, 4))."""
    parts = []
    for name, (lo, hi) in bounds.items():
        if lo is not None and lo == hi:
            parts.append(f"{name} = {g(lo)}")
        elif lo is not None and hi is not None:
            parts.append(f"{g(lo)} ≤ {name} ≤ {g(hi)}")
        elif hi is not None:
            parts.append(f"{name} ≤ {g(hi)}")
        elif lo is not None:
            parts.append(f"{name} ≥ {g(lo)}")
    return " and ".join(parts) or "everywhere mapped"


def domain_record(
    study: str,
    groups: dict,
    regions: list[Region],
    rule: str,
    measured: dict,
    note: str = "",
    short: str = "",
) -> dict:
    """A claim's domain as report.json holds it: the groups (name -> definition), the regions, the
    rule that drew them, the numbers it read, and the regions in words: `text` ("holds where ...;
    does not hold where ...") and `short` (a few words, for the verdict table). `note` (a preset
    that runs a slice of the map) goes before the text, and `short` then says "slice only";
    `short` replaces the one made from the regions where those are too many for a few words."""
    by = {v: [bounds_words(r.bounds) for r in regions if r.verdict == v] for v in VERDICTS}
    text = "; ".join(
        f"{'does not hold' if v == DOES_NOT else v} where {' or where '.join(w)}"
        for v, w in by.items()
        if w
    )
    short = short or "; ".join(
        f"{'not' if v == DOES_NOT else 'in part' if v == IN_PART else 'holds'}: {' or '.join(w)}"
        for v, w in by.items()
        if w
    )
    return {
        "study": study,
        "groups": groups,
        "regions": [
            {"verdict": r.verdict, "bounds": {k: list(b) for k, b in r.bounds.items()}}
            for r in regions
        ],
        "text": note + (text or "not decided by the map"),
        "short": ("slice only: " if note else "") + (short or "not decided by the map"),
        "rule": rule,
        "measured": measured,
    }


def described_record(study: str, dom: dict, note: str = "") -> dict:
    """A domain described region by region (`dom`: a headline, the groups, what it was measured
    over, and regions {where, verdict, cells, bounds: {group: values}} with a verdict of VERDICTS)
    as a domain record (`domain_record`): each region's bounds are its values' range, its text the
    headline, and `measured` keeps the headline, the settings and each region's name and cells.
    `note`: as for `domain_record` (a preset that runs a slice: "slice only")."""
    regions = [
        Region(r["verdict"], {k: (min(v), max(v)) for k, v in r["bounds"].items() if v})
        for r in dom["regions"]
    ]
    measured = {
        "headline": dom["headline"],
        "measured_over": dom["measured_over"],
        "regions": [
            {"where": r["where"], "verdict": r["verdict"], "cells": r["cells"]}
            for r in dom["regions"]
        ],
    }
    record = domain_record(
        study,
        dom["groups"],
        regions,
        "the verdict's own rule, read region by region",
        measured,
        short=dom["headline"],
        note=note,
    )
    return {**record, "text": note + dom["headline"]}


def slice_note(preset_name: str, what: str) -> str:
    """The prefix of an entry whose preset runs only a slice of its study ('' for the full
    preset): what the slice holds (`what`), and that the study is the full preset's."""
    if preset_name == "full":
        return ""
    return (
        f"[{preset_name} preset: a small slice ({what}) to exercise the code; the study is the "
        f"full preset's] "
    )


# --------------------------------------------------------------------- paragraphs' number formats
def g(v) -> str:
    """A number to 3 significant digits; "n/a" for None or nan."""
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.3g}"


def largest(values) -> str:
    """The largest of values that are numbers or bound classes ("< 1e-9", sims.io.resolved): the
    largest number (g) if there is one, else the largest bound; "n/a" if there are none."""
    values = [v for v in values if v is not None]
    numbers = [v for v in values if not isinstance(v, str)]
    if numbers:
        return g(max(numbers))
    return max(values, key=lambda b: float(b.lstrip("< "))) if values else "n/a"


def span(values) -> str:
    """'lo to hi' of the finite values (one value if they print alike; "n/a" if none)."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return "n/a"
    lo, hi = min(values), max(values)
    return g(lo) if g(lo) == g(hi) else f"{g(lo)} to {g(hi)}"


def tested(rows, *keys) -> str:
    """'C = 0.5, 0.9 and n·SNR² = 0.75': the tested values of each key of the rows."""
    names = {"C": "C", "P": "P", "nsnr2": "n·SNR²", "scenario": "scenario"}

    def order(v):
        return (1, v, 0) if isinstance(v, str) else (0, "", v)

    parts = []
    for k in keys:
        values = sorted({r[k] for r in rows}, key=order)
        parts.append(f"{names[k]} = {', '.join(v if isinstance(v, str) else g(v) for v in values)}")
    return " and ".join(parts)
