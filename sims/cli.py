"""The `fldm` command line (also `python -m sims`).

Every user error is one line on stderr and exit code 2; an unexpected exception is one line
("internal error: ...") and exit code 1, with the traceback under --debug. SIGINT, SIGTERM and
SIGHUP end a command with one line saying what is on disk, and exit codes 130, 143 and 129
(sims.signals).

`fldm train/ode/predict` take the settings of sims.config.TrainConfig, declared there with the
models, commands and other settings they apply to: a setting given on the command line where it does
not apply is refused; one in a --config TOML file (which may be shared between models and commands)
is listed on stderr and ignored. n and d are read from --data, m and d from --init; a conflicting
value is refused.
"""

from __future__ import annotations

from sims import signals

if signals.is_program():  # the `fldm` script: handlers first, before the slow imports below
    signals.install_early()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from contextlib import contextmanager, nullcontext  # noqa: E402
from dataclasses import fields  # noqa: E402
from pathlib import Path  # noqa: E402

from sims import FldmError, __version__, io, models, progress  # noqa: E402
from sims.config import AUTO, TrainConfig, inapplicable, load_toml  # noqa: E402
from sims.descent import STATIONARY_RTOL  # noqa: E402
from sims.signals import Stopped, StopSignals  # noqa: E402
from sims.studies import MNIST_QUICK_TIME, QUICK_RUN_TIME  # noqa: E402
from sims.studies.mnist_data import SHIPPED_SOURCE  # noqa: E402

NOT_SETTINGS = {
    "config",
    "out",
    "command",
    "func",
    "debug",
    "on_disk",
    "_given",
    "stops",
    "no_progress",
    "quiet",
    "json",
    "until_stationary",
}


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise FldmError(f"{self.prog}: {message} (see --help)")


class Once(argparse.Action):
    """An option that may be given once (or repeated with the same value): a second, different value
    is refused rather than silently replacing the first."""

    def __call__(self, parser, namespace, value, option_string=None):
        given = namespace.__dict__.setdefault("_given", {})
        if self.dest in given and given[self.dest] != value:
            parser.error(
                f"{option_string} given twice ({given[self.dest]} and {value}); give it once"
            )
        given[self.dest] = value
        setattr(namespace, self.dest, value)


