"""A map-style dataset of event recordings served as cached frame sequences ``[T, 2, H, W]``, and
the builder logic the registered event datasets (N-MNIST, CIFAR10-DVS, DVS128 Gesture) share."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ...errors import ConfigError
from ...params import Count
from ...progress import Bar
from ..registry import DatasetInfo
from ..roots import default_root
from .cache import FrameCache, cache_key
from .framing import SPLIT_RULES, RandomTemporalDelete, RandomTranslate, events_to_frames

Reader = Callable[[Path], tuple[np.ndarray, tuple[int, int]]]  # path -> (events, (W, H))


@dataclass(frozen=True)
class Recording:
    """One sample: a file, its label, a name unique in its split (the cache entry), and for
    files holding several samples the ``[start, end)`` window in us."""

    path: Path
    label: int
    name: str
    window: tuple[int, int] | None = None


class EventFrames(Dataset):
    """Recordings -> ``(frames [T, 2, H, W] float32 event counts, label)``.

    Frames are computed once per recording (``reader`` + :func:`events_to_frames`) and kept in
    ``cache`` under the recording's name and a fingerprint of its file (absolute path, size and
    modification time, :func:`source_key`), so a replaced recording is framed again;
    ``transform`` (e.g. :class:`RandomTemporalDelete`) is applied on every access.
    """

    def __init__(
        self,
        recordings: Sequence[Recording],
        reader: Reader,
        T: int,
        split_by: str,
        size: tuple[int, int],
        cache: FrameCache,
        classes: Sequence[str],
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.recordings = list(recordings)
        self.reader, self.T, self.split_by, self.size = reader, T, split_by, size
        self.cache, self.classes, self.transform = cache, list(classes), transform
        self._keys = [f"{r.name}.{source_key(r.path)}" for r in self.recordings]  # cache entry names

    def __len__(self) -> int:
        return len(self.recordings)

    @property
    def targets(self) -> list[int]:
        return [r.label for r in self.recordings]

    def _frame(self, rec: Recording, decoded: tuple[np.ndarray, tuple[int, int]] | None = None) -> np.ndarray:
        events, sensor = decoded if decoded is not None else self.reader(rec.path)
        if rec.window is not None:
            t = events["t"]
            events = events[(t >= rec.window[0]) & (t < rec.window[1])]
        return events_to_frames(events, sensor, self.T, self.split_by, self.size)

    def frames(self, index: int) -> np.ndarray:
        """Event counts ``[T, 2, H, W]`` (int32) of sample ``index``, from the cache."""
        rec = self.recordings[index]
        return self.cache.get(self._keys[index], lambda: self._frame(rec))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x = torch.from_numpy(self.frames(index)).float()
        if self.transform is not None:
            x = self.transform(x)
        return x, self.recordings[index].label

    def prepare(self, progress: bool | None = None) -> int:
        """Frame and cache every recording not cached yet, decoding each file once (a file may
        hold several samples). ``progress``: a progress bar (None: only on a terminal).
        Returns how many entries were built."""
        missing = [(r, k) for r, k in zip(self.recordings, self._keys) if not self.cache.has(k)]
        if not missing:
            return 0
        decoded: tuple[Path, tuple] | None = None
        for rec, key in Bar(
            sorted(missing, key=lambda m: str(m[0].path)),
            f"framing {len(missing)} recordings",
            progress=progress,
            unit="rec",
            leave=True,
        ):
            if decoded is None or decoded[0] != rec.path:
                decoded = (rec.path, self.reader(rec.path))
            self.cache.save(key, self._frame(rec, decoded[1]))
        return len(missing)


def source_key(path: Path) -> str:
    """A fingerprint of a recording file: a hash of its absolute path, size and modification
    time (ns), which changes when the file is replaced or edited."""
    st = os.stat(path)
    text = f"{Path(path).resolve()}\0{st.st_size}\0{st.st_mtime_ns}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _chain(transforms: list[Callable[[torch.Tensor], torch.Tensor]]) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The transforms applied in order (None when there are none)."""
    if len(transforms) <= 1:
        return transforms[0] if transforms else None
    from torchvision.transforms import v2

    return v2.Compose(transforms)


