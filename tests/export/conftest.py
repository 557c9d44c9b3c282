"""Real test data for the export tests (CIFAR-10 test images, N-MNIST test recordings); the
helpers that record spikes are in harness.py (a conftest is not a module to import from)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import torch

from fullspike.data import build_dataset

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"real data file {path} is absent (../shared/data beside the repository)")
    return path


@pytest.fixture(scope="session")
def cifar_test(tmp_path_factory) -> tuple[torch.Tensor, torch.Tensor]:
    """100 CIFAR-10 test images (the first 10 of each class), normalised: ``[100, 3, 32, 32]``, labels."""
    root = tmp_path_factory.mktemp("cifar")
    with tarfile.open(_shared("cifar10-jpg-test.tar.gz")) as tar:
        seen: dict[str, int] = {}
        members = []
        for m in tar.getmembers():
            cls = Path(m.name).parent.name
            if m.isfile() and seen.get(cls, 0) < 10:
                seen[cls] = seen.get(cls, 0) + 1
                members.append(m)
        tar.extractall(root, members=members, filter="data")
    ds, _ = build_dataset("cifar10", str(root), False)
    x, y = zip(*(ds[i] for i in range(len(ds))))
    return torch.stack(x), torch.tensor(y)


@pytest.fixture(scope="session")
def cifar_strided(tmp_path_factory) -> tuple[torch.Tensor, torch.Tensor]:
    """100 CIFAR-10 test images evenly strided over the test set (every 100th: 10 per class, the
    samples ``fullspike export`` and the zoo cards use), normalised: ``[100, 3, 32, 32]``, labels."""
    root = tmp_path_factory.mktemp("cifar_strided")
    with tarfile.open(_shared("cifar10-jpg-test.tar.gz")) as tar:
        by_class: dict[str, list] = {}
        for m in tar.getmembers():
            if m.isfile():
                by_class.setdefault(Path(m.name).parent.name, []).append(m)
        members = [m for ms in by_class.values() for m in sorted(ms, key=lambda m: m.name)[::100]]
        tar.extractall(root, members=members, filter="data")
    ds, _ = build_dataset("cifar10", str(root), False)
    x, y = zip(*(ds[i] for i in range(len(ds))))
    return torch.stack(x), torch.tensor(y)


@pytest.fixture(scope="session")
def nmnist_frames(tmp_path_factory):
    """``frames(T)``: the 100 N-MNIST test recordings as event-count frames ``[T, 100, 2, 34, 34]``
    (equal event count per frame, as the zoo's N-MNIST nets were trained), labels."""
    root = tmp_path_factory.mktemp("nmnist")
    with tarfile.open(_shared("nmnist-subset.tar.gz")) as tar:
        tar.extractall(root, members=[m for m in tar.getmembers() if "/Test/" in m.name or m.isdir()], filter="data")

    def frames(T: int) -> tuple[torch.Tensor, torch.Tensor]:
        ds, _ = build_dataset("nmnist", str(root), False, T=T, split_by="count")
        x, y = zip(*(ds[i] for i in range(len(ds))))
        return torch.stack(x, 1), torch.tensor(y)

    return frames


@pytest.fixture(scope="session")
def nmnist_test(nmnist_frames) -> tuple[torch.Tensor, torch.Tensor]:
    """The 100 N-MNIST test recordings as event-count frames ``[T=4, 100, 2, 34, 34]``, labels."""
    return nmnist_frames(4)
