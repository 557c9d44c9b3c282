"""Metrics of a training or evaluation pass: objects with ``reset()``, ``update(output, batch,
loss)`` per batch and ``compute() -> {name: value}``, as the :class:`~fullspike.train.Trainer`
and :func:`~fullspike.train.evaluate` use them.

A metric keeps running sums (:attr:`SumMetric.totals`), so data-parallel processes combine their
metrics by adding those sums before :meth:`~SumMetric.compute`. ``output`` is what the step
function returned (logits ``[B, K]`` or a :class:`~fullspike.models.DualStreamOutput`), ``batch``
the batch on the device (``(x, y)`` by default), ``loss`` the batch's mean loss (a scalar tensor).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import torch

from ..errors import TrainingError
from ..models.outputs import PREDICTION, heads, prediction

Batch = Any
Target = Callable[[Batch], torch.Tensor]


def second(batch: Batch) -> torch.Tensor:
    """The target of an ``(x, y)`` batch."""
    return batch[1]


class Metric(Protocol):
    """What the trainer needs of a metric."""

    def reset(self) -> None:
        """Forget every batch seen (called before each training epoch and evaluation pass)."""

    def update(self, output: Any, batch: Batch, loss: torch.Tensor) -> None:
        """Take one batch: the step function's ``output``, the ``batch`` on the device and its
        mean ``loss`` (a scalar tensor)."""

    def compute(self) -> dict[str, float]:
        """``{name: value}`` over the batches since :meth:`reset` (empty when none was seen)."""


class SumMetric:
    """A metric computed from running sums ``totals`` (``{name: float}``, the same names in every
    process, so a data-parallel run adds them up before :meth:`compute`)."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}

    def reset(self) -> None:
        """Empty the running sums."""
        self.totals = {}

    def update(self, output: Any, batch: Batch, loss: torch.Tensor) -> None:
        """Add one batch's counts to :attr:`totals` (each subclass says which)."""
        raise NotImplementedError

    def _add(self, **values: float) -> None:
        for k, v in values.items():
            self.totals[k] = self.totals.get(k, 0.0) + v

    def compute(self) -> dict[str, float]:
        """The metric's values from :attr:`totals` (each subclass says which)."""
        raise NotImplementedError


class MeanLoss(SumMetric):
    """``{"loss": mean loss per sample}``: batch losses weighted by the batch size (``len(target)``)."""

    def __init__(self, target: Target = second) -> None:
        super().__init__()
        self.target = target

    def update(self, output: Any, batch: Batch, loss: torch.Tensor) -> None:
        n = len(self.target(batch))
        self._add(loss=float(loss.detach()) * n, count=n)

    def compute(self) -> dict[str, float]:
        return {"loss": self.totals["loss"] / self.totals["count"]} if self.totals.get("count") else {}


def _logits_and_labels(logits: torch.Tensor, y: torch.Tensor) -> None:
    if not (logits.ndim == 2 and y.ndim == 1 and not y.is_floating_point() and len(y) == len(logits)):
        raise TrainingError(
            f"accuracy needs class logits [B, K] and integer labels [B], got an output of shape "
            f"{tuple(logits.shape)} and targets of shape {tuple(y.shape)} ({y.dtype}); give the "
            f"Trainer metrics=[MeanLoss()] (or your own metrics) for other tasks"
        )


class Accuracy(SumMetric):
    """``{"accuracy": top-1 accuracy (0..1)}`` of the model's prediction: the logits ``[B, K]``, or
    the combined head of a dual-stream output. Anything else is a :class:`TrainingError`."""

    def __init__(self, target: Target = second) -> None:
        super().__init__()
        self.target = target

    def update(self, output: Any, batch: Batch, loss: torch.Tensor) -> None:
        y, logits = self.target(batch), prediction(output)
        _logits_and_labels(logits, y)
        self._add(correct=int((logits.argmax(1) == y).sum()), count=len(y))

    def compute(self) -> dict[str, float]:
        return {"accuracy": self.totals["correct"] / self.totals["count"]} if self.totals.get("count") else {}


class HeadAccuracies(SumMetric):
    """The dual-stream adapter of :class:`Accuracy`: the accuracy of every head of the output
    (:func:`~fullspike.models.outputs.heads`), ``accuracy`` for the prediction and
    ``accuracy_<head>`` for the others (``accuracy_spike``, ``accuracy_accum`` of a
    :class:`~fullspike.models.DualStreamOutput`); plain logits give ``accuracy`` only."""

    def __init__(self, target: Target = second) -> None:
        super().__init__()
        self.target = target

    def update(self, output: Any, batch: Batch, loss: torch.Tensor) -> None:
        y = self.target(batch)
        for head, logits in heads(output).items():
            _logits_and_labels(logits, y)
            self._add(**{f"accuracy_{head}" if head != PREDICTION else "accuracy": int((logits.argmax(1) == y).sum())})
        self._add(count=len(y))

    def compute(self) -> dict[str, float]:
        n = self.totals.get("count")
        return {k: v / n for k, v in self.totals.items() if k != "count"} if n else {}


def train_metrics() -> list[Metric]:
    """The trainer's default training metrics: ``loss`` and the prediction's ``accuracy``."""
    return [MeanLoss(), Accuracy()]


def eval_metrics() -> list[Metric]:
    """The default evaluation metrics: ``loss`` and every head's accuracy."""
    return [MeanLoss(), HeadAccuracies()]
