"""The studies behind `fldm reproduce` and the claims they judge, built on the core (`sims.train`)
and the theory.

- `claims/`: one module per claim (D1, D2, C1, E1, E2, B1-B5, O1, O2, A1, R1, R2, U1, U2,
  M1a-M1c, M2),
  each with its statement, its rule (named thresholds), its verdict, its figures and its paragraph;
  `claims/__init__.py` lists them in report order and writes the README's verdict table;
  `claims/base.py` holds the verdict record (`Entry`) and the thresholds several rules share.
- The studies the claims read, each its cells and the numbers measured from them once: `synthetic`
  (the paper's synthetic study: D1, D2, C1, E1), `mnist` (Noisy-MNIST: E2) with `mnist_data` (the
  MNIST files, the shipped images in data/, two-patch samples) and `mnist_figures`, `correlated`
  (B1, B2), `imbalance` (B3), `features` (B4, B5) with `beyond` (their run settings and measures)
  and `probe` (the linear probe and its cell kind), `objectives` (O1, O2) and `augment` (A1) with
  `research` (paired runs, the "stationary" cell kind, the points their rules read), `d2robust`
  (R1), `branchmap` (R2), `ablation` (U1, U2: the tied, untied and fixed-output denoisers and the
  classifier on the same data; the "ablation" cell kind) with `ablation_figures`, `memorise`
  (M1a-M1c: the "memorise" cell kind, over sims.memorisation's measures) and `besttime` (M2).
- The domain maps, which say where a verdict holds: `d2domain` (D2 over n·SNR² and the noise group
  G_n, from the exact symmetric-branch law with descent checks; the "d2-domain" cell kind),
  `earlymap` (D1's window; the "window" cell kind), `boundarymap` (C1's boundary against the
  alignment group Z) and `racemap` (R2's branch race against sigma0).
- Under them: `presets` (every study's sizes per preset, in one table), `cells` (the typed cell
  record: `Cell`, `Run`, `Trace`, and a study's `Study`), `sweep` (cached cells on any Executor, the
  one table of cell kinds), `measures` (the measures' definitions: growth-phase ratio, linearity
  index, slopes) and `figures` (the one figure helper).
- `report` (`fldm reproduce`: figures, report.json, REPORT.md) and `runplot` (`fldm plot`: a quick
  look at finished runs).
"""

# What `fldm reproduce --quick` costs, stated once: the --quick help, REPORT.md and the README quote
# it (a test checks the README). Measured 2026-12-08, fresh cache, --jobs 2, /usr/bin/time (user +
# sys of the command and its worker processes), the 2 cores otherwise free (load average 1.0): 55 s
# wall and 97.5 s of CPU time (342 cells). Earlier: 58 s and 101 s (2026-11-26, fewer sections).
QUICK_RUN_TIME = "under 2 minutes with --jobs 2 on 2 free cores"
# ... and `fldm mnist --quick` (12 s of CPU time; 32 s wall at load average 7)
MNIST_QUICK_TIME = "about 15 s on one free core"
