#!/usr/bin/env python
"""Accuracy vs depth on CIFAR-10: plain Spiking ResNet, SEW ResNet (ADD), and DST ResNet (IAND),
whose one training gives both the FSNN (spike head O_s, AAP removed) and the DSNN (both heads).

Every model trains from its config ``configs/{spiking,sew,dst}_resnet{D}_cifar10.yaml`` (32x32,
CIFAR stem, T=4) with the same budget (width, training subset, epochs, batch, learning rate), one
run after another, each holding the heavy-run lock. The FSNN accuracy is re-measured on the
network returned by :func:`fullspike.dst.remove_aap` (it must equal the dual-stream model's O_s
accuracy). The table goes to ``<out>/depth_study.json`` and between the markers of ``--doc``.

    python scripts/dst_depth_study.py --depths 18 34 --width 8 --train-subset 4000 --epochs 2
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import re
import time
from pathlib import Path

import torch

import fullspike
from fullspike.dst import remove_aap
from fullspike.train import build_eval_loader, evaluate, fit, load_config

REPO = Path(__file__).resolve().parents[1]
FAMILIES = {"spiking": "Spiking ResNet", "sew": "SEW ResNet (ADD)", "dst": "DST ResNet (IAND)"}
BEGIN, END = "<!-- depth-study:begin -->", "<!-- depth-study:end -->"


@contextlib.contextmanager
def heavy_lock(path: str | None):
    """Hold ``flock(path)`` (the same lock as the ``flock`` command) while training."""
    if not path:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def overrides(args) -> list[str]:
    return [f"model.width={args.width}", f"data.root={args.data_root}", f"data.train_subset={args.train_subset}",
            f"data.test_subset={args.test_subset}", f"data.batch_size={args.batch_size}", "data.num_workers=0",
            f"optim.lr={args.lr}", f"train.epochs={args.epochs}", f"train.seed={args.seed}", "train.device=cpu",
            "train.tensorboard=false"]


def fsnn_accuracy(run_dir: Path) -> float:
    """Test accuracy of the trained dual-stream model with its AAP removed."""
    model, cfg = fullspike.load(run_dir, device="cpu")
    loader, _ = build_eval_loader(cfg, "test", cfg.data.batch_size)
    return evaluate(remove_aap(model), loader, torch.device("cpu"))["accuracy"]


def run(args) -> list[dict]:
    out = Path(args.out)
    rows = []
    for depth in args.depths:
        for family in FAMILIES:
            name = f"{family}_resnet{depth}_cifar10"
            run_dir = out / name
            path = REPO / "configs" / f"{name}.yaml"
            extra = []
            if not path.is_file():  # other depths: the depth-18 config with another model
                path = REPO / "configs" / f"{family}_resnet18_cifar10.yaml"
                extra = [f"model.name={family}_resnet{depth}", f"name={name}"]
            cfg = load_config(path, overrides(args) + extra)
            done = run_dir / "metrics.json"
            if done.is_file() and not args.force:
                metrics = json.loads(done.read_text())
                print(f"{name}: reusing {done}", flush=True)
            else:
                with heavy_lock(args.lock):
                    t0 = time.time()
                    metrics = fit(cfg, run_dir, overwrite=True)  # an unfinished or --force run starts over
                    if family == "dst":
                        metrics["test_accuracy_fsnn_removed"] = fsnn_accuracy(run_dir)
                    metrics["wall_seconds"] = time.time() - t0
                done.write_text(json.dumps(metrics, indent=2))
            rows.append({"depth": depth, "family": family, **metrics})
    return rows


def table(rows: list[dict], args) -> str:
    by = {(r["depth"], r["family"]): r for r in rows}
    pct = lambda v: "-" if v is None else f"{100 * v:.2f}"  # noqa: E731
    lines = [
        f"Budget (each model the same): CIFAR-10, CIFAR stem, T=4, width {args.width} "
        f"(stages {args.width}/{2 * args.width}/{4 * args.width}/{8 * args.width} channels), "
        f"{args.train_subset} training images (seeded subset), {args.epochs} epoch(s), batch {args.batch_size}, "
        f"SGD lr {args.lr} cosine, test on {args.test_subset} test images; seed {args.seed}; CPU, "
        f"{args.threads} thread(s).",
        "",
        "| depth | Spiking ResNet | SEW ResNet (ADD) | FSNN (DST, IAND: O_s) | DSNN (mean of O_s, O_a logits) "
        "| O_a alone | FSNN after remove_aap | train s (spiking / sew / dst) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for depth in args.depths:
        s, w, d = (by.get((depth, f), {}) for f in FAMILIES)
        secs = " / ".join(f"{by[(depth, f)]['train_seconds']:.0f}" if (depth, f) in by else "-" for f in FAMILIES)
        lines.append(
            f"| {depth} | {pct(s.get('test_accuracy'))} | {pct(w.get('test_accuracy'))} | "
            f"{pct(d.get('test_accuracy_spike'))} | {pct(d.get('test_accuracy'))} | {pct(d.get('test_accuracy_accum'))} "
            f"| {pct(d.get('test_accuracy_fsnn_removed'))} | {secs} |")
    return "\n".join(lines)


def write_doc(doc: Path, text: str) -> None:
    block = f"{BEGIN}\n{text}\n{END}"
    old = doc.read_text() if doc.is_file() else ""
    if BEGIN in old and END in old:
        new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, old, flags=re.S)
    else:
        new = old + ("\n" if old else "") + block + "\n"
    doc.write_text(new)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--depths", nargs="+", type=int, default=[18, 34], choices=[18, 34, 50, 101, 152])
    p.add_argument("--width", type=int, default=8, help="first-stage channels (paper: 64)")
    p.add_argument("--train-subset", type=int, default=4000)
    p.add_argument("--test-subset", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default="data/cifar10", help="CIFAR-10 batches or train/ + test/ folders")
    p.add_argument("--out", default="runs/dst_depth_study")
    p.add_argument("--doc", default=str(REPO / "docs" / "dst.md"), help="markdown file to put the table in")
    p.add_argument("--lock", default="/tmp/fullspike-heavy.lock", help="flock file held per run ('' = none)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (1 avoids thread over-subscription on a shared machine)")
    p.add_argument("--force", action="store_true", help="retrain runs that already have metrics.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = run(args)
    text = table(rows, args)
    Path(args.out, "depth_study.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    write_doc(Path(args.doc), text)
    print(text)


if __name__ == "__main__":
    main()
