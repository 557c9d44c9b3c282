"""Callbacks: the cross-cutting work of a :class:`~fullspike.train.Trainer` run (metrics files,
TensorBoard, checkpoints, firing-rate regularisation, surrogate annealing).

A callback overrides any of the hooks below; the trainer calls them in list order, so put the
callbacks that add to an epoch's row (regularisers, annealing) before the loggers, and
:class:`Checkpoint` last. Loggers and checkpoints write only in the main process (rank 0).
Callbacks see the trainer through :class:`TrainerState` (this module does not import the trainer).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
from pathlib import Path
from typing import Protocol

import torch

from ..errors import ConfigError, MissingDependencyError
from ..nn import SpikingNeuron
from ..optional import require
from ..safe_load import WEIGHTS_SHA256, weights_sha256
from .checkpoint import FORMAT, VERSION, atomic_save, write_text


class TrainerState(Protocol):
    """What a callback sees of the :class:`~fullspike.train.Trainer` running it."""

    model: torch.nn.Module
    epoch: int  # epochs completed
    epochs: int  # of the whole run
    last_checkpoint: Path | None  # newest checkpoint of the run (set by :class:`Checkpoint`)

    @property
    def is_main(self) -> bool:
        """Whether this is the process that evaluates and writes (rank 0)."""

    def state_dict(self) -> dict:
        """Everything the trainer needs to resume exactly after ``epoch``."""


_LOG = logging.getLogger(__name__)


class Callback:
    """Base class: every hook does nothing. ``epoch`` arguments are 0-based."""

    def on_fit_start(self, trainer: TrainerState) -> None:
        """Before the first epoch of :meth:`~fullspike.train.Trainer.fit` (after any resume)."""

    def on_epoch_start(self, trainer: TrainerState, epoch: int) -> None:
        """Before the epoch's first batch."""

    def on_loss(self, trainer: TrainerState, loss: torch.Tensor) -> torch.Tensor:
        """The training loss of a batch before backward; return it, or it plus a penalty."""
        return loss

    def on_step_end(self, trainer: TrainerState) -> None:
        """After each optimiser (and per-step schedule) step."""

    def on_evaluate(self, trainer: TrainerState, split: str, metrics: dict) -> None:
        """After :meth:`~fullspike.train.Trainer.evaluate` on ``split`` (``"val"`` each epoch,
        ``"test"`` at the end)."""

    def on_epoch_end(self, trainer: TrainerState, row: dict) -> None:
        """After the epoch (and its validation): ``row`` holds its metrics and may be added to."""

    def on_fit_end(self, trainer: TrainerState) -> None:
        """After the last epoch and the test evaluation."""

    def state_dict(self) -> dict:
        """What this callback needs to resume exactly (saved in the trainer's state)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (on resume); the default does nothing."""
        pass


def format_row(row: dict) -> str:
    return " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


class MetricsLogger(Callback):
    """Prints each epoch's row and appends it as one JSON line to ``path`` (``metrics.jsonl``).

    At the start of a run the file keeps only the rows of epochs already trained (none for a
    fresh run), so a resumed run never repeats an epoch's row; a half-written row (what a kill
    in the middle of a write leaves) is dropped with a notice. Rows are appended without
    following a symbolic link placed at ``path``.
    """

    def __init__(self, path: str | Path | None = None, echo: bool = True) -> None:
        self.path = Path(path) if path is not None else None
        self.echo = echo

    def on_fit_start(self, trainer: TrainerState) -> None:
        if self.path is None or not trainer.is_main or not self.path.exists():
            return
        rows = []
        for number, line in enumerate(self.path.read_text(errors="replace").splitlines(), 1):
            try:
                row = json.loads(line) if line.strip() else None
            except ValueError:
                _LOG.warning(f"dropped line {number} of {self.path}, a half-written row (left by an interrupted run)")
                continue
            if isinstance(row, dict) and row.get("epoch", 0) <= trainer.epoch:
                rows.append(line)
        write_text(self.path, "".join(line + "\n" for line in rows))

    def on_epoch_end(self, trainer: TrainerState, row: dict) -> None:
        if not trainer.is_main:
            return
        if self.echo:
            _LOG.info(format_row(row))
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
            with os.fdopen(fd, "a") as f:
                f.write(json.dumps(row) + "\n")


