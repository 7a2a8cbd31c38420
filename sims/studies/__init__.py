"""The two studies of the paper, built on the core (`sims.train`) and the theory.

`sweep` (cached cells on any Executor), `plan` (presets and the synthetic study's cells), `measures`
(numbers read from finished cells), `claims` (one rule and verdict per claim), `figures` (the synthetic
figures and the one figure helper), `report` (`fldm reproduce`: figures, report.json, REPORT.md),
`mnist_data` (MNIST files, the shipped images in data/, and the two-patch Noisy-MNIST data), `mnist` (the
Noisy-MNIST study, run as sweep cells) and `mnist_figures` (its figures); `runplot` (`fldm plot`: a quick
look at finished runs).
"""

# What `fldm reproduce --quick` costs, stated once: the --quick help, REPORT.md and the README quote it (a
# test checks the README). Measured 2026-11-26 (issue 12, span engine), fresh cache, --jobs 2,
# /usr/bin/time -v (user + sys of the command and its worker processes): 58 s wall and 101 s of CPU time
# with the 2 cores nearly free (load average 0.4 to 1.3); 3 min 10 s wall and 128 s of CPU at load average
# 5-6. Before the issue-12 speed-ups: 139 s of CPU (4 min 49 s wall at load 7-8).
QUICK_RUN_TIME = "under 2 minutes with --jobs 2 on 2 free cores"
# ... and `fldm mnist --quick` (12 s of CPU time; 32 s wall at load average 7)
MNIST_QUICK_TIME = "about 15 s on one free core"
