"""Every study's sizes, per preset of `fldm reproduce` ("tiny" for the tests, "quick", "full"), in
one table.

`PRESETS[name]` holds the synthetic study's model and grids (`Preset`) and, beside them, the size of
each further study: the studies beyond Definition 2.1 (`Beyond`), the diffusion objectives and the
noise- augmented classifier (`Research`), D2 under other readings (`Robustness`), the branch map
(`BranchGrid`), the tying ablation (`Ablation`) and Noisy-MNIST (`mnist`: the settings of
`sims.studies.mnist.StudySettings`, or None). The grids that a rule names (fixed with the rule,
before its numbers) are the constants below; the quick and tiny presets keep a small slice of each
further study to exercise its code, and the full preset runs the study.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sims import FldmError

E1_NSNR2 = (0.75, 6.75)  # the paper's synthetic figure
EARLY_SIGMA0 = (
    0.1  # the early-growth runs start from sigma0 times this (a longer, cleaner early phase)
)


def logspace(lo: float, hi: float, count: int) -> tuple:
    """`count` values from lo to hi, evenly spaced in log, each rounded to 3 significant digits."""
    return tuple(float(f"{v:.3g}") for v in np.logspace(math.log10(lo), math.log10(hi), count))


# ------------------------------------------------------------------ the grids the rules name
# beyond Definition 2.1 (B1-B5)
SIGNAL_COS = (-0.5, 0.0, 0.5, 0.9)  # B1, B2: cos(mu_+1, mu_-1)
BALANCE = (0.5, 0.8, 0.95)  # B3: fraction of +1 labels (class -1 is the minority)
WEAK = {"strengths": (1.0, 0.3), "freqs": (0.5, 0.5)}  # B4, B5: a strong common feature, a weak one
RARE = {"strengths": (1.0, 1.0), "freqs": (0.9, 0.1)}  # ... and a rare one
SCENARIOS = {"weak": WEAK, "rare": RARE}
FEATURE_NSNR2 = (
    0.1,
    0.3,
    1.0,
    3.0,
    10.0,
    30.0,
    100.0,
)  # B4, B5 (n·SNR² of ||mu||, the strong feature)
# the diffusion objectives and schedules (O1, O2)
OBJECTIVES = ("eps", "x0", "v", "velocity")
SCHEDULES = ("single", "ddpm-linear", "cosine")
# D2 under other readings (R1) and the branch map (R2)
ALPHA_BETA = ((0.95, 0.31), (0.71, 0.71), (0.31, 0.95))
WIDTHS = (1, 4, 16)
DIMENSIONS = (500, 8000)
RESAMPLED_K = (1, 16)
FIXED_K = (1, 4, 16)
R1_NSNR2 = (0.05, 0.5, 5.0, 50.0)  # R1's sweep (full preset)
# Added after R1's numbers were seen, and in no rule: the fixed-draw runs continued to this many
# steps.
LONG_DRAW_STEPS = 20_000
MAP_WIDTHS = (1, 2, 4, 8, 16, 32)
MAP_NSNR2 = logspace(1e-3, 1e3, 13)  # two per decade
# D2's domain (sims.studies.d2domain): the (n·SNR², G_n) plane for three widths
DOMAIN_WIDTHS = (1, 4, 16)
DOMAIN_NOISE_GROUPS = logspace(1e-2, 1e2, 5)  # G_n = (alpha/beta)^2 ||xi||^2 / n, one per decade
DOMAIN_NSNR2 = logspace(1e-2, 1e2, 9)  # two per decade
# the domains of D1, C1 and R2 (sims.studies.earlymap, boundarymap, racemap), fixed with their rules
INIT_RATIOS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # D1: I0 = sigma0^2 d / G_rr*
WINDOW_D = (50, 150, 500, 1500, 5000, 15000, 50000, 150000)  # D1: d at n·SNR² = 0.75 (Lambda)
WINDOW_CHECK = (0.1, (50, 500, 5000, 50000), (1e-4,))  # D1: a second path (n·SNR², d, I0)
ALIGNMENT_Z = (1e-5, 1e-3, 1e-2, 0.1, 0.3, 1.0, 3.0)  # C1: Z = sigma0 sigma_xi sqrt(d), by sigma0
ALIGNMENT_Z_XI = (1e-3, 0.3, 1.0)  # C1: the same group reached through sigma_xi
BOUNDARY_NSNR2 = logspace(0.1, 100, 10)
RACE_SIGMA0 = (0.03, 0.01, 1e-3, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6)  # R2: sigma0 (the race group B)
RACE_NSNR2 = (0.1, 1.0, 10.0)
# the tying ablation (U1, U2): two noise scales, whose noise groups G_n = sigma_xi^2 d / n (alpha =
# beta) put the tied law in its saturated (~99) and its linear (~0.25) regime at d = 2000, n = 20
ABLATION_SIGMA_XI = (1.0, 0.05)
ABLATION_NSNR2 = (0.05, 0.5, 5.0, 50.0)
# when does a denoiser memorise (M1a, M1b, M1c: sims.studies.memorise; M2: sims.studies.besttime)
MEMORISE_N = (4, 6, 10, 16, 26, 40)  # n over a decade, at a fixed data law
MEMORISE_K = (1, 4, 16, 64, 256)  # fixed draws K (the exact loss beside them)
MEMORISE_WIDTHS = (1, 2, 4, 8, 16)  # widths m against n = MEMORISE_WIDTH_N (M1b)
MEMORISE_WIDTH_N = 4
MAX_DRAWS = 4096  # the n x K grid runs the cells with 2nK <= this (cost: see BENCHMARKS.md)
BEST_TIMES = 6  # M2: single-time runs at the times of the DDPM linear schedule with T = this
BEST_NSNR2 = (0.3, 3.0, 30.0)
# Amendment 2 (cost, after the first full runs): K = 16 left out (M2's rule reads the exact loss
# and K = 1; with K = 16, M2 cost 287 of the memorisation studies' 540 s of CPU, most of it in the
# K = 16 runs at the latest times)
BEST_K = (1,)


# --------------------------------------------------------------------------------- the sizes
@dataclass(frozen=True)
class Beyond:
    """The studies beyond Definition 2.1: (values, n·SNR² values, seeds) of each."""

    correlated: tuple  # (C values, n·SNR², seeds)
    imbalance: tuple  # (P values, n·SNR², seeds)
    features: tuple  # (scenarios, n·SNR², seeds), shared by the probe (B5)


@dataclass(frozen=True)
class Research:
    """The diffusion objectives (O1, O2) and the noise-augmented classifier (A1)."""

    model: str  # the preset whose n, d, m, sigma0 and steps are used
    nsnr2: tuple  # the n·SNR² sweep
    replicates: int  # seeds per n·SNR²
    objectives: tuple
    schedules: tuple
    phase: bool  # the (n, SNR) grid of the augmented classifier
    check_nsnr2: float  # where gradient descent is checked against the stationary point


@dataclass(frozen=True)
class Robustness:
    """D2 under other readings (R1): the model preset and the values of each series kind."""

    model: str
    nsnr2: tuple
    alpha_beta: tuple
    widths: tuple
    dimensions: tuple
    resampled: tuple
    fixed: tuple
    long_steps: (
        int  # the fixed-draw runs continued to this many steps (LONG_DRAW_STEPS; not in the rule)
    )


@dataclass(frozen=True)
class BranchGrid:
    """The branch map (R2): n, d, widths m and n·SNR² values."""

    n: int
    d: int
    widths: tuple
    nsnr2: tuple


@dataclass(frozen=True)
class DomainGrid:
    """D2's domain map: the model (n, d, sigma0), widths m, noise groups G_n and n·SNR² values, and
    the cells (m, G_n, n·SNR²) that gradient descent checks."""

    n: int
    d: int
    sigma0: float
    widths: tuple
    noise_groups: tuple
    nsnr2: tuple
    checks: tuple
    boundary_per_decade: int = 0  # the law's boundary at this many G_n a decade (0: the grid's)


@dataclass(frozen=True)
class EarlyGrid:
    """D1's window map (sims.studies.earlymap): n, m and paths (n·SNR², d values, I0 values)."""

    n: int
    m: int
    paths: tuple


