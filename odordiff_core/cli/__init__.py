"""`odordiff` command line. Each concern has its own module in this package exposing any of:

    register(subparsers)            top-level commands (predict, screen, interpret, generate, data ...)
    register_train(subparsers)      `odordiff train <target>`
    register_evaluate(subparsers)   `odordiff evaluate <target>`

Handlers are set with `parser.set_defaults(func=...)`; a handler returns the exit code. Modules import
heavy libraries (torch, RDKit) inside handlers so that `odordiff --help` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import OdorDiffError

_MODULES = ("data", "predictor", "text", "generator", "safety", "soundness", "materials", "serve", "store")  # order sets the order in --help


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="odordiff",
        description="OdorDiff: design new odorant molecules from words. Predict odor profiles, screen "
                    "safety, interpret a perfumer's brief and generate candidates with a diffusion model.",
        epilog="Run `odordiff COMMAND --help` for the options of one command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    train = sub.add_parser("train", help="retrain a model from the data (writes weights into the package)")
    train_sub = train.add_subparsers(dest="target", metavar="TARGET", required=True)
    evaluate = sub.add_parser("evaluate", help="measure a model (prints the figures of the model card)")
    eval_sub = evaluate.add_subparsers(dest="target", metavar="TARGET", required=True)
    for name in _MODULES:
        mod = importlib.import_module(f"{__name__}.{name}")
        for hook, target in (("register", sub), ("register_train", train_sub), ("register_evaluate", eval_sub)):
            if hasattr(mod, hook):
                getattr(mod, hook)(target)
    return parser


def _tolerant_output() -> None:
    """Makes stdout/stderr replace what their encoding cannot write (PYTHONIOENCODING=ascii, LC_ALL=C, a lone
    surrogate) with a backslash escape instead of raising UnicodeEncodeError halfway through the output."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # absent on a replaced stream (pytest capture, StringIO)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a detached or closed stream: leave it as it is
                pass


def main(argv: list[str] | None = None) -> int:
    """Runs one `odordiff` command; returns its exit code: 0 ok, 2 a user-fixable error (printed as `error: ...`)."""
    _tolerant_output()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed usage and `error: ...` (or --help)
        return exc.code if isinstance(exc.code, int) else 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except OdorDiffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
