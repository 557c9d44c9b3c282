"""``fullspike export``: a trained run as a NIR graph, or its deployability report (docs/deploy.md).

Dual-stream models are exported as their FSNN (accumulation pathway removed). The export
reads the run's data for one test batch: it gives the input shape and checks the round trip
(the written file, read back and run with :func:`fullspike.export.from_nir`, against the model).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path



def register(sub) -> None:
    p = sub.add_parser("export", help="export a trained network to NIR, or check it is deployable")
    p.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run folder (with checkpoint.pt), a checkpoint file, or zoo:NAME")
    p.add_argument("--format", choices=["nir"], default="nir", help="export format (default nir)")
    p.add_argument("--out", help="the .nir file to write, in an existing folder (needed unless --check)")
    p.add_argument("--check", action="store_true",
                   help="print per layer: exportable, or why not; and the share of spike accumulates")
    p.add_argument("--gates", choices=["threshold", "if"], default="threshold",
                   help="logical residuals / max-pooling as NIR Threshold nodes (default) or as stateless "
                        "IF neurons (for importers without Threshold, e.g. SpikingJelly, Norse)")
    p.add_argument("--dt", type=float, default=1e-4, help="seconds per time step in the graph (default 1e-4)")
    p.add_argument("--samples", type=int, default=64,
                   help="test samples for the round-trip check / the operation count (default 64)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides (e.g. data.root=...)")
    p.set_defaults(func=run)


def load_run(run: str, overrides: list[str]):
    """``(cfg, model in eval mode on the CPU)`` of a trained run (:func:`fullspike.load`)."""
    from .. import load

    model, cfg = load(run, overrides=overrides, device="cpu")
    return cfg, model


def run(args: argparse.Namespace) -> int:
    import torch

    from ..dst import has_aap, remove_aap
    from ..errors import ConfigError, OutputError
    from ..export import check_deployable, from_nir, to_nir, write_nir
    from ..outputs import output_file, writing
    from ..train import build_eval_loader
    from ..train.load import resolve_checkpoint

    resolve_checkpoint(args.run)  # a missing run is the first thing to report
    if not args.check and not args.out:
        raise ConfigError("give --out FILE.nir (or --check for the deployability report)")
    if args.samples < 1:
        raise ConfigError(f"--samples must be >= 1, got {args.samples}")
    if args.out:  # before the work; like write_nir, no folder is created (docs/deploy.md)
        if not Path(args.out).parent.exists():
            raise OutputError(f"cannot write the NIR graph to {args.out}: folder {Path(args.out).parent} "
                              "does not exist; create it or choose another --out")
        output_file(args.out, "the NIR graph")
    cfg, model = load_run(args.run, args.overrides)
    name = cfg.model_name
    if has_aap(model):
        model, name = remove_aap(model), f"{cfg.model_name} (FSNN: accumulation pathway removed)"
    bs = min(args.samples, cfg.data.eval_batch_size or cfg.data.batch_size)
    loader, _ = build_eval_loader(cfg, "test", bs, samples=args.samples)
    if args.check:
        report = check_deployable(model, loader, max_batches=math.ceil(args.samples / bs), dt=args.dt,
                                  gates=args.gates, progress=cfg.train.progress, name=name)
        print(report.table())
        if not args.out:
            return 0
    x = next(iter(loader))[0]
    graph = to_nir(model, x, dt=args.dt, gates=args.gates, name=name)
    with writing(args.out, "the NIR graph"):
        path = write_nir(graph, args.out)
    with torch.no_grad():
        steps = from_nir(path)(x.unsqueeze(0).expand(model.T, *x.shape) if x.dim() == 4 else x)
        ref = model(x)
    diff = (steps.mean(0) - ref).abs().max().item()
    agree = int((steps.mean(0).argmax(-1) == ref.argmax(-1)).sum())
    print(f"wrote {path}: {len(graph.nodes)} nodes, {len(graph.edges)} edges ({name}; dt={args.dt:g} s, "
          f"fires on h {graph.metadata['firing']} v_th, T={graph.metadata['time_steps']}, gates={args.gates})")
    print(f"round trip on {ref.shape[0]} test samples: max |logit diff| "
          f"{diff:.3g}, same prediction {agree}/{ref.shape[0]}")
    return 0
