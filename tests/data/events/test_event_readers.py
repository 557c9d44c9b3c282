import sys

import numpy as np
import pytest
from event_files import aedat31_packet, polarity_words, shared_file, write_aedat31, write_nmnist

from fullspike.data.events.readers import read_aedat4, read_aedat31, read_gesture_labels, read_nmnist
from fullspike.errors import DatasetError, MissingDependencyError


def one_line_naming(exc_info, path):
    msg = str(exc_info.value)
    assert str(path) in msg and "\n" not in msg
    return msg


# ----------------------------------------------------------------------------------- N-MNIST
def test_nmnist_roundtrip(tmp_path):
    t = [0, 5, 70_000, 8_000_000]  # the last needs all 23 timestamp bits
    write_nmnist(tmp_path / "a.bin", [0, 33, 5, 7], [1, 2, 33, 0], t, [1, 0, 1, 0])
    ev, sensor = read_nmnist(tmp_path / "a.bin")
    assert sensor == (34, 34)
    assert ev["t"].tolist() == t and ev["x"].tolist() == [0, 33, 5, 7]
    assert ev["y"].tolist() == [1, 2, 33, 0] and ev["p"].tolist() == [True, False, True, False]


def test_real_nmnist_sample():
    ev, sensor = read_nmnist(shared_file("event-samples/sample_nmnist.bin"))
    assert len(ev) == 4325 and sensor == (34, 34)
    assert ev["x"].max() < 34 and ev["y"].max() < 34 and np.all(np.diff(ev["t"]) >= 0)


def test_nmnist_truncated_and_missing(tmp_path):
    write_nmnist(tmp_path / "a.bin", [1, 2], [1, 2], [0, 1], [0, 1])
    bad = tmp_path / "cut.bin"
    bad.write_bytes((tmp_path / "a.bin").read_bytes()[:7])
    with pytest.raises(DatasetError) as e:
        read_nmnist(bad)
    assert "truncated" in one_line_naming(e, bad)
    with pytest.raises(DatasetError) as e:
        read_nmnist(tmp_path / "none.bin")
    one_line_naming(e, tmp_path / "none.bin")


def test_missing_tonic_is_one_clear_error(tmp_path, monkeypatch):
    write_nmnist(tmp_path / "a.bin", [1], [1], [0], [0])
    monkeypatch.setitem(sys.modules, "tonic", None)  # import tonic -> ImportError
    with pytest.raises(
        MissingDependencyError, match=r"event datasets needs tonic.*: pip install 'fullspike\[events\]'"
    ):
        read_nmnist(tmp_path / "a.bin")


# ----------------------------------------------------------------------------------- AEDAT 4
def test_real_aedat4_sample_through_cifar10_dvs_reader():
    """sample.aedat4 (DAVIS240, 111,954 events) decodes through the CIFAR10-DVS reader."""
    ev, sensor = read_aedat4(shared_file("event-samples/sample.aedat4"))
    assert sensor == (320, 240)
    assert len(ev) == 111_954
    assert ev["x"].max() < 320 and ev["y"].max() < 240
    assert np.all(np.diff(ev["t"]) >= 0) and 0 < ev["p"].mean() < 1


def test_aedat4_truncated_and_wrong_magic(tmp_path):
    data = shared_file("event-samples/sample.aedat4").read_bytes()
    cut = tmp_path / "cut.aedat4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError) as e:
        read_aedat4(cut)
    assert "truncated" in one_line_naming(e, cut)
    wrong = tmp_path / "wrong.aedat4"
    wrong.write_bytes(b"#!AER-DAT3.1\r\n" + data[14:])
    with pytest.raises(DatasetError) as e:
        read_aedat4(wrong)
    assert "not an AEDAT 4" in one_line_naming(e, wrong)


# --------------------------------------------------------------------------------- AEDAT 3.1
def test_aedat31_polarity_events_only(tmp_path):
    x, y, p = [0, 127, 5, 9, 3], [0, 64, 127, 1, 2], [1, 0, 1, 1, 0]
    t = [10, 20, 2**31 - 1, 5, 6]
    valid = [1, 1, 1, 0, 1]  # the fourth is marked invalid
    words = polarity_words(x, y, t, p, valid)
    path = tmp_path / "rec.aedat"
    write_aedat31(
        path,
        [
            aedat31_packet(1, words[:6]),
            aedat31_packet(0, np.array([0xFFFFFFFF, 11], np.uint32)),  # special event
            aedat31_packet(1, words[6:], overflow=1),
        ],
    )  # 4th/5th: after a wrap
    ev, sensor = read_aedat31(path)
    assert sensor == (128, 128)
    assert ev["x"].tolist() == [0, 127, 5, 3] and ev["y"].tolist() == [0, 64, 127, 2]
    assert ev["p"].tolist() == [True, False, True, False]
    assert ev["t"].tolist() == [10, 20, 2**31 - 1, 2**31 + 6]


def test_aedat31_errors_name_the_file(tmp_path):
    path = tmp_path / "rec.aedat"
    write_aedat31(path, [aedat31_packet(1, polarity_words([1, 2], [1, 2], [1, 2], [0, 1]))])
    data = path.read_bytes()
    cases = {
        "cut_events.aedat": (data[:-3], "truncated"),
        "cut_header.aedat": (data[: data.index(b"#!END-HEADER") + 14 + 10], "truncated"),
        "no_end.aedat": (data[:30], "END-HEADER"),
        "magic.aedat": (b"#!AER-DAT2.0\r\n" + data[14:], "not an AEDAT 3.1"),
    }
    for name, (content, words) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(DatasetError) as e:
            read_aedat31(tmp_path / name)
        assert words in one_line_naming(e, tmp_path / name)
    bad = tmp_path / "coords.aedat"
    write_aedat31(bad, [aedat31_packet(1, polarity_words([200], [1], [1], [0]))])
    with pytest.raises(DatasetError, match="exceed the 128x128 sensor"):
        read_aedat31(bad)


def test_gesture_labels(tmp_path):
    path = tmp_path / "u_labels.csv"
    path.write_text("class,startTime_usec,endTime_usec\n1,100,200\n11,300,450\n\n")
    assert read_gesture_labels(path) == [(0, 100, 200), (10, 300, 450)]
    path.write_text("class,startTime_usec,endTime_usec\n12,100,200\n")
    with pytest.raises(DatasetError) as e:
        read_gesture_labels(path)
    one_line_naming(e, path)
    with pytest.raises(DatasetError) as e:
        read_gesture_labels(tmp_path / "missing_labels.csv")
    assert "label file not found" in one_line_naming(e, tmp_path / "missing_labels.csv")
