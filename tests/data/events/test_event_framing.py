import numpy as np
import pytest
import torch

from fullspike.data.events.framing import RandomTemporalDelete, RandomTranslate, events_to_frames, slice_bounds
from fullspike.errors import ConfigError

DT = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])


def stream(t, x=None, y=None, p=None):
    n = len(t)
    ev = np.zeros(n, dtype=DT)
    ev["t"] = t
    ev["x"] = x if x is not None else 0
    ev["y"] = y if y is not None else 0
    ev["p"] = p if p is not None else 0
    return ev


def per_frame(frames):
    return frames.reshape(len(frames), -1).sum(1).tolist()


def test_split_by_count_boundaries():
    assert slice_bounds(np.arange(10), 3, "count").tolist() == [0, 3, 6, 10]
    assert slice_bounds(np.arange(12), 4, "count").tolist() == [0, 3, 6, 9, 12]
    assert slice_bounds(np.arange(2), 4, "count").tolist() == [0, 0, 1, 1, 2]
    # every event in exactly one frame, counts differ by at most one
    frames = events_to_frames(stream(np.arange(10) * 7), (4, 4), 3, "count")
    assert per_frame(frames) == [3, 3, 4]


def test_split_by_time_boundaries():
    t = np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
    # D = 90, edges at 30 and 60: an event on an edge opens the later frame, t_last is kept
    assert slice_bounds(t, 3, "time").tolist() == [0, 3, 6, 10]
    t = np.array([0, 1, 2, 3, 100])
    assert slice_bounds(t, 2, "time").tolist() == [0, 4, 5]
    assert per_frame(events_to_frames(stream(t), (2, 2), 2, "time")) == [4, 1]
    assert per_frame(events_to_frames(stream(t), (2, 2), 2, "count")) == [2, 3]
    # offset start time and empty middle frames
    t = np.array([1000, 1001, 1399, 1400])
    assert slice_bounds(t, 4, "time").tolist() == [0, 2, 2, 2, 4]
    assert per_frame(events_to_frames(stream(t), (2, 2), 4, "time")) == [2, 0, 0, 2]


def test_degenerate_streams():
    assert per_frame(events_to_frames(stream([]), (3, 3), 4, "time")) == [0, 0, 0, 0]
    assert per_frame(events_to_frames(stream([5, 5, 5]), (3, 3), 2, "time")) == [3, 0]
    with pytest.raises(ConfigError, match="split_by"):
        slice_bounds(np.arange(3), 2, "events")


def test_per_polarity_counts_and_positions():
    #          t  x  y  p
    rows = [(0, 1, 2, 1), (1, 1, 2, 1), (2, 1, 2, 0), (3, 3, 0, 0), (4, 0, 0, 1), (5, 3, 0, 0)]
    t, x, y, p = map(np.array, zip(*rows))
    frames = events_to_frames(stream(t, x, y, p), (4, 3), 2, "count")  # W=4, H=3
    assert frames.shape == (2, 2, 3, 4) and frames.dtype == np.int32
    expect = np.zeros((2, 2, 3, 4), np.int32)
    expect[0, 1, 2, 1] = 2  # two ON events at (x=1, y=2) in frame 0
    expect[0, 0, 2, 1] = 1
    expect[1, 0, 0, 3] = 2  # two OFF events at (x=3, y=0) in frame 1
    expect[1, 1, 0, 0] = 1
    np.testing.assert_array_equal(frames, expect)
    assert frames[:, 1].sum() == p.sum() and frames[:, 0].sum() == (1 - p).sum()


def test_unsorted_timestamps_are_sorted_first():
    t = np.array([30, 0, 20, 10])
    frames = events_to_frames(stream(t, x=[3, 0, 2, 1]), (4, 1), 4, "count")
    # frame i holds the i-th event in time, at x = i
    np.testing.assert_array_equal(frames[:, 0, 0], np.eye(4, dtype=np.int32))


