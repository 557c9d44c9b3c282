"""Readers of event recordings: N-MNIST ``.bin``, AEDAT 4.0 (CIFAR10-DVS as Tonic distributes it)
and AEDAT 3.1 (DVS128 Gesture) with its labels CSV.

Every reader returns ``(events, (W, H))``: a structured array with Tonic's event dtype
(``x``, ``y`` int16 pixels, ``t`` int64 microseconds, ``p`` bool polarity, ON = True) sorted as
recorded, and the sensor's width and height. Problems with a file (missing, truncated, wrong
format) raise :class:`~fullspike.errors.DatasetError` with one line naming the file.

N-MNIST and AEDAT 4.0 decoding is Tonic's (``tonic.io.read_mnist_file``, ``tonic.io.read_aedat4``);
this module adds the checks and the sensor size. AEDAT 3.1 is parsed here: Tonic's reader for it
does not check the magic line, reads event-type fields it does not filter (special events of
type 0 become fake polarity events), ignores the timestamp-overflow word and the validity bit,
and silently returns fewer events for a truncated file.
"""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np

from ...errors import DatasetError
from ...optional import require

SensorSize = tuple[int, int]  # (width, height)

NMNIST_SENSOR: SensorSize = (34, 34)
DVS128_SENSOR: SensorSize = (128, 128)


def require_tonic():
    """The ``tonic`` package, or one clear error saying how to install it (the ``events`` extra)."""
    return require("tonic", extra="events", purpose="event datasets")


def tonic_download(dataset_cls: str, where: Path, **kwargs) -> None:
    """Let Tonic's ``tonic.datasets.<dataset_cls>`` download and extract into ``where``."""
    tonic = require_tonic()
    try:
        getattr(tonic.datasets, dataset_cls)(save_to=str(where), **kwargs)
    except (OSError, RuntimeError) as e:  # no network, bad checksum, full disk
        raise DatasetError(
            f"downloading {dataset_cls} with Tonic into {where} failed ({e}); "
            f"download it by hand and set data.root to its folder"
        ) from None


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise DatasetError(f"event file not found: {path}")


def _check_coords(events: np.ndarray, sensor: SensorSize, path: Path) -> None:
    if len(events) and (
        events["x"].min() < 0
        or events["y"].min() < 0
        or events["x"].max() >= sensor[0]
        or events["y"].max() >= sensor[1]
    ):
        raise DatasetError(
            f"{path}: event coordinates exceed the {sensor[0]}x{sensor[1]} sensor "
            f"(x up to {events['x'].max()}, y up to {events['y'].max()}); the file is corrupt or "
            f"from another camera"
        )


# ---------------------------------------------------------------------------------------- N-MNIST
def read_nmnist(path: str | Path) -> tuple[np.ndarray, SensorSize]:
    """One N-MNIST recording (5-byte records, 34x34 sensor), decoded by Tonic."""
    path = Path(path)
    _check_file(path)
    size = path.stat().st_size
    if size == 0 or size % 5:
        raise DatasetError(
            f"{path}: {size} bytes is not a whole number of 5-byte N-MNIST events; the file is "
            f"truncated or not an N-MNIST recording (download it again)"
        )
    io = require_tonic().io
    events = io.read_mnist_file(str(path), dtype=io.events_struct)
    _check_coords(events, NMNIST_SENSOR, path)
    return events, NMNIST_SENSOR


# ---------------------------------------------------------------------------------------- AEDAT 4
def read_aedat4(path: str | Path) -> tuple[np.ndarray, SensorSize]:
    """The first event stream of an AEDAT 4.0 file (decoded by Tonic with the ``aedat`` package)
    and that stream's sensor size from the file's header."""
    path = Path(path)
    _check_file(path)
    with open(path, "rb") as f:
        magic = f.read(14)
    if not magic.startswith(b"#!AER-DAT4"):
        raise DatasetError(f"{path}: not an AEDAT 4 file (it starts with {magic[:12]!r}, expected b'#!AER-DAT4.0')")
    io = require_tonic().io
    aedat = require("aedat", extra="events", purpose="reading AEDAT 4 files (CIFAR10-DVS)")
    try:
        streams = aedat.Decoder(str(path)).id_to_stream()
        raw = io.read_aedat4(str(path))
    except Exception as e:  # the decoder raises RuntimeError/Exception with a short reason
        raise DatasetError(
            f"{path}: cannot decode AEDAT 4 events ({e}); the file is truncated or corrupt (download it again)"
        ) from None
    stream = streams[min(i for i, s in streams.items() if s["type"] == "events")]
    sensor = (int(stream["width"]), int(stream["height"]))
    events = np.empty(len(raw), dtype=io.events_struct)
    for name in ("t", "x", "y"):
        events[name] = raw[name]
    events["p"] = raw[raw.dtype.names[3]]  # the polarity field is titled 'on' by the decoder
    _check_coords(events, sensor, path)
    return events, sensor


