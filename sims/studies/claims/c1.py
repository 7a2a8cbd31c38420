"""C1, the paper's: classification grows exponentially, and a phase transition in n·SNR² decides the
winner (large: the signal is learned, small test error; small: the noise is memorised, high test
error).

Read from the synthetic study (sims.studies.synthetic): the classifier's final ratio and test error
at both ends of the n·SNR² sweep (relative to its predicted boundary), the predicted winner's
agreement with simulation over the (n, SNR) grid, and the linearity index of both models. Figure
(d), the phase diagram.

Where it holds (`DOMAIN`, the boundary map sims.studies.boundarymap). Derived in theory.early: the
predicted boundary depends on the setting only through the initial-alignment group Z = sigma0
sigma_xi sqrt(d) (with n and m): x = 2 + log(n / x) / Lf, Lf = log(sqrt(m) / (kappa'_m Z)), which
moves from 2 (Z -> 0) towards n as Z nears sqrt(m) / kappa'_m and does not exist beyond. The
classifier's flow itself depends on sigma0, sigma_xi and d only through Z (every alignment is Z
times a number of order one, and a common scale of the data only rescales time; tested). The
domain rule (`DOMAIN_RULE`) and the map's design (presets.BoundaryGrid's full grid: n = 20, d =
2000, m = 4; Z from 1e-5 to 3 through sigma0 at sigma_xi = 1, and 1e-3, 0.3, 1 through sigma_xi at
sigma0 = 0.01; n·SNR² from 0.1 to 100, 10 values; steps_for with base 2000 and factor at most 4)
were fixed and committed before any cell of the map was run. Seen before: the quick and full
reports at sigma0 = 0.01, sigma_xi = 1 (Z = 0.447 and 0.707: the predicted winner right in 23 of 24
and 45 of 45 cells, boundaries 3.55 and 3.99), and two timing runs at n = 20, d = 2000, m = 4,
n·SNR² = 0.75, seed 3: Z = 0.447 (ratio 0.064, test error 0.398) and Z = 4.5e-4 (ratio 0.00092,
test error 0.486), both won by the noise (predicted boundaries 3.55 and 2.27).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import LogNorm, Normalize

from sims.studies import boundarymap, synthetic
from sims.studies.claims.base import (
    AGREEMENT,
    DOES_NOT,
    HOLDS,
    IN_PART,
    OTHERWISE,
    PAPER,
    DomainMap,
    Entry,
    Figure,
    Region,
    Spec,
    domain_record,
    g,
    reach,
    verdict as judge,
)
from sims.studies.figures import figure, text_colour
from sims.studies.measures import WINNER_RATIO
from sims.studies.synthetic import CLASSIFIER, DENOISER, RatioRow, Synthetic
from theory import early

EXPONENTIAL_INDEX = 2.0  # linearity index above this: exponential growth
END_FACTOR = (
    4.0  # the ends of the sweep: n SNR^2 >= this x the predicted boundary, <= boundary / this
)
HIGH_TEST_ERROR = 0.1  # the signal wins with a test error below this
LOW_TEST_ERROR = 0.25  # the noise wins with a test error above this

SPEC = Spec(
    id="C1",
    claim="Classification: exponential growth and a phase transition in n·SNR² (large: signal "
    "learned, "
    "small test error; small: noise memorised, high test error).",
    short="classification: exponential growth, a phase transition in n·SNR²",
    rule=(
        f"holds if classification's early growth is exponential (linearity index > "
        f"{EXPONENTIAL_INDEX:g} and larger than diffusion's), the signal wins (ratio > "
        f"{WINNER_RATIO:g}, "
        f"test error < {HIGH_TEST_ERROR:g}) at every n·SNR² >= {END_FACTOR:g} x the predicted "
        f"boundary, "
        f"noise wins (ratio < {WINNER_RATIO:g}, test error > {LOW_TEST_ERROR:g}) at every n·SNR² "
        f"<= "
        f"boundary / {END_FACTOR:g}, and the predicted winner agrees with simulation in >= "
        f"{AGREEMENT:.0%} of the phase-diagram cells; '{IN_PART}' if the two ends are right but "
        f"another "
        f"condition fails; {OTHERWISE}"
    ),
    origin=PAPER,
)
STUDY = synthetic.STUDY


def judged(rows: list[RatioRow], agreement: dict, linearity: dict) -> Entry:
    """The rule on the classifier's rows of the ratio table, the phase diagram's agreement {"agree",
    "cells"} and each model's linearity index (model name -> Linearity)."""
    b = rows[0].predicted.boundary_nsnr2
    high = [r for r in rows if b is not None and r.nsnr2 >= END_FACTOR * b]
    low = [r for r in rows if b is not None and r.nsnr2 <= b / END_FACTOR]
    ends = (
        bool(high)
        and bool(low)
        and all(r.final_ratio > WINNER_RATIO and r.test_error < HIGH_TEST_ERROR for r in high)
        and all(r.final_ratio < WINNER_RATIO and r.test_error > LOW_TEST_ERROR for r in low)
    )
    agree_ok = agreement["cells"] > 0 and agreement["agree"] >= AGREEMENT * agreement["cells"]
    lin_d, lin_c = linearity[DENOISER.name].index, linearity[CLASSIFIER.name].index
    expo = lin_c > EXPONENTIAL_INDEX and lin_c > lin_d
    return SPEC.entry(
        judge(ends and agree_ok and expo, ends),
        {
            "predicted_boundary_nsnr2": b,
            "linearity_index": linearity[CLASSIFIER.name],
            "phase_agreement": agreement,
            "per_nsnr2": [
                {
                    "nsnr2": r.nsnr2,
                    "final_ratio": r.final_ratio,
                    "test_error": r.test_error,
                    "predicted_winner": r.predicted.winner,
                }
                for r in rows
            ],
        },
    )


