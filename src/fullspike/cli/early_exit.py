"""The ``--early-exit`` option of ``fullspike evaluate`` (not a subcommand of its own).

``fullspike evaluate --checkpoint C --early-exit [--exit-threshold 0.1] [--margins ...]``
prints the BNTT gamma statistics, the exit step, accuracy and energy at every T' <= T and the
per-sample exit, and writes ``early_exit.json``, ``gamma.png`` and ``early_exit.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import POSITIVE, UNIT, integer

#: the files the analysis writes to :func:`early_exit_dir`
EARLY_EXIT_FILES = ("early_exit.json", "gamma.png", "early_exit.png")


def add_early_exit_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("BNTT early exit")
    g.add_argument(
        "--early-exit",
        action="store_true",
        help="BNTT early exit: exit step from the gammas, accuracy/energy at every T', per-sample exit",
    )
    g.add_argument(
        "--exit-threshold",
        type=POSITIVE,
        default=0.1,
        help="exit once the mean BNTT gamma (a scale > 0) stays below this (> 0; default 0.1)",
    )
    g.add_argument(
        "--margins",
        type=UNIT,
        nargs="+",
        default=[0.5, 0.8, 0.9, 0.95],
        help="per-sample exit: softmax top-1 minus top-2 margins to report, each in [0, 1]",
    )
    g.add_argument(
        "--energy-batches",
        type=integer(0),
        default=2,
        help="batches to count the energy per step on (0: skip; default 2)",
    )
    g.add_argument(
        "--early-exit-dir",
        help="folder for early_exit.json and the plots "
        "(default: <checkpoint folder>/early_exit; runs/zoo/<entry>/early_exit for zoo:NAME)",
    )


def early_exit_dir(args: argparse.Namespace) -> Path:
    """--early-exit-dir, else ``<run folder>/early_exit`` (``runs/zoo/<entry>/early_exit`` for the zoo)."""
    from ..train.load import resolve_checkpoint

    return (
        Path(args.early_exit_dir) if args.early_exit_dir else resolve_checkpoint(args.checkpoint).folder / "early_exit"
    )


def run_early_exit(args: argparse.Namespace, model, gammas, loader, device, progress: bool | None = None) -> int:
    """Run the analysis (bars per :func:`fullspike.progress.show_bars`) and write its files to
    :func:`early_exit_dir` (checked by the caller before loading anything); ``gammas``: the
    model's :func:`~fullspike.analysis.early_exit.gamma_statistics`."""
    from ..analysis.early_exit import analyse_early_exit
    from ..output_paths import writing
    from ..viz import plot_accuracy_energy, plot_gamma
    from .saving import print_wrote, save_plot

    out = early_exit_dir(args)
    json_name, gamma_name, plot_name = EARLY_EXIT_FILES
    result = analyse_early_exit(
        model,
        loader,
        device,
        threshold=args.exit_threshold,
        margins=args.margins,
        energy_batches=args.energy_batches,
        progress=progress,
    )
    print(result.summary())
    with writing(out, json_name):
        (out / json_name).write_text(json.dumps(result.to_dict(), indent=2))
    print_wrote(
        out / json_name,
        save_plot(lambda path: plot_gamma(gammas, path, args.exit_threshold), out / gamma_name),
        save_plot(lambda path: plot_accuracy_energy(result, path), out / plot_name),
    )
    return 0
