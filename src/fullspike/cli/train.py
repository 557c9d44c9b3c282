"""``fullspike train``: train a config (the quick-start when none is given)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config",
                       description="Train a model. With no --config, trains the quick-start "
                                   "(a BNTT conv net on the bundled digits) and prints test accuracy.")
    p.add_argument("--config", help="YAML config (see configs/); default: the quick-start")
    p.add_argument("--out", help="output folder (default: runs/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--nproc", type=int, default=1,
                   help="data-parallel processes on this machine (launches torchrun; gloo on CPU)")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="config overrides, e.g. train.epochs=5 model.T=4 optim.lr=0.05")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..outputs import output_dir, writing
    from ..train import fit, load_config

    cfg = load_config(args.config, args.overrides)  # validate before launching workers
    out = output_dir(args.out if args.out else Path("runs") / cfg.name, "the run")
    if args.nproc > 1:
        return _launch(args, out)
    with writing(out, "the run"):
        fit(cfg, out, resume=args.resume)
    return 0


def _launch(args: argparse.Namespace, out: Path) -> int:
    from torch.distributed.run import main as torchrun

    cmd = ["--standalone", f"--nproc_per_node={args.nproc}", "-m", "fullspike", "train", "--out", str(out)]
    if args.config:
        cmd += ["--config", args.config]
    if args.resume:
        cmd.append("--resume")
    try:
        torchrun(cmd + list(args.overrides))
    except SystemExit as e:  # torchrun exits with the workers' status
        return int(e.code or 0)
    except Exception as e:  # ChildFailedError: the workers already printed their error
        print(f"error: data-parallel training failed: {type(e).__name__}", file=sys.stderr)
        return 1
    return 0