def verdict(s: Synthetic) -> Entry:
    return judged(s.rows[CLASSIFIER.name], s.agreement, s.linearity)


def paragraph(e: dict) -> str:
    m = e["measured"]
    agree = m["phase_agreement"]
    return (
        f"Classification's early growth has linearity index {g(m['linearity_index']['index'])} "
        f"(exponential above {EXPONENTIAL_INDEX:g}); its predicted boundary is n·SNR² = "
        f"{g(m['predicted_boundary_nsnr2'])}, and the predicted winner is right in "
        f"{agree['agree']} of "
        f"{agree['cells']} cells of the (n, SNR) grid."
    )


def figures(s: Synthetic, out: Path) -> list[Figure]:
    return [fig_phase(s, out)]


def fig_phase(s: Synthetic, out: Path) -> Figure:
    """(d) phase diagram over (n, SNR): classification ratio and test error, diffusion ratio. Both
    ratio panels share one logarithmic colour scale, centred on 1 and labelled in ratios (the
    numbers in the cells)."""
    path = out / "fig_phase.png"
    p, table = s.preset, s.phase
    ns, snrs = np.array(p.phase_n), np.array(p.phase_snr)
    b = np.array([np.nan if v is None else v for v in table.boundary_nsnr2], dtype=float)
    ratios = [table.ratio[m.name] for m in synthetic.PAPER_PAIR]
    finite = np.concatenate([r[np.isfinite(r) & (r > 0)] for r in ratios])
    lim = float(np.max(np.abs(np.log10(finite)))) if finite.size else 1.0
    lim = max(lim, 1e-3)
    ratio_norm = LogNorm(vmin=10.0**-lim, vmax=10.0**lim)
    panels = [
        (
            ratios[1],
            "classification: signal/noise",
            "RdBu_r",
            ratio_norm,
            "signal / noise (log colour scale)",
        ),
        (
            table.test_error[CLASSIFIER.name],
            "classification: test error",
            "viridis",
            Normalize(0.0, 0.5),
            "test error",
        ),
        (
            ratios[0],
            "diffusion: signal/noise (same colour scale as the left panel)",
            "RdBu_r",
            ratio_norm,
            "signal / noise (log colour scale)",
        ),
    ]
    with figure(path, 1, 3, figsize=(15, 4.8)) as (fig, axes):
        for ax, (vals, title, cmap, norm, unit) in zip(axes, panels):
            shown = (
                np.where(np.isfinite(vals) & (vals > 0), vals, np.nan)
                if isinstance(norm, LogNorm)
                else vals
            )
            im = ax.pcolormesh(
                np.arange(len(ns) + 1),
                np.arange(len(snrs) + 1),
                np.ma.masked_invalid(shown),
                cmap=cmap,
                norm=norm,
                shading="flat",
            )
            fig.colorbar(im, ax=ax, label=unit)
            for i in range(len(snrs)):
                for j in range(len(ns)):
                    if np.isfinite(vals[i, j]):
                        colour = text_colour(colormaps[cmap](norm(vals[i, j])))
                        ax.text(
                            j + 0.5,
                            i + 0.5,
                            f"{vals[i, j]:.2g}",
                            ha="center",
                            va="center",
                            fontsize=8,
                            color=colour,
                        )
            # predicted boundary SNR = sqrt(b(n) / n), drawn in grid coordinates (log-spaced SNR
            # axis)
            snr_b = np.sqrt(b / ns)
            yb = np.interp(np.log(snr_b), np.log(snrs), np.arange(len(snrs))) + 0.5
            ax.plot(np.arange(len(ns)) + 0.5, yb, "--", color="gold", lw=2.5)
            ax.plot(
                np.arange(len(ns)) + 0.5,
                yb,
                "k--",
                lw=1.2,
                label="predicted classification boundary",
            )
            ax.set_xticks(np.arange(len(ns)) + 0.5, [str(v) for v in ns])
            ax.set_yticks(np.arange(len(snrs)) + 0.5, [f"{v:.3g}" for v in snrs])
            ax.set_xlabel("n (training samples)")
            ax.set_ylabel("SNR (log-spaced)")
            ax.set_title(title, fontsize=9)
            ax.legend(fontsize=6, loc="upper left")
    agree = s.agreement
    return Figure(
        path.name,
        f"predicted winner agrees with simulation in {agree['agree']}/{agree['cells']} "
        "classification cells",
    )


