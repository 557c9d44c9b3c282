"""Build the pieces of an experiment from a :class:`Config`: data, model, optimiser, schedule."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from torch.utils.data import Dataset, Subset

from ..data import DatasetInfo, build_dataset, decode_once
from ..errors import ConfigError, DatasetError
from ..models import create_model, model_factory
from .config import Config
from .optim import OPTIMIZERS, SCHEDULES, Progress

SPLITS = ("train", "val", "test")


@dataclass
class DataSplits:
    """The datasets of a config: ``train``, ``val`` (None without a validation split), ``test``,
    and the :class:`~fullspike.data.DatasetInfo` the model is built from."""

    train: Dataset
    val: Dataset | None
    test: Dataset
    info: DatasetInfo


def _seeded_perm(n: int, seed: int) -> list[int]:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()


def _train_val_indices(n: int, cfg: Config) -> tuple[list[int], list[int]]:
    """Sorted (train, validation) indices into the training set: the validation split is carved
    from it (seeded), then ``data.train_subset`` keeps the first training indices of the same order."""
    d = cfg.data
    idx = _seeded_perm(n, cfg.train.seed)
    n_val = int(round(n * d.val_fraction))
    val_idx, train_idx = idx[:n_val], idx[n_val:]
    if d.train_subset is not None:
        train_idx = train_idx[: d.train_subset]
    return sorted(train_idx), sorted(val_idx)


def _test_subset(test: Dataset, cfg: Config) -> Dataset:
    n = cfg.data.test_subset
    if n is not None and n < len(test):
        return Subset(test, sorted(_seeded_perm(len(test), cfg.train.seed + 1)[:n]))
    return test


def _train_split(cfg: Config, augment: bool) -> tuple[Dataset, DatasetInfo]:
    d = cfg.data
    return build_dataset(d.name, d.root, True, augment, **d.options)


def build_data(cfg: Config) -> DataSplits:
    """Train (augmented), validation (carved from train, not augmented) and test splits."""
    d = cfg.data
    with decode_once():  # the augmented and plain training views share one decoded copy
        train_aug, info = _train_split(cfg, d.augment)
        train_plain = _train_split(cfg, False)[0] if d.augment else train_aug
        test, _ = build_dataset(d.name, d.root, False, False, **d.options)
    check_labels(train_aug, info.num_classes, "training")
    check_labels(test, info.num_classes, "test")
    train_idx, val_idx = _train_val_indices(len(train_aug), cfg)
    if not train_idx:
        subset = f" and data.train_subset={d.train_subset}" if d.train_subset is not None else ""
        raise ConfigError(
            f"the training split is empty: data.val_fraction={d.val_fraction}{subset} leave none of "
            f"the {len(train_aug)} training samples to train on; lower data.val_fraction (e.g. 0.1)"
        )
    train = Subset(train_aug, train_idx) if len(train_idx) < len(train_aug) else train_aug
    val = Subset(train_plain, val_idx) if val_idx else None
    return DataSplits(train, val, _test_subset(test, cfg), info)


def check_labels(dataset: Dataset, num_classes: int, split: str) -> None:
    """Refuse a split whose labels (its ``targets`` or ``labels``, when it exposes them) fall
    outside ``[0, num_classes)``: caught when the data are built, not after an epoch."""
    labels = getattr(dataset, "targets", None)
    labels = getattr(dataset, "labels", None) if labels is None else labels
    if labels is None or len(labels) == 0:
        return
    labels = torch.as_tensor(labels)
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if len(bad):
        raise DatasetError(
            f"the {split} split has {len(bad)} label(s) outside 0..{num_classes - 1} (e.g. "
            f"{int(bad[0])}) for its {num_classes} classes; fix the dataset's label files"
        )


def build_split(cfg: Config, split: str) -> tuple[Dataset, DatasetInfo]:
    """One split exactly as :func:`build_data` makes it, reading only that split's files
    (``"test"`` needs no training files)."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split '{split}'; choose one of {', '.join(SPLITS)}")
    d = cfg.data
    if split == "test":
        test, info = build_dataset(d.name, d.root, False, False, **d.options)
        check_labels(test, info.num_classes, "test")
        return _test_subset(test, cfg), info
    full, info = _train_split(cfg, d.augment and split == "train")
    check_labels(full, info.num_classes, "training")
    train_idx, val_idx = _train_val_indices(len(full), cfg)
    if split == "val":
        if not val_idx:
            raise ConfigError("the validation split is empty: set data.val_fraction > 0 (e.g. data.val_fraction=0.1)")
        return Subset(full, val_idx), info
    return (Subset(full, train_idx) if len(train_idx) < len(full) else full), info


