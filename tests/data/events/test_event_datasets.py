import io
import tarfile

import numpy as np
import pytest
import torch
from event_files import shared_file, write_nmnist

from fullspike.data import build_dataset, make_loader
from fullspike.data.events.cache import FrameCache
from fullspike.data.events.cifar10_dvs import CLASSES as CIFAR_CLASSES
from fullspike.data.events.cifar10_dvs import cifar10_dvs_recordings
from fullspike.data.events.datasets import EventFrames, Recording
from fullspike.data.events.readers import read_aedat31, read_nmnist
from fullspike.errors import ConfigError, DatasetError


# ------------------------------------------------------------------------------ DVS Gesture
def test_gesture_cut_by_label_windows(gesture_tree):
    ds, info = build_dataset("dvs_gesture", str(gesture_tree), train=True, augment=False, T=4)
    assert (info.kind, info.T, info.in_channels, info.image_size, info.num_classes) == ("frames", 4, 2, 128, 11)
    assert [r.name for r in ds.recordings] == ["user01_fluorescent-00", "user01_fluorescent-01", "user02_led-00"]
    assert ds.targets == [0, 2, 10]
    for i, n in enumerate([40, 40, 30]):  # the events at each window's end are not in it
        x, y = ds[i]
        assert x.shape == (4, 2, 128, 128) and x.dtype == torch.float32
        assert x.sum().item() == n
        assert x.sum((1, 2, 3)).tolist() == [(k + 1) * n // 4 - k * n // 4 for k in range(4)]  # equal counts
    # the first window by hand, from the reader
    ev, _ = read_aedat31(gesture_tree / "DvsGesture" / "user01_fluorescent.aedat")
    inside = ev[(ev["t"] >= 1000) & (ev["t"] < 5000)]
    assert ds[0][0][:, 1].sum().item() == inside["p"].sum()
    test, tinfo = build_dataset("dvs_gesture", str(gesture_tree), train=False, T=4)
    assert test.targets == [1, 4] and [int(test[i][0].sum()) for i in range(2)] == [25, 25]


def test_gesture_temporal_delete_and_loader(gesture_tree):
    ds, info = build_dataset("dvs_gesture", str(gesture_tree), True, True, T=4, T_train=3, resize=32)
    assert info.T == 3 and info.image_size == 32
    xb, yb = next(iter(make_loader(ds, info, batch_size=2, shuffle=False)))
    assert xb.shape == (3, 2, 2, 32, 32) and yb.tolist() == [0, 2]
    plain, pinfo = build_dataset("dvs_gesture", str(gesture_tree), True, False, T=4, T_train=3, resize=32)
    assert pinfo.T == 4 and plain[0][0].shape == (4, 2, 32, 32)  # no delete without augmentation
    test, tinfo = build_dataset("dvs_gesture", str(gesture_tree), False, False, T=4, T_train=3, resize=32)
    assert tinfo.T == 4 and test[0][0].shape == (4, 2, 32, 32)  # all frames at test


def test_gesture_missing_label_file(gesture_tree):
    missing = gesture_tree / "DvsGesture" / "user02_led_labels.csv"
    missing.unlink()
    with pytest.raises(DatasetError) as e:
        build_dataset("dvs_gesture", str(gesture_tree), True, T=4)
    assert str(missing) in str(e.value) and "\n" not in str(e.value)


def test_gesture_truncated_recording(gesture_tree):
    path = gesture_tree / "DvsGesture" / "user24_natural.aedat"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DatasetError) as e:
        build_dataset("dvs_gesture", str(gesture_tree), False, T=4)
    assert str(path) in str(e.value) and "truncated" in str(e.value)


def test_gesture_not_downloaded_says_where_to_get_it(tmp_path):
    with pytest.raises(DatasetError) as e:
        build_dataset("dvs_gesture", str(tmp_path), True, download=True)
    msg = str(e.value)
    assert "ibm.ent.box.com" in msg and "DvsGesture.tar.gz" in msg
    assert str(tmp_path / "DvsGesture" / "trials_to_train.txt") in msg and "\n" not in msg


