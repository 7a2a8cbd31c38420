"""The `fldm` command line (also `python -m sims`). Every user error is one line on stderr and exit code 2."""
from __future__ import annotations

import argparse
import json
import sys

from sims import FldmError, __version__
from sims.config import MODELS, NOISE_MODES, TrainConfig, load_toml
from sims.data import LABEL_KINDS, NOISE_KINDS


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise FldmError(f"{self.prog}: {message} (see --help)")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    return value  # range checks live in TrainConfig, the one place that validates


def eta_value(text: str):
    return None if text == "auto" else positive_float(text)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of one run (names as the TrainConfig fields); defaults come from TrainConfig."""
    p.add_argument("model", choices=MODELS)
    p.add_argument("--n", type=int, help="number of training samples (default 20)")
    p.add_argument("--d", type=int, help="patch dimension (default 2000)")
    p.add_argument("--m", type=int, help="neurons (per class for classification; default 4)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--snr", type=positive_float, help="SNR = ||mu|| / (sigma_xi sqrt(d))")
    g.add_argument("--nsnr2", type=positive_float, help="n * SNR^2 (default 0.75)")
    p.add_argument("--sigma-xi", type=positive_float, help="noise patch scale (default 1)")
    p.add_argument("--sigma0", type=positive_float, help="initialisation scale (default 0.01)")
    p.add_argument("--eta", type=eta_value, help="learning rate, or 'auto' (default: auto, see sims.config.auto_eta)")
    p.add_argument("--steps", type=int, help="gradient descent steps (default 3000)")
    p.add_argument("--log-every", type=int, help="record alignments every this many steps (default 10)")
    p.add_argument("--tol", type=positive_float, help="stop once ||grad L|| < tol (default: never)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--alpha", type=positive_float, help="diffusion x_t = alpha x0 + beta eps (default 1/sqrt 2)")
    p.add_argument("--beta", type=positive_float, help="(default 1/sqrt 2)")
    p.add_argument("--scale", type=positive_float, help="network output scale c (default 1/m)")
    p.add_argument("--noise", choices=NOISE_MODES, help="diffusion expectation: exact (default), resampled, fixed")
    p.add_argument("--noise-samples", type=int, help="K draws for --noise resampled/fixed (default 16)")
    p.add_argument("--data-noise", choices=NOISE_KINDS, help="noise patches: projected (default), isotropic, orthogonal")
    p.add_argument("--labels", choices=LABEL_KINDS, help="random (default) or balanced labels")
    p.add_argument("--n-test", type=int, help="fresh samples for the classification test error (default 1000)")
    p.add_argument("--data", metavar="FILE.npz", help="data with keys x1, x2, y, mu instead of generated data")
    p.add_argument("--init", metavar="FILE.npy", help="initial W, (m, d) or (2, m, d)")
    p.add_argument("--config", metavar="FILE.toml", help="settings file; options given here override it")
    p.add_argument("--out", metavar="DIR", default="runs/latest", help="output folder (default runs/latest)")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = load_toml(args.config) if args.config else {}
    skip = {"config", "out", "command", "func"}
    values.update({k: v for k, v in vars(args).items() if k not in skip and v is not None})
    if args.data is not None:  # n and d come from the file
        from sims.data import load_npz
        data = load_npz(args.data)
        values.update(n=data.n, d=data.d)
    return TrainConfig.from_dict(values)


def cmd_train(args) -> None:
    from sims.train import train
    cfg = config_from_args(args)
    result = train(cfg)
    result.save(args.out)
    print(json.dumps({"out": args.out, **result.summary()}, indent=2))


def build_parser() -> Parser:
    parser = Parser(prog="fldm", description="Feature learning in diffusion models vs classification: simulations.")
    parser.add_argument("--version", action="version", version=f"fldm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    p = sub.add_parser("train", help="gradient descent on one model; writes DIR/result.npz and DIR/result.json")
    add_run_options(p)
    p.set_defaults(func=cmd_train)
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
