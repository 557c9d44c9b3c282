import numpy as np
import pytest

from fullspike.data.events.cache import FrameCache, cache_key


def frames(seed=0, shape=(3, 2, 4, 4)):
    return np.random.default_rng(seed).integers(0, 9, shape).astype(np.int32)


def test_key_names_the_framing():
    keys = {
        cache_key(16, "count", (128, 128)),
        cache_key(12, "count", (128, 128)),
        cache_key(16, "time", (128, 128)),
        cache_key(16, "count", (48, 48)),
    }
    assert len(keys) == 4
    assert cache_key(16, "count", (48, 48)).startswith("T16-count-48x48")


def test_roundtrip_and_build_once(tmp_path):
    cache = FrameCache(tmp_path / "c", (3, 2, 4, 4))
    calls = []

    def build():
        calls.append(1)
        return frames(1)

    a = cache.get("s1", build)
    b = cache.get("s1", build)
    np.testing.assert_array_equal(a, frames(1))
    np.testing.assert_array_equal(b, frames(1))
    assert len(calls) == 1
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["s1.npz"]  # no temp files left


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "shape"])
def test_corrupt_entry_is_rebuilt(tmp_path, damage):
    cache = FrameCache(tmp_path, (3, 2, 4, 4))
    cache.save("s", frames(2))
    path = cache.path("s")
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # a byte inside the compressed array: the zip CRC catches it
        data[60] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "garbage":
        path.write_bytes(b"not a zip at all")
    else:  # a valid file of another framing
        FrameCache(tmp_path, (4, 2, 4, 4)).save("s", frames(2, (4, 2, 4, 4)))
    with pytest.warns(UserWarning, match="rebuilding corrupt frame cache entry"):
        out = cache.get("s", lambda: frames(3))
    np.testing.assert_array_equal(out, frames(3))
    np.testing.assert_array_equal(cache.load("s"), frames(3))  # the rebuilt entry is stored


def test_save_checks_shape(tmp_path):
    with pytest.raises(ValueError, match="do not fit"):
        FrameCache(tmp_path, (3, 2, 4, 4)).save("s", frames(0, (2, 2, 4, 4)))