def build_event_split(
    name: str,
    recordings: Sequence[Recording],
    reader: Reader,
    sensor: tuple[int, int],
    classes: Sequence[str],
    cache_root: Path,
    *,
    train: bool,
    augment: bool,
    T: int,
    split_by: str,
    resize: int | None,
    T_train: int | None,
    translate: int = 0,
) -> tuple[EventFrames, DatasetInfo]:
    """Check the framing options, build one split and fill its frame cache.

    Frames are ``T x 2 x S x S`` with ``S = resize`` or the sensor height; random temporal
    delete (keep ``T_train`` of ``T``) and random translation (by up to ``translate`` pixels, see
    :class:`RandomTranslate`) are applied to augmented training samples only.
    Cache: ``cache_root/<name>/<cache_key>/<train|test>/``.
    """
    if not isinstance(T, int) or T < 1:
        raise ConfigError(f"{name}: option T must be a positive number of frames, got {T!r}")
    if split_by not in SPLIT_RULES:
        raise ConfigError(f"{name}: option split_by must be one of {list(SPLIT_RULES)}, got {split_by!r}")
    W, H = sensor
    if resize is not None and not (isinstance(resize, int) and 1 <= resize <= min(W, H)):
        raise ConfigError(
            f"{name}: option resize must be a frame size from 1 to {min(W, H)} pixels "
            f"(the {W}x{H} sensor), got {resize!r}"
        )
    if T_train is not None and not (isinstance(T_train, int) and 1 <= T_train <= T):
        raise ConfigError(f"{name}: option T_train (frames kept in training) must be in 1..T={T}, got {T_train!r}")
    size = (resize, resize) if resize is not None else (H, W)
    if not (isinstance(translate, int) and 0 <= translate < min(size)):
        raise ConfigError(
            f"{name}: option translate must be a shift from 0 to {min(size) - 1} pixels, got {translate!r}"
        )
    cache = FrameCache(
        Path(cache_root) / name / cache_key(T, split_by, size) / ("train" if train else "test"), (T, 2, *size)
    )
    delete = T_train is not None and T_train < T and train and augment
    transforms = [RandomTemporalDelete(T_train)] if delete else []
    if translate and train and augment:
        transforms.append(RandomTranslate(translate))
    ds = EventFrames(recordings, reader, T, split_by, size, cache, classes, _chain(transforms))
    ds.prepare()
    info = DatasetInfo(
        num_classes=len(classes),
        in_channels=2,
        image_size=size[0],
        kind="frames",
        T=T_train if delete else T,
        classes=list(classes),
    )
    return ds, info


def event_dataset(
    name: str,
    *,
    T: int,
    locate: Callable[[Path, bool, bool], Path],
    recordings: Callable[[Path, bool], Sequence[Recording]],
    reader: Reader,
    sensor: tuple[int, int],
    classes: Sequence[str],
    doc: str,
) -> Callable[..., tuple[EventFrames, DatasetInfo]]:
    """The builder of the event dataset ``name``, for ``register_dataset``: its options, typed
    and checked alike for every event dataset (``T`` frames by default), find the split's folder
    with ``locate(root, train, download)`` (which fetches or raises when it is not there), list
    its ``recordings(folder, train)`` and frame them with :func:`build_event_split` (frame cache
    in ``cache_dir`` or ``<folder>/frames``)."""
    default_T = T

    def build(
        root: str | None,
        train: bool,
        augment: bool = False,
        T: Count = default_T,
        split_by: str = "count",
        resize: Count | None = None,
        T_train: Count | None = None,
        translate: int = 0,
        download: bool = False,
        cache_dir: str | None = None,
    ) -> tuple[EventFrames, DatasetInfo]:
        directory = locate(default_root(root, name), train, download)
        return build_event_split(
            name,
            recordings(directory, train),
            reader,
            sensor,
            classes,
            Path(cache_dir) if cache_dir else directory / "frames",
            train=train,
            augment=augment,
            T=T,
            split_by=split_by,
            resize=resize,
            T_train=T_train,
            translate=translate,
        )

    build.__name__ = build.__qualname__ = name
    build.__module__ = recordings.__module__
    build.__doc__ = doc
    return build
