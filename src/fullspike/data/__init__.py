"""Datasets: static images (digits, Fashion-MNIST, CIFAR, Tiny-ImageNet, ImageNet, ImageFolder)
and event datasets, behind one registry."""

from . import (
    events,  # noqa: F401  (registers the event datasets; Tonic is imported lazily)
    static,  # noqa: F401  (registers the static-image datasets)
)
from .registry import DatasetInfo, build_dataset, collate_frames, list_datasets, make_loader, register_dataset
from .static import decode_once

__all__ = [
    "DatasetInfo",
    "build_dataset",
    "list_datasets",
    "make_loader",
    "register_dataset",
    "collate_frames",
    "decode_once",
]