class TensorBoardLogger(Callback):
    """Scalars to TensorBoard under ``log_dir``: the training row per epoch, and every
    evaluation as ``<split>_<metric>`` (validation per epoch, test at the end), step = epoch.

    On resume, events of epochs after the checkpoint are purged. Without the ``tensorboard``
    package (an optional extra) it logs nothing; with ``required`` it says so in one warning.
    """

    def __init__(self, log_dir: str | Path, required: bool = True) -> None:
        self.log_dir = Path(log_dir)
        self.required = required
        self.writer = None

    def on_fit_start(self, trainer: TrainerState) -> None:
        if not trainer.is_main:
            return
        if self.log_dir.is_symlink():  # a link placed in the run folder is never followed
            _LOG.warning(
                f"{self.log_dir} is a symbolic link: not followed, so no TensorBoard events are written "
                "(metrics.jsonl has them all; remove the link to get them)"
            )
            return
        try:
            require("tensorboard", extra="tensorboard", purpose="train.tensorboard=true")
            from torch.utils.tensorboard import SummaryWriter
        except MissingDependencyError as e:  # an optional extra: train on, metrics.jsonl has them all
            if self.required:
                _LOG.warning(f"{e}; metrics go to metrics.jsonl only (train.tensorboard=false hides this)")
            return
        self.writer = SummaryWriter(str(self.log_dir), purge_step=trainer.epoch + 1 if trainer.epoch else None)

    def _log(self, values: dict, step: int, prefix: str = "") -> None:
        if self.writer is None:
            return
        for k, v in values.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self.writer.add_scalar(prefix + k, v, step)
        self.writer.flush()

    def on_evaluate(self, trainer: TrainerState, split: str, metrics: dict) -> None:
        self._log(metrics, trainer.epoch, f"{split}_")

    def on_epoch_end(self, trainer: TrainerState, row: dict) -> None:
        self._log({k: v for k, v in row.items() if k != "epoch" and not k.startswith("val_")}, row["epoch"])

    def on_fit_end(self, trainer: TrainerState) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class Checkpoint(Callback):
    """Writes a fullspike checkpoint (format header with the SHA-256 of the weights, ``metadata``,
    :meth:`~fullspike.train.Trainer.state_dict`) to ``path`` after every epoch, atomically;
    ``trainer.load_state_dict(load_checkpoint(path))`` resumes it. Sets ``trainer.last_checkpoint``."""

    def __init__(self, path: str | Path, metadata: dict | None = None) -> None:
        self.path = Path(path)
        self.metadata = dict(metadata or {})

    def on_epoch_end(self, trainer: TrainerState, row: dict) -> None:
        if trainer.is_main:
            from .. import __version__

            state = trainer.state_dict()
            header = {
                "format": FORMAT,
                "version": VERSION,
                "fullspike": __version__,
                WEIGHTS_SHA256: weights_sha256(state["model"]),  # checked when read (load_checkpoint)
            }
            atomic_save({**header, **self.metadata, **state}, self.path)
            trainer.last_checkpoint = self.path


class DivergenceWarning(Callback):
    """Warns when training diverges without the loss becoming NaN (which stops it at once).

    The rule: an epoch's training loss above ``factor`` (10) times a reference, which is
    ``ln(num_classes)`` for a classifier (the cross-entropy of a uniform guess, what an untrained
    network scores) and otherwise the first epoch's training loss (then checked from the second
    epoch on). The first time it holds, one ``warning:`` line goes to the log (stderr) and
    :attr:`message` keeps it (``metrics.json`` records it as ``divergence_warning``).
    """

    def __init__(
        self,
        num_classes: int | None = None,
        factor: float = 10.0,
        hint: str = "lower the learning rate or clip gradients",
    ) -> None:
        self.reference = math.log(num_classes) if num_classes is not None and num_classes >= 2 else None
        self.factor, self.hint = float(factor), hint
        self.message: str | None = None
        self._first: float | None = None

    def on_epoch_end(self, trainer: TrainerState, row: dict) -> None:
        loss = row.get("train_loss")
        if loss is None or self.message is not None:
            return
        if self._first is None:
            self._first = float(loss)
        reference, what = (
            (self.reference, "ln(number of classes), the loss of a uniform guess")
            if self.reference is not None
            else (self._first, "the first epoch's")
        )
        if (self.reference is not None or row["epoch"] > 1) and loss > self.factor * reference:
            self.message = (
                f"training diverges: the training loss of epoch {row['epoch']} is {loss:.4g}, more "
                f"than {self.factor:g}x {what} ({reference:.4g}); {self.hint}"
            )
            if trainer.is_main:
                _LOG.warning(self.message)

    def state_dict(self) -> dict:
        return {"message": self.message, "first": self._first}

    def load_state_dict(self, state: dict) -> None:
        self.message, self._first = state.get("message"), state.get("first")


