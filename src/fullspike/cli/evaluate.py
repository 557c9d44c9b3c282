"""``fullspike evaluate``: test accuracy of a checkpoint."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .early_exit import add_early_exit_args, run_early_exit


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a checkpoint on the test (or validation) split")
    p.add_argument("--config", help="YAML config (default: the config stored in the checkpoint)")
    p.add_argument("--checkpoint", required=True,
                   help="checkpoint.pt written by `fullspike train`, or its run folder")
    p.add_argument("--split", choices=["test", "val"], default="test")
    p.add_argument("--out", help="write the results as JSON to this file")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    add_early_exit_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import load
    from ..train import build_eval_loader, evaluate, resolve_device

    model, cfg = load(args.checkpoint, config=args.config, overrides=args.overrides)
    device = resolve_device(cfg.train.device)
    loader, _ = build_eval_loader(cfg, args.split)
    if args.early_exit:
        return run_early_exit(args, model, loader, device)
    res = evaluate(model, loader, device, cfg.train.amp, cfg.train.progress, desc=args.split)
    res = {"checkpoint": str(args.checkpoint), "split": args.split, "samples": len(loader.dataset), **res}
    for k, v in res.items():
        print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))
    return 0
