"""On-disk cache of framed samples: decode and frame each recording once.

One compressed ``.npz`` per sample under ``<root>/<key>/``, where the key names everything the
frames depend on (T, split rule, output size). Files are written to a temporary name and renamed,
so a crash or two workers writing the same entry never leave half a file under the real name.
Reading checks the zip CRC-32 of the array, its shape and dtype; an entry that fails is deleted
and rebuilt, never trusted.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from ...errors import DatasetError

FORMAT_VERSION = 1  # bump when framing changes, so old entries are not reused


def cache_key(T: int, split_by: str, size: tuple[int, int]) -> str:
    """Folder name for one framing setup, e.g. ``T16-count-128x128-v1``."""
    return f"T{T}-{split_by}-{size[0]}x{size[1]}-v{FORMAT_VERSION}"


class FrameCache:
    """Framed samples ``[T, 2, H, W]`` (int32 event counts) stored by name under ``directory``."""

    def __init__(self, directory: str | Path, shape: tuple[int, ...]) -> None:
        self.directory = Path(directory)
        self.shape = tuple(shape)

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.npz"

    def has(self, name: str) -> bool:
        return self.path(name).is_file()

    def load(self, name: str) -> np.ndarray | None:
        """The cached frames, or None when missing or corrupt (a corrupt file is removed)."""
        path = self.path(name)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                frames = z["frames"]  # reading the member checks its CRC-32
            if frames.shape != self.shape or frames.dtype != np.int32:
                raise ValueError(f"shape {frames.shape} {frames.dtype}, expected {self.shape} int32")
        except Exception as e:  # truncated zip, bad CRC, wrong content: rebuild
            warnings.warn(f"rebuilding corrupt frame cache entry {path} ({type(e).__name__}: {e})", stacklevel=2)
            path.unlink(missing_ok=True)
            return None
        return frames

    def save(self, name: str, frames: np.ndarray) -> None:
        if frames.shape != self.shape or frames.dtype != np.int32:
            raise ValueError(f"frames {frames.shape} {frames.dtype} do not fit cache {self.shape} int32")
        path = self.path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as e:
            raise DatasetError(
                f"cannot write the frame cache in {self.directory} ({e.strerror}); "
                f"set the dataset option cache_dir to a writable folder"
            ) from None
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, frames=frames)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def get(self, name: str, build: Callable[[], np.ndarray]) -> np.ndarray:
        """Cached frames for ``name``, built with ``build()`` and stored when missing or corrupt."""
        frames = self.load(name)
        if frames is None:
            frames = build()
            self.save(name, frames)
        return frames