# -------------------------------------------------------------------------------------- AEDAT 3.1
_PACKET_HEADER = struct.Struct("<hhiiiiii")  # type, source, size, ts offset, ts overflow,
#                                              capacity, number, valid (28 bytes)
POLARITY_EVENT = 1


def read_aedat31(path: str | Path, sensor: SensorSize = DVS128_SENSOR) -> tuple[np.ndarray, SensorSize]:
    """Polarity events of an AEDAT 3.1 file (DVS128 Gesture's format).

    Header: ASCII lines starting with ``#``, the first ``#!AER-DAT3.1``, the last
    ``#!END-HEADER``. Then packets: a 28-byte little-endian header (event type, source, event
    size, timestamp offset, timestamp overflow, capacity, number, valid) and ``capacity * size``
    bytes of events. A polarity event (type 1, 8 bytes) is a uint32 address (bit 0 valid,
    bit 1 polarity, bits 2-16 y, bits 17-31 x) and an int32 timestamp in us, extended by
    ``overflow << 31``. Other packet types are skipped; invalid events are dropped.
    """
    path = Path(path)
    _check_file(path)
    data = path.read_bytes()
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    if not first.startswith(b"#!AER-DAT3"):
        raise DatasetError(f"{path}: not an AEDAT 3.1 file (first line {first[:20]!r}, expected b'#!AER-DAT3.1')")
    end = data.find(b"#!END-HEADER")
    if end < 0:
        raise DatasetError(f"{path}: AEDAT 3.1 header has no '#!END-HEADER' line; the file is truncated")
    pos = data.index(b"\n", end) + 1
    chunks = []
    while pos < len(data):
        if pos + _PACKET_HEADER.size > len(data):
            raise DatasetError(f"{path}: truncated AEDAT 3.1 packet header at byte {pos}")
        etype, _, esize, _, overflow, capacity, number, _ = _PACKET_HEADER.unpack_from(data, pos)
        pos += _PACKET_HEADER.size
        nbytes = capacity * esize
        if esize <= 0 or capacity < 0 or not 0 <= number <= capacity or pos + nbytes > len(data):
            raise DatasetError(
                f"{path}: truncated or corrupt AEDAT 3.1 packet at byte "
                f"{pos - _PACKET_HEADER.size} (needs {nbytes} bytes of events, "
                f"{len(data) - pos} left)"
            )
        if etype == POLARITY_EVENT:
            if esize != 8:
                raise DatasetError(f"{path}: polarity events of {esize} bytes (expected 8)")
            words = np.frombuffer(data, dtype="<u4", count=2 * number, offset=pos).reshape(-1, 2)
            words = words[(words[:, 0] & 1) == 1]
            t = (words[:, 1].astype(np.int64) & 0x7FFFFFFF) | (np.int64(overflow) << 31)
            chunks.append((words[:, 0], t))
        pos += nbytes
    io = require_tonic().io
    addr = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.uint32)
    t = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0, np.int64)
    events = io.make_structured_array(
        (addr >> 17) & 0x7FFF, (addr >> 2) & 0x7FFF, t, (addr >> 1) & 1, dtype=io.events_struct
    )
    _check_coords(events, sensor, path)
    return events, sensor


def read_gesture_labels(path: str | Path) -> list[tuple[int, int, int]]:
    """DVS128 Gesture labels CSV (``class,startTime_usec,endTime_usec``; classes 1..11) as
    ``(label 0..10, start_us, end_us)`` rows; a sample is the events with ``start <= t < end``."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"DVS Gesture label file not found: {path} (every userNN_<light>.aedat "
            f"needs its userNN_<light>_labels.csv beside it)"
        )
    rows = []
    with open(path, newline="") as f:
        for i, row in enumerate(csv.reader(f)):
            if not row or not "".join(row).strip() or (i == 0 and not row[0].strip().isdigit()):
                continue  # blank line or header
            try:
                cls, start, end = (int(v) for v in row[:3])
            except ValueError:
                raise DatasetError(f"{path}: line {i + 1} is not 'class,start_us,end_us': {row}") from None
            if not 1 <= cls <= 11 or end <= start:
                raise DatasetError(
                    f"{path}: line {i + 1} has class {cls} (expected 1..11) or an empty window [{start}, {end})"
                )
            rows.append((cls - 1, start, end))
    return rows