def real(text: str) -> float:
    """A number; its range is checked by TrainConfig, the one place that validates settings."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def counting_number(least: int):
    """An argparse type: an integer >= least (a seed: 0; a number of processes: 1)."""
    kind = "a non-negative" if least == 0 else "a positive"

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < least:
            raise argparse.ArgumentTypeError(f"must be {kind} integer, got {text!r}")
        return value

    return read


def eta_value(text: str):
    return None if text == AUTO else real(text)


def reals(text: str) -> tuple:
    """Comma-separated numbers, e.g. 1,0.3."""
    return tuple(real(part) for part in text.split(","))


def path_text(text: str) -> str:
    """A file or folder name: not empty (an empty name would mean the current folder, or be
    ignored)."""
    if text == "":
        raise argparse.ArgumentTypeError("is empty; give a name")
    return text


READERS = {
    "int": int,
    "real": real,
    "reals": reals,
    "eta": eta_value,
    "choice": str,
    "path": path_text,
}


def condition(applies: tuple) -> str:
    """The help text's words for a field's `applies` condition."""
    other, values, _ = applies
    flag = "--" + other.replace("_", "-")
    if values in ((None,), ((),)):
        return f"not with {flag if other != 'times' else 'times'}"
    return f"with {flag} {' or '.join(map(str, values))}"


def add_run_options(p: argparse.ArgumentParser, command: str) -> None:
    """The options of one run, one per TrainConfig field, described by the field's metadata
    (sims.config.option); defaults come from TrainConfig and are applied there, so that options left
    out do not override a --config file. Options of other commands are accepted but hidden, and
    refused with the reason (`config_from_args`)."""
    p.add_argument("model", choices=tuple(models.MODELS))
    for f in fields(TrainConfig):
        meta = f.metadata
        if meta["kind"] == "none":
            continue
        default = AUTO if f.name == "eta" else f.default
        notes = [f"{', '.join(models.taking(meta['group']))} only"] if meta["group"] else []
        notes += [condition(meta["applies"])] if meta["applies"] else []
        shown = (
            ""
            if default in (None, ())
            else f" (default {default:.4g})"
            if isinstance(default, float)
            else f" (default {default})"
        )
        note = f" [{'; '.join(notes)}]" if notes else ""
        hidden = meta["commands"] and command not in meta["commands"]
        p.add_argument(
            "--" + f.name.replace("_", "-"),
            type=READERS[meta["kind"]],
            choices=meta["choices"] or None,
            action=Once,
            metavar=meta["metavar"],
            help=argparse.SUPPRESS if hidden else meta["help"] + shown + note,
        )
    p.add_argument(
        "--config",
        action=Once,
        type=path_text,
        metavar="FILE.toml",
        help="settings file (keys as the options, e.g. sigma_xi = 0.5); options given here "
        "override "
        "it; its settings that do not apply are listed and ignored",
    )
    if command == "predict":
        p.add_argument("--out", action=Once, help=argparse.SUPPRESS)
    else:
        p.add_argument(
            "--out",
            action=Once,
            type=path_text,
            metavar="DIR",
            default="runs/latest",
            help="output folder (default runs/latest, replaced by the next run)",
        )
    p.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of an error",
    )
    add_no_progress(p)


def add_no_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-progress",
        action="store_true",
        help=f"no progress: no bar on a terminal (one appears after {progress.DELAY:g} s of work), "
        f"no status lines elsewhere (one every {progress.EVERY:g} s of work, on stderr)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="--no-progress, and no closing line of cells computed and cached; "
        "errors and notes still print",
    )


def shows_progress(args) -> bool:
    return not (args.no_progress or args.quiet)


def note(text: str) -> None:
    print(f"fldm: note: {text}", file=sys.stderr)


def config_from_args(args: argparse.Namespace):
    """(config, data, W0) for `fldm COMMAND MODEL ...`: the TOML file overlaid with the options
    given, where they apply (module docstring); data is the loaded --data file (or the config file's
    `data`), W0 the loaded --init file, else None. n and d come from the data, m and d from W0."""
    from sims.data import load_npz
    from sims.train import load_weights, weight_shape

    command, model = args.command, args.model
    given = {k: v for k, v in vars(args).items() if k not in NOT_SETTINGS and v is not None}
    toml = load_toml(args.config) if args.config else {}
    if toml.get("model", model) != model:  # names, not dispatch
        raise FldmError(
            f"{args.config} sets model = {toml['model']!r}, but this is fldm {command} {model}"
        )
    settings = {**toml, **given}
    for name in given:
        why = None if name == "model" else inapplicable(name, model, command, settings)
        if why:
            raise FldmError(
                f"--{name.replace('_', '-')} does not apply to fldm {command} {model}: {why}"
            )
    known = {f.name for f in fields(TrainConfig)}
    ignored = [
        k
        for k in toml
        if k in known
        and k not in given
        and k != "model"
        and inapplicable(k, model, command, settings)
    ]
    if ignored:
        note(f"{args.config}: ignoring {', '.join(ignored)} (not used by fldm {command} {model})")
    cfg = TrainConfig.from_dict(
        {k: v for k, v in settings.items() if k not in ignored}
    )  # types and ranges

    data = load_npz(cfg.data) if cfg.data is not None else None
    W0 = load_weights(cfg.init) if cfg.init is not None else None
    found = {}  # setting -> (value, file it was read from)
    if data is not None:
        found.update(n=(data.n, cfg.data), d=(data.d, cfg.data))
    if W0 is not None:
        m, d = (W0.shape[-2], W0.shape[-1]) if W0.ndim >= 2 else (0, 0)
        if m < 1 or weight_shape(cfg.replace(m=m), d) != W0.shape:
            raise FldmError(
                f"init weights in {cfg.init} have shape {W0.shape}; a {model} model needs "
                f"({', '.join(map(str, models.get(model).weight_shape('m', 'd')))}) (m filters of "
                f"dimension d)"
            )
        if "d" in found and found["d"][0] != d:
            raise FldmError(
                f"init weights in {cfg.init} have dimension d = {d}, the data in {cfg.data} "
                f"d = {found['d'][0]}"
            )
        found.update(m=(m, cfg.init), d=(d, cfg.init))
    for name, (value, source) in found.items():
        if name in settings and settings[name] != value:
            raise FldmError(
                f"{name} = {settings[name]} conflicts with {source}, which has {name} = {value}; "
                f"leave {name} out (it is read from the file)"
            )
    return cfg.replace(**{name: value for name, (value, _) in found.items()}), data, W0


def run_and_save(args, run) -> None:
    """run(config, data, W0, progress=) -> sims.train.Result, saved into --out and summarised on
    stdout."""
    cfg, data, W0 = config_from_args(args)
    out = Path(args.out)
    io.check_folder(out, "--out")
    args.on_disk = f"nothing was written ({out} is as it was)"
    with io.claim(out):
        if (out / "result.json").exists() or (out / "result.npz").exists():
            note(
                f"{out} holds an earlier result; this run replaces it (choose --out DIR to keep "
                f"both)"
            )
        with progress.counting(
            cfg.steps, f"{args.command} {cfg.model}", enabled=shows_progress(args)
        ) as at_step:
            result = run(cfg, data, W0, progress=at_step)
        with args.stops.deferred():
            try:
                result.save(out)
            except OSError as exc:
                raise FldmError(
                    f"cannot write the result into {out}: {exc.strerror} "
                    f"({Path(exc.filename or '').name}); {args.on_disk}"
                ) from None
            args.on_disk = f"the result is in {out}"
    print(io.to_json({"out": args.out, **result.summary(), **regime_summary(cfg, result.data)}))


def regime_summary(cfg, data) -> dict:
    """{"regime": where the setting stands against the law of the model's stationary point (its
    theory's `regime`, e.g. theory.law for diffusion)} where a law covers the setting, else {}."""
    find = models.get(cfg.model).theory.regime
    regime = find(cfg, data) if find is not None else None
    if regime is None or regime.d2 is None:
        return {}
    return {"regime": {**regime.to_dict(), "in_words": regime.line()}}


def cmd_train(args) -> None:
    from functools import partial

    from sims.train import train

    run_and_save(args, partial(train, until_stationary=args.until_stationary))


def cmd_ode(args) -> None:
    from theory.ode import run_ode

    run_and_save(args, run_ode)


def cmd_predict(args) -> None:
    from theory.explain import explain
    from theory.predict import predict

    if args.out is not None:
        raise FldmError(
            "--out does not apply to fldm predict: it prints its predictions on stdout; "
            "redirect them (fldm predict ... > FILE)"
        )
    cfg, data, W0 = config_from_args(args)
    with progress.elapsed(f"predict {cfg.model}", enabled=shows_progress(args)):
        prediction = predict(cfg, data, W0)
    print(io.to_json(prediction) if args.json else explain(prediction.to_dict()))


def cmd_plot(args) -> None:
    from sims.studies.runplot import plot_runs

    print(f"wrote {plot_runs(args.runs, args.out, note=note)}")


@contextmanager
def study_outputs(args, what: str):
    """The block that writes a study's outputs into --out, which it holds (io.claim): they replace
    the earlier ones only once all are complete (io.together; `what` marks the set complete), the
    renames with stop signals deferred."""
    io.check_folder(args.out, "--out")
    io.check_folder(args.cache, "--cache")
    args.on_disk = (
        f"{args.out} is as it was; finished cells are kept in {args.cache}; a rerun resumes from "
        "them"
    )
    with io.claim(args.out), io.together(Path(args.out) / what, guard=args.stops.deferred):
        yield


def cmd_reproduce(args) -> None:
    from sims.studies.report import reproduce
    from sims.studies.sweep import dask_executor

    with (
        study_outputs(args, "report.json"),
        dask_executor(args.scheduler) if args.scheduler else nullcontext() as executor,
    ):
        reproduce(
            "full" if args.full else args.preset,
            out=args.out,
            cache_dir=args.cache,
            jobs=args.jobs,
            executor=executor,
            seed=args.seed,
            progress=shows_progress(args),
        )
    args.on_disk = f"the report is in {args.out}"
    print(f"report: {args.out}/REPORT.md")


def cmd_mnist(args) -> None:
    from sims.studies.mnist import format_table, run_study

    with study_outputs(args, "mnist.json"):
        result = run_study(
            args.out,
            quick=args.quick,
            seed=args.seed,
            idx_dir=args.idx_dir,
            cache_dir=args.cache,
            jobs=args.jobs,
            progress=shows_progress(args),
            log=print,
        )
    args.on_disk = f"the result is in {args.out}"
    print(format_table(result))
    print(
        f"wrote {args.out}/mnist.json and "
        + ", ".join(f"{args.out}/{f}" for f in result["figures"].values())
    )


def build_parser() -> Parser:
    parser = Parser(
        prog="fldm",
        description="Feature learning in diffusion models vs classification: simulations.",
    )
    parser.add_argument("--version", action="version", version=f"fldm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    p = sub.add_parser(
        "train", help="gradient descent on one model; writes DIR/result.npz and DIR/result.json"
    )
    add_run_options(p, "train")
    p.add_argument(
        "--until-stationary",
        action="store_true",
        help=f"stop once the run is stationary (||grad L|| at most {STATIONARY_RTOL:g} times its "
        "largest value on the run), at most --steps steps; every run says whether it got there "
        "(reached_stationary)",
    )
    p.set_defaults(func=cmd_train)
    p = sub.add_parser(
        "ode",
        help="the reduced alignment ODE (theory.ode) for a train setting; same output files as "
        "train",
    )
    add_run_options(p, "ode")
    p.set_defaults(func=cmd_ode)
    p = sub.add_parser(
        "predict", help="theory predictions for a train setting (theory.predict), in words"
    )
    add_run_options(p, "predict")
    p.add_argument(
        "--json",
        action="store_true",
        help="print every prediction as one strict JSON object instead",
    )
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "plot",
        help="draw the alignments and the loss of finished train/ode runs, overlaid, one column "
        "per model",
    )
    p.add_argument(
        "runs",
        nargs="+",
        metavar="RUN_DIR",
        help="--out folders of fldm train or fldm ode (either model, or both side by side)",
    )
    p.add_argument(
        "--out", metavar="FILE.png", help="the figure (default: RUN_DIR/plot.png of the first run)"
    )
    add_no_progress(p)  # accepted by every command; plotting shows none
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser(
        "reproduce",
        help="the synthetic study (and Noisy-MNIST): figures and a claim-by-claim report",
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        dest="preset",
        action="store_const",
        const="quick",
        help=f"the small default: {QUICK_RUN_TIME}",
    )
    size.add_argument("--full", action="store_true", help="larger grids, more seeds, longer runs")
    size.add_argument("--preset", choices=("tiny", "quick", "full"), help=argparse.SUPPRESS)
    p.add_argument(
        "--out",
        type=path_text,
        default="figures",
        help="folder for figures, report.json and REPORT.md (default figures)",
    )
    p.add_argument(
        "--cache",
        type=path_text,
        default="runs/cache",
        help="folder of finished cells, reused on reruns (default runs/cache)",
    )
    p.add_argument(
        "--jobs", type=counting_number(1), default=1, help="parallel worker processes (default 1)"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the cells on a dask.distributed scheduler (extra: dask)",
    )
    p.add_argument(
        "--seed",
        type=counting_number(0),
        default=0,
        help="base seed; each cell's seed derives from it (default 0)",
    )
    add_no_progress(p)
    p.set_defaults(func=cmd_reproduce, preset="quick")

    p = sub.add_parser(
        "mnist", help="Noisy-MNIST (real MNIST digits 0 vs 1 + Gaussian noise patch), both models"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"one repeat, 3000 steps ({MNIST_QUICK_TIME}); default: full run",
    )
    p.add_argument(
        "--out",
        type=path_text,
        metavar="DIR",
        default="runs/mnist",
        help="output folder (default runs/mnist)",
    )
    p.add_argument(
        "--idx-dir",
        type=path_text,
        metavar="DIR",
        help=f"folder with the MNIST IDX files (default: {SHIPPED_SOURCE})",
    )
    p.add_argument("--seed", type=counting_number(0), default=0, help="random seed (default 0)")
    p.add_argument(
        "--cache",
        type=path_text,
        default="runs/cache",
        help="folder of finished runs, reused on reruns (default runs/cache)",
    )
    p.add_argument(
        "--jobs", type=counting_number(1), default=1, help="parallel worker processes (default 1)"
    )
    add_no_progress(p)
    p.set_defaults(func=cmd_mnist)
    return parser