def test_resize_bins_coordinates_and_keeps_counts():
    rng = np.random.default_rng(0)
    n = 500
    ev = stream(
        np.sort(rng.integers(0, 10_000, n)), rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
    )
    full = events_to_frames(ev, (128, 128), 5)
    small = events_to_frames(ev, (128, 128), 5, size=(48, 48))
    assert small.shape == (5, 2, 48, 48)
    assert small.sum() == full.sum() == n
    np.testing.assert_array_equal(small.sum((2, 3)), full.sum((2, 3)))  # per frame and polarity
    half = events_to_frames(ev, (128, 128), 5, size=(64, 64))
    np.testing.assert_array_equal(half, full.reshape(5, 2, 64, 2, 64, 2).sum((3, 5)))  # 2x2 sum pooling
    with pytest.raises(ConfigError, match="larger"):
        events_to_frames(ev, (128, 128), 5, size=(200, 200))


def test_matches_tonic_where_tonic_is_exact():
    """With N a multiple of T, Tonic's ToFrame(n_event_bins=T) drops nothing: frames must agree,
    also after Tonic's Downsample to 64x64 (an exact factor)."""
    tonic = pytest.importorskip("tonic")
    rng = np.random.default_rng(1)
    n, T = 600, 6
    ev = np.zeros(n, dtype=tonic.io.events_struct)
    ev["t"] = np.sort(rng.integers(0, 50_000, n))
    ev["x"], ev["y"], ev["p"] = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
    ref = tonic.transforms.ToFrame(sensor_size=(128, 128, 2), n_event_bins=T)(ev)
    np.testing.assert_array_equal(events_to_frames(ev, (128, 128), T, "count"), ref)
    small = tonic.transforms.Downsample(sensor_size=(128, 128, 2), target_size=(64, 64))(ev)
    ref = tonic.transforms.ToFrame(sensor_size=(64, 64, 2), n_event_bins=T)(small)
    np.testing.assert_array_equal(events_to_frames(ev, (128, 128), T, "count", size=(64, 64)), ref)


def test_temporal_delete_keeps_order_and_count():
    frames = torch.arange(16, dtype=torch.float32).view(16, 1, 1, 1).expand(16, 2, 3, 3)
    delete = RandomTemporalDelete(12, generator=torch.Generator().manual_seed(0))
    seen = set()
    for _ in range(20):
        out = delete(frames)
        assert out.shape == (12, 2, 3, 3)
        kept = out[:, 0, 0, 0].long().tolist()
        assert kept == sorted(set(kept)) and len(kept) == 12  # increasing: order kept, no repeats
        assert torch.equal(out, frames[kept])
        seen.add(tuple(kept))
    assert len(seen) > 1  # random choice, not a fixed subset
    assert RandomTemporalDelete(16)(frames).equal(frames)
    with pytest.raises(ConfigError, match="T_train"):
        RandomTemporalDelete(17)(frames)


def test_translate_shifts_all_frames_together_with_zeros_shifted_in():
    frames = torch.zeros(3, 2, 6, 6)
    frames[:, 0, 2, 3] = torch.tensor([1.0, 2.0, 3.0])  # one event pixel, a different count per frame
    frames[:, 1, 0, 0] = 5.0  # a corner pixel: shifted out when dy or dx < 0
    shift = RandomTranslate(2, generator=torch.Generator().manual_seed(0))
    shifts = set()
    for _ in range(40):
        out = shift(frames)
        assert out.shape == frames.shape
        ((dy, dx),) = {(int(y) - 2, int(x) - 3) for _, y, x in (out[:, 0] != 0).nonzero().tolist()}
        assert -2 <= dy <= 2 and -2 <= dx <= 2
        assert out[:, 0, 2 + dy, 3 + dx].tolist() == [1.0, 2.0, 3.0]  # the same shift in every frame
        kept = 5.0 * 3 if dy >= 0 and dx >= 0 else 0.0
        assert out[:, 1].sum().item() == kept  # events shifted out are gone, nothing wraps around
        shifts.add((dy, dx))
    assert len(shifts) > 10  # random shifts, not one fixed offset
    assert RandomTranslate(0)(frames) is frames
    with pytest.raises(ConfigError, match="translate"):
        RandomTranslate(6)(frames)
    with pytest.raises(ConfigError, match="translate"):
        RandomTranslate(-1)
