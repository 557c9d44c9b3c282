"""``fullspike export``: a trained run or zoo network as a NIR graph, or its deployability report
(docs/deploy.md).

Dual-stream models are exported as their FSNN (accumulation pathway removed). The export
reads the run's data for ``--samples`` test samples, class-balanced (fullspike.data.selection) (so a test
set stored class by class gives every class): they give the input shape and check the round trip
(the written file, read back and run with :func:`fullspike.export.from_nir`, against the model,
or against the quantised model with ``--quantize``, both fed the same encoded frames: rate coding
is outside the graph); a failed round trip is an error. ``--check`` reports the accuracy on them
(and that of the quantised weights).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from . import COUNT, POSITIVE

#: the largest |logit difference| between the graph read back and the model it holds, relative to
#: the largest |logit| (at least 1), for the export to count as a round trip: float rounding only
ROUND_TRIP_TOLERANCE = 1e-3


def register(sub) -> None:
    p = sub.add_parser("export", help="export a trained network to NIR, or check it is deployable")
    p.add_argument(
        "run", metavar="RUN_OR_CHECKPOINT", help="a run folder (with checkpoint.pt), a checkpoint file, or zoo:NAME"
    )
    p.add_argument("--format", choices=["nir"], default="nir", help="export format (default nir)")
    p.add_argument("--out", help="the .nir file to write, in an existing folder (needed unless --check)")
    p.add_argument(
        "--check",
        action="store_true",
        help="print per layer: exportable, or why not; the share of spike accumulates; the "
        "importers that refuse the graph or run it wrong; the accuracy on the samples",
    )
    p.add_argument(
        "--gates",
        choices=["threshold", "if"],
        default="threshold",
        help="logical residuals / max-pooling as NIR Threshold nodes (default) or as stateless "
        "IF neurons (for importers without Threshold, e.g. SpikingJelly, Norse)",
    )
    p.add_argument("--dt", type=POSITIVE, default=1e-4, help="seconds per time step in the graph (default 1e-4)")
    p.add_argument(
        "--quantize",
        type=int,
        metavar="BITS",
        help="integer weights of BITS (4..16) bits with one scale per layer (docs/deploy.md)",
    )
    p.add_argument(
        "--samples",
        type=COUNT,
        default=100,
        help="test samples (class-balanced) for the round trip, the accuracy and the operation count (default 100)",
    )
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides (e.g. data.root=...)")
    p.set_defaults(func=run)


def load_run(run: str, overrides: list[str]):
    """``(cfg, model in eval mode on the CPU)`` of a trained run or zoo network (:func:`fullspike.load`)."""
    from .. import load

    model, cfg = load(run, overrides=overrides, device="cpu")
    return cfg, model


def _outputs(model, batches) -> "tuple":
    """``(logits [N, classes], labels [N])`` of ``model`` on ``batches`` of ``(x, y)``."""
    import torch

    with torch.no_grad():
        out = [(model(x), y) for x, y in batches]
    return torch.cat([o for o, _ in out]), torch.cat([y for _, y in out])


def run(args: argparse.Namespace) -> int:
    import torch
    from torch.utils.data import Subset

    from ..data import make_loader
    from ..energy import fold_bn
    from ..errors import ConfigError, ExportError, OutputError
    from ..export import check_deployable, deployable, from_nir, quantize_weights, to_nir, write_nir
    from ..export.convert import require_spiking
    from ..export.quantize import check_bits
    from ..output_paths import output_file, writing
    from ..train.builders import build_split
    from ..train.load import read_files
    from ..zoo import check_indices

    reads = read_files(args.run)  # a missing run is the first thing to report
    if not args.check and not args.out:
        raise ConfigError("give --out FILE.nir (or --check for the deployability report)")
    if args.quantize is not None:
        check_bits(args.quantize)
    if args.out:  # before the work; like write_nir, no folder is created (docs/deploy.md)
        if not Path(args.out).parent.exists():
            raise OutputError(
                f"cannot write the NIR graph to {args.out}: folder {Path(args.out).parent} "
                "does not exist; create it or choose another --out"
            )
        output_file(args.out, "the NIR graph", reads=reads)
    cfg, model = load_run(args.run, args.overrides)
    require_spiking(model)  # an ANN has neither a graph nor encoded frames to check one with
    model, name = deployable(model, cfg.model_name)
    test, info = build_split(cfg, "test")
    test = Subset(test, check_indices(test, min(args.samples, len(test))))
    bs = min(len(test), cfg.data.eval_batch_size or cfg.data.batch_size)
    batches = list(make_loader(test, info, bs, False, cfg.data.num_workers))
    quantized = quantize_weights(model, args.quantize) if args.quantize is not None else None
    # the graph holds the BN-folded (and quantised) network: the round trip is checked against it,
    # and how far folding moves the float32 outputs from the model as trained is said apart
    exported = quantized if quantized is not None else fold_bn(model)
    torch.manual_seed(0)  # rate coding draws spikes: one draw of frames serves every comparison
    with torch.no_grad():
        frames = [(model.to_sequence(x), y) for x, y in batches]  # [T, B, ...], as the graph takes them
    ref, labels = _outputs(exported, frames)
    if args.check:
        report = check_deployable(
            model,
            batches,
            max_batches=math.ceil(len(test) / bs),
            dt=args.dt,
            gates=args.gates,
            progress=cfg.train.progress,
            name=name,
        )
        print(report.table())
        logits, _ = _outputs(model, frames)
        n, right = len(labels), int((logits.argmax(-1) == labels).sum())
        line = f"accuracy on {n} test samples: float weights {100 * right / n:.2f}% ({right}/{n})"
        if quantized is not None:
            q = int((ref.argmax(-1) == labels).sum())
            kept = int((ref.argmax(-1) == logits.argmax(-1)).sum())
            line += f"; {args.quantize}-bit weights {100 * q / n:.2f}% ({q}/{n}), same prediction as float {kept}/{n}"
        print(line)
        if not args.out:
            return 0
    graph = to_nir(model, batches[0][0], dt=args.dt, gates=args.gates, name=name, quantize=args.quantize)
    with writing(args.out, "the NIR graph"):
        path = write_nir(graph, args.out)
    net = from_nir(path)
    with torch.no_grad():
        steps = torch.cat([net(f).mean(0) for f, _ in frames])
    diff = (steps - ref).abs().max().item()
    agree = int((steps.argmax(-1) == ref.argmax(-1)).sum())
    weights = f"{args.quantize}-bit weights" if args.quantize is not None else "real weights"
    print(
        f"wrote {path}: {len(graph.nodes)} nodes, {len(graph.edges)} edges ({name}; dt={args.dt:g} s, "
        f"fires on h {graph.metadata['firing']} v_th, T={graph.metadata['time_steps']}, gates={args.gates}, "
        f"{weights}, {str(ref.dtype).removeprefix('torch.')})"
    )
    against = "quantised" if quantized is not None else "BN-folded"
    trip = f"max |logit diff| {diff:.3g}, same prediction {agree}/{len(labels)}"
    print(f"round trip on {len(labels)} test samples against the {against} model the graph holds: {trip}")
    if quantized is None:
        trained, _ = _outputs(model, frames)
        print(
            f"BN folding against the model as trained (float rounding; docs/deploy.md): max |logit diff| "
            f"{(ref - trained).abs().max().item():.3g}, same prediction "
            f"{int((ref.argmax(-1) == trained.argmax(-1)).sum())}/{len(labels)}"
        )
    if not diff <= ROUND_TRIP_TOLERANCE * max(1.0, ref.abs().max().item()) or agree < len(labels):
        raise ExportError(
            f"the round trip failed: the graph written to {path}, read back, does not compute what the "
            f"{against} model computes on the same input frames ({trip}); do not deploy it, and please "
            "report this with the run"
        )
    return 0
