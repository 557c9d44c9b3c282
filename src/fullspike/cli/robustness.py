"""``fullspike robustness``: accuracy under Gaussian noise, FGSM and PGD, SNN vs ANN.

Perturbation sizes are in pixel units (``--eps`` in /255, ``--sigmas`` as a fraction of the
pixel range) and are divided by the dataset's normalisation std per channel; see
:mod:`fullspike.analysis.robustness`. Both models are evaluated on the same samples (the SNN
config's split). Writes ``robustness.json``, ``robustness.md`` and ``robustness.png``.

A rate-coded model's clean and perturbed accuracies of one batch are measured on the same encoder
draws (common random numbers, ``"shared_draws": true`` in ``robustness.json``): eps 0 and sigma 0
are exactly the clean accuracy, and the differences are the perturbations'.
"""

from __future__ import annotations

import argparse
import json

from . import COUNT, FINITE, NON_NEGATIVE, POSITIVE, SEED


def register(sub) -> None:
    p = sub.add_parser("robustness", help="accuracy under Gaussian noise, FGSM and PGD (SNN vs ANN)")
    p.add_argument("--config", help="YAML config of the SNN (default: the one stored in the checkpoint)")
    p.add_argument("--checkpoint", required=True, help="the SNN's checkpoint.pt, its run folder, or zoo:NAME")
    p.add_argument("--ann-checkpoint", help="checkpoint of the ANN counterpart (e.g. model vgg9_ann / convnet_ann)")
    p.add_argument("--ann-config", help="YAML config of the ANN (default: the one stored in its checkpoint)")
    p.add_argument(
        "--eps",
        type=NON_NEGATIVE,
        nargs="+",
        default=[0, 2, 4, 8],
        help="L-inf radii in /255 (default 0 2 4 8); 0 is exactly the clean accuracy",
    )
    p.add_argument(
        "--sigmas",
        type=NON_NEGATIVE,
        nargs="+",
        default=[0, 0.05, 0.1, 0.2],
        help="Gaussian noise std in pixel units (default 0 0.05 0.1 0.2); 0 is exactly the clean accuracy",
    )
    p.add_argument("--attacks", nargs="+", default=["gaussian", "fgsm", "pgd"], choices=["gaussian", "fgsm", "pgd"])
    p.add_argument("--pgd-steps", type=COUNT, default=7, help="PGD steps (default 7)")
    p.add_argument("--pgd-alpha", type=POSITIVE, default=2, help="PGD step size in /255 (default 2)")
    p.add_argument(
        "--samples",
        type=COUNT,
        default=1000,
        help="N class-balanced test samples (default 1000; fewer when the split is smaller)",
    )
    p.add_argument("--batch-size", type=COUNT, help="batch size (default: the config's)")
    p.add_argument("--mean", type=FINITE, nargs="+", help="input normalisation mean (default: the dataset's)")
    p.add_argument("--std", type=POSITIVE, nargs="+", help="input normalisation std (default: the dataset's)")
    p.add_argument(
        "--seed",
        type=SEED,
        default=0,
        help="seeds every random draw: the noise, PGD's random start, rate-coded inputs (default 0); "
        "the clean and every perturbed evaluation of a batch share their rate-coded draws",
    )
    p.add_argument("--out", help="output folder (default: the checkpoint's folder)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="SNN config overrides")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import load
    from ..analysis.robustness import (
        Normalization,
        evaluate_robustness,
        find_normalization,
        robustness_table,
    )
    from ..data.selection import selected_loader
    from ..errors import ConfigError
    from ..output_paths import output_dir, writing
    from ..train import build_split, resolve_device
    from ..train.load import read_files, resolve_checkpoint
    from ..viz import plot_robustness
    from .saving import print_wrote, save_plot

    out = output_dir(  # before the work
        args.out or resolve_checkpoint(args.checkpoint).folder,
        "robustness.json",
        files=("robustness.md", "robustness.json", "robustness.png"),
        reads={**read_files(args.checkpoint, args.config), **read_files(args.ann_checkpoint, args.ann_config)},
    )
    if (args.mean is None) != (args.std is None):
        raise ConfigError("give both --mean and --std, or neither")
    if args.mean and len(args.mean) != len(args.std):
        raise ConfigError(
            f"--mean has {len(args.mean)} value(s) but --std {len(args.std)}: give both one value per input channel"
        )
    snn, cfg = load(args.checkpoint, config=args.config, overrides=args.overrides)
    device = resolve_device(cfg.train.device)
    dataset, info = build_split(cfg, "test")
    if args.mean and len(args.mean) != info.in_channels:
        raise ConfigError(
            f"--mean and --std give {len(args.mean)} value(s) each, but the {cfg.data.name} inputs have "
            f"{info.in_channels} channel(s): give one value per channel"
        )
    batch_size = args.batch_size or cfg.data.eval_batch_size or cfg.data.batch_size
    loader, chosen = selected_loader(dataset, info, args.samples, batch_size, "test", cfg.data.num_workers)
    norm = Normalization(tuple(args.mean), tuple(args.std)) if args.mean else find_normalization(loader.dataset)
    models = {f"SNN ({cfg.model_name})": snn}
    if args.ann_checkpoint:
        ann, ann_cfg = load(args.ann_checkpoint, config=args.ann_config, device=device)
        if ann_cfg.data.name != cfg.data.name:
            raise ConfigError(f"the ANN was trained on '{ann_cfg.data.name}' but the SNN on '{cfg.data.name}'")
        models[f"ANN ({ann_cfg.model_name})"] = ann
    results = {}
    for name, model in models.items():
        print(f"evaluating {name} ...", flush=True)
        results[name] = evaluate_robustness(
            model,
            loader,
            norm,
            device=device,
            eps=[e / 255 for e in args.eps],
            sigmas=args.sigmas,
            pgd_steps=args.pgd_steps,
            pgd_alpha=args.pgd_alpha / 255,
            attacks=args.attacks,
            seed=args.seed,
            progress=cfg.train.progress,
        )
    table = robustness_table(results)
    print(table)
    with writing(out, "the robustness results"):
        (out / "robustness.md").write_text(table + "\n")
        record = {"analysis_set": chosen.to_dict(), **{k: r.to_dict() for k, r in results.items()}}
        (out / "robustness.json").write_text(json.dumps(record, indent=2))
    print_wrote(
        out / "robustness.md",
        out / "robustness.json",
        save_plot(lambda path: plot_robustness(results, path), out / "robustness.png"),
    )
    return 0