LONG_WORD = 120  # a word of a message longer than this (a pasted value, say) is shortened


def shorten(word: str) -> str:
    """A long word of a message as its start, an ellipsis and its length."""
    return word if len(word) <= LONG_WORD else f"{word[:40]}... ({len(word)} characters)"


def one_line(exc: BaseException) -> str:
    return " ".join(shorten(word) for word in str(exc).split())


class OutputFailed(Exception):
    """Writing to stdout failed (a full disk, a closed pipe): the command's files are written all
    the same, and the line says so."""


class Output:
    """sys.stdout while a command runs: a failed write or flush raises OutputFailed."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        try:
            return self.stream.write(text)
        except OSError as exc:
            raise OutputFailed(exc.strerror or one_line(exc)) from None

    def flush(self):
        try:
            self.stream.flush()
        except OSError as exc:
            raise OutputFailed(exc.strerror or one_line(exc)) from None

    def __getattr__(self, name):
        return getattr(self.stream, name)


def discard_output(stream) -> None:
    """Point stdout's file at /dev/null, so that the exit's final flush of what could not be written
    does not fail again (with a traceback)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's StringIO)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def error(message: str, exc: BaseException | None, debug: bool) -> int:
    if debug and exc is not None:
        traceback.print_exc()
    print(f"fldm: error: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    stops = signals.EARLY or StopSignals()  # installed by the `fldm` program itself, or here
    if stops is not signals.EARLY:
        stops.install()
    signals.unblock()  # the imports are done: a signal sent during them is handled here
    args = stops.args  # each command says what it has written (args.on_disk)
    args.stops = stops
    stdout = sys.stdout
    sys.stdout = Output(stdout)
    try:
        with stops.running():
            args = build_parser().parse_args(argv, namespace=args)
            with progress.command(quiet=args.quiet):
                args.func(args)
            sys.stdout.flush()
    except OutputFailed as exc:
        discard_output(stdout)
        return error(f"cannot write to stdout ({exc}); {args.on_disk}", None, debug)
    except FldmError as exc:
        return error(one_line(exc), exc, debug)
    except MemoryError as exc:
        return error(f"out of memory ({one_line(exc) or 'no detail'}); lower n, d or m", exc, debug)
    except OSError as exc:
        where = f": {shorten(str(exc.filename))}" if exc.filename else ""
        return error(f"{exc.strerror or one_line(exc)}{where}; {args.on_disk}", exc, debug)
    except KeyboardInterrupt:
        print(f"{signals.stop_line('SIGINT')}; {args.on_disk}", file=sys.stderr)
        return 130
    except Stopped as exc:
        print(f"{signals.stop_line(exc.name)}; {args.on_disk}", file=sys.stderr)
        return exc.code
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print(
            f"fldm: internal error: {type(exc).__name__}: {one_line(exc)}; rerun with --debug for "
            "the traceback",
            file=sys.stderr,
        )
        return 1
    finally:
        sys.stdout = stdout
        stops.cancel_timers()
        if stops is not signals.EARLY:
            stops.restore()
    return 0
