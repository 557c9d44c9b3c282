"""Optimisers and learning-rate schedules by name: ``optim.name`` and ``schedule.name`` of a config.

Both are :class:`~fullspike.registry.Registry` entries, so a project can add its own::

    @OPTIMIZERS.register("lion")
    def lion(params, o):          # o: the config's ``optim`` section
        return Lion(params, lr=o.lr, weight_decay=o.weight_decay)

A schedule maps ``(section, step, steps_per_epoch, epochs, base_lr)`` to the learning-rate
factor of optimiser step ``step`` (0-based over the whole run); warm-up is applied around it.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import torch

from ..registry import Registry

if TYPE_CHECKING:
    from .config import OptimConfig, ScheduleConfig

OPTIMIZERS: Registry[Callable[[list, "OptimConfig"], torch.optim.Optimizer]] = Registry("optimizer")
SCHEDULES: Registry[Callable[["ScheduleConfig", int, int, int, float], float]] = Registry("schedule")


@OPTIMIZERS.register("sgd")
def sgd(params: list, o: "OptimConfig") -> torch.optim.Optimizer:
    """SGD with momentum, weight decay and optional Nesterov momentum."""
    return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay,
                           nesterov=o.nesterov)


@OPTIMIZERS.register("adamw")
def adamw(params: list, o: "OptimConfig") -> torch.optim.Optimizer:
    """AdamW (decoupled weight decay)."""
    return torch.optim.AdamW(params, lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay)


@OPTIMIZERS.register("adam")
def adam(params: list, o: "OptimConfig") -> torch.optim.Optimizer:
    """Adam (weight decay added to the gradient)."""
    return torch.optim.Adam(params, lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay)


@SCHEDULES.register("constant")
def constant(s: "ScheduleConfig", step: int, steps_per_epoch: int, epochs: int, lr: float) -> float:
    """The base learning rate throughout."""
    return 1.0


@SCHEDULES.register("multistep")
def multistep(s: "ScheduleConfig", step: int, steps_per_epoch: int, epochs: int, lr: float) -> float:
    """Times ``gamma`` at each milestone: below 1 a fraction of the run's steps, else an epoch
    number. The rate drops from the first step at or after the milestone, so short runs drop
    inside an epoch."""
    marks = [m * epochs * steps_per_epoch if m < 1 else m * steps_per_epoch for m in s.milestones]
    return s.gamma ** sum(step >= math.ceil(m - 1e-9) for m in marks)


@SCHEDULES.register("step")
def step_decay(s: "ScheduleConfig", step: int, steps_per_epoch: int, epochs: int, lr: float) -> float:
    """Times ``gamma`` every ``step_epochs`` epochs (changes once per epoch)."""
    return s.gamma ** ((step // steps_per_epoch) // max(1, s.step_epochs))


@SCHEDULES.register("cosine")
def cosine(s: "ScheduleConfig", step: int, steps_per_epoch: int, epochs: int, lr: float) -> float:
    """Cosine from the base rate down to ``min_lr`` after warm-up (changes once per epoch)."""
    span = max(1, epochs - s.warmup_epochs)
    t = (step // steps_per_epoch - s.warmup_epochs) / span
    floor = s.min_lr / lr if lr else 0.0
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
