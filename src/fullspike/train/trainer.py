"""The training loop: epochs with progress bars, validation, JSON-lines/TensorBoard metrics,
atomic per-epoch checkpoints with exact resume, AMP on GPU, and data-parallel training (DDP)
when launched with torchrun (or ``fullspike train --nproc N``)."""
from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from tqdm import tqdm

from .. import __version__
from ..data import make_loader
from ..cpu_allocator import tune_cpu_allocator
from ..errors import CheckpointError, MissingDependencyError, TrainingError
from ..models.outputs import classification_loss, heads
from ..optional import require
from .builders import DataSplits, build_data, build_model, build_optimizer, build_scheduler, model_kwargs
from .checkpoint import (FORMAT, VERSION, atomic_save, load_checkpoint, load_model_state, remove_partial_saves,
                         rng_state, set_rng_state)
from .config import Config

CHECKPOINT = "checkpoint.pt"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"train.device={name} but no CUDA device is available; use train.device=cpu")
    return dev


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


class _Dist:
    """Data-parallel context read from torchrun's environment variables."""

    def __init__(self, device_name: str) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if self.world > 1 and not dist.is_initialized():
            use_cuda = torch.cuda.is_available() and device_name != "cpu"
            if use_cuda:
                torch.cuda.set_device(self.local_rank)
            dist.init_process_group("nccl" if use_cuda else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def sum(self, values: list[float]) -> list[float]:
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()


def _autocast(device: torch.device, amp: bool):
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: DataLoader, device: torch.device, amp: bool = False,
             progress: bool | None = None, desc: str = "eval") -> dict:
    """Accuracy (0..1) of every head and the mean loss over ``loader``."""
    model.eval()
    correct: dict[str, int] = {}
    n, loss_sum = 0, 0.0
    for x, y in tqdm(loader, desc=desc, leave=False, disable=_no_bar(progress)):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with _autocast(device, amp):
            out = model(x)
        loss_sum += float(classification_loss(out, y)) * len(y)
        for k, logits in heads(out).items():
            correct[k] = correct.get(k, 0) + int((logits.argmax(1) == y).sum())
        n += len(y)
    if n == 0:
        raise TrainingError("the evaluation split is empty; check data.test_subset / data.val_fraction")
    res = {"loss": loss_sum / n}
    for k, c in correct.items():
        res["accuracy" if not k else f"accuracy_{k}"] = c / n
    return res


def _no_bar(progress: bool | None) -> bool:
    return (not sys.stderr.isatty()) if progress is None else not progress


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


def _log(msg: str) -> None:
    print(msg, flush=True)


