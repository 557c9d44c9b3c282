"""Optimisers and schedules are looked up by name in registries a project can extend."""
import math

import pytest
import torch

from fullspike.train.builders import build_optimizer, lr_factor
from fullspike.train.config import load_config
from fullspike.train.optim import OPTIMIZERS, SCHEDULES


def test_builtin_optimisers_carry_the_config_values():
    model = torch.nn.Linear(3, 2)
    sgd = build_optimizer(load_config(None, ["optim.lr=0.05", "optim.momentum=0.5", "optim.nesterov=true"]), model)
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.defaults["lr"] == 0.05 and sgd.defaults["momentum"] == 0.5 and sgd.defaults["nesterov"]
    adamw = build_optimizer(load_config(None, ["optim.name=adamw", "optim.betas=[0.8, 0.9]"]), model)
    assert isinstance(adamw, torch.optim.AdamW) and adamw.defaults["betas"] == (0.8, 0.9)


def test_schedules_by_name():
    cfg = load_config(None, ["train.epochs=4", "schedule.name=cosine", "optim.lr=0.1", "schedule.min_lr=0.01"])
    assert lr_factor(cfg, 0, 10) == pytest.approx(1.0)
    assert lr_factor(cfg, 20, 10) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2)))
    step = load_config(None, ["schedule.name=step", "schedule.step_epochs=2", "schedule.gamma=0.5"])
    assert [lr_factor(step, e * 10, 10) for e in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_a_registered_optimiser_and_schedule_are_usable_from_a_config():
    @OPTIMIZERS.register("test_rmsprop")
    def rmsprop(params, o):
        return torch.optim.RMSprop(params, lr=o.lr)

    @SCHEDULES.register("test_halving")
    def halving(s, step, steps_per_epoch, epochs, lr):
        return 0.5 ** (step // steps_per_epoch)

    try:
        cfg = load_config(None, ["optim.name=test_rmsprop", "schedule.name=test_halving", "optim.lr=0.2"])
        opt = build_optimizer(cfg, torch.nn.Linear(3, 2))
        assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["lr"] == 0.2
        assert [lr_factor(cfg, s, 4) for s in (0, 4, 9)] == [1.0, 0.5, 0.25]
    finally:
        del OPTIMIZERS._items["test_rmsprop"], SCHEDULES._items["test_halving"]
