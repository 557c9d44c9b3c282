"""Helpers of the event-data tests: the shared real samples, and writers of small files in the
real N-MNIST and AEDAT 3.1 (DVS128 Gesture) formats."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def shared_file(rel: str) -> Path:
    path = SHARED / rel
    if not path.is_file():
        pytest.skip(f"real data file {path} is absent (the shared data folder beside the repo)")
    return path


def write_nmnist(path: Path, x, y, t, p) -> None:
    """N-MNIST records: x, y, then polarity (bit 7) and a 23-bit timestamp in us (big-endian)."""
    t = np.asarray(t, dtype=np.int64)
    rec = np.zeros((len(t), 5), dtype=np.uint8)
    rec[:, 0], rec[:, 1] = x, y
    rec[:, 2] = (np.asarray(p, dtype=np.int64) << 7) | ((t >> 16) & 0x7F)
    rec[:, 3], rec[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rec.tobytes())


def aedat31_packet(etype: int, events: np.ndarray, size: int = 8, overflow: int = 0) -> bytes:
    """One AEDAT 3.1 packet: 28-byte header + events (``events``: uint32 words, ``size`` bytes each)."""
    n = len(events) * 4 // size
    header = struct.pack("<hhiiiiii", etype, 1, size, 4, overflow, n, n, n)
    return header + np.asarray(events, dtype="<u4").tobytes()


def polarity_words(x, y, t, p, valid=None) -> np.ndarray:
    """Polarity events as (address, timestamp) uint32 pairs, flattened."""
    x, y, p = (np.asarray(a, dtype=np.uint32) for a in (x, y, p))
    valid = np.ones_like(x) if valid is None else np.asarray(valid, dtype=np.uint32)
    addr = (x << 17) | (y << 2) | (p << 1) | valid
    return np.stack([addr, np.asarray(t, dtype=np.uint32) & 0x7FFFFFFF], 1).ravel()


def write_aedat31(path: Path, packets: list[bytes]) -> None:
    header = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + b"".join(packets))


def write_gesture_trial(
    directory: Path, stem: str, windows: list[tuple[int, int, int]], events_per_window: int, seed: int = 0
) -> list[int]:
    """A DVS128 Gesture trial: ``windows`` of (class 1..11, start, end) us, each filled with
    ``events_per_window`` random events (a few events also fall between windows), split over
    two polarity packets with a special-event packet between them. Returns per-window counts."""
    rng = np.random.default_rng(seed)
    ts = [np.sort(rng.integers(s, e, events_per_window)) for _, s, e in windows]
    gaps = [np.array([e]) for _, _, e in windows]  # at each window's (exclusive) end: outside it
    t = np.sort(np.concatenate(ts + gaps))
    n = len(t)
    words = polarity_words(rng.integers(0, 128, n), rng.integers(0, 128, n), t, rng.integers(0, 2, n))
    half = (n // 2) * 2
    special = np.array([0x12345678, 7], dtype=np.uint32)  # type 0: must not become a polarity event
    write_aedat31(
        directory / f"{stem}.aedat",
        [aedat31_packet(1, words[:half]), aedat31_packet(0, special), aedat31_packet(1, words[half:])],
    )
    rows = "".join(f"{c},{s},{e}\n" for c, s, e in windows)
    (directory / f"{stem}_labels.csv").write_text("class,startTime_usec,endTime_usec\n" + rows)
    return [events_per_window] * len(windows)