# ----------------------------------------------------------------------------- where C1 holds
DOMAIN_FIGURE = "fig_c1_domain.png"
GROUPS = {
    "Z": "σ₀ σ_ξ √d: every initial alignment of the classifier is Z times a number of order one; "
    "the predicted boundary depends on the setting only through Z, n and m (theory.early)",
}
DOMAIN_RULE = (
    f"each column of the boundary map (a route to Z and its value) is judged by C1's own rule on "
    f"its n·SNR² sweep against the predicted boundary b(Z) (theory.early.boundary_of): '{HOLDS}' "
    f"if the signal wins (ratio > {WINNER_RATIO:g}, test error < {HIGH_TEST_ERROR:g}) at every "
    f"n·SNR² >= {END_FACTOR:g} b and the noise (ratio < {WINNER_RATIO:g}, test error > "
    f"{LOW_TEST_ERROR:g}) at every n·SNR² <= b / {END_FACTOR:g} (both ends in the sweep), the "
    f"predicted winner is the simulated one in >= {AGREEMENT:.0%} of its cells, and the early "
    f"growth's linearity index is > {EXPONENTIAL_INDEX:g}; '{IN_PART}' if the two ends are right "
    f"but another condition fails; where there is no predicted boundary, '{IN_PART}' if the "
    f"sweep's lowest n·SNR² is won by the noise and its highest by the signal (with those test "
    f"errors), else '{DOES_NOT}'; otherwise '{DOES_NOT}'. Regions in Z, both routes together: "
    f"'{HOLDS}' up to the largest Z below which every column holds, '{DOES_NOT}' from the "
    f"smallest Z above which every column does not, '{IN_PART}' between. The routes agree at a Z "
    f"they share if their simulated transitions (the largest n·SNR² won by the noise, the smallest "
    f"won by the signal) do not contradict each other."
)