@dataclass(frozen=True)
class BoundaryGrid:
    """C1's boundary map (sims.studies.boundarymap): the model, the values of Z reached through
    sigma0 (sigma_xi = 1) and through sigma_xi (sigma0 = `sigma0`), the n·SNR² sweep and the
    steps (`steps_for` with these)."""

    n: int
    d: int
    m: int
    by_sigma0: tuple
    by_sigma_xi: tuple
    sigma0: float
    nsnr2: tuple
    base_steps: int
    max_factor: float


@dataclass(frozen=True)
class RaceGrid:
    """R2's race map (sims.studies.racemap): n, d, m, n·SNR² values, sigma0 values, seeds."""

    n: int
    d: int
    m: int
    nsnr2: tuple
    sigma0: tuple
    replicates: int


@dataclass(frozen=True)
class Ablation:
    """The tying ablation (U1, U2): the model preset, the noise scales, the n·SNR² sweep and the
    seeds per point."""

    model: str
    sigma_xi: tuple
    nsnr2: tuple
    replicates: int


@dataclass(frozen=True)
class Memorise:
    """When does a denoiser memorise: the n x K grid and the widths of M1 (d, m, sigma0, the data
    laws by name (sims.studies.memorise.LAWS), seeds, the descent cap), and M2's times and n·SNR²
    (at n = best_n, random labels)."""

    d: int
    m: int
    sigma0: float
    laws: tuple
    n: tuple
    draws: tuple
    max_draws: int
    widths: tuple
    width_n: int
    width_draws: tuple
    seeds: int
    max_steps: int
    times: int  # T of the DDPM linear schedule
    time_index: tuple  # which of its T times run
    best_n: int
    nsnr2: tuple
    probe_draws: tuple
    probe_seeds: int


