"""Optimisers and schedules are looked up by name in registries a project can extend."""

import math

import pytest
import torch

from fullspike.errors import ConfigError
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
    from fullspike.params import Fraction, Positive

    @OPTIMIZERS.register("test_rmsprop")
    def rmsprop(params, *, lr: Positive = 0.01, alpha: Fraction = 0.99):
        return torch.optim.RMSprop(params, lr=lr, alpha=alpha)

    @SCHEDULES.register("test_halving")
    def halving(p, *, factor: Fraction = 0.5):
        return factor**p.epoch

    try:  # each takes its own hyperparameters, checked against its signature
        cfg = load_config(
            None,
            [
                "optim.name=test_rmsprop",
                "schedule.name=test_halving",
                "optim.lr=0.2",
                "optim.alpha=0.9",
                "schedule.factor=0.25",
            ],
        )
        opt = build_optimizer(cfg, torch.nn.Linear(3, 2))
        assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["lr"] == 0.2 and opt.defaults["alpha"] == 0.9
        assert [lr_factor(cfg, s, 4) for s in (0, 4, 9)] == [1.0, 0.25, 0.0625]
        with pytest.raises(ConfigError, match=r"^config key 'optim.alpha' must be a number in \(0, 1\], got 2$"):
            load_config(None, ["optim.name=test_rmsprop", "optim.alpha=2"])
        with pytest.raises(ConfigError, match=r"^unknown config key 'optim.momentum': optimizer 'test_rmsprop'"):
            load_config(None, ["optim.name=test_rmsprop", "optim.momentum=0.9"])
    finally:
        del OPTIMIZERS._items["test_rmsprop"], SCHEDULES._items["test_halving"]
