"""A few hundred training steps of a paper-scale config on synthetic inputs of its data set's shape:
throughput (images per second, after warm-up) and peak memory (``torch.cuda.max_memory_allocated``
on CUDA). Part of ``scripts/gpu_check.sh``; ``--tiny`` shrinks the network for the CPU dry run.

    python scripts/gpu_steps.py --config dst_resnet34_cifar10 --steps 300 --batch 128 --device cuda
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import fullspike
from fullspike.models.outputs import heads
from fullspike.train import load_config

REPO = Path(__file__).resolve().parents[1]
#: (channels, image size, classes) of the data sets the paper-scale configs train on
SHAPES = {"cifar10": (3, 32, 10), "cifar100": (3, 32, 100), "imagenet": (3, 224, 1000)}


def config_file(name: str) -> Path:
    """A config by name: the package's configs first, then the checkout's configs/."""
    for folder in (Path(fullspike.__file__).resolve().parent / "configs", REPO / "configs"):
        if (folder / f"{name}.yaml").is_file():
            return folder / f"{name}.yaml"
    raise SystemExit(f"error: config {name}.yaml not found")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="dst_resnet34_cifar10")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="width 4 and 8x8 inputs (the CPU dry run)")
    p.add_argument("--out", help="write the result as JSON here")
    args = p.parse_args(argv)
    cfg = load_config(config_file(args.config))
    channels, size, classes = SHAPES[cfg.data.name]
    kwargs = {**cfg.model_kwargs, "num_classes": classes}
    if args.tiny:
        kwargs["width"], size = 4, 8
    device = torch.device(args.device)
    model = fullspike.create_model(cfg.model_name, **kwargs).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(args.batch, channels, size, size, device=device)
    y = torch.randint(0, classes, (args.batch,), device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        out = heads(model(x))
        loss = sum(F.cross_entropy(o, y) for o in out.values())
        loss.backward()
        opt.step()
        return float(loss.detach())

    for _ in range(args.warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    result = {
        "config": args.config,
        "model": cfg.model_name,
        "device": str(device),
        "batch": args.batch,
        "steps": args.steps,
        "image_size": size,
        "T": getattr(model, "T", None),
        "final_loss": loss,
        "seconds": seconds,
        "images_per_second": args.steps * args.batch / seconds,
        "max_memory_allocated_mib": (
            torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
        ),
    }
    print(json.dumps(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
