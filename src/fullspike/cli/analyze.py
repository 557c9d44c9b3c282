"""``fullspike analyze``: analyses of spiking networks.

- ``analyze gradients --model NAME [NAME ...] --alpha 1 4 8``: per-block gradient norms (and
  firing rates) of freshly initialised networks over a few batches, for each surrogate alpha.
- ``analyze firing --model NAME ...`` or ``--checkpoint K [--config C]``: per-block firing rates of
  a fresh network (training-mode BN) or of a trained one (a run folder, checkpoint or
  ``zoo:NAME``; evaluation mode, test split; ``key=value`` are then config overrides and
  ``--data-root DIR`` is ``data.root=DIR``).

Both write ``<kind>.csv``, ``<kind>.json`` and ``<kind>.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.roots import DATA_ROOT_HELP
from . import COUNT, IMAGE_SIZE, POSITIVE, SEED, integer


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        nargs="+",
        metavar="NAME",
        help="registered model name(s); key=value model arguments may stand anywhere",
    )
    p.add_argument("--batches", type=COUNT, default=2, help="batches to average over (default 2)")
    p.add_argument("--batch-size", type=COUNT, default=8)
    p.add_argument("--data", metavar="DATASET", help="a registered dataset (default: random images)")
    p.add_argument(
        "--data-root",
        metavar="DIR",
        help=f"where the data are: {DATA_ROOT_HELP} (default $FULLSPIKE_DATA/<dataset>, else "
        "~/.cache/fullspike/data/<dataset>); with --checkpoint: data.root=DIR",
    )
    p.add_argument("--image-size", type=IMAGE_SIZE, help="random images: side length (default 32, at most 1024)")
    p.add_argument("--in-channels", type=COUNT, help="random images: channels (default 3)")
    p.add_argument("--num-classes", type=integer(2), help="random labels: classes (default 10)")
    p.add_argument("--seed", type=SEED, default=0, help="seeds the weights and the batches")
    p.add_argument("--out", default="runs/analysis", help="output folder (default runs/analysis)")
    p.add_argument(
        "model_args",
        nargs="*",
        metavar="key=value",
        help="model keyword arguments, e.g. stem=cifar width=16 T=4 (with --checkpoint: "
        "config overrides, e.g. data.root=DIR)",
    )


def register(sub) -> None:
    p = sub.add_parser("analyze", help="per-block gradient norms and firing rates of spiking networks")
    kinds = p.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    g = kinds.add_parser("gradients", help="per-block gradient norms vs surrogate alpha (and firing rates)")
    _common(g)
    g.add_argument("--alpha", nargs="+", type=POSITIVE, default=[4.0], help="surrogate alphas (default 4)")
    g.add_argument("--surrogate", default="sigmoid", help="surrogate name (default sigmoid)")
    g.set_defaults(func=run_gradients)
    f = kinds.add_parser("firing", help="per-block firing rates (fresh or trained network)")
    _common(f)
    f.add_argument("--config", help="config of a trained model (with --checkpoint)")
    f.add_argument(
        "--checkpoint", help="a trained model (run folder, checkpoint.pt or zoo:NAME): evaluation mode, test split"
    )
    f.set_defaults(func=run_firing)


#: the random images' shape when --image-size, --in-channels, --num-classes are not given
RANDOM_IMAGES = {"image_size": 32, "in_channels": 3, "num_classes": 10}


def _refuse_fixed(args, fixed_by: str, names: tuple[str, ...]) -> None:
    """The options among ``names`` (dests) that were given, refused in one line: ``fixed_by``
    fixes what they set (they would be ignored)."""
    from ..errors import ConfigError

    given = ["--" + n.replace("_", "-") for n in names if getattr(args, n) is not None]
    if given:
        raise ConfigError(f"{', '.join(given)} cannot go with {fixed_by}; drop {'them' if len(given) > 1 else 'it'}")


def _model_kwargs(args, name: str, info) -> dict:
    """``key=value`` model arguments, completed from the data (or the random images' shape)."""
    import yaml

    from ..data import DatasetInfo
    from ..errors import ConfigError
    from ..train import infer_model_kwargs

    kwargs = {}
    for item in args.model_args:
        if "=" not in item:
            raise ConfigError(f"model argument '{item}' is not of the form key=value (e.g. width=16)")
        key, raw = item.split("=", 1)
        kwargs[key] = yaml.safe_load(raw)
    return infer_model_kwargs(name, kwargs, info or DatasetInfo(args.num_classes, args.in_channels, args.image_size))


def _batches(args):
    """Batches of --data, or of random images (their shape filled in on ``args``)."""
    from ..analysis.gradients import dataset_batches, random_batches

    if args.data:
        _refuse_fixed(args, "--data (the dataset fixes the images and classes)", tuple(RANDOM_IMAGES))
        return dataset_batches(args.data, args.data_root, args.batches, args.batch_size, args.seed)
    for key, value in RANDOM_IMAGES.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return random_batches(
        args.batches, args.batch_size, args.in_channels, args.image_size, args.num_classes, args.seed
    ), None


def _need_models(args) -> None:
    from ..errors import ConfigError

    if not args.model:
        raise ConfigError("give --model NAME [NAME ...] (see the registered models in fullspike.list_models())")


def _write(records, summary, args, kind: str, title: str) -> None:
    from ..analysis.gradients import plot_records, write_records
    from ..output_paths import writing
    from .saving import print_wrote, save_plot

    with writing(args.out, f"{kind}.csv and {kind}.json"):
        paths = write_records(records, summary, args.out, kind)
    png = save_plot(lambda path: plot_records(records, path, title=title), Path(args.out) / f"{kind}.png")
    print(summary_table(summary))
    print_wrote(paths["csv"], paths["json"], png)


def summary_table(summary: list[dict]) -> str:
    """The summary as a text table; the alpha column only when some row has an alpha."""
    with_alpha = any(s.get("alpha") is not None for s in summary)
    cols = [k for k in summary[0] if k not in ("model", "alpha")]
    lines = ["model".ljust(22) + ("alpha".rjust(7) if with_alpha else "") + "".join(c.rjust(24) for c in cols)]
    for s in summary:
        alpha = "" if s.get("alpha") is None else f"{s['alpha']:g}"
        lines.append(
            s["model"].ljust(22)
            + (alpha.rjust(7) if with_alpha else "")
            + "".join((f"{s[c]:.4g}" if isinstance(s[c], float) else str(s[c])).rjust(24) for c in cols)
        )
    return "\n".join(lines)


def run_gradients(args: argparse.Namespace) -> int:
    from ..analysis.gradients import check_surrogate_models, gradient_study, summarize
    from ..output_paths import output_dir

    _need_models(args)
    check_surrogate_models(args.model)
    output_dir(args.out, "gradients.csv")  # before the work
    batches, info = _batches(args)
    kwargs = {name: _model_kwargs(args, name, info) for name in args.model}
    records = []
    for name in args.model:
        records += gradient_study([name], args.alpha, batches, kwargs[name], args.surrogate, args.seed, progress=None)
    _write(records, summarize(records), args, "gradients", f"per-block gradient norms ({args.surrogate} surrogate)")
    return 0


def run_firing(args: argparse.Namespace) -> int:
    import torch

    from ..analysis.gradients import block_statistics, summarize
    from ..errors import ConfigError
    from ..models import create_model
    from ..output_paths import output_dir
    from ..train.load import read_files

    files = ("firing.csv", "firing.json", "firing.png")
    output_dir(args.out, "firing.csv", files=files, reads=read_files(args.checkpoint, args.config))  # before the work
    records = []
    if args.checkpoint:
        from itertools import islice

        _refuse_fixed(
            args,
            "--checkpoint (the trained model fixes the architecture and the data; config overrides such as "
            "data.root=DIR may follow)",
            ("model", "data", *RANDOM_IMAGES),
        )
        from .. import load
        from ..train import build_eval_loader, resolve_device

        overrides = [*args.model_args, *([f"data.root={args.data_root}"] if args.data_root else [])]
        model, cfg = load(args.checkpoint, config=args.config, overrides=overrides)
        device = resolve_device(cfg.train.device)
        loader, _ = build_eval_loader(cfg, "test", args.batch_size, samples=args.batches * args.batch_size)
        batches = [(x.to(device), y.to(device)) for x, y in islice(loader, args.batches)]
        records = [{"model": cfg.model_name, **r} for r in block_statistics(model, batches, backward=False)]
    else:
        if args.config:
            raise ConfigError("--config goes with --checkpoint (a trained model); for a fresh one use --model")
        _need_models(args)
        batches, info = _batches(args)
        for name in args.model:
            torch.manual_seed(args.seed)
            model = create_model(name, **_model_kwargs(args, name, info)).train()
            records += [{"model": name, **r} for r in block_statistics(model, batches, backward=False)]
    _write(records, summarize(records), args, "firing", "per-block firing rates")
    return 0
