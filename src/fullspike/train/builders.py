"""Build the pieces of an experiment from a :class:`Config`: data, model, optimiser, schedule."""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

import torch
from torch.utils.data import Dataset, Subset

from ..data import DatasetInfo, build_dataset
from ..errors import ConfigError
from ..models import create_model, model_factory
from .config import Config


@dataclass
class DataSplits:
    train: Dataset
    val: Dataset | None
    test: Dataset
    info: DatasetInfo


def _seeded_perm(n: int, seed: int) -> list[int]:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()


def build_data(cfg: Config) -> DataSplits:
    """Train (augmented), validation (carved from train, not augmented) and test splits."""
    d = cfg.data
    train_aug, info = build_dataset(d.name, d.root, True, d.augment, **d.options)
    train_plain, _ = build_dataset(d.name, d.root, True, False, **d.options) if d.augment else (train_aug, info)
    test, _ = build_dataset(d.name, d.root, False, False, **d.options)
    idx = _seeded_perm(len(train_aug), cfg.train.seed)
    if not 0.0 <= d.val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction must be in [0, 1), got {d.val_fraction}")
    n_val = int(round(len(idx) * d.val_fraction))
    val_idx, train_idx = idx[:n_val], idx[n_val:]
    if d.train_subset is not None:
        train_idx = sorted(train_idx[: d.train_subset])
    else:
        train_idx = sorted(train_idx)
    train = Subset(train_aug, train_idx) if len(train_idx) < len(train_aug) else train_aug
    val = Subset(train_plain, sorted(val_idx)) if n_val else None
    if d.test_subset is not None and d.test_subset < len(test):
        test = Subset(test, sorted(_seeded_perm(len(test), cfg.train.seed + 1)[: d.test_subset]))
    return DataSplits(train, val, test, info)


def model_kwargs(cfg: Config, info: DatasetInfo) -> dict:
    """The model's keyword arguments, with num_classes/in_channels/image_size taken from the data
    when the factory accepts them and the config does not set them."""
    kwargs = cfg.model_kwargs
    params = inspect.signature(model_factory(cfg.model_name)).parameters
    for key, value in (("num_classes", info.num_classes), ("in_channels", info.in_channels),
                       ("image_size", info.image_size)):
        if key in params and key not in kwargs:
            kwargs[key] = value
    return kwargs


def build_model(cfg: Config, info: DatasetInfo) -> torch.nn.Module:
    return create_model(cfg.model_name, **model_kwargs(cfg, info))


def build_optimizer(cfg: Config, model: torch.nn.Module) -> torch.optim.Optimizer:
    o = cfg.optim
    params = [p for p in model.parameters() if p.requires_grad]
    if o.name == "sgd":
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay,
                               nesterov=o.nesterov)
    if o.name in ("adamw", "adam"):
        cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
        return cls(params, lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay)
    raise ConfigError(f"unknown optim.name '{o.name}'; choose sgd, adamw or adam")


def lr_factor(cfg: Config, epoch: int) -> float:
    """Learning-rate multiplier for a 0-based epoch (stepped once per epoch)."""
    s, E = cfg.schedule, cfg.train.epochs
    if s.warmup_epochs and epoch < s.warmup_epochs:
        return (epoch + 1) / s.warmup_epochs
    if s.name == "constant":
        return 1.0
    if s.name == "multistep":
        marks = [int(round(m * E)) if m < 1 else int(m) for m in s.milestones]
        return s.gamma ** sum(epoch >= m for m in marks)
    if s.name == "step":
        return s.gamma ** (epoch // max(1, s.step_epochs))
    if s.name == "cosine":
        span = max(1, E - s.warmup_epochs)
        t = (epoch - s.warmup_epochs) / span
        floor = s.min_lr / cfg.optim.lr if cfg.optim.lr else 0.0
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
    raise ConfigError(f"unknown schedule.name '{s.name}'; choose multistep, cosine, step or constant")


def build_scheduler(cfg: Config, optimizer: torch.optim.Optimizer):
    lr_factor(cfg, 0)  # validate the schedule name now, not after an epoch
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: lr_factor(cfg, e))
