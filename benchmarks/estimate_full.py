"""An estimate of a preset's time (default: `fldm reproduce --full`) without running it: time
short versions of representative cells and extrapolate by their steps.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/estimate_full.py [--probe 200]
    [--seed 0] [--preset full] [--against CACHE/times/full.json]

Every cell of the preset (every study the claims read, their domain maps and Noisy-MNIST included)
is listed under its section (the study's name) and grouped by shape (kind, model, noise, objective,
schedule, n, d, m, augment, K). One representative of each shape is timed (CPU time, one BLAS
thread, as the sweep runs it): for train cells the one with the median number of steps, costing
t(1) + (S - 1) (t(probe) - t(1)) / (probe - 1) for S steps, from runs of 1 and `--probe` steps; the
other kinds (predict, ode, stationary, probe, mnist, the studies' own), whose cost is not
proportional to their steps (a prediction follows the flow to its stationary point), are timed
whole, the mean of three cells spread over the shape, and counted once per cell. Summed over all
cells that is the CPU time of the run (fresh cache); divided by the workers, its wall time on free
cores (fldm reproduce runs every section's cells in one sweep). Train cells that the sweep stacks
(up to 16 of one shape in one loop) are timed as such a stack, each member costing its share. It
overestimates where a run stops early at convergence. `--against` prints a run's measured CPU by
section beside the prediction.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from threadpoolctl import threadpool_limits  # noqa: E402

from sims.studies.claims import CLAIMS  # noqa: E402
from sims.studies.report import domain_of  # noqa: E402
from sims.studies.sweep import GROUP_SIZE, _runner  # noqa: E402
from sims.train import stack_signature  # noqa: E402


def full_cells(seed: int, preset: str = "full") -> list[tuple[str, str, object]]:
    """(section, kind, config) of every cell of the preset: each study the claims read (their
    domain maps' included), once, under the study's name (the sections of fldm reproduce's
    times/<preset>.json)."""
    studies = {}
    for claim in CLAIMS:
        for study in (claim.STUDY, *((claim.DOMAIN.study,) if domain_of(claim) else ())):
            studies.setdefault(study.name, study)
    return [
        (name, *cell)
        for name, study in studies.items()
        for cell in study.cells(preset, seed).values()
    ]


def shape(kind: str, cfg) -> tuple:
    get = lambda name: getattr(cfg, name, None)
    return (
        kind,
        get("model"),
        get("noise"),
        get("objective"),
        get("schedule"),
        get("n"),
        get("d"),
        get("m"),
        get("augment"),
        get("noise_samples"),  # K draws: a fixed-draw basis or a resampled step grows with K
    )


def seconds(kind: str, cfg, steps: int, stack: int = 1) -> float:
    """CPU seconds of one cell (train cells: at `steps`, as a stack of `stack` runs of its shape
    with other seeds, as the sweep groups them; the time of the whole stack)."""
    run = _runner(kind)
    if kind == "train":  # the other kinds are timed whole (a memorise cell has no log_every)
        cfg = dataclasses.replace(cfg, steps=steps, log_every=min(cfg.log_every, steps))
        configs = [dataclasses.replace(cfg, seed=cfg.seed + i) for i in range(stack)]
    start = time.process_time()
    with threadpool_limits(1):
        run(configs) if kind == "train" else run(cfg)
    return time.process_time() - start


def stack_size(cfg, cells) -> int:
    """How many train cells the sweep stacks with cfg: those of its shape with its stack signature
    (sims.train.stack_signature), at most GROUP_SIZE; 1 where it cannot stack."""
    signature = stack_signature(cfg)
    if signature is None:
        return 1
    alike = sum(stack_signature(c) == signature for _, c in cells)
    return max(1, min(GROUP_SIZE, alike))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probe", type=int, default=200, help="steps of the timed short runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="workers for the wall-time estimate")
    parser.add_argument("--preset", default="full", help="the preset whose cells are estimated")
    parser.add_argument(
        "--against",
        help="a run's times (fldm reproduce writes CACHE/times/PRESET.json): measured beside "
        "predicted, by section",
    )
    args = parser.parse_args(argv)
    groups = defaultdict(list)
    for section, kind, cfg in full_cells(args.seed, args.preset):
        groups[shape(kind, cfg)].append((section, kind, cfg))
    total, rows, by_section = 0.0, [], defaultdict(float)
    for key, members in groups.items():
        cells = [(kind, cfg) for _, kind, cfg in members]
        steps = sorted(getattr(c, "steps", 1) for _, c in cells)
        kind, cfg = next(c for c in cells if getattr(c[1], "steps", 1) == steps[len(steps) // 2])
        if kind == "train":  # a member's share of its stack's time
            probe, stack = min(args.probe, cfg.steps), stack_size(cfg, cells)
            t1 = seconds(kind, cfg, 1, stack) / stack
            per_step = (
                (seconds(kind, cfg, probe, stack) / stack - t1) / (probe - 1) if probe > 1 else 0.0
            )
            cost = sum(t1 + max(per_step, 0.0) * (s - 1) for s in steps)
        else:  # cost varies with the point (a flow to its stationary point): the mean of three
            spread = [cells[i] for i in sorted({0, len(cells) // 2, len(cells) - 1})]
            t1 = statistics.mean(seconds(k, c, getattr(c, "steps", 1)) for k, c in spread)
            per_step, cost = 0.0, t1 * len(cells)
        total += cost
        for (section, _, _), share in zip(members, _shares(kind, members, t1, per_step)):
            by_section[section] += cost * share
        rows.append((cost, len(cells), statistics.median(steps), t1, per_step, key))
        each = (
            f"{t1:.3f} s + {per_step * 1e6:.0f} us/step" if kind == "train" else f"{t1:.2f} s each"
        )
        print(f"{key}: {len(cells)} cells, {sum(steps)} steps, {each} -> {cost:.0f} s", flush=True)
    print(f"\n{sum(r[1] for r in rows)} cells in {len(rows)} shapes; the largest:")
    for cost, count, _median, _t1, _per_step, key in sorted(rows, reverse=True)[:10]:
        print(f"  {cost:7.0f} s  {count:4d} cells  {key}")
    print(
        f"estimated CPU time {total:.0f} s ({total / 3600:.2f} h); wall on {args.jobs} free cores "
        f"{total / args.jobs / 60:.0f} min"
    )
    measured = json.loads(Path(args.against).read_text())["sections"] if args.against else {}
    print("\n| section | predicted CPU (s) | measured CPU (s) | measured / predicted |")
    print("|---|---:|---:|---:|")
    for name, cost in sorted(by_section.items(), key=lambda kv: -kv[1]):
        got = measured.get(name, {}).get("cpu")
        ratio = f"{got / cost:.2f}" if got is not None and cost > 0 else "n/a"
        print(f"| {name} | {cost:.0f} | {'n/a' if got is None else f'{got:.0f}'} | {ratio} |")
    if measured:
        got = sum(v["cpu"] for v in measured.values())
        print(f"| all | {total:.0f} | {got:.0f} | {got / total:.2f} |")


def _shares(kind, members, t1, per_step) -> list[float]:
    """Each member's share of its shape's estimated cost (by its steps for train cells)."""
    if kind != "train":
        return [1.0 / len(members)] * len(members)
    costs = [t1 + max(per_step, 0.0) * (c.steps - 1) for _, _, c in members]
    return [c / sum(costs) for c in costs] if sum(costs) > 0 else [1.0 / len(costs)] * len(costs)


if __name__ == "__main__":
    main()