def infer_model_kwargs(name: str, kwargs: dict, info: DatasetInfo) -> dict:
    """``kwargs`` plus ``num_classes``/``in_channels``/``image_size`` taken from the data, for
    those the model factory ``name`` accepts and ``kwargs`` does not set."""
    kwargs = dict(kwargs)
    params = inspect.signature(model_factory(name)).parameters
    for key, value in (
        ("num_classes", info.num_classes),
        ("in_channels", info.in_channels),
        ("image_size", info.image_size),
    ):
        if key in params and key not in kwargs:
            kwargs[key] = value
    return kwargs


def model_kwargs(cfg: Config, info: DatasetInfo) -> dict:
    """The config's model arguments completed from the data (:func:`infer_model_kwargs`)."""
    return infer_model_kwargs(cfg.model_name, cfg.model_kwargs, info)


def build_model(cfg: Config, info: DatasetInfo) -> torch.nn.Module:
    """The config's model, its ``num_classes``/``in_channels``/``image_size`` taken from the data
    where the config leaves them out; a ``num_classes`` below the data's is one ConfigError line."""
    kwargs = model_kwargs(cfg, info)
    classes = kwargs.get("num_classes")
    if isinstance(classes, int) and info.num_classes and classes < info.num_classes:
        raise ConfigError(
            f"config key 'model.num_classes' is {classes} but {cfg.data.name} has {info.num_classes} classes "
            f"(labels 0..{info.num_classes - 1}); drop model.num_classes to take it from the data"
        )
    return create_model(cfg.model_name, **kwargs)


def build_optimizer(cfg: Config, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The optimiser named by ``optim.name`` (:data:`~fullspike.train.optim.OPTIMIZERS`), with the
    section's arguments, over the model's trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    return OPTIMIZERS.get(cfg.optim.name)(params, **cfg.optim.arguments)


def lr_factor(cfg: Config, step: int, steps_per_epoch: int) -> float:
    """Learning-rate multiplier for the optimiser step ``step`` (0-based, counted over the run):
    linear warm-up over ``schedule.warmup_epochs``, then the schedule named by ``schedule.name``
    (:data:`~fullspike.train.optim.SCHEDULES`)."""
    s = cfg.schedule
    p = Progress(step, steps_per_epoch, cfg.train.epochs, cfg.optim.arguments["lr"], s.warmup_epochs)
    if s.warmup_epochs and p.epoch < s.warmup_epochs:
        return (p.epoch + 1) / s.warmup_epochs
    return SCHEDULES.get(s.name)(p, **s.arguments)


def build_scheduler(
    cfg: Config, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """The schedule as a per-step ``LambdaLR`` (step it after every optimiser step)."""
    if steps_per_epoch < 1:
        raise ConfigError(
            "the training split gives no batch per epoch; raise data.train_subset or lower data.batch_size"
        )
    lr_factor(cfg, 0, steps_per_epoch)  # validate the schedule name now, not after an epoch
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(cfg, step, steps_per_epoch))


def build_eval_loader(cfg: Config, split: str, batch_size: int | None = None, samples: int | None = None):
    """``(loader, info)``: an unshuffled loader over one split (:func:`build_split`; the split is
    ``loader.dataset``); with ``samples``, over the class-balanced selection of that many
    (:func:`fullspike.data.selection.selected_loader`, which also returns the selection's record:
    data sets stored class by class would otherwise give one class); batch size default
    ``data.eval_batch_size`` or ``data.batch_size``."""
    from ..data import make_loader
    from ..data.selection import selected_loader

    ds, info = build_split(cfg, split)
    bs = batch_size or cfg.data.eval_batch_size or cfg.data.batch_size
    if samples is not None and samples < len(ds):
        return selected_loader(ds, info, samples, bs, split, cfg.data.num_workers)[0], info
    return make_loader(ds, info, bs, False, cfg.data.num_workers), info
