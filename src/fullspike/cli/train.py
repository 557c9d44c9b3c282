"""``fullspike train``: train a config (the quick-start when none is given).

The command, not the library, sets two process-wide options, and prints one line saying which:
torch's deterministic algorithms (``train.deterministic``) and, on CPU, the glibc allocator tuning
of :mod:`fullspike.cpu_allocator` (``train.tune_cpu_allocator``). Set either key to false to
leave the process as it is.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import COUNT


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a YAML config",
        description="Train a model. With no --config, trains the quick-start "
        "(a BNTT conv net on the bundled digits) and prints test accuracy.",
    )
    p.add_argument(
        "--config",
        help="a shipped config's name (fullspike configs) or a YAML file; default: the quick-start, or with "
        "--resume the config stored in the checkpoint",
    )
    p.add_argument("--out", help="output folder (default: runs/<config name>)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/checkpoint.pt with its stored config (key=value overrides of "
        "optimiser, schedule and epochs are applied)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in OUT (its config, metrics, tb/ and checkpoint)",
    )
    p.add_argument(
        "--nproc",
        type=COUNT,
        default=1,
        help="data-parallel processes on this machine (launches torchrun; gloo on CPU)",
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="config overrides, e.g. train.epochs=5 model.T=4 optim.lr=0.05",
    )
    p.set_defaults(func=run)


def process_options(cfg) -> str:
    """Set the process-wide options ``cfg.train`` asks for; returns the line that says what was set."""
    import torch

    from ..cpu_allocator import tune_cpu_allocator
    from ..train import resolve_device

    done = []
    if cfg.train.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        done.append("deterministic algorithms on (train.deterministic)")
    if cfg.train.tune_cpu_allocator and resolve_device(cfg.train.device).type == "cpu" and tune_cpu_allocator():
        done.append("CPU allocator keeps freed memory (train.tune_cpu_allocator)")
    if not done:
        return "process settings: none changed"
    return f"process settings: {', '.join(done)}; set the key(s) to false to leave them"


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..output_paths import output_dir
    from ..train import load_config
    from ..train.experiment import resume_config

    if args.resume and args.overwrite:
        raise ConfigError("--resume continues the run in --out and --overwrite replaces it; give one of them")
    if args.resume and not args.config:
        out = Path(args.out) if args.out else Path("runs") / load_config(None).name
        cfg = resume_config(out, args.overrides)
    else:
        cfg = load_config(args.config, args.overrides)  # validate before launching workers
        out = Path(args.out) if args.out else Path("runs") / cfg.name
    out = output_dir(out, "the run")  # writable, checked before any work (cli.main removes it again if left empty)
    return _train(args, cfg, out)


def _train(args: argparse.Namespace, cfg, out: Path) -> int:
    from ..output_paths import exclusive_folder, writing
    from ..train import fit
    from ..train.experiment import prepare_run_folder
    from ..train.run_folder import recover_folder

    if args.nproc > 1:
        if not (args.resume or args.overwrite):  # refuse here, not once per worker
            with exclusive_folder(out, "training run"):
                recover_folder(out)  # what a killed --overwrite left halfway, as a single process would
                prepare_run_folder(out, overwrite=False)
        return _launch(args, out)
    line = process_options(cfg)
    if int(os.environ.get("RANK", "0")) == 0:
        print(line, flush=True)
    with writing(out, "the run"):
        fit(cfg, out, resume=args.resume, overwrite=args.overwrite)
    return 0


def _launch(args: argparse.Namespace, out: Path) -> int:
    from torch.distributed.run import main as torchrun

    cmd = ["--standalone", f"--nproc_per_node={args.nproc}", "-m", "fullspike", "train", "--out", str(out)]
    if args.config:
        cmd += ["--config", args.config]
    if args.resume:
        cmd.append("--resume")
    if args.overwrite:
        cmd.append("--overwrite")
    try:
        torchrun(cmd + list(args.overrides))
    except SystemExit as e:  # torchrun exits with the workers' status
        return int(e.code or 0)
    except Exception as e:  # ChildFailedError: the workers already printed their error
        print(f"error: data-parallel training failed: {type(e).__name__}", file=sys.stderr)
        return 1
    return 0
