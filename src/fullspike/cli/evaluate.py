"""``fullspike evaluate``: test accuracy of a checkpoint.

Random draws (rate-coded inputs) come from generators seeded with ``--seed`` (default 0, the seed
training's final test evaluation uses), so evaluating a finished run repeats its recorded
``test_accuracy`` exactly; the seed is printed with the results."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import SEED
from .early_exit import EARLY_EXIT_FILES, add_early_exit_args, early_exit_dir, run_early_exit


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a checkpoint on the test (or validation) split")
    p.add_argument("--config", help="YAML config (default: the config stored in the checkpoint)")
    p.add_argument(
        "--checkpoint",
        required=True,
        help="checkpoint.pt written by `fullspike train`, its run folder, or zoo:NAME (the model zoo)",
    )
    p.add_argument("--split", choices=["test", "val"], default="test")
    p.add_argument("--out", help="write the results as JSON to this file")
    p.add_argument(
        "--seed",
        type=SEED,
        default=None,
        help="seed of the evaluation's random draws, e.g. rate coding (default 0: what training's "
        "test evaluation used)",
    )
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    add_early_exit_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import load
    from ..analysis.early_exit import gamma_statistics
    from ..errors import ConfigError
    from ..output_paths import output_dir, output_file, writing
    from ..seeding import seeded_draws
    from ..train import build_eval_loader, evaluate, resolve_device
    from ..train.load import read_files
    from ..train.trainer import EVAL_SEED

    if args.early_exit and args.out is not None:
        raise ConfigError(
            "--out writes the accuracy of a plain evaluation; --early-exit writes early_exit.json to "
            "--early-exit-dir: drop --out, or run the two separately"
        )
    if args.out == "":
        raise ConfigError("--out is empty: give the JSON file to write, or leave --out out")
    reads = read_files(args.checkpoint, args.config)  # never overwritten by the outputs
    if args.early_exit:  # check the output location before the work
        output_dir(early_exit_dir(args), "early_exit.json", files=EARLY_EXIT_FILES, reads=reads)
    if args.out:
        output_file(args.out, "the results", reads=reads)
    model, cfg = load(args.checkpoint, config=args.config, overrides=args.overrides)
    if args.early_exit:  # a model without BNTT is refused before the data are read or anything is printed
        gammas = gamma_statistics(model, f"{args.checkpoint} (model {cfg.model_name})")
    device = resolve_device(cfg.train.device)
    loader, _ = build_eval_loader(cfg, args.split)
    seed = EVAL_SEED if args.seed is None else args.seed
    if args.early_exit:
        print(f"seed: {seed}")
        with seeded_draws(seed, device):
            return run_early_exit(args, model, gammas, loader, device, cfg.train.progress)
    res = evaluate(model, loader, device, cfg.train.amp, cfg.train.progress, desc=args.split, seed=seed)
    res = {"checkpoint": str(args.checkpoint), "split": args.split, "samples": len(loader.dataset), "seed": seed, **res}
    for k, v in res.items():
        print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    if args.out:
        with writing(args.out, "the results"):
            Path(args.out).write_text(json.dumps(res, indent=2))
    return 0