# ---------------------------------------------------------------------------------- N-MNIST
def nmnist_tree(root, per_digit=2, n_events=30):
    rng = np.random.default_rng(0)
    for split in ("Train", "Test"):
        for d in range(3):  # digits 0..2 only: the others are simply absent
            for k in range(per_digit):
                t = np.sort(rng.integers(0, 300_000, n_events))
                write_nmnist(
                    root / split / str(d) / f"{k:05d}.bin",
                    rng.integers(0, 34, n_events),
                    rng.integers(0, 34, n_events),
                    t,
                    rng.integers(0, 2, n_events),
                )


def test_nmnist_builder_and_cache(tmp_path):
    nmnist_tree(tmp_path / "NMNIST")
    ds, info = build_dataset("nmnist", str(tmp_path), True, T=5, split_by="time")
    assert len(ds) == 6 and ds.targets == [0, 0, 1, 1, 2, 2] and info.image_size == 34
    assert all(ds[i][0].sum() == 30 for i in range(6))
    cache_dir = tmp_path / "NMNIST" / "frames" / "nmnist" / "T5-time-34x34-v1" / "train"
    # one entry per recording: its name and the fingerprint of its file (path, size, mtime)
    assert [p.name.split(".")[0] for p in sorted(cache_dir.iterdir())][:2] == ["0-00000", "0-00001"]
    # cached: a second build decodes nothing; another T gets its own entries
    assert build_dataset("nmnist", str(tmp_path), True, T=5, split_by="time")[0].prepare() == 0
    ds8, _ = build_dataset("nmnist", str(tmp_path), True, T=8, cache_dir=str(tmp_path / "elsewhere"))
    assert ds8[0][0].shape == (8, 2, 34, 34)
    assert (tmp_path / "elsewhere" / "nmnist" / "T8-count-34x34-v1" / "train").is_dir()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_decoding_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    nmnist_tree(tmp_path / "NMNIST", per_digit=1)
    build_dataset("nmnist", str(tmp_path), True, T=4, split_by="time")  # stderr is redirected here
    err = capsys.readouterr().err
    assert "framing" not in err and "\r" not in err, err
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    build_dataset("nmnist", str(tmp_path), False, T=4, split_by="time")  # the test split: not cached yet
    assert "framing 3 recordings" in term.getvalue()


def test_frames_decoded_once(tmp_path):
    nmnist_tree(tmp_path, per_digit=1)
    calls = []

    def reader(path):
        calls.append(path)
        return read_nmnist(path)

    recs = [Recording(p, 0, p.stem) for p in sorted((tmp_path / "Train").rglob("*.bin"))]
    ds = EventFrames(recs, reader, 4, "count", (34, 34), FrameCache(tmp_path / "c", (4, 2, 34, 34)), ["0"])
    assert ds.prepare(progress=False) == 3 and len(calls) == 3
    for _ in range(2):
        _ = [ds[i] for i in range(3)]
    assert len(calls) == 3


def test_translate_only_on_augmented_training_samples(tmp_path):
    nmnist_tree(tmp_path)
    torch.manual_seed(0)
    aug, _ = build_dataset("nmnist", str(tmp_path), True, True, T=4, translate=3)
    plain, _ = build_dataset("nmnist", str(tmp_path), True, False, T=4, translate=3)
    test, _ = build_dataset("nmnist", str(tmp_path), False, True, T=4, translate=3)
    assert all(torch.equal(plain[i][0], torch.from_numpy(plain.frames(i)).float()) for i in range(len(plain)))
    assert all(torch.equal(test[i][0], torch.from_numpy(test.frames(i)).float()) for i in range(len(test)))
    draws = [aug[0][0] for _ in range(10)]
    assert any(not torch.equal(d, plain[0][0]) for d in draws)  # shifted (some draws)
    assert all(d.sum() <= plain[0][0].sum() for d in draws)  # events only leave, none are created


def test_option_errors(tmp_path):
    nmnist_tree(tmp_path)
    for opts, word in [
        ({"T_train": 12, "T": 10}, "T_train"),
        ({"split_by": "events"}, "split_by"),
        ({"resize": 64}, "resize"),
        ({"T": 0}, "T"),
        ({"frames": 3}, "no option"),
        ({"translate": 34}, "translate"),
        ({"translate": -1}, "translate"),
    ]:
        with pytest.raises(ConfigError, match=word):
            build_dataset("nmnist", str(tmp_path), True, **opts)
    with pytest.raises(DatasetError, match="download=true"):
        build_dataset("nmnist", str(tmp_path / "empty"), True)


