"""Per-block gradient norms and firing rates of deep spiking residual networks (the DST paper's
analysis of vanishing/exploding gradients in a 50-layer network, with the surrogate's alpha varied).

For every residual :class:`~fullspike.dst.blocks.Block` (in forward order) over a few batches:

- ``param_grad_norm``: L2 norm of the loss gradient w.r.t. the block's spike-stream parameters
  (accumulation-pathway modules excluded), after one backward pass of the training objective
  (``CE`` or ``CE(O_s) + CE(O_a)``), averaged over batches;
- ``output_grad_norm``: L2 norm of the gradient w.r.t. the block's output spikes ``S_out``;
- ``firing_rate``: fraction of non-zero entries of ``S_out`` (over T, batch, channels, space).

Models run in training mode (batch statistics in BN), as during training.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch
from torch import nn

from .. import checks
from ..data import DatasetInfo, build_dataset, make_loader
from ..dst.blocks import spike_stream_parameters
from ..errors import ConfigError
from ..models.outputs import classification_loss
from ..nn.residual import named_blocks
from ..optional import require

Batch = tuple[torch.Tensor, torch.Tensor]
FIELDS = ["model", "alpha", "index", "block", "param_grad_norm", "output_grad_norm", "firing_rate"]


def random_batches(
    n: int, batch_size: int, in_channels: int = 3, image_size: int = 32, num_classes: int = 10, seed: int = 0
) -> list[Batch]:
    """``n`` batches of standard-normal images ``[B, C, S, S]`` with uniform random labels of
    ``num_classes`` (>= 2) classes; ``n``, ``B = batch_size``, ``C = in_channels`` and
    ``S = image_size`` are each >= 1."""
    checks.count("n", n)
    checks.count("batch_size", batch_size)
    checks.count("in_channels", in_channels)
    checks.count("image_size", image_size)
    checks.count("num_classes", num_classes, least=2)
    g = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(batch_size, in_channels, image_size, image_size, generator=g),
            torch.randint(0, num_classes, (batch_size,), generator=g),
        )
        for _ in range(n)
    ]


def dataset_batches(
    name: str, root: str | None, n: int, batch_size: int, seed: int = 0, train: bool = False, **options
) -> tuple[list[Batch], DatasetInfo]:
    """``n`` batches (>= 1) of ``batch_size`` (>= 1) samples drawn at random (seeded) from a
    registered dataset's split, not augmented; returns ``(batches, DatasetInfo)``."""
    checks.count("n", n)
    checks.count("batch_size", batch_size)
    ds, info = build_dataset(name, root, train, False, **options)
    loader = make_loader(ds, info, batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    batches = []
    for x, y in loader:
        batches.append((x, y))
        if len(batches) == n:
            break
    return batches, info


def block_statistics(
    model: nn.Module, batches: Iterable[Batch], backward: bool = True, loss_fn: Callable = classification_loss
) -> list[dict]:
    """One record per block: ``index``, ``block`` (module name), ``firing_rate`` and, with
    ``backward``, ``param_grad_norm`` and ``output_grad_norm`` (means over the batches)."""
    blocks = named_blocks(model)
    if not blocks:
        raise ConfigError(
            f"{type(model).__name__} has no residual blocks to analyse "
            "(analysis needs a spiking_resnet / sew_resnet / dst_* / 7B-Net / Spikformer model)"
        )
    sums = {name: {"firing_rate": 0.0, "param_grad_norm": 0.0, "output_grad_norm": 0.0} for name, _ in blocks}
    params = {name: spike_stream_parameters(b) for name, b in blocks}

    def hook_for(name: str):
        def hook(module, inputs, output):
            s = output[0] if isinstance(output, tuple) else output
            sums[name]["firing_rate"] += float((s.detach() != 0).float().mean())
            if backward and s.requires_grad:
                s.register_hook(
                    lambda g: sums[name].__setitem__(
                        "output_grad_norm", sums[name]["output_grad_norm"] + float(g.norm())
                    )
                )

        return hook

    handles = [b.register_forward_hook(hook_for(name)) for name, b in blocks]
    n = 0
    try:
        for x, y in batches:
            model.zero_grad(set_to_none=True)
            with torch.set_grad_enabled(backward):
                out = model(x)
                if backward:
                    loss_fn(out, y).backward()
            if backward:
                for name, _ in blocks:
                    sq = sum(float(p.grad.pow(2).sum()) for p in params[name] if p.grad is not None)
                    sums[name]["param_grad_norm"] += math.sqrt(sq)
            n += 1
    finally:
        for h in handles:
            h.remove()
    if n == 0:
        raise ConfigError("no batches to analyse")
    keys = ["firing_rate"] + (["param_grad_norm", "output_grad_norm"] if backward else [])
    return [{"index": i, "block": name, **{k: sums[name][k] / n for k in keys}} for i, (name, _) in enumerate(blocks)]


def check_surrogate_models(model_names: Sequence[str]) -> None:
    """Each model takes a ``surrogate`` argument (the gradient study varies its alpha); else one
    :class:`ConfigError` line naming the models that do."""
    from ..models import list_models, model_factory
    from ..params import parameters

    def takes_surrogate(name: str) -> bool:
        return bool({"surrogate", "**"} & set(parameters(model_factory(name))))

    for name in model_names:
        if not takes_surrogate(name):
            raise ConfigError(
                f"model '{name}' takes no surrogate argument, so the gradient study cannot vary its surrogate's "
                f"alpha; these models take one: {', '.join(n for n in list_models() if takes_surrogate(n))} "
                "(its firing rates: fullspike analyze firing)"
            )


def gradient_study(
    model_names: Sequence[str],
    alphas: Sequence[float],
    batches: Sequence[Batch],
    model_kwargs: dict | None = None,
    surrogate: str = "sigmoid",
    seed: int = 0,
    progress: bool | None = False,
) -> list[dict]:
    """Block statistics of each model with each surrogate ``alpha`` (same initial weights for
    all alphas of a model: only the surrogate's width changes). Records carry ``model`` and
    ``alpha``."""
    from ..models import create_model
    from ..progress import Bar

    check_surrogate_models(model_names)
    records = []
    runs = [(m, a) for m in model_names for a in alphas]
    for name, alpha in Bar(runs, "gradients", progress=progress, leave=True):
        torch.manual_seed(seed)
        model = create_model(name, surrogate={"name": surrogate, "alpha": float(alpha)}, **(model_kwargs or {}))
        model.train()
        for r in block_statistics(model, batches):
            records.append({"model": name, "alpha": float(alpha), **r})
    return records


def summarize(records: list[dict], key: str = "param_grad_norm") -> list[dict]:
    """Per (model, alpha): block count, mean firing rate and, when the records have ``key``, the
    first- and last-block ``key`` and their ratio ``ratio_first_last`` (first / last). A ratio
    far below 1 means gradients vanish towards the input; far above 1, they explode."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["model"], r.get("alpha")), []).append(r)
    out = []
    for (model, alpha), rows in groups.items():
        rows = sorted(rows, key=lambda r: r["index"])
        row = {
            "model": model,
            "alpha": alpha,
            "blocks": len(rows),
            "mean_firing_rate": sum(r["firing_rate"] for r in rows) / len(rows),
        }
        if key in rows[0]:
            first, last = rows[0][key], rows[-1][key]
            row.update(
                {
                    f"first_{key}": first,
                    f"last_{key}": last,
                    "ratio_first_last": first / last if last > 0 else float("inf"),
                }
            )
        out.append(row)
    return out


def write_records(records: list[dict], summary: list[dict], out_dir: str | Path, stem: str) -> dict[str, Path]:
    """``<stem>.csv`` (one row per block), ``<stem>.json`` (records + summary); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fields = [f for f in FIELDS if any(f in r for r in records)]
    csv_path, json_path = out / f"{stem}.csv", out / f"{stem}.json"
    with csv_path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
    json_path.write_text(json.dumps({"records": records, "summary": summary}, indent=2))
    return {"csv": csv_path, "json": json_path}


def plot_records(
    records: list[dict], path: str | Path, metrics: Sequence[str] = ("param_grad_norm", "firing_rate"), title: str = ""
) -> Path:
    """One panel per metric against block index, one line per (model, alpha); log scale for
    gradient norms. Drawn on its own Figure (no pyplot state) and saved as an image."""
    require("matplotlib", extra="plot", purpose="drawing plots")
    from matplotlib.figure import Figure

    metrics = [m for m in metrics if any(m in r for r in records)]
    fig = Figure(figsize=(6 * len(metrics), 4))
    axes = fig.subplots(1, len(metrics), squeeze=False)
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["model"], r.get("alpha")), []).append(r)
    for ax, metric in zip(axes[0], metrics):
        for (model, alpha), rows in groups.items():
            rows = sorted(rows, key=lambda r: r["index"])
            label = model if alpha is None else f"{model}, alpha={alpha:g}"
            ax.plot([r["index"] for r in rows], [max(r[metric], 1e-30) for r in rows], marker=".", label=label)
        ax.set_xlabel("block (input -> output)")
        ax.set_ylabel(metric.replace("_", " "))
        if "grad" in metric:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