def column_verdict(col) -> str:
    """The domain rule on one column (boundarymap.Column)."""
    rows = [r for r in col.rows if np.isfinite(r.ratio)]
    if not np.isfinite(col.boundary):
        if not rows:
            return DOES_NOT
        lo, hi = rows[0], rows[-1]
        transition = (
            lo.ratio < WINNER_RATIO
            and lo.test_error > LOW_TEST_ERROR
            and hi.ratio > WINNER_RATIO
            and hi.test_error < HIGH_TEST_ERROR
        )
        return IN_PART if transition else DOES_NOT
    b = col.boundary
    high = [r for r in col.rows if r.nsnr2 >= END_FACTOR * b]
    low = [r for r in col.rows if r.nsnr2 <= b / END_FACTOR]
    ends = (
        bool(high)
        and bool(low)
        and all(r.ratio > WINNER_RATIO and r.test_error < HIGH_TEST_ERROR for r in high)
        and all(r.ratio < WINNER_RATIO and r.test_error > LOW_TEST_ERROR for r in low)
    )
    agree = sum((r.ratio > WINNER_RATIO) == (r.predicted_winner == "signal") for r in rows)
    agree_ok = bool(rows) and agree >= AGREEMENT * len(rows)
    expo = col.linearity_index > EXPONENTIAL_INDEX
    return judge(ends and agree_ok and expo, ends)


def routes_agree(a, b) -> bool:
    """Two columns' simulated transitions do not contradict each other: neither's noise-won
    n·SNR² reaches the other's signal-won one."""
    (lo_a, hi_a), (lo_b, hi_b) = a.transition, b.transition
    return all(lo is None or hi is None or lo < hi for lo, hi in ((lo_a, hi_b), (lo_b, hi_a)))


def domain_judged(columns: list, m: int, note: str = "") -> dict:
    """The domain rule on the boundary map's columns (boundarymap.Column)."""
    verdicts = [(col.z, column_verdict(col)) for col in columns]
    zs = sorted({z for z, _ in verdicts})

    def every(pick, want):
        chosen = [v for z, v in verdicts if pick(z)]
        return bool(chosen) and all(want(v) for v in chosen)

    z_hold = reach(zs, lambda z: every(lambda x: x <= z, lambda v: v == HOLDS))
    z_fail = reach(zs[::-1], lambda z: every(lambda x: x >= z, lambda v: v == DOES_NOT))
    regions = []
    if z_hold is not None:
        regions.append(Region(HOLDS, {"Z": (None, z_hold)}))
    between = [z for z in zs if (z_hold is None or z > z_hold) and (z_fail is None or z < z_fail)]
    if between:
        regions.append(Region(IN_PART, {"Z": (between[0], between[-1])}))
    if z_fail is not None:
        regions.append(Region(DOES_NOT, {"Z": (z_fail, None)}))
    by_z: dict = {}
    for col in columns:
        by_z.setdefault(col.z, []).append(col)
    shared = {z: cols for z, cols in by_z.items() if len({c.via for c in cols}) > 1}
    measured = {
        "bounds": {"Z_hold": z_hold, "Z_fail": z_fail},
        "no_boundary_from_Z": math.sqrt(m) / early.expected_max_abs_normal(m),
        "routes_agree": {
            f"{z:g}": all(routes_agree(a, b) for a in cols for b in cols)
            for z, cols in shared.items()
        },
        "columns": [
            {
                "via": col.via,
                "Z": col.z,
                "sigma0": col.sigma0,
                "sigma_xi": col.sigma_xi,
                "predicted_boundary": col.boundary,
                "transition": list(col.transition),
                "linearity_index": col.linearity_index,
                "verdict": v,
                "rows": [r._asdict() for r in col.rows],
            }
            for col, (_, v) in zip(columns, verdicts)
        ],
    }
    return domain_record(boundarymap.STUDY.name, GROUPS, regions, DOMAIN_RULE, measured, note)


def domain(bm) -> dict:
    note = (
        ""
        if bm.preset_name == "full"
        else f"[{bm.preset_name} preset: {len(bm.columns)} columns of {len(bm.grid.nsnr2)} cells "
        f"of the boundary map, to exercise its code; the map is the full preset's] "
    )
    return domain_judged(bm.columns, bm.grid.m, note)


