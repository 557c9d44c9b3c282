"""``fullspike evaluate``: test accuracy of a checkpoint."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .early_exit import add_early_exit_args, early_exit_dir, run_early_exit


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a checkpoint on the test (or validation) split")
    p.add_argument("--config", help="YAML config (default: the config stored in the checkpoint)")
    p.add_argument("--checkpoint", required=True, help="checkpoint.pt written by `fullspike train`")
    p.add_argument("--split", choices=["test", "val"], default="test")
    p.add_argument("--out", help="write the results as JSON to this file")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    add_early_exit_args(p)
    p.set_defaults(func=run)


def load_trained(config: str | None, checkpoint: str, overrides: list[str]):
    """(cfg, data splits, model with the checkpoint's weights, device) for evaluation commands."""
    from ..train import build_data, build_model, load_checkpoint, load_config, load_model_state, resolve_device
    from ..train.config import apply_overrides, config_from_dict

    ckpt = load_checkpoint(checkpoint)
    if config:
        cfg = load_config(config, overrides)
    else:
        cfg = config_from_dict(apply_overrides(ckpt["config"], overrides))
    data = build_data(cfg)
    model = build_model(cfg, data.info)
    load_model_state(model, ckpt, cfg.model_name, checkpoint)
    device = resolve_device(cfg.train.device)
    return cfg, data, model.to(device).eval(), device


def run(args: argparse.Namespace) -> int:
    from ..data import make_loader
    from ..errors import ConfigError
    from ..outputs import output_dir, output_file, writing
    from ..train import evaluate

    if args.early_exit:  # check the output location before the work
        output_dir(early_exit_dir(args), "early_exit.json")
    if args.out:
        output_file(args.out, "the results")
    cfg, data, model, device = load_trained(args.config, args.checkpoint, args.overrides)
    split = data.test if args.split == "test" else data.val
    if split is None:
        raise ConfigError("--split val needs a validation split: set data.val_fraction > 0")
    loader = make_loader(split, data.info, cfg.data.eval_batch_size or cfg.data.batch_size, False,
                         cfg.data.num_workers)
    if args.early_exit:
        return run_early_exit(args, model, loader, device, cfg.train.progress)
    res = evaluate(model, loader, device, cfg.train.amp, cfg.train.progress, desc=args.split)
    res = {"checkpoint": str(args.checkpoint), "split": args.split, "samples": len(split), **res}
    for k, v in res.items():
        print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    if args.out:
        with writing(args.out, "the results"):
            Path(args.out).write_text(json.dumps(res, indent=2))
    return 0
