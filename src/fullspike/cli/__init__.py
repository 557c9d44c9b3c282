"""The ``fullspike`` command line. Each subcommand is a module of this package exposing
``register(subparsers)``, which adds its parser and sets ``func`` to the handler
``func(args) -> int``. Errors a user can cause (:class:`FullspikeError`) print as one line.

Every command parses alike (:class:`CommandParser`): its ``key=value`` arguments (config
overrides, model arguments) may stand anywhere after the command's name. The library logs
through :mod:`logging` (the ``fullspike`` logger); while a command runs, its INFO lines go to
stdout and its warnings to stderr (``warning: ...``)."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import logging
import os
import re
import sys
import warnings
from typing import Any, Callable, Iterator

from .. import checks
from ..errors import FullspikeError
from ..params import Range
from ..registry import unknown_name
from ..seeding import MAX_SEED

# subcommand modules, in the order `fullspike --help` lists them
COMMANDS = ["train", "evaluate", "catalog", "analyze", "energy", "robustness", "export", "reproduce"]


#: the metavar a command gives its positional that collects ``key=value`` arguments
KEY_VALUE = "key=value"
_KEY_VALUE_TOKEN = re.compile(r"[A-Za-z_][\w.-]*=")


def option(rng: Range) -> Callable[[str], Any]:
    """The argparse ``type`` of a numeric option: a number in ``rng`` (:func:`fullspike.checks.allows`:
    an integer, or a finite real, within its bounds), the same range the library's own check
    states; anything else is one line naming the range
    (``argument --batch-size: must be an integer >= 1, got '-5'``)."""
    allowed = checks.describe(rng)

    def parse(text: str) -> Any:
        try:
            value = rng.kind(text)
        except ValueError:
            value = None
        if value is None or not checks.allows(rng, value):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    return parse


def integer(least: int = 1, most: int | None = None) -> Callable[[str], int]:
    """The argparse ``type`` of an integer option in ``[least, most]`` (:func:`option`)."""
    return option(Range(int, ge=least, le=most))


#: the shared argument types: a count (batches, samples, sizes), a seed (the config's train.seed
#: range), an image side length, and finite reals; the ranges are the library's (:mod:`fullspike.checks`)
COUNT = option(checks.COUNT)
SEED = integer(0, MAX_SEED)
MAX_IMAGE_SIZE = 1024  # random images of this side already take ~12 MiB per image and time step
IMAGE_SIZE = integer(1, MAX_IMAGE_SIZE)
FINITE = option(checks.FINITE)
POSITIVE = option(checks.POSITIVE)
NON_NEGATIVE = option(checks.NON_NEGATIVE)
UNIT = option(checks.UNIT)


class CommandParser(argparse.ArgumentParser):
    """The parser of every command (and of ``fullspike`` itself): ``key=value`` tokens anywhere
    among the arguments go to the command's positional whose metavar is :data:`KEY_VALUE`, in
    their order (argparse alone rejects them after an option's values, or lets a multi-value option
    such as ``--eps`` swallow them). The value of a single-value option (``--out X``) and
    everything after ``--`` is left alone.

    Options are never abbreviated (``--check`` is not ``--checkpoint``), and every parse error is
    one ``error: ...`` line with exit status 2: an unknown choice names the closest ones
    (:func:`fullspike.registry.unknown_name`), an unknown option the closest option."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        unknown = re.match(r"unrecognized arguments: (-\S+)", message)
        if unknown:  # its first unknown option
            close = difflib.get_close_matches(unknown.group(1).split("=")[0], list(self._option_string_actions), n=1)
            message += f" (did you mean {close[0]}?)" if close else f" ({self.prog} --help lists the options)"
        self.exit(2, f"error: {message}\n")

    def _check_value(self, action: argparse.Action, value) -> None:
        if action.choices is not None and value not in action.choices:
            kind = "command" if isinstance(action, argparse._SubParsersAction) else "value"
            raise argparse.ArgumentError(action, str(unknown_name(kind, value, [str(c) for c in action.choices])))

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = self._parse_pairs(args, namespace)
        if extras:  # a command's parser knows its own options: it names the closest one
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    def _parse_pairs(self, args, namespace):
        target = next((a for a in self._get_positional_actions() if a.metavar == KEY_VALUE), None)
        if target is None or args is None:
            return super().parse_known_args(args, namespace)
        pairs, rest, value_next, literal = [], [], False, False
        for token in args:
            if value_next or literal:
                value_next = False
            elif token == "--":
                literal = True
            elif _KEY_VALUE_TOKEN.match(token):
                pairs.append(token)
                continue
            elif token.startswith("-") and "=" not in token:
                action = self._option_string_actions.get(token)
                value_next = action is not None and action.nargs is None
            rest.append(token)
        namespace, extras = super().parse_known_args(rest, namespace)
        setattr(namespace, target.dest, list(getattr(namespace, target.dest, None) or []) + pairs)
        return namespace, extras


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = CommandParser(
        prog="fullspike",
        description="Train, evaluate and analyse deep spiking neural networks (BNTT, DST/AAP).",
    )
    parser.add_argument("--version", action="version", version=f"fullspike {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for name in COMMANDS:
        importlib.import_module(f".{name}", __name__).register(sub)
    return parser


class _ConsoleHandler(logging.StreamHandler):
    """Writes each record to ``sys.<name>`` as it is at that moment (tests swap the streams)."""

    def __init__(self, name: str, fmt: str) -> None:
        self._stream_name = name
        super().__init__()
        self.setFormatter(logging.Formatter(fmt))

    @property
    def stream(self):
        return getattr(sys, self._stream_name)

    @stream.setter
    def stream(self, value) -> None:  # looked up per record instead
        pass


@contextlib.contextmanager
def _library_log_shown() -> Iterator[None]:
    """While a command runs, the library's INFO lines go to stdout, its warnings to stderr, and
    its notices (``warnings.warn`` with one of the library's categories, e.g. the one-off
    compile of the native kernels) to stderr as one ``note:`` line, without Python's source echo."""
    out = _ConsoleHandler("stdout", "%(message)s")
    out.addFilter(lambda record: record.levelno < logging.WARNING)
    err = _ConsoleHandler("stderr", "warning: %(message)s")
    err.setLevel(logging.WARNING)
    logger, level = logging.getLogger("fullspike"), logging.getLogger("fullspike").level
    for handler in (out, err):
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("fullspike."):
            print(f"note: {message}", file=sys.stderr, flush=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown
        for handler in (out, err):
            logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:  # `fullspike` alone: train the quick-start
        argv = ["train"]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a parse error (one line already printed)
        return e.code if isinstance(e.code, int) else 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from ..output_paths import folders_made, remove_empty_folders

    try:
        with _library_log_shown(), folders_made() as made:
            try:
                status = int(args.func(args) or 0)
            except BaseException:
                remove_empty_folders(made)  # a command that fails leaves no empty folder behind
                raise
            if status:
                remove_empty_folders(made)
            return status
    except FullspikeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # python -m fullspike.cli
    sys.exit(main())
