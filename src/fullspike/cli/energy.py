"""``fullspike energy``: synaptic operations (AC / MAC) and energy per layer of a model.

Counts the BN-folded network on the class-balanced selection of ``--samples`` samples of a split (mean per sample,
all time steps), prints the per-layer table, and writes ``energy.json`` and ``energy.png``.
Without ``--checkpoint`` the model is freshly initialised and its BN statistics are first
estimated on ``--bn-batches`` training-mode batches (docs/methods.md, "Energy accounting").
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import COUNT, POSITIVE


def register(sub) -> None:
    p = sub.add_parser("energy", help="count synaptic operations (AC/MAC) and energy per layer")
    p.add_argument("--config", help="YAML config (default: the one stored in the checkpoint)")
    p.add_argument(
        "--checkpoint",
        help="trained weights: a run folder, checkpoint.pt or zoo:NAME; without it, a fresh model "
        "with estimated BN statistics",
    )
    p.add_argument("--split", choices=["test", "val", "train"], default="test")
    p.add_argument(
        "--samples", type=COUNT, default=256, help="class-balanced samples of the split to count over (default 256)"
    )
    p.add_argument("--batch-size", type=COUNT, help="batch size (default: the config's)")
    p.add_argument(
        "--bn-batches",
        type=COUNT,
        default=2,
        help="without --checkpoint: batches to estimate BN statistics on (default 2)",
    )
    p.add_argument("--fsnn", action="store_true", help="dual-stream models: count the full-spike network (AAP removed)")
    p.add_argument("--e-ac", type=POSITIVE, default=0.9, help="energy per accumulate, pJ (default 0.9)")
    p.add_argument("--e-mac", type=POSITIVE, default=4.6, help="energy per multiply-accumulate, pJ (default 4.6)")
    p.add_argument(
        "--out",
        help="folder for energy.json / energy.png (default: the checkpoint's "
        "folder, runs/zoo/<entry> for zoo:NAME, or runs/<config name>)",
    )
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides")
    p.set_defaults(func=run)


def open_model(
    config: str | None,
    checkpoint: str | None,
    overrides: list[str],
    split: str,
    batch_size: int | None,
    samples: int,
):
    """``(cfg, model, device, loader, its analysis set)``: trained (:func:`fullspike.load`), or
    fresh from ``config``; the loader covers the class-balanced selection of ``samples`` samples of
    ``split`` (:func:`fullspike.data.selection.selected_loader`)."""
    from .. import load
    from ..data.selection import selected_loader
    from ..errors import ConfigError
    from ..train import build_model, build_split, load_config, resolve_device

    if checkpoint:
        model, cfg = load(checkpoint, config=config, overrides=overrides)
    elif config:
        cfg = load_config(config, overrides)
    else:
        raise ConfigError("give --checkpoint (trained weights) or --config (a freshly initialised model)")
    device = resolve_device(cfg.train.device)
    dataset, info = build_split(cfg, split)
    bs = batch_size or cfg.data.eval_batch_size or cfg.data.batch_size
    loader, chosen = selected_loader(dataset, info, samples, bs, split, cfg.data.num_workers)
    if not checkpoint:
        model = build_model(cfg, info).to(device)
    return cfg, model, device, loader, chosen


def _out_dir(args: argparse.Namespace) -> Path | None:
    """--out, else the checkpoint's folder, else runs/<config name> (None: no config to name it)."""
    from ..train import load_config
    from ..train.load import resolve_checkpoint

    if args.out:
        return Path(args.out)
    if args.checkpoint:
        return resolve_checkpoint(args.checkpoint).folder
    return Path("runs") / load_config(args.config, args.overrides).name if args.config else None


def run(args: argparse.Namespace) -> int:
    from ..dst import has_aap, remove_aap
    from ..energy import count_synaptic_ops, estimate_bn_stats, fold_bn
    from ..output_paths import output_dir, writing
    from ..seeding import seeded_draws
    from ..train import build_eval_loader
    from ..train.load import read_files
    from ..train.trainer import EVAL_SEED
    from .saving import print_wrote, save_plot

    out = _out_dir(args)
    if out is not None:  # check before the work (else open_model says what to give)
        output_dir(
            out, "energy.json", files=("energy.json", "energy.png"), reads=read_files(args.checkpoint, args.config)
        )
    cfg, model, device, loader, chosen = open_model(
        args.config, args.checkpoint, args.overrides, args.split, args.batch_size, args.samples
    )
    if not args.checkpoint:  # BN statistics from --bn-batches batches' worth of the split, class-balanced
        bn_loader, _ = build_eval_loader(cfg, args.split, loader.batch_size, args.bn_batches * loader.batch_size)
        estimate_bn_stats(model, bn_loader, args.bn_batches, progress=cfg.train.progress)
    if args.fsnn and has_aap(model):
        model = remove_aap(model)
    with seeded_draws(EVAL_SEED, device):  # a rate encoder's spikes: the same counts on every run
        report = count_synaptic_ops(
            fold_bn(model),
            loader,
            e_ac_pj=args.e_ac,
            e_mac_pj=args.e_mac,
            progress=cfg.train.progress,
            name=cfg.model_name + (" (FSNN)" if args.fsnn else ""),
        )
    print(report.table())
    with writing(out, "energy.json"):
        saved = report.save_json(out / "energy.json", analysis_set=chosen.to_dict())
    print_wrote(saved, save_plot(report.plot, out / "energy.png"))
    return 0