def domain_figures(bm, out: Path) -> list[Figure]:
    """Left: the (Z, n·SNR²) plane, each cell's simulated winner (markers; filled where its test
    error meets the rule's side) and the predicted boundary b(Z) with its END_FACTOR bands (lines).
    Right: each column's simulated transition (bars) against b(Z) (line), and its verdict."""
    path = Path(out) / DOMAIN_FIGURE
    record = domain(bm)
    grid = bm.grid
    zline = np.geomspace(min(c.z for c in bm.columns) / 3, max(c.z for c in bm.columns) * 3, 200)
    bline = np.array([early.boundary_of(z, grid.n, grid.m) for z in zline])
    shape = {boundarymap.SIGMA0: "o", boundarymap.SIGMA_XI: "s"}
    offset = {boundarymap.SIGMA0: 1.0, boundarymap.SIGMA_XI: 1.25}
    with figure(path, 1, 2, figsize=(13, 5.2)) as (fig, (ax, ax2)):
        for col in bm.columns:
            for r in col.rows:
                if not np.isfinite(r.ratio):
                    continue
                signal = r.ratio > WINNER_RATIO
                clean = r.test_error < HIGH_TEST_ERROR if signal else r.test_error > LOW_TEST_ERROR
                colour = "tab:red" if signal else "tab:blue"
                ax.plot(
                    col.z * offset[col.via],
                    r.nsnr2,
                    shape[col.via],
                    color=colour,
                    mfc=colour if clean else "none",
                    ms=6,
                )
        ax.plot(zline, bline, "k-", lw=1.5, label="predicted boundary b(Z) (theory)")
        ax.plot(
            zline,
            END_FACTOR * bline,
            "k--",
            lw=0.8,
            label=f"{END_FACTOR:g} b and b / {END_FACTOR:g}",
        )
        ax.plot(zline, bline / END_FACTOR, "k--", lw=0.8)
        ax.axvline(
            record["measured"]["no_boundary_from_Z"],
            color="gray",
            ls=":",
            label="no boundary beyond (noise at order one at the start)",
        )
        ax.plot([], [], "o", color="tab:red", label="signal wins (descent)")
        ax.plot([], [], "o", color="tab:blue", label="noise wins (descent)")
        ax.plot(
            [],
            [],
            "s",
            color="gray",
            label=f"Z through σ_ξ (σ₀ = {grid.sigma0:g}); circles: through σ₀ (σ_ξ = 1)",
        )
        ax.plot([], [], "o", color="gray", mfc="none", label="open: test error on the wrong side")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="Z = σ₀ σ_ξ √d (log; squares drawn ×1.25)",
            ylabel="n·SNR² (log)",
            title=f"Classifier's winner: n = {grid.n}, d = {grid.d}, m = {grid.m}, auto η, "
            f"{boundarymap.steps(grid, min(grid.nsnr2)):g} to "
            f"{max(boundarymap.steps(grid, x) for x in grid.nsnr2):g} steps,\none seed per "
            "(route, n·SNR²), the same at every Z of a route",
        )
        ax.legend(fontsize=6.5)
        colours = {HOLDS: "tab:green", IN_PART: "tab:orange", DOES_NOT: "tab:red"}
        for c, row in zip(bm.columns, record["measured"]["columns"]):
            lo, hi = c.transition
            x = c.z * offset[c.via]
            ylo = lo if lo is not None else min(grid.nsnr2) / 2
            yhi = hi if hi is not None else max(grid.nsnr2) * 2
            ax2.plot([x, x], [ylo, yhi], "-", color=colours[row["verdict"]], lw=3, alpha=0.7)
            ax2.plot(x, ylo, shape[c.via], color="tab:blue", ms=5)
            ax2.plot(x, yhi, shape[c.via], color="tab:red", ms=5)
        ax2.plot(zline, bline, "k-", lw=1.5, label="predicted boundary b(Z)")
        for v, colour in colours.items():
            ax2.plot([], [], "-", color=colour, lw=3, label=f"column: {v}")
        ax2.set(
            xscale="log",
            yscale="log",
            xlabel="Z (log)",
            ylabel="simulated transition: last noise win (blue) to first signal win (red)",
            title="C1's domain: " + record["short"],
        )
        ax2.legend(fontsize=6.5)
    return [Figure(DOMAIN_FIGURE, record["text"])]


DOMAIN = DomainMap(boundarymap.STUDY, domain, domain_figures)