def fit(cfg: Config, out_dir: str | Path, resume: bool = False) -> dict:
    """Train ``cfg`` into ``out_dir``; returns the final metrics (also written to metrics.json).

    With ``resume``, continue from ``out_dir/checkpoint.pt`` exactly where it stopped (weights,
    optimiser, schedule, RNG and data order), so the result equals an uninterrupted run.
    """
    out = Path(out_dir)
    tc = cfg.train
    dd = _Dist(tc.device)
    device = resolve_device(tc.device)
    if dd.world > 1 and device.type == "cuda":
        device = torch.device("cuda", dd.local_rank)
    if device.type == "cpu" and tc.tune_cpu_allocator:
        tune_cpu_allocator()
    seed_everything(tc.seed, tc.deterministic)
    data: DataSplits = build_data(cfg)
    model = build_model(cfg, data.info).to(device)
    kwargs = model_kwargs(cfg, data.info)
    optimizer = build_optimizer(cfg, model)
    scheduler = build_scheduler(cfg, optimizer)
    start_epoch, train_seconds, cpu_seconds, history = 0, 0.0, 0.0, []
    ckpt_path = out / CHECKPOINT
    if dd.main:
        for tmp in remove_partial_saves(ckpt_path):
            _log(f"removed {tmp}, left by an interrupted checkpoint save")
    if resume:
        if not ckpt_path.is_file():
            raise CheckpointError(f"--resume: no checkpoint at {ckpt_path}; start without --resume")
        ckpt = load_checkpoint(ckpt_path, map_location=device)
        load_model_state(model, ckpt, cfg.model_name, ckpt_path)
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        set_rng_state(ckpt["rng"])
        start_epoch, history = ckpt["epoch"], ckpt["history"]
        train_seconds, cpu_seconds = ckpt["train_seconds"], ckpt["train_cpu_seconds"]
        if dd.main:
            _log(f"resuming {cfg.name} from {ckpt_path} after epoch {start_epoch}")
            # rows written after this checkpoint belong to epochs that will run again
            (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
    elif ckpt_path.exists() and dd.main:
        _log(f"note: {ckpt_path} exists and will be overwritten (use --resume to continue it)")
    if dd.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2, default=str))
    net = model
    if dd.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    batch = cfg.data.batch_size // dd.world
    if batch < 1:
        raise TrainingError(f"data.batch_size={cfg.data.batch_size} is smaller than the {dd.world} processes")
    eval_bs = cfg.data.eval_batch_size or cfg.data.batch_size
    val_loader = (make_loader(data.val, data.info, eval_bs, False, cfg.data.num_workers)
                  if data.val is not None else None)
    writer = _tensorboard(out) if (tc.tensorboard and dd.main) else None
    T = getattr(model, "T", None)
    if dd.main:
        n_params = sum(p.numel() for p in model.parameters())
        _log(f"{cfg.name}: {cfg.model_name} ({n_params / 1e6:.2f}M params, T={T}) on {cfg.data.name} "
             f"[{len(data.train)} train / {len(data.val) if data.val else 0} val / {len(data.test)} test], "
             f"{tc.epochs} epochs, device {device}, {dd.world} process(es)")
    for epoch in range(start_epoch, tc.epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        gen = _epoch_generator(tc.seed, epoch)
        sampler = None
        if dd.world > 1:
            sampler = torch.utils.data.distributed.DistributedSampler(
                data.train, num_replicas=dd.world, rank=dd.rank, shuffle=True, seed=tc.seed)
            sampler.set_epoch(epoch)
        loader = make_loader(data.train, data.info, batch, True, cfg.data.num_workers, generator=gen,
                             sampler=sampler)
        net.train()
        loss_sum, correct, seen = 0.0, 0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{tc.epochs}", leave=False,
                   disable=_no_bar(tc.progress) or not dd.main)
        for step, (x, y) in enumerate(bar):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with _autocast(device, tc.amp):
                outp = net(x)
                loss = classification_loss(outp, y, tc.label_smoothing)
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"loss became {float(loss.detach())} at epoch {epoch + 1}, step {step + 1}: training diverged; "
                    f"lower optim.lr (now {optimizer.param_groups[0]['lr']:.3g}) or set train.grad_clip. "
                    f"The last good checkpoint is {ckpt_path}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if tc.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            optimizer.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += int((heads(outp)[""].argmax(1) == y).sum())
            seen += len(y)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}")
        loss_sum, correct, seen = dd.sum([loss_sum, correct, seen])
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        train_seconds += time.perf_counter() - t0
        cpu_seconds += time.process_time() - c0
        row = {"epoch": epoch + 1, "lr": lr, "train_loss": loss_sum / seen, "train_accuracy": correct / seen,
               "epoch_seconds": time.perf_counter() - t0}
        if dd.main and val_loader is not None and ((epoch + 1) % tc.eval_every == 0 or epoch + 1 == tc.epochs):
            row.update({f"val_{k}": v for k, v in evaluate(model, val_loader, device, tc.amp, tc.progress).items()})
        history.append(row)
        if dd.main:
            _log(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
            with open(out / "metrics.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            if writer is not None:
                for k, v in row.items():
                    if k != "epoch":
                        writer.add_scalar(k, v, epoch + 1)
                writer.flush()
            atomic_save({
                "format": FORMAT, "version": VERSION, "fullspike": __version__,
                "model_name": cfg.model_name, "model_kwargs": kwargs, "config": cfg.to_dict(),
                "epoch": epoch + 1, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "rng": rng_state(), "history": history,
                "train_seconds": train_seconds, "train_cpu_seconds": cpu_seconds,
            }, ckpt_path)
        dd.barrier()
    metrics = {}
    if dd.main:
        test_loader = make_loader(data.test, data.info, eval_bs, False, cfg.data.num_workers)
        res = evaluate(model, test_loader, device, tc.amp, tc.progress, desc="test")
        metrics = {
            "name": cfg.name, "model": cfg.model_name, "dataset": cfg.data.name,
            **{f"test_{k}": v for k, v in res.items()},
            "epochs": tc.epochs, "time_steps": T, "train_seconds": train_seconds,
            "train_cpu_seconds": cpu_seconds,  # CPU time of this process (all threads)
            "processes": dd.world, "device": str(device),
            "best_val_accuracy": max((r["val_accuracy"] for r in history if "val_accuracy" in r), default=None),
        }
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        if writer is not None:
            writer.close()
        _log(f"test_accuracy={metrics['test_accuracy']:.4f} (epochs={tc.epochs}, T={T}, "
             f"train_seconds={train_seconds:.1f}) -> {out / 'metrics.json'}")
    dd.barrier()
    if dd.world > 1:
        dist.destroy_process_group()
    return metrics


def _tensorboard(out: Path):
    try:
        require("tensorboard", extra="tensorboard", purpose="train.tensorboard=true")
        from torch.utils.tensorboard import SummaryWriter
    except MissingDependencyError as e:  # an optional extra: train on, metrics.jsonl has them all
        print(f"warning: {e}; metrics go to metrics.jsonl only (train.tensorboard=false hides this)",
              file=sys.stderr)
        return None
    return SummaryWriter(str(out / "tb"))
