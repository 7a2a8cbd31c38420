"""Further studies of `fldm reproduce` beyond the paper's claims, each in a module of its own.

A section is an object with
    name                                  a short label (progress bar, report heading)
    cells(preset_name, seed)              {cell name: (kind, config)}: the sweep cells it needs for a preset
                                          ("tiny", "quick", "full"); an empty dict skips the section
    report(preset_name, results, out)     (entries, figures) from {cell name: cell result}: entries are
                                          claims in the report's form {"id", "claim", "rule", "verdict",
                                          "measured"} (rule fixed in advance), figures [(file name,
                                          one-line summary)] written into `out`
`reproduce` runs every section's cells on the same executor and cache as the paper's study and adds its
entries and figures to report.json and REPORT.md. To add a study: write its module and list it in SECTIONS.
"""

from __future__ import annotations

from pathlib import Path

from sims.studies import branchmap, correlated, d2robust, downstream, features, imbalance
from sims.studies.augment import AugmentSection
from sims.studies.objectives import ObjectivesSection
from sims.studies.sweep import Cache, run_cells

# beyond Definition 2.1 (issue 14): correlated signals, imbalance, weak and rare features, a linear probe;
# issue 13: the diffusion objectives and schedules, the noise-augmented classifier
SECTIONS: list = [
    correlated.SECTION,
    imbalance.SECTION,
    features.SECTION,
    downstream.SECTION,
    ObjectivesSection(),
    AugmentSection(),
    # issue 10: D2 under other readings of the paper (R1), the stationary branches over m x n·SNR² (R2)
    d2robust.SECTION,
    branchmap.SECTION,
]


def run_sections(
    preset_name: str,
    seed: int,
    cache: Cache,
    out: Path,
    *,
    executor=None,
    jobs: int = 1,
    progress: bool = True,
    sections=None,
    log=print,
) -> tuple[list[dict], list[tuple[str, str]]]:
    """Every section's entries and figures, in the order of `sections` (default SECTIONS)."""
    entries, figures = [], []
    for section in SECTIONS if sections is None else sections:
        cells = section.cells(preset_name, seed)
        if not cells:
            continue
        names = list(cells)
        results = run_cells(
            [cells[k] for k in names],
            cache,
            executor=executor,
            jobs=jobs,
            progress=progress,
            label=section.name,
        )
        new_entries, new_figures = section.report(preset_name, dict(zip(names, results)), Path(out))
        entries += new_entries
        figures += new_figures
        for name, summary in new_figures:
            log(f"{name}: {summary}")
    return entries, figures