def test_real_nmnist_subset_through_the_nmnist_reader(tmp_path):
    """The shared subset (NMNIST-subset/{Train,Test}/<digit>/<id>.bin) builds with the same
    reader as full N-MNIST: 100 test recordings, each frame sum equal to its event count."""
    archive = shared_file("nmnist-subset.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(
            tmp_path, members=[m for m in tar.getmembers() if "/Test/" in m.name or m.isdir()], filter="data"
        )
    ds, info = build_dataset("nmnist", str(tmp_path), False, T=8)
    assert len(ds) == 100 and info.num_classes == 10 and set(ds.targets) == set(range(10))
    assert ds.reader is read_nmnist
    for i in (0, 57, 99):
        ev, _ = read_nmnist(ds.recordings[i].path)
        x = ds[i][0]
        assert x.shape == (8, 2, 34, 34) and x.sum().item() == len(ev)
        assert x[:, 1].sum().item() == ev["p"].sum()


# ------------------------------------------------------------------------------ CIFAR10-DVS
def test_cifar10_dvs_split_is_first_90_percent_per_class(tmp_path):
    for cls in CIFAR_CLASSES:
        (tmp_path / cls).mkdir()
        for k in range(20):
            (tmp_path / cls / f"cifar10_{cls}_{k}.aedat4").touch()
    train = cifar10_dvs_recordings(tmp_path, True)
    test = cifar10_dvs_recordings(tmp_path, False)
    assert len(train) == 180 and len(test) == 20
    assert [r.path.name for r in test[:2]] == ["cifar10_airplane_18.aedat4", "cifar10_airplane_19.aedat4"]
    assert [r.path.name for r in train[:3]] == [f"cifar10_airplane_{k}.aedat4" for k in range(3)]
    assert [train[18 * c].label for c in range(10)] == list(range(10))


def test_cifar10_dvs_builder_on_real_aedat4(tmp_path):
    sample = shared_file("event-samples/sample.aedat4")
    for cls in CIFAR_CLASSES:
        (tmp_path / "CIFAR10DVS" / cls).mkdir(parents=True)
        for k in range(2):
            (tmp_path / "CIFAR10DVS" / cls / f"{cls}_{k}.aedat4").symlink_to(sample)
    ds, info = build_dataset("cifar10_dvs", str(tmp_path), False, T=4, resize=48)
    assert len(ds) == 10 and info.image_size == 48 and ds.targets == list(range(10))
    x, _ = ds[3]
    assert x.shape == (4, 2, 48, 48) and x.sum().item() == 111_954


def test_cifar10_dvs_not_found(tmp_path):
    with pytest.raises(DatasetError, match="CIFAR10-DVS not found"):
        build_dataset("cifar10_dvs", str(tmp_path), True)


def test_a_replaced_recording_is_framed_again(tmp_path):
    # the frame cache is keyed by the file (path, size, mtime), not by the recording's name only
    nmnist_tree(tmp_path / "NMNIST", per_digit=1)
    before = build_dataset("nmnist", str(tmp_path), True, T=4)[0][0][0].clone()
    rec = sorted((tmp_path / "NMNIST" / "Train" / "0").iterdir())[0]
    rng = np.random.default_rng(7)
    t = np.sort(rng.integers(0, 300_000, 90))
    write_nmnist(rec, rng.integers(0, 34, 90), rng.integers(0, 34, 90), t, rng.integers(0, 2, 90))
    after = build_dataset("nmnist", str(tmp_path), True, T=4)[0][0][0]
    assert before.sum() == 30 and after.sum() == 90  # the new file's events, not the stale frames
    assert torch.equal(
        after,
        torch.from_numpy(
            build_dataset("nmnist", str(tmp_path), True, T=4, cache_dir=str(tmp_path / "fresh"))[0].frames(0)
        ).float(),
    )
