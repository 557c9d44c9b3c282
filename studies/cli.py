"""The arguments and the run of ``fullspike reproduce NAME`` (the CLI's thin entry finds this
folder in a source checkout and hands the sub-command to :func:`add_arguments` and :func:`run`)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from fullspike.cli import SEED
from fullspike.data.roots import DATA_ROOT_HELP

from .definitions import STORE, experiment_names

SCALE_HELP = (
    "smoke: minutes on the bundled 8x8 digits whatever the experiment's data set (tests the machinery, "
    "says nothing about a claim); cpu (default): sized for one CPU core, about an hour per run, reduced "
    "width, images and epochs as each experiment's note says; paper: the experiment's own data set at the "
    "configs' full width and epochs (for the DST depth study the CIFAR-10 proxy, not ImageNet; GPU); "
    "imagenet: the DST depth study's ImageNet configs, the paper's setting (GPUs and ImageNet data)"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Run an experiment of the reproduction study (studies/ of a source checkout): its training "
        "runs (finished ones are skipped, partial ones resumed), then results.json and plots in "
        "OUT/NAME/SCALE/. Experiments: " + ", ".join(experiment_names()) + ". Scales: " + SCALE_HELP + "."
    )
    p.add_argument("name", help="experiment name")
    p.add_argument("--scale", choices=["smoke", "cpu", "paper", "imagenet"], default="cpu", help=SCALE_HELP)
    p.add_argument("--out", default="runs/reproduce", help="results folder (default runs/reproduce)")
    p.add_argument(
        "--data-root",
        nargs="+",
        metavar="DIR|DATASET=DIR",
        help=f"where the real data are: DIR, {DATA_ROOT_HELP}, for every dataset, and/or DATASET=DIR for one "
        "(cifar10, fashion_mnist, nmnist, imagenet)",
    )
    p.add_argument(
        "--seeds",
        type=SEED,
        nargs="+",
        help="train only these seeds (default: the scale's); results cover the scale's seeds as well",
    )
    p.add_argument(
        "--variants",
        nargs="+",
        metavar="VARIANT",
        help="train only these variants (e.g. one per process); results cover all",
    )
    p.add_argument("--configs", help="configs folder (default: the configs shipped with the package)")
    p.add_argument(
        "--collect-only", action="store_true", help="train nothing: write results.json and plots from the finished runs"
    )
    p.add_argument(
        "--from-store",
        nargs="?",
        const=str(STORE),
        metavar="STORE",
        help="first bring back into OUT the finished runs that a results store (STORE/NAME/SCALE/results.json; "
        "default: the study's committed results, docs/reproduction) holds and OUT lacks: config, curves, "
        "metrics and analyses, without weights; the study then goes on from them on this machine",
    )


def run(args: argparse.Namespace) -> int:
    from fullspike.errors import ConfigError
    from fullspike.output_paths import output_dir

    from .definitions import get_experiment
    from .runner import parse_data_roots, run_experiment

    output_dir(args.out, "the study's runs and results")  # writable, checked before any work
    # the results cover the scale's seeds and the ones asked for: --seeds only where they add some
    planned = set(get_experiment(args.name).scale(args.scale).seeds)
    seeds = sorted(planned | set(args.seeds)) if args.seeds and set(args.seeds) - planned else []
    command = " ".join(
        shlex.quote(a)
        for a in [
            "fullspike",
            "reproduce",
            args.name,
            "--scale",
            args.scale,
            "--out",
            args.out,
            *(["--data-root", *args.data_root] if args.data_root else []),
            *(["--seeds", *map(str, seeds)] if seeds else []),
        ]
    )  # what trains the whole experiment (not only this process's --variants and --seeds)
    store = None
    if args.from_store is not None:
        store = Path(args.from_store)
        if args.from_store != str(STORE) and not (store / args.name / args.scale / "results.json").is_file():
            raise ConfigError(
                f"--from-store {args.from_store!r}: no {args.name}/{args.scale}/results.json there; give the folder "
                "that holds NAME/SCALE/results.json (e.g. studies/in_progress), or --from-store alone for the "
                "committed results"
            )
    run_experiment(
        args.name,
        args.scale,
        Path(args.out),
        parse_data_roots(args.data_root),
        args.seeds,
        Path(args.configs) if args.configs else None,
        train=not args.collect_only,
        command=command,
        variants=args.variants,
        store=store,
    )
    return 0
