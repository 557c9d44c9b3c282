"""Event-camera datasets (N-MNIST, CIFAR10-DVS, DVS128 Gesture) served as frame sequences
``[T, 2, H, W]`` of per-polarity event counts; loaders from ``make_loader`` batch them as
``[T, B, 2, H, W]``. Tonic is imported only when an event dataset is built or read.
"""

from . import cifar10_dvs, dvs_gesture, nmnist  # noqa: F401  (register the datasets)
from .cache import FrameCache, cache_key
from .datasets import EventFrames, Recording, build_event_split
from .framing import RandomTemporalDelete, RandomTranslate, events_to_frames, slice_bounds
from .readers import read_aedat4, read_aedat31, read_gesture_labels, read_nmnist

__all__ = [
    "EventFrames",
    "FrameCache",
    "RandomTemporalDelete",
    "RandomTranslate",
    "Recording",
    "build_event_split",
    "cache_key",
    "events_to_frames",
    "read_aedat4",
    "read_aedat31",
    "read_gesture_labels",
    "read_nmnist",
    "slice_bounds",
]
