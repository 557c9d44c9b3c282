"""Dataset registry. A builder returns one split of a dataset plus its :class:`DatasetInfo`.

Builder signature::

    @register_dataset("name")
    def build(root: str | None, train: bool, augment: bool, **options) -> tuple[Dataset, DatasetInfo]

Samples are ``(x, label)`` with ``x`` either an image ``[C, H, W]`` (``kind="static"``) or a frame
sequence ``[T, C, H, W]`` (``kind="frames"``, time first). Loaders from :func:`make_loader`
collate frame samples time-first, so batches reach models as ``[T, B, C, H, W]``.
Dataset-specific ``options`` are checked against the builder's signature.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import ConfigError, DatasetError
from ..registry import Registry
from .roots import missing_data_hint

DATASETS: Registry[Callable] = Registry("dataset")


@dataclass
class DatasetInfo:
    num_classes: int
    in_channels: int
    image_size: int  # height (= width) of what reaches the model
    kind: str = "static"  # "static" images [C,H,W] or "frames" [T,C,H,W]
    T: int | None = None  # frames per sample (kind="frames")
    classes: list[str] = field(default_factory=list)


def register_dataset(name: str):
    return DATASETS.register(name)


def list_datasets() -> list[str]:
    """Registered dataset names, sorted."""
    return DATASETS.names()


def dataset_builder(name: str) -> Callable:
    """The builder function of a registered dataset (its signature lists the dataset's options)."""
    return DATASETS.get(name)


def build_dataset(name: str, root: str | None, train: bool, augment: bool = False,
                  **options) -> tuple[Dataset, DatasetInfo]:
    """One split of a registered dataset; unknown options fail with one clear line."""
    builder = DATASETS.get(name)
    params = inspect.signature(builder).parameters
    unknown = sorted(set(options) - set(params) - {"root", "train", "augment"})
    if unknown:
        allowed = sorted(set(params) - {"root", "train", "augment"})
        raise ConfigError(f"dataset '{name}' has no option(s) {unknown}; it accepts {allowed or 'none'}")
    try:
        return builder(root, train, augment, **options)
    except DatasetError as e:  # the data are not where they were looked for: say where else to look
        hint = missing_data_hint(root)
        if not hint:
            raise
        raise DatasetError(f"{e}{hint}") from None


def collate_frames(batch):
    """Stack ``[T, C, H, W]`` samples time-first into ``[T, B, C, H, W]``."""
    xs, ys = zip(*batch)
    return torch.stack(xs, dim=1), torch.as_tensor(ys)


def make_loader(ds: Dataset, info: DatasetInfo, batch_size: int, shuffle: bool,
                num_workers: int = 0, generator: torch.Generator | None = None,
                sampler=None, drop_last: bool = False) -> DataLoader:
    return DataLoader(
        ds, batch_size=batch_size, shuffle=shuffle if sampler is None else False, sampler=sampler,
        num_workers=num_workers, generator=generator, drop_last=drop_last,
        collate_fn=collate_frames if info.kind == "frames" else None,
        persistent_workers=False, pin_memory=torch.cuda.is_available(),
    )
