"""Optimisers and learning-rate schedules by name: ``optim: {name, **kwargs}`` and
``schedule: {name, **kwargs}`` of a config.

Both are :class:`~fullspike.registry.Registry` entries whose own typed keyword arguments are the
config keys (checked against the signature when the config is read), so a project can add its
own with its own hyperparameters::

    @OPTIMIZERS.register("lion")
    def lion(params, *, lr: Positive = 1e-4, weight_decay: NonNegative = 0.0):
        return Lion(params, lr=lr, weight_decay=weight_decay)

Every optimiser takes ``lr``, the base learning rate the schedule scales. A schedule maps a
:class:`Progress` (and its keyword arguments) to the learning-rate factor of optimiser step
``progress.step``; linear warm-up over ``schedule.warmup_epochs`` is applied around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Callable

import torch
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from ..params import Count, NonNegative, Positive, number
from ..registry import Registry

UnitInterval = number(float, ge=0, lt=1)  # [0, 1): momentum, betas

OPTIMIZERS: Registry[Callable[..., torch.optim.Optimizer]] = Registry("optimizer")
SCHEDULES: Registry[Callable[..., float]] = Registry("schedule")


@dataclass(frozen=True)
class Progress:
    """Where optimiser step ``step`` (0-based over the whole run) lies, for a schedule."""

    step: int
    steps_per_epoch: int
    epochs: int  # of the whole run
    base_lr: float  # optim.lr
    warmup_epochs: int  # schedule.warmup_epochs

    @property
    def epoch(self) -> int:
        return self.step // self.steps_per_epoch


@OPTIMIZERS.register("sgd")
def sgd(
    params: list,
    *,
    lr: Positive = 0.1,
    momentum: UnitInterval = 0.9,
    weight_decay: NonNegative = 1e-4,
    nesterov: bool = False,
) -> torch.optim.Optimizer:
    """SGD with momentum, weight decay and optional Nesterov momentum (needs momentum > 0)."""
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)


def _adam(kind: type[torch.optim.Optimizer], doc: str) -> Callable[..., torch.optim.Optimizer]:
    """The factory of an Adam-family optimiser ``kind`` (Adam, AdamW: the same arguments)."""

    def make(
        params: list,
        *,
        lr: Positive = 0.1,
        betas: tuple[UnitInterval, UnitInterval] = (0.9, 0.999),
        weight_decay: NonNegative = 1e-4,
    ) -> torch.optim.Optimizer:
        return kind(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay)

    make.__name__ = make.__qualname__ = kind.__name__.lower()
    make.__doc__ = doc
    return make


adamw = OPTIMIZERS.register("adamw")(_adam(torch.optim.AdamW, "AdamW (decoupled weight decay)."))
adam = OPTIMIZERS.register("adam")(_adam(torch.optim.Adam, "Adam (weight decay added to the gradient)."))


def _milestone(value: float) -> float:
    if not (0 < value < 1 or (value >= 1 and float(value).is_integer())):
        raise PydanticCustomError(
            "out_of_range", "must be a fraction of training in (0, 1) or a whole epoch number >= 1"
        )
    return value


Milestone = Annotated[Positive, AfterValidator(_milestone)]


@SCHEDULES.register("constant")
def constant(p: Progress) -> float:
    """The base learning rate throughout."""
    return 1.0


@SCHEDULES.register("multistep")
def multistep(
    p: Progress, *, milestones: list[Milestone] = (0.5, 0.7, 0.9), gamma: number(float, gt=0, le=1) = 0.1
) -> float:
    """Times ``gamma`` at each milestone: below 1 a fraction of the run's steps, else an epoch
    number. The rate drops from the first step at or after the milestone, so short runs drop
    inside an epoch."""
    marks = [m * p.epochs * p.steps_per_epoch if m < 1 else m * p.steps_per_epoch for m in milestones]
    return gamma ** sum(p.step >= math.ceil(m - 1e-9) for m in marks)


@SCHEDULES.register("step")
def step_decay(p: Progress, *, step_epochs: Count = 30, gamma: number(float, gt=0, le=1) = 0.1) -> float:
    """Times ``gamma`` every ``step_epochs`` epochs (changes once per epoch)."""
    return gamma ** (p.epoch // step_epochs)


@SCHEDULES.register("cosine")
def cosine(p: Progress, *, min_lr: NonNegative = 0.0) -> float:
    """Cosine from the base rate down to ``min_lr`` (at most ``optim.lr``) after warm-up
    (changes once per epoch)."""
    span = max(1, p.epochs - p.warmup_epochs)
    t = (p.epoch - p.warmup_epochs) / span
    floor = min_lr / p.base_lr if p.base_lr else 0.0
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
