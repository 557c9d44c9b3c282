"""Datasets: static images (digits, Fashion-MNIST, CIFAR, Tiny-ImageNet, ImageNet, ImageFolder)
and event datasets, behind one registry."""
from . import static  # noqa: F401  (registers the static-image datasets)
from . import events  # noqa: F401  (registers the event datasets; Tonic is imported lazily)
from .static import decode_once
from .registry import DatasetInfo, build_dataset, collate_frames, list_datasets, make_loader, register_dataset

__all__ = ["DatasetInfo", "build_dataset", "list_datasets", "make_loader", "register_dataset",
           "collate_frames", "decode_once"]