@dataclass(frozen=True)
class Preset:
    """The synthetic study's model and grids, and the size of every further study."""

    n: int
    d: int
    m: int
    sigma0: float
    base_steps: int  # steps at n SNR^2 <= 2; more at higher SNR (see `steps_for`)
    max_factor: float  # cap on the step multiplier
    points_logged: int
    ratio_nsnr2: tuple  # the n SNR^2 sweep (figure c)
    replicates: int  # seeds per setting
    phase_n: tuple  # the (n, SNR) grid (figure d)
    phase_snr: tuple
    vary_m: tuple  # other widths m for the stationary-ratio dependence (figure f)
    vary_d: tuple  # other dimensions d for it
    vary_nsnr2: tuple  # the n SNR^2 values of figure f
    mnist: dict | None  # Noisy-MNIST's settings (sims.studies.mnist.StudySettings), or not run
    beyond: Beyond
    research: Research
    robustness: Robustness
    branch: BranchGrid
    memorise: Memorise
    d2domain: DomainGrid | None = None
    early: EarlyGrid | None = None  # the domain maps of D1, C1 and R2 (None: not run)
    boundary: BoundaryGrid | None = None
    race: RaceGrid | None = None
    ablation: Ablation | None = None  # the tying ablation (U1, U2)

    @property
    def sweep_nsnr2(self) -> list:
        """The n SNR^2 values of figure (c): the sweep and the paper's two settings."""
        return sorted(set(self.ratio_nsnr2) | set(E1_NSNR2))

    def settings(self) -> dict:
        """The synthetic study's settings (report.json's meta): the fields before the further
        studies."""
        names = (
            "n d m sigma0 base_steps max_factor points_logged ratio_nsnr2 replicates phase_n "
            "phase_snr vary_m vary_d vary_nsnr2"
        ).split()
        return {"mnist": self.mnist is not None, **{k: getattr(self, k) for k in names}}


def steps_for(preset: Preset, nsnr2: float) -> int:
    """Steps that reach the stationary phase at every n SNR^2. With the auto step size, eta shrinks
    like 1 / (n SNR^2) once the signal sets the curvature (sims.config.auto_eta), so the same time
    tau = eta * step takes proportionally more steps at high n SNR^2; at low n SNR^2 the signal's
    own growth rate falls like n SNR^2, so it needs more time there too (0.1 / n SNR^2 more, from
    where that exceeds 1)."""
    return int(preset.base_steps * min(max(1.0, nsnr2 / 2.0, 0.1 / nsnr2), preset.max_factor))


