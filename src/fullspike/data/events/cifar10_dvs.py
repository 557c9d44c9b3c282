"""CIFAR10-DVS (Li et al. 2017): 10,000 DVS recordings (1,000 per class) of moving CIFAR-10
images, 128x128, in the AEDAT 4.0 files that Tonic downloads.

Layout: ``<dir>/<class>/*.aedat4`` with ``<dir>`` the root itself or ``root/CIFAR10DVS`` (Tonic's
download). No official split: as in the DST paper, the first 90% of each class (files in natural
order: ``..._2`` before ``..._10``) is the training set and the rest the test set.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...errors import DatasetError
from ..registry import register_dataset
from .datasets import Recording, event_dataset
from .readers import DVS128_SENSOR, read_aedat4, tonic_download

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SUBDIRS = ("", "CIFAR10DVS")
TRAIN_FRACTION = 0.9


def natural_key(name: str) -> list:
    """Sort key that orders the numbers inside a name numerically."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def find_cifar10_dvs(root: Path) -> Path | None:
    for sub in SUBDIRS:
        if all(any((root / sub / c).glob("*.aedat4")) for c in CLASSES):
            return root / sub
    return None


def cifar10_dvs_recordings(directory: Path, train: bool, train_fraction: float = TRAIN_FRACTION) -> list[Recording]:
    """Per class, the first ``train_fraction`` of the files (natural order) or the rest."""
    recs = []
    for label, cls in enumerate(CLASSES):
        files = sorted((directory / cls).glob("*.aedat4"), key=lambda p: natural_key(p.name))
        n_train = int(len(files) * train_fraction)
        for path in files[:n_train] if train else files[n_train:]:
            recs.append(Recording(path, label, f"{cls}-{path.stem}"))
    return recs


def locate_cifar10_dvs(base: Path, train: bool, download: bool) -> Path:
    """The CIFAR10-DVS folder under ``base`` (both splits; fetched with Tonic into
    ``base/CIFAR10DVS`` when missing and ``download``); raises :class:`DatasetError` saying where
    it looked when there is none."""
    directory = find_cifar10_dvs(base)
    if directory is None and download:
        tonic_download("CIFAR10DVS", base)
        directory = find_cifar10_dvs(base)
    if directory is None:
        raise DatasetError(
            f"CIFAR10-DVS not found under {base} (looked for <class>/*.aedat4 for all 10 classes in "
            f"{', '.join(str(base / s) for s in SUBDIRS)}); set data.root to the folder that holds "
            f"it, or data.options.download=true to fetch it with Tonic"
        )
    return directory


cifar10_dvs = register_dataset("cifar10_dvs")(
    event_dataset(
        "cifar10_dvs",
        T=16,
        locate=locate_cifar10_dvs,
        recordings=cifar10_dvs_recordings,
        reader=read_aedat4,
        sensor=DVS128_SENSOR,
        classes=CLASSES,
        doc="""CIFAR10-DVS as ``T`` frames of ``2 x S x S`` event counts (``S`` = 128 or ``resize``, e.g.
    48 or 64); 9:1 split per class. ``download=True`` fetches it with Tonic into
    ``root/CIFAR10DVS``.""",
    )
)
