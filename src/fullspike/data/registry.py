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

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import DatasetError
from ..params import check_arguments
from ..registry import Registry
from .roots import missing_data_hint

DATASETS: Registry[Callable] = Registry("dataset")


@dataclass
class DatasetInfo:
    """What a model needs to know about a dataset: ``num_classes``, ``in_channels``,
    ``image_size`` (height = width reaching the model), ``kind`` (``"static"`` images
    ``[C, H, W]`` or ``"frames"`` ``[T, C, H, W]``), ``T`` (frames per sample) and the
    ``classes`` names."""

    num_classes: int
    in_channels: int
    image_size: int  # height (= width) of what reaches the model
    kind: str = "static"  # "static" images [C,H,W] or "frames" [T,C,H,W]
    T: int | None = None  # frames per sample (kind="frames")
    classes: list[str] = field(default_factory=list)


def register_dataset(name: str):
    """Decorator registering ``fn(root, train, augment=False, **kwargs) -> (dataset, DatasetInfo)``
    under ``name`` (see docs/extending.md)."""
    return DATASETS.register(name)


def list_datasets() -> list[str]:
    """Registered dataset names, sorted."""
    return DATASETS.names()


def dataset_builder(name: str) -> Callable:
    """The builder function of a registered dataset (its signature lists the dataset's options)."""
    return DATASETS.get(name)


def build_dataset(
    name: str, root: str | None, train: bool, augment: bool = False, **options
) -> tuple[Dataset, DatasetInfo]:
    """One split of a registered dataset; unknown or invalid options fail with one clear line
    (:func:`~fullspike.params.check_arguments`, against the builder's typed signature).

    Example:
        ```python
        from fullspike.data import build_dataset, make_loader

        train_set, info = build_dataset("digits", None, train=True)  # bundled with scikit-learn
        images, labels = next(iter(make_loader(train_set, info, batch_size=32, shuffle=True)))
        assert images.shape == (32, 1, 8, 8) and info.num_classes == 10
        ```
    """
    builder = DATASETS.get(name)
    options = check_arguments(
        builder, options, what=f"dataset '{name}'", noun="option", reserved=("root", "train", "augment")
    )
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


def make_loader(
    ds: Dataset,
    info: DatasetInfo,
    batch_size: int,
    shuffle: bool,
    num_workers: int = 0,
    generator: torch.Generator | None = None,
    sampler=None,
    drop_last: bool = False,
) -> DataLoader:
    """A ``DataLoader`` over ``ds``; frame datasets are batched time-first, ``[T, B, C, H, W]``
    (:func:`collate_frames`). ``sampler`` (e.g. distributed) replaces ``shuffle``."""
    return DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=shuffle if sampler is None else False,
        sampler=sampler,
        num_workers=num_workers,
        generator=generator,
        drop_last=drop_last,
        collate_fn=collate_frames if info.kind == "frames" else None,
        persistent_workers=False,
        pin_memory=torch.cuda.is_available(),
    )
