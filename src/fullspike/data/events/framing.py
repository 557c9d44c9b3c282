"""Events -> frames: T slices of equal event count or equal duration, two polarity channels of
event counts, optional spatial binning to a smaller size; and two training-time augmentations: random temporal
delete and random translation.

Why not Tonic's ``ToFrame``: with ``n_event_bins=T`` it puts ``N // T`` events in each frame and
drops the remaining ``N % T``; with ``n_time_bins=T`` its windows are ``(t_last - t0) // T`` us
long and end before ``t_last``, so the last events are dropped. Here every event lands in exactly
one frame; where both are exact (``N`` a multiple of ``T``) the frames equal Tonic's (tested).
"""

from __future__ import annotations

import numpy as np
import torch

from ...errors import ConfigError

SPLIT_RULES = ("count", "time")


def slice_bounds(t: np.ndarray, T: int, split_by: str = "count") -> np.ndarray:
    """Frame boundaries ``b`` (``T + 1`` event indices): frame ``i`` holds events ``b[i]:b[i+1]``.

    ``t``: timestamps in us, sorted ascending. ``"count"``: ``b[i] = i * N // T``, so frames hold
    ``floor(N/T)`` or ``ceil(N/T)`` events. ``"time"``: frame ``i`` holds the events with
    ``t0 + i*D/T <= t < t0 + (i+1)*D/T`` (``D = t_last - t0``), the last frame also ``t = t_last``.
    """
    if T < 1:
        raise ConfigError(f"T must be >= 1 frame, got {T}")
    n = len(t)
    if split_by == "count":
        return np.arange(T + 1, dtype=np.int64) * n // T
    if split_by == "time":
        if n == 0:
            return np.zeros(T + 1, dtype=np.int64)
        t = np.asarray(t, dtype=np.int64)
        span = int(t[-1] - t[0])
        frame = np.minimum((t - t[0]) * T // max(span, 1), T - 1)
        return np.searchsorted(frame, np.arange(T + 1), side="left").astype(np.int64)
    raise ConfigError(f"split_by must be one of {SPLIT_RULES}, got {split_by!r}")


def events_to_frames(
    events: np.ndarray,
    sensor_size: tuple[int, int],
    T: int,
    split_by: str = "count",
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Event counts ``[T, 2, H, W]`` (int32; channel 0 OFF, channel 1 ON).

    ``events``: structured array with ``x``, ``y``, ``t`` (us), ``p`` (0/1 or bool).
    ``sensor_size``: ``(W, H)`` of the recording. ``size``: output ``(H, W)``; smaller than the
    sensor bins pixel coordinates (``x * W_out // W``), so each output pixel sums the events of
    the sensor pixels it covers (the same binning as Tonic's ``Downsample``).
    """
    W, H = sensor_size
    h, w = size if size is not None else (H, W)
    if h > H or w > W:
        raise ConfigError(f"resize to {h}x{w} is larger than the {H}x{W} sensor; only downsizing is supported")
    t = np.asarray(events["t"], dtype=np.int64)
    order = None if np.all(t[1:] >= t[:-1]) else np.argsort(t, kind="stable")
    if order is not None:
        events, t = events[order], t[order]
    bounds = slice_bounds(t, T, split_by)
    frame = np.repeat(np.arange(T, dtype=np.int64), np.diff(bounds))
    x = events["x"].astype(np.int64) * w // W
    y = events["y"].astype(np.int64) * h // H
    p = events["p"].astype(np.int64)
    flat = ((frame * 2 + p) * h + y) * w + x
    return np.bincount(flat, minlength=T * 2 * h * w).astype(np.int32).reshape(T, 2, h, w)


class RandomTemporalDelete:
    """Keep ``keep`` of the ``T`` frames of a ``[T, ...]`` sample, chosen at random, order kept.

    Training-time augmentation (DVS Gesture: 12 of 16). ``generator``: optional torch RNG.
    """

    def __init__(self, keep: int, generator: torch.Generator | None = None) -> None:
        if keep < 1:
            raise ConfigError(f"T_train must be >= 1 frame, got {keep}")
        self.keep = keep
        self.generator = generator

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        T = frames.shape[0]
        if self.keep > T:
            raise ConfigError(f"T_train={self.keep} exceeds the T={T} frames per sample")
        idx = torch.randperm(T, generator=self.generator)[: self.keep].sort().values
        return frames[idx]

    def __repr__(self) -> str:
        return f"RandomTemporalDelete(keep={self.keep})"


class RandomTranslate:
    """Shift all frames of a ``[T, C, H, W]`` sample by one random ``(dy, dx)``, each uniform in
    ``[-max_shift, max_shift]`` pixels; pixels shifted in are zero (no events).

    Training-time augmentation for event frames (a saccade's digit is not always centred).
    ``generator``: optional torch RNG.
    """

    def __init__(self, max_shift: int, generator: torch.Generator | None = None) -> None:
        if max_shift < 0:
            raise ConfigError(f"translate must be a shift of >= 0 pixels, got {max_shift}")
        self.max_shift = max_shift
        self.generator = generator

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        if self.max_shift == 0:
            return frames
        H, W = frames.shape[-2:]
        if self.max_shift >= min(H, W):
            raise ConfigError(f"translate={self.max_shift} must be smaller than the {H}x{W} frames")
        dy, dx = torch.randint(-self.max_shift, self.max_shift + 1, (2,), generator=self.generator).tolist()
        out = torch.zeros_like(frames)
        out[..., max(dy, 0) : H + min(dy, 0), max(dx, 0) : W + min(dx, 0)] = frames[
            ..., max(-dy, 0) : H + min(-dy, 0), max(-dx, 0) : W + min(-dx, 0)
        ]
        return out

    def __repr__(self) -> str:
        return f"RandomTranslate(max_shift={self.max_shift})"
