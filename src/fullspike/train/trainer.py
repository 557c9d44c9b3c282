"""The training loop: :class:`Trainer` trains any ``nn.Module`` with any loss, with callbacks for
the cross-cutting work (:mod:`fullspike.train.callbacks`), exact resume from its
:meth:`~Trainer.state_dict`, bf16 autocast on CUDA, and data parallelism (DDP) when a process
group is initialised (``torchrun``).

The trainer changes no process-wide setting (allocator, determinism flags, RNG seeds): the
caller seeds, and ``fullspike train`` sets the process options it prints.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..errors import CheckpointError, TrainingError
from ..models.outputs import DualStreamOutput, classification_loss, heads
from .callbacks import Callback
from ..progress import show_bars
from .checkpoint import rng_state, set_rng_state

LossFn = Callable[[object, torch.Tensor], torch.Tensor]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"train.device={name} but no CUDA device is available; use train.device=cpu")
    return dev


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when ``amp``; nothing elsewhere."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _is_classification(out, y: torch.Tensor) -> bool:
    return isinstance(out, DualStreamOutput) or (
        isinstance(out, torch.Tensor) and out.ndim == 2 and y.ndim == 1 and not y.is_floating_point())


#: the seed of evaluation's random draws (rate-coded inputs) unless one is given
EVAL_SEED = 0


@contextlib.contextmanager
def seeded_draws(seed: int, device: torch.device):
    """Run the block with torch's generators (CPU, and ``device``'s when CUDA) seeded with ``seed``
    and restore their states afterwards: the draws inside (an encoder's spikes) repeat exactly,
    and the caller's random streams (training's) neither advance nor change."""
    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        for index in devices:  # only the evaluating device's generator: other GPUs' streams stay as they are
            torch.cuda.default_generators[index].manual_seed(seed)
        yield


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: Iterable, device: torch.device, amp: bool = False,
             progress: bool | None = None, desc: str = "eval", loss_fn: LossFn = classification_loss,
             seed: int = EVAL_SEED) -> dict:
    """Mean ``loss`` over ``loader`` and, for class logits ``[B, K]`` (or dual-stream outputs),
    the accuracy (0..1) of every head: ``accuracy``, ``accuracy_spike``, ``accuracy_accum``.

    Random draws during evaluation (rate coding's spikes) come from generators seeded with
    ``seed`` (:func:`seeded_draws`), so the same model, loader and seed give the same numbers:
    ``fullspike evaluate`` on a finished run repeats the ``test_accuracy`` its training recorded."""
    with seeded_draws(seed, torch.device(device)):
        return _evaluate(model, loader, device, amp, progress, desc, loss_fn)


def _evaluate(model: torch.nn.Module, loader: Iterable, device: torch.device, amp: bool,
              progress: bool | None, desc: str, loss_fn: LossFn) -> dict:
    model.eval()
    correct: dict[str, int] = {}
    n, loss_sum = 0, 0.0
    for x, y in tqdm(loader, desc=desc, leave=False, disable=not show_bars(progress)):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast(device, amp):
            out = model(x)
        loss_sum += float(loss_fn(out, y)) * len(y)
        if _is_classification(out, y):
            for k, logits in heads(out).items():
                correct[k] = correct.get(k, 0) + int((logits.argmax(1) == y).sum())
        n += len(y)
    if n == 0:
        raise TrainingError("the evaluation split is empty; check data.test_subset / data.val_fraction")
    res = {"loss": loss_sum / n}
    for k, c in correct.items():
        res["accuracy" if not k else f"accuracy_{k}"] = c / n
    return res


class DivergenceError(TrainingError):
    """The training loss became NaN or infinite."""

    def __init__(self, loss: float, epoch: int, step: int, lr: float, checkpoint: Path | None,
                 hint: str = "lower the learning rate (now {lr:.3g}) or clip gradients (grad_clip)") -> None:
        self.loss, self.epoch, self.step, self.lr, self.checkpoint = loss, epoch, step, lr, checkpoint
        where = (f"; the last good checkpoint of this run is {checkpoint}" if checkpoint is not None
                 else "; this run has written no checkpoint yet")
        super().__init__(f"loss became {loss} at epoch {epoch}, step {step}: training diverged; "
                         f"{hint.format(lr=lr)}{where}")


class Trainer:
    """Trains ``model`` on ``train_loader`` with ``loss_fn(output, target)`` and ``optimizer``.

    Args:
        model: any ``nn.Module``; batches ``(x, y)`` are moved to ``device`` and fed as ``model(x)``.
        loss_fn: ``loss_fn(model(x), y) -> scalar``; also the evaluation loss unless ``eval_loss_fn``.
        optimizer: over ``model``'s parameters.
        train_loader: an iterable of ``(x, y)`` batches, or ``epoch -> iterable`` (0-based) to
            control each epoch's data order. A sampler with ``set_epoch`` (DistributedSampler) is
            told the epoch; a loader's own ``generator`` is saved and restored with the state.
        eval_loader: validation batches, evaluated every ``eval_every`` epochs and after the last.
        callbacks: :class:`~fullspike.train.callbacks.Callback` objects, called in order.
        scheduler: learning-rate scheduler, stepped after every optimiser step
            (``scheduler_interval="step"``) or after every epoch (``"epoch"``).
        epochs: total epochs (a resumed run continues up to it).
        test_loader: evaluated once after training (``test_*`` in :meth:`fit`'s result).
        device: where to train (default: where the model's parameters are).
        amp: bf16 autocast on CUDA.
        grad_clip: max global gradient norm.
        progress: progress bars (None: only on a terminal).

    Exact resume: ``trainer.load_state_dict(state)`` with a :meth:`state_dict` saved after an
    epoch (the :class:`~fullspike.train.callbacks.Checkpoint` callback saves one per epoch)
    restores weights, optimiser, schedule, RNG states and callback states, and :meth:`fit`
    continues so that the result equals an uninterrupted run. With an initialised process
    group the model is wrapped in DistributedDataParallel; rank 0 evaluates and writes.
    """

    def __init__(self, model: torch.nn.Module, loss_fn: LossFn, optimizer: torch.optim.Optimizer,
                 train_loader: Iterable | Callable[[int], Iterable], eval_loader: Iterable | None = None, *,
                 callbacks: Sequence[Callback] = (), scheduler=None, scheduler_interval: str = "step",
                 epochs: int = 1, test_loader: Iterable | None = None, device: str | torch.device | None = None,
                 amp: bool = False, grad_clip: float | None = None, eval_every: int = 1,
                 eval_loss_fn: LossFn | None = None, progress: bool | None = None,
                 divergence_hint: str | None = None) -> None:
        if scheduler_interval not in ("step", "epoch"):
            raise TrainingError(f"scheduler_interval must be 'step' or 'epoch', got {scheduler_interval!r}")
        if device is None:
            device = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.loss_fn, self.eval_loss_fn = loss_fn, eval_loss_fn or loss_fn
        self.optimizer, self.scheduler, self.scheduler_interval = optimizer, scheduler, scheduler_interval
        self.train_loader, self.eval_loader, self.test_loader = train_loader, eval_loader, test_loader
        self.callbacks = list(callbacks)
        self.epochs, self.amp, self.grad_clip = epochs, amp, grad_clip
        self.eval_every, self.progress = max(1, eval_every), progress
        self.divergence_hint = divergence_hint
        self.distributed = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        self.rank = dist.get_rank() if self.distributed else 0
        self.world_size = dist.get_world_size() if self.distributed else 1
        self.net = model
        if self.distributed:
            self.net = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.epoch = 0  # epochs completed
        self.history: list[dict] = []
        self.train_seconds = self.train_cpu_seconds = 0.0
        self.last_checkpoint: Path | None = None  # newest checkpoint of this run (Checkpoint callback)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def _emit(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    def _epoch_loader(self, epoch: int) -> Iterable:
        loader = self.train_loader(epoch) if callable(self.train_loader) else self.train_loader
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        return loader

    def _sum(self, values: list[float]) -> list[float]:
        if not self.distributed:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t)
        return t.tolist()

    def _train_epoch(self, epoch: int) -> dict:
        """One epoch over the training data; the row's ``lr`` is the rate of its first step."""
        t0, c0 = time.perf_counter(), time.process_time()
        loader = self._epoch_loader(epoch)
        self.net.train()
        lr = self.optimizer.param_groups[0]["lr"]
        loss_sum, correct, seen, classify = 0.0, 0, 0, True
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{self.epochs}", leave=False,
                   disable=not (show_bars(self.progress) and self.is_main))
        for step, (x, y) in enumerate(bar):
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            with autocast(self.device, self.amp):
                out = self.net(x)
                loss = self.loss_fn(out, y)
                for cb in self.callbacks:
                    loss = cb.on_loss(self, loss)
            if not torch.isfinite(loss):
                hint = {"hint": self.divergence_hint} if self.divergence_hint else {}
                raise DivergenceError(float(loss.detach()), epoch + 1, step + 1,
                                      self.optimizer.param_groups[0]["lr"], self._good_checkpoint(), **hint)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            self.optimizer.step()
            if self.scheduler is not None and self.scheduler_interval == "step":
                self.scheduler.step()
            self._emit("on_step_end")
            loss_sum += float(loss.detach()) * len(y)
            classify = classify and _is_classification(out, y)
            if classify:
                correct += int((heads(out)[""].argmax(1) == y).sum())
            seen += len(y)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", **({"acc": f"{correct / seen:.3f}"} if classify else {}))
        if seen == 0:
            raise TrainingError("the training split gave no batch; check its size and the batch size")
        loss_sum, correct, seen = self._sum([loss_sum, correct, seen])
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        self.train_seconds += time.perf_counter() - t0
        self.train_cpu_seconds += time.process_time() - c0
        row = {"epoch": epoch + 1, "lr": lr, "train_loss": loss_sum / seen}
        if classify:
            row["train_accuracy"] = correct / seen
        row["epoch_seconds"] = time.perf_counter() - t0
        return row

    def _good_checkpoint(self) -> Path | None:
        ckpt = self.last_checkpoint
        return ckpt if ckpt is not None and Path(ckpt).is_file() else None

    def evaluate(self, loader: Iterable, split: str = "val") -> dict:
        """Loss and accuracy on ``loader`` (main process only; others get ``{}``); callbacks see
        them as ``on_evaluate(split, metrics)``."""
        if not self.is_main:
            return {}
        metrics = evaluate(self.model, loader, self.device, self.amp, self.progress, desc=split,
                           loss_fn=self.eval_loss_fn)
        self._emit("on_evaluate", split, metrics)
        return metrics

    def fit(self) -> dict:
        """Train from ``self.epoch`` up to ``epochs``; returns the last epoch's row plus
        ``test_*`` metrics when a ``test_loader`` was given (main process)."""
        self._emit("on_fit_start")
        for epoch in range(self.epoch, self.epochs):
            self._emit("on_epoch_start", epoch)
            row = self._train_epoch(epoch)
            self.epoch = epoch + 1
            if self.eval_loader is not None and (self.epoch % self.eval_every == 0 or self.epoch == self.epochs):
                row.update({f"val_{k}": v for k, v in self.evaluate(self.eval_loader, "val").items()})
            self.history.append(row)
            self._emit("on_epoch_end", row)
            if self.distributed:
                dist.barrier()
        result = dict(self.history[-1]) if self.history else {}
        if self.test_loader is not None:
            result.update({f"test_{k}": v for k, v in self.evaluate(self.test_loader, "test").items()})
        self._emit("on_fit_end")
        return result

    def _loader_generator(self) -> torch.Generator | None:
        gen = None if callable(self.train_loader) else getattr(self.train_loader, "generator", None)
        return gen if isinstance(gen, torch.Generator) else None

    def state_dict(self) -> dict:
        """Everything :meth:`load_state_dict` needs to continue exactly after ``self.epoch``."""
        gen = self._loader_generator()
        return {
            "epoch": self.epoch, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": rng_state(), "loader_rng": gen.get_state() if gen is not None else None,
            "history": list(self.history), "train_seconds": self.train_seconds,
            "train_cpu_seconds": self.train_cpu_seconds,
            "callbacks": [cb.state_dict() for cb in self.callbacks],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (e.g. a loaded checkpoint) into this trainer."""
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as e:
            lines = str(e).splitlines()
            raise CheckpointError(f"the saved state does not fit this model: "
                                  f"{(lines[1] if len(lines) > 1 else lines[0]).strip()}") from None
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        gen = self._loader_generator()
        if gen is not None and state.get("loader_rng") is not None:
            gen.set_state(state["loader_rng"])
        for cb, cb_state in zip(self.callbacks, state.get("callbacks") or []):
            cb.load_state_dict(cb_state)
        self.epoch, self.history = state["epoch"], list(state["history"])
        self.train_seconds, self.train_cpu_seconds = state["train_seconds"], state["train_cpu_seconds"]


def make_epoch_loader(dataset, info, batch_size: int, seed: int, num_workers: int = 0,
                      rank: int = 0, world_size: int = 1) -> Callable[[int], DataLoader]:
    """``epoch -> DataLoader`` whose shuffling depends only on ``(seed, epoch)`` (and the rank's
    DistributedSampler when ``world_size > 1``): the data order of an exactly resumable run."""
    from ..data import make_loader

    def loader(epoch: int) -> DataLoader:
        sampler = None
        if world_size > 1:
            sampler = torch.utils.data.distributed.DistributedSampler(
                dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed)
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        return make_loader(dataset, info, batch_size, True, num_workers, generator=gen, sampler=sampler)

    return loader