_SMALL_ROBUSTNESS = Robustness(
    model="tiny",
    nsnr2=(0.1, 10.0),
    alpha_beta=ALPHA_BETA[:1],
    widths=(1,),
    dimensions=(240,),
    resampled=(1,),
    fixed=(1,),
    long_steps=2000,
)
_SMALL_ABLATION = Ablation("tiny", ABLATION_SIGMA_XI[1:], (0.5,), 1)
_QUICK_RATIO = logspace(0.05, 50, 13)
_SMALL_MEMORISE = dict(d=200, m=4, sigma0=0.01, max_draws=MAX_DRAWS, width_n=MEMORISE_WIDTH_N)

PRESETS = {
    "tiny": Preset(
        n=8,
        d=120,
        m=2,
        sigma0=0.01,
        base_steps=400,
        max_factor=3,
        points_logged=80,
        ratio_nsnr2=(0.1, 1.0, 10.0),
        replicates=1,
        phase_n=(4, 8),
        phase_snr=(0.15, 1.0),
        vary_m=(1,),
        vary_d=(60,),
        vary_nsnr2=(0.1, 10.0),
        mnist=None,
        beyond=Beyond(
            correlated=((0.5,), (E1_NSNR2[0],), 1),
            imbalance=((0.95,), (E1_NSNR2[1],), 1),
            features=(("weak",), (10.0,), 1),
        ),
        research=Research("tiny", (0.1, 10.0), 1, ("eps", "x0"), ("single",), False, 0.1),
        robustness=_SMALL_ROBUSTNESS,
        branch=BranchGrid(8, 120, (1, 2), (0.1, 1.0, 10.0)),
        d2domain=DomainGrid(6, 40, 0.01, (2,), (0.01, 100.0), (0.3, 3.0), ((2, 0.01, 0.3),)),
        early=EarlyGrid(8, 2, ((E1_NSNR2[0], (120,), (1e-3,)),)),
        boundary=BoundaryGrid(8, 120, 2, (1e-3,), (), 0.01, (0.1, 10.0), 200, 1),
        race=RaceGrid(8, 120, 2, (1.0,), (1e-2,), 1),
        ablation=_SMALL_ABLATION,
        memorise=Memorise(
            **{**_SMALL_MEMORISE, "d": 60, "m": 2},
            laws=("saturated",),
            n=(4, 8),
            draws=(1,),
            widths=(1, 8),
            width_draws=(1,),
            seeds=1,
            max_steps=2000,
            times=BEST_TIMES,
            time_index=(0, BEST_TIMES - 1),
            best_n=8,
            nsnr2=(3.0,),
            probe_draws=(1,),
            probe_seeds=1,
        ),
    ),
    "quick": Preset(
        n=20,
        d=2000,
        m=4,
        sigma0=0.01,
        base_steps=2000,
        max_factor=10,
        points_logged=300,
        ratio_nsnr2=_QUICK_RATIO,
        replicates=3,
        phase_n=(5, 10, 20, 40),
        phase_snr=logspace(0.05, 1, 6),
        vary_m=(1, 2, 8),
        vary_d=(500, 8000),
        vary_nsnr2=(0.05, 0.5, 5.0, 50.0),
        mnist={},
        beyond=Beyond(
            correlated=((0.5,), (E1_NSNR2[0],), 1),
            imbalance=((0.95,), (E1_NSNR2[1],), 1),
            features=(("weak",), (10.0,), 1),
        ),
        research=Research("quick", E1_NSNR2, 1, ("eps", "x0"), ("single",), False, E1_NSNR2[0]),
        robustness=_SMALL_ROBUSTNESS,
        branch=BranchGrid(20, 2000, (1, 2), (1e-3, 1.0, 1e3)),
        d2domain=DomainGrid(8, 60, 0.01, (4,), (0.01, 100.0), (0.3, 3.0), ((4, 0.01, 0.3),)),
        # a small slice of each domain map, to exercise its code
        early=EarlyGrid(20, 4, ((E1_NSNR2[0], (50, 5000), (1e-3, 1.0)),)),
        boundary=BoundaryGrid(20, 2000, 4, (1e-3,), (1.0,), 0.01, (0.1, 100.0), 500, 1),
        race=RaceGrid(8, 120, 2, (1.0,), (1e-2, 1e-5), 1),
        ablation=_SMALL_ABLATION,
        memorise=Memorise(
            **_SMALL_MEMORISE,
            laws=("saturated",),
            n=(4, 10),
            draws=(1, 16),
            widths=(2, 8),
            width_draws=(1, 16),
            seeds=1,
            max_steps=20_000,
            times=BEST_TIMES,
            time_index=(0, 2, BEST_TIMES - 1),
            best_n=20,
            nsnr2=(3.0,),
            probe_draws=(1,),
            probe_seeds=1,
        ),
    ),
    "full": Preset(
        n=20,
        d=5000,
        m=8,
        sigma0=0.01,
        base_steps=4000,
        max_factor=20,
        points_logged=500,
        ratio_nsnr2=logspace(0.01, 100, 17),
        replicates=5,
        phase_n=(5, 10, 20, 40, 80),
        phase_snr=logspace(0.03, 1.5, 9),
        vary_m=(1, 2, 4, 16, 32),
        vary_d=(1000, 20000, 100000),
        vary_nsnr2=(0.01, 0.1, 1.0, 10.0, 100.0),
        mnist=dict(nsnr2=(0.75, 2.25, 6.75, 20.25, 60.75), steps=20000, log_every=100, repeats=5),
        beyond=Beyond(
            correlated=(SIGNAL_COS, E1_NSNR2, 5),
            imbalance=(BALANCE, E1_NSNR2, 5),
            features=(tuple(SCENARIOS), FEATURE_NSNR2, 5),
        ),
        # the quick preset's model, its n·SNR² sweep and 3 seeds (research rules, amendment 2)
        research=Research(
            model="quick",
            nsnr2=tuple(sorted(set(_QUICK_RATIO) | set(E1_NSNR2))),
            replicates=3,
            objectives=OBJECTIVES,
            schedules=SCHEDULES,
            phase=True,
            check_nsnr2=E1_NSNR2[0],
        ),
        robustness=Robustness(
            "quick",
            R1_NSNR2,
            ALPHA_BETA,
            WIDTHS,
            DIMENSIONS,
            RESAMPLED_K,
            FIXED_K,
            LONG_DRAW_STEPS,
        ),
        branch=BranchGrid(20, 2000, MAP_WIDTHS, MAP_NSNR2),
        d2domain=DomainGrid(
            8,
            60,
            0.01,
            DOMAIN_WIDTHS,
            DOMAIN_NOISE_GROUPS,
            DOMAIN_NSNR2,
            # one cell of each width where the law is linear and one where it saturates
            tuple((m, g, v) for m in DOMAIN_WIDTHS for g, v in ((0.01, 1.0), (100.0, 10.0))),
            boundary_per_decade=4,
        ),
        early=EarlyGrid(20, 4, ((E1_NSNR2[0], WINDOW_D, INIT_RATIOS), WINDOW_CHECK)),
        boundary=BoundaryGrid(
            20, 2000, 4, ALIGNMENT_Z, ALIGNMENT_Z_XI, 0.01, BOUNDARY_NSNR2, 2000, 4
        ),
        race=RaceGrid(20, 2000, 4, RACE_NSNR2, RACE_SIGMA0, 2),
        ablation=Ablation("quick", ABLATION_SIGMA_XI, ABLATION_NSNR2, 3),
        memorise=Memorise(
            **_SMALL_MEMORISE,
            laws=("saturated", "linear"),
            n=MEMORISE_N,
            draws=MEMORISE_K,
            widths=MEMORISE_WIDTHS,
            width_draws=MEMORISE_K,
            seeds=2,
            max_steps=200_000,
            times=BEST_TIMES,
            time_index=tuple(range(BEST_TIMES)),
            best_n=20,
            nsnr2=BEST_NSNR2,
            probe_draws=BEST_K,
            probe_seeds=3,
        ),
    ),
}


def get(name: str) -> Preset:
    """The preset called `name`."""
    if name not in PRESETS:
        raise FldmError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]
