"""The two studies of the paper, built on the core (`sims.train`) and the theory.

`sweep` (cached cells on any Executor), `plan` (presets and the synthetic study's cells), `measures`
(numbers read from finished cells), `claims` (one rule and verdict per claim), `figures` (the synthetic
figures and the one figure helper), `report` (`fldm reproduce`: figures, report.json, REPORT.md),
`mnist_data` (MNIST files and the two-patch Noisy-MNIST data), `mnist` (the Noisy-MNIST study, run as
sweep cells) and `mnist_figures` (its figures).
"""
