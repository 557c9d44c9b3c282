"""N-MNIST (Orchard et al. 2015): 34x34 saccade recordings of MNIST digits, 60k train / 10k test.

Layout (as the original distribution and Tonic's download): ``<dir>/{Train,Test}/<digit>/<id>.bin``
with ``<dir>`` the dataset root itself or ``root/NMNIST`` (Tonic) or ``root/NMNIST-subset``. Any
tree of that shape, a subset included, is read with the same reader as the full set.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import DatasetError
from ..registry import register_dataset
from .datasets import Recording, event_dataset
from .readers import NMNIST_SENSOR, read_nmnist, tonic_download

CLASSES = [str(d) for d in range(10)]
SUBDIRS = ("", "NMNIST", "NMNIST-subset")


def find_nmnist(root: Path, train: bool) -> Path | None:
    """The folder under ``root`` that holds the requested split's ``Train``/``Test`` tree."""
    split = "Train" if train else "Test"
    for sub in SUBDIRS:
        if (root / sub / split).is_dir():
            return root / sub
    return None


def nmnist_recordings(directory: Path, train: bool) -> list[Recording]:
    """The split's recordings, by digit then file name."""
    split = directory / ("Train" if train else "Test")
    recs = [
        Recording(path, d, f"{d}-{path.stem}") for d in range(10) for path in sorted((split / str(d)).glob("*.bin"))
    ]
    if not recs:
        raise DatasetError(f"no N-MNIST recordings in {split} (expected {split}/<digit>/<id>.bin)")
    return recs


def locate_nmnist(base: Path, train: bool, download: bool) -> Path:
    """The N-MNIST folder under ``base`` (fetched with Tonic into ``base/NMNIST`` when missing and
    ``download``); raises :class:`DatasetError` saying where it looked when there is none."""
    directory = find_nmnist(base, train)
    if directory is None and download:
        tonic_download("NMNIST", base, train=train)
        directory = find_nmnist(base, train)
    if directory is None:
        split = "Train" if train else "Test"
        raise DatasetError(
            f"N-MNIST not found under {base} (looked for {split}/<digit>/*.bin in "
            f"{', '.join(str(base / s) for s in SUBDIRS)}); set data.root to the folder that "
            f"holds it, or data.options.download=true to fetch it with Tonic"
        )
    return directory


nmnist = register_dataset("nmnist")(
    event_dataset(
        "nmnist",
        T=10,
        locate=locate_nmnist,
        recordings=nmnist_recordings,
        reader=read_nmnist,
        sensor=NMNIST_SENSOR,
        classes=CLASSES,
        doc="""N-MNIST as ``T`` frames of ``2 x 34 x 34`` event counts (see :func:`build_event_split`).

    ``download=True`` fetches the missing split with Tonic into ``root/NMNIST``.
    """,
    )
)
