"""``fullspike reproduce NAME``: run one experiment of the reproduction study (a set of training
runs generated from the shipped configs, fullspike/configs/, with overrides), skipping finished runs and resuming partial ones,
and write its results.json and plots."""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path


def register(sub) -> None:
    from ..reproduce import experiment_names

    p = sub.add_parser("reproduce", help="run an experiment of the reproduction study (REPRODUCTION.md)",
                       description="Run an experiment of the reproduction study: its training runs (finished "
                                   "ones are skipped, partial ones resumed), then results.json and plots in "
                                   "OUT/NAME/SCALE/. Experiments: " + ", ".join(experiment_names()) + ".")
    p.add_argument("name", help="experiment name")
    p.add_argument("--scale", choices=["cpu", "paper", "smoke"], default="cpu",
                   help="cpu: sized for one CPU core, about an hour per run; paper: the paper's setting (GPU); "
                        "smoke: minutes on the bundled digits (tests the machinery only)")
    p.add_argument("--out", default="runs/reproduce", help="results folder (default runs/reproduce)")
    p.add_argument("--data-root", nargs="+", metavar="DIR|DATASET=DIR",
                   help="where the real data are: DIR holding cifar10/, fashion-mnist/, NMNIST-subset/, "
                        "and/or DATASET=DIR for one dataset (cifar10, fashion_mnist, nmnist)")
    p.add_argument("--seeds", type=int, nargs="+",
                   help="train only these seeds (default: the scale's); results cover the scale's seeds as well")
    p.add_argument("--variants", nargs="+", metavar="VARIANT",
                   help="train only these variants (e.g. one per process); results cover all")
    p.add_argument("--configs", help="configs folder (default: the configs shipped with the package)")
    p.add_argument("--collect-only", action="store_true",
                   help="train nothing: write results.json and plots from the finished runs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..reproduce import parse_data_roots, run_experiment

    command = " ".join(shlex.quote(a) for a in [
        "fullspike", "reproduce", args.name, "--scale", args.scale, "--out", args.out,
        *(["--data-root", *args.data_root] if args.data_root else []),
        *(["--seeds", *map(str, args.seeds)] if args.seeds else [])])  # what trains the whole experiment
    run_experiment(args.name, args.scale, Path(args.out), parse_data_roots(args.data_root), args.seeds,
                   Path(args.configs) if args.configs else None, train=not args.collect_only, command=command,
                   variants=args.variants)
    return 0
