"""The training loop: :class:`Trainer` trains any ``nn.Module`` with a step function
``step_fn(model, batch) -> (loss, output)`` (default: :func:`supervised_step` of a loss), metric
objects (:mod:`fullspike.train.metrics`), callbacks for the cross-cutting work
(:mod:`fullspike.train.callbacks`), exact resume from its :meth:`~Trainer.state_dict`, bf16
autocast on CUDA, and data parallelism (DDP) when asked for (``distributed=True`` under
``torchrun``).

The trainer changes no process-wide setting (allocator, determinism flags, RNG seeds): the
caller seeds, and ``fullspike train`` sets the process options it prints.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from ..errors import CheckpointError, TrainingError
from ..models.outputs import classification_loss
from ..progress import Bar, show_bars
from ..safe_load import load_into
from ..seeding import seeded_draws
from .callbacks import Callback
from .checkpoint import rng_state, set_rng_state
from .metrics import Metric, eval_metrics, train_metrics

LossFn = Callable[[Any, torch.Tensor], torch.Tensor]
StepFn = Callable[[torch.nn.Module, Any], "tuple[torch.Tensor, Any]"]


def supervised_step(loss_fn: LossFn) -> StepFn:
    """The default step: ``(x, y) -> (loss_fn(model(x), y), model(x))``."""

    def step(model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, Any]:
        x, y = batch
        out = model(x)
        return loss_fn(out, y), out

    return step


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` (a tensor, or tuples, lists and dicts of them) moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def resolve_device(name: str) -> torch.device:
    """``"auto"`` (CUDA when available, else CPU) or a torch device name -> ``torch.device``;
    a CUDA device without CUDA is a :class:`~fullspike.errors.TrainingError`."""
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


def _computed(metrics: Sequence[Metric]) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in metrics:
        out.update(m.compute())
    return out


#: the seed of evaluation's random draws (rate-coded inputs) unless one is given
EVAL_SEED = 0


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    loader: Iterable,
    device: torch.device,
    amp: bool = False,
    progress: bool | None = None,
    desc: str = "eval",
    loss_fn: LossFn = classification_loss,
    step_fn: StepFn | None = None,
    metrics: Sequence[Metric] | None = None,
    seed: int = EVAL_SEED,
) -> dict:
    """``metrics`` over ``loader`` (default :func:`~fullspike.train.metrics.eval_metrics`: mean
    ``loss`` and the accuracy (0..1) of every head, ``accuracy``, ``accuracy_spike``,
    ``accuracy_accum``), each batch run by ``step_fn`` (default :func:`supervised_step` of ``loss_fn``).

    Random draws during evaluation (rate coding's spikes) come from generators seeded with
    ``seed`` (:func:`~fullspike.seeding.seeded_draws`), so the same model, loader and seed give the same numbers:
    ``fullspike evaluate`` on a finished run repeats the ``test_accuracy`` its training recorded."""
    with seeded_draws(seed, device):
        return _evaluate(model, loader, device, amp, progress, desc, loss_fn, step_fn, metrics)


def _evaluate(
    model: torch.nn.Module,
    loader: Iterable,
    device: torch.device,
    amp: bool,
    progress: bool | None,
    desc: str,
    loss_fn: LossFn,
    step_fn: StepFn | None,
    metrics: Sequence[Metric] | None,
) -> dict:
    """:func:`evaluate`'s pass over ``loader``, its draws seeded by the caller."""
    model.eval()
    step_fn = step_fn or supervised_step(loss_fn)
    metrics = list(metrics) if metrics is not None else eval_metrics()
    for m in metrics:
        m.reset()
    batches = 0
    for batch in Bar(loader, desc, progress=progress):
        batch = to_device(batch, device)
        with autocast(device, amp):
            loss, out = step_fn(model, batch)
        for m in metrics:
            m.update(out, batch, loss)
        batches += 1
    if batches == 0:
        raise TrainingError("the evaluation split is empty; check data.test_subset / data.val_fraction")
    return _computed(metrics)


class DivergenceError(TrainingError):
    """The training loss became NaN or infinite."""

    def __init__(
        self,
        loss: float,
        epoch: int,
        step: int,
        lr: float,
        checkpoint: Path | None,
        hint: str = "lower the learning rate (now {lr:.3g}) or clip gradients (grad_clip)",
    ) -> None:
        self.loss, self.epoch, self.step, self.lr, self.checkpoint = loss, epoch, step, lr, checkpoint
        where = (
            f"; the last good checkpoint of this run is {checkpoint}"
            if checkpoint is not None
            else "; this run has written no checkpoint yet"
        )
        super().__init__(
            f"loss became {loss} at epoch {epoch}, step {step}: training diverged; {hint.format(lr=lr)}{where}"
        )


class Trainer:
    """Trains ``model`` on ``train_loader`` with ``loss_fn(output, target)`` (or ``step_fn``) and
    ``optimizer``.

    Args:
        model: any ``nn.Module``; batches (a tensor or tuples, lists, dicts of them) are moved to
            ``device`` and given to ``step_fn``.
        loss_fn: ``loss_fn(model(x), y) -> scalar`` of the default step; also the evaluation loss
            unless ``eval_loss_fn``. Unused when ``step_fn`` is given.
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
        step_fn: ``step_fn(model, batch) -> (loss, output)`` for training and evaluation
            (default: :func:`supervised_step` of ``loss_fn`` / ``eval_loss_fn``).
        metrics: objects with ``reset/update/compute`` (:mod:`fullspike.train.metrics`) over the
            training batches (``train_<name>`` in the row; default ``loss`` and ``accuracy``), and
            ``eval_metrics`` over the evaluation batches (default: ``loss``, each head's accuracy).
        distributed: wrap the model in DistributedDataParallel (needs an initialised process
            group, e.g. under ``torchrun``); rank 0 evaluates and writes.

    Exact resume: ``trainer.load_state_dict(state)`` with a :meth:`state_dict` saved after an
    epoch (the :class:`~fullspike.train.callbacks.Checkpoint` callback saves one per epoch)
    restores weights, optimiser, schedule, RNG states and callback states, and :meth:`fit`
    continues so that the result equals an uninterrupted run.

    Example:
        ```python
        import torch
        from torch.utils.data import DataLoader, TensorDataset
        import fullspike
        from fullspike.models import classification_loss
        from fullspike.train import Trainer

        model = fullspike.create_model("bntt_convnet", T=2, width=4, hidden=8)
        batches = DataLoader(TensorDataset(torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))), batch_size=8)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        trainer = Trainer(model, classification_loss, optimizer, batches, batches, epochs=2, progress=False)
        row = trainer.fit()  # the last epoch's metrics: train_loss, val_accuracy, ...
        assert len(trainer.history) == 2 and "val_accuracy" in row
        ```
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: LossFn,
        optimizer: torch.optim.Optimizer,
        train_loader: Iterable | Callable[[int], Iterable],
        eval_loader: Iterable | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        scheduler=None,
        scheduler_interval: str = "step",
        epochs: int = 1,
        test_loader: Iterable | None = None,
        device: str | torch.device | None = None,
        amp: bool = False,
        grad_clip: float | None = None,
        eval_every: int = 1,
        eval_loss_fn: LossFn | None = None,
        progress: bool | None = None,
        divergence_hint: str | None = None,
        step_fn: StepFn | None = None,
        metrics: Sequence[Metric] | None = None,
        eval_metrics: Sequence[Metric] | None = None,
        distributed: bool = False,
    ) -> None:
        if scheduler_interval not in ("step", "epoch"):
            raise TrainingError(f"scheduler_interval must be 'step' or 'epoch', got {scheduler_interval!r}")
        if device is None:
            device = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.loss_fn, self.eval_loss_fn = loss_fn, eval_loss_fn or loss_fn
        self.step_fn = step_fn or supervised_step(loss_fn)
        self.eval_step_fn = step_fn or supervised_step(self.eval_loss_fn)
        self.metrics = list(metrics) if metrics is not None else train_metrics()
        self.eval_metrics = list(eval_metrics) if eval_metrics is not None else None
        self.optimizer, self.scheduler, self.scheduler_interval = optimizer, scheduler, scheduler_interval
        self.train_loader, self.eval_loader, self.test_loader = train_loader, eval_loader, test_loader
        self.callbacks = list(callbacks)
        self.epochs, self.amp, self.grad_clip = epochs, amp, grad_clip
        self.eval_every, self.progress = max(1, eval_every), progress
        self.divergence_hint = divergence_hint
        self.distributed = distributed
        self.rank, self.world_size, self.net = 0, 1, model
        if distributed:
            self._wrap_distributed()
        self.epoch = 0  # epochs completed
        self.history: list[dict] = []
        self.train_seconds = self.train_cpu_seconds = 0.0
        self.last_checkpoint: Path | None = None  # newest checkpoint of this run (Checkpoint callback)

    def _wrap_distributed(self) -> None:
        """Wrap the model in DistributedDataParallel over the initialised process group."""
        if not (dist.is_available() and dist.is_initialized()):
            raise TrainingError(
                "Trainer(distributed=True) needs an initialised process group "
                "(torch.distributed.init_process_group, e.g. under torchrun)"
            )
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.net = torch.nn.parallel.DistributedDataParallel(
            self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
        )

    @property
    def is_main(self) -> bool:
        """This process is rank 0 (always true without distributed training): it logs and saves."""
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

    def _sum_metrics(self) -> None:
        """Add up the metrics' running sums over the processes (each then computes the total)."""
        if not self.distributed:
            return
        keys = [(m, k) for m in self.metrics for k in sorted(getattr(m, "totals", {}))]
        t = torch.tensor(
            [m.totals[k] for m, k in keys],
            dtype=torch.float64,
            device=self.device if self.device.type == "cuda" else "cpu",
        )
        dist.all_reduce(t)
        for (m, k), v in zip(keys, t.tolist()):
            m.totals[k] = v

    def _train_epoch(self, epoch: int) -> dict:
        """One epoch over the training data; the row's ``lr`` is the rate of its first step."""
        t0, c0 = time.perf_counter(), time.process_time()
        loader = self._epoch_loader(epoch)
        self.net.train()
        lr = self.optimizer.param_groups[0]["lr"]
        for m in self.metrics:
            m.reset()
        steps = 0
        bar = Bar(loader, f"epoch {epoch + 1}/{self.epochs}", progress=show_bars(self.progress) and self.is_main)
        for step, batch in enumerate(bar):
            batch = to_device(batch, self.device)
            with autocast(self.device, self.amp):
                loss, out = self.step_fn(self.net, batch)
                for cb in self.callbacks:
                    loss = cb.on_loss(self, loss)
            if not torch.isfinite(loss):
                hint = {"hint": self.divergence_hint} if self.divergence_hint else {}
                raise DivergenceError(
                    float(loss.detach()),
                    epoch + 1,
                    step + 1,
                    self.optimizer.param_groups[0]["lr"],
                    self._good_checkpoint(),
                    **hint,
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            self.optimizer.step()
            if self.scheduler is not None and self.scheduler_interval == "step":
                self.scheduler.step()
            self._emit("on_step_end")
            for m in self.metrics:
                m.update(out, batch, loss)
            steps += 1
            bar.set_postfix({k: f"{v:.4f}" for k, v in _computed(self.metrics).items()})
        if steps == 0:
            raise TrainingError("the training split gave no batch; check its size and the batch size")
        self._sum_metrics()
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        self.train_seconds += time.perf_counter() - t0
        self.train_cpu_seconds += time.process_time() - c0
        row = {"epoch": epoch + 1, "lr": lr, **{f"train_{k}": v for k, v in _computed(self.metrics).items()}}
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
        metrics = evaluate(
            self.model,
            loader,
            self.device,
            self.amp,
            self.progress,
            desc=split,
            step_fn=self.eval_step_fn,
            metrics=self.eval_metrics,
        )
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
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "rng": rng_state(),
            "loader_rng": gen.get_state() if gen is not None else None,
            "history": list(self.history),
            "train_seconds": self.train_seconds,
            "train_cpu_seconds": self.train_cpu_seconds,
            "callbacks": [cb.state_dict() for cb in self.callbacks],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (e.g. a checkpoint :func:`~fullspike.train.load_checkpoint`
        read and validated) into this trainer; a state that does not fit the model or the optimizer
        is one :class:`CheckpointError` line."""
        load_into(self.model, state["model"], "the saved state does not fit this model")
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except ValueError as e:  # other parameter groups or sizes than this optimizer's
            raise CheckpointError(f"the saved optimizer state does not fit this optimizer: {e}") from None
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


def make_epoch_loader(
    dataset, info, batch_size: int, seed: int, num_workers: int = 0, rank: int = 0, world_size: int = 1
) -> Callable[[int], DataLoader]:
    """``epoch -> DataLoader`` whose shuffling depends only on ``(seed, epoch)`` (and the rank's
    DistributedSampler when ``world_size > 1``): the data order of an exactly resumable run."""
    from ..data import make_loader

    def loader(epoch: int) -> DataLoader:
        sampler = None
        if world_size > 1:
            sampler = torch.utils.data.distributed.DistributedSampler(
                dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed
            )
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        return make_loader(dataset, info, batch_size, True, num_workers, generator=gen, sampler=sampler)

    return loader