def spiking_neurons(model: torch.nn.Module) -> list[SpikingNeuron]:
    return [m for m in model.modules() if isinstance(m, SpikingNeuron)]


class FiringRateRegularizer(Callback):
    """Adds ``weight * mean firing rate`` to the training loss: the mean over the spiking neuron
    layers of the fraction of their outputs ``[T, B, ...]`` that spiked in the batch (gradient
    through the surrogate). Adds the epoch's mean ``firing_rate`` to the row."""

    def __init__(self, weight: float) -> None:
        if weight < 0:
            raise ConfigError(f"firing-rate penalty weight must be >= 0, got {weight}")
        self.weight = float(weight)
        self._rates: list[torch.Tensor] = []
        self._hooks: list = []
        self._sum, self._count = 0.0, 0

    def _record(self, module: torch.nn.Module, inputs, output: torch.Tensor) -> None:
        if module.training and torch.is_grad_enabled():
            self._rates.append(output.float().mean())

    def on_fit_start(self, trainer: TrainerState) -> None:
        neurons = spiking_neurons(trainer.model)
        if not neurons:
            raise ConfigError(
                "FiringRateRegularizer: the model has no spiking neuron layers (fullspike.nn.SpikingNeuron)"
            )
        self._hooks = [m.register_forward_hook(self._record) for m in neurons]

    def on_epoch_start(self, trainer: TrainerState, epoch: int) -> None:
        self._sum, self._count = 0.0, 0

    def on_loss(self, trainer: TrainerState, loss: torch.Tensor) -> torch.Tensor:
        if not self._rates:
            return loss
        rate = torch.stack(self._rates).mean()
        self._rates.clear()
        self._sum, self._count = self._sum + float(rate.detach()), self._count + 1
        return loss + self.weight * rate

    def on_epoch_end(self, trainer: TrainerState, row: dict) -> None:
        if self._count:
            row["firing_rate"] = self._sum / self._count

    def on_fit_end(self, trainer: TrainerState) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []


class SurrogateAnnealing(Callback):
    """Moves one parameter of every spiking neuron's surrogate (e.g. ``alpha``, the sharpness)
    linearly from ``start`` (first epoch) to ``end`` (last epoch), set before each epoch; adds
    ``surrogate_<param>`` to the row. Each neuron gets its own copy of its surrogate."""

    def __init__(self, start: float, end: float, param: str = "alpha") -> None:
        self.start, self.end, self.param = float(start), float(end), param

    def value(self, epoch: int, epochs: int) -> float:
        """The parameter's value in ``epoch`` (0-based) of ``epochs``: linear from ``start`` to ``end``."""
        return self.start + (self.end - self.start) * epoch / max(1, epochs - 1)

    def on_fit_start(self, trainer: TrainerState) -> None:
        neurons = spiking_neurons(trainer.model)
        if not any(hasattr(m.surrogate, self.param) for m in neurons):
            raise ConfigError(
                f"SurrogateAnnealing: no spiking neuron's surrogate has a parameter "
                f"'{self.param}' (surrogates: {sorted({repr(m.surrogate) for m in neurons})})"
            )

    def on_epoch_start(self, trainer: TrainerState, epoch: int) -> None:
        value = self.value(epoch, trainer.epochs)
        for m in spiking_neurons(trainer.model):
            if hasattr(m.surrogate, self.param):
                m.surrogate = copy.copy(m.surrogate)
                setattr(m.surrogate, self.param, value)

    def on_epoch_end(self, trainer: TrainerState, row: dict) -> None:
        row[f"surrogate_{self.param}"] = self.value(trainer.epoch - 1, trainer.epochs)
