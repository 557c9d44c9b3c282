"""Static-image datasets: real files from ../shared/data and small trees the tests write."""

import gzip
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from fullspike.configs import CONFIGS_DIR as CONFIGS
from fullspike.data import build_dataset, list_datasets, make_loader
from fullspike.errors import ConfigError, DatasetError


def test_registry():
    assert {"digits", "fashion_mnist", "cifar10", "cifar100", "tiny_imagenet", "imagenet", "imagefolder"} <= set(
        list_datasets()
    )


def test_digits_embedded_split():
    train, info = build_dataset("digits", None, True)
    test, _ = build_dataset("digits", None, False)
    assert (len(train), len(test)) == (1438, 359) and info.num_classes == 10
    x, y = train[0]
    assert x.shape == (1, 8, 8) and x.dtype == torch.float32 and 0 <= y < 10


@pytest.mark.parametrize("split", ["all", "test"])
def test_a_data_root_given_to_the_bundled_digits_is_said_once_to_be_ignored(caplog, split):
    """Training builds the training split twice (augmented and plain) and the test split once;
    evaluation builds the test split alone: either way, one line."""
    from fullspike.train import build_data, build_split, load_config

    cfg = load_config(None, ["data.root=/data/mine", "data.augment=true"])
    with caplog.at_level("WARNING", logger="fullspike"):
        build_data(cfg) if split == "all" else build_split(cfg, "test")
        build_dataset("digits", None, False)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "data.root=/data/mine is ignored" in said[0]


def test_fashion_mnist_real_files(shared_data):
    train, info = build_dataset("fashion_mnist", str(shared_data / "fashion-mnist"), True)
    test, _ = build_dataset("fashion_mnist", str(shared_data / "fashion-mnist"), False)
    assert (len(train), len(test)) == (60000, 10000)
    assert info.image_size == 28 and info.in_channels == 1
    labels = torch.bincount(test.labels)
    assert labels.tolist() == [1000] * 10
    x, _ = train[0]
    assert abs(float(train.transform(train.images[:512]).mean())) < 0.2  # normalised


def _write_idx(path, arr, gz=True):
    header = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_fashion_mnist_corrupt_and_missing(tmp_path):
    with pytest.raises(DatasetError, match="not found in .*download=true"):
        build_dataset("fashion_mnist", str(tmp_path), True)
    imgs = np.zeros((4, 28, 28), np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", imgs)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(4), gz=False)
    ds, _ = build_dataset("fashion_mnist", str(tmp_path), True)
    assert len(ds) == 4
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 20)
    _write_idx(bad / "train-labels-idx1-ubyte", np.arange(4), gz=False)
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        build_dataset("fashion_mnist", str(bad), True)
    (bad / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04" + b"\x00" * 20)
    with pytest.raises(DatasetError, match="bad magic number"):
        build_dataset("fashion_mnist", str(bad), True)


def _image_tree(root, split, classes, n, size=12):
    rng = np.random.default_rng(0)
    for c in classes:
        d = root / split / c
        d.mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(d / f"{i}.png")


def test_cifar_image_folder_layout_and_augmentation(tmp_path):
    _image_tree(tmp_path, "train", ["cat", "dog"], 3, size=32)
    _image_tree(tmp_path, "test", ["cat", "dog"], 2, size=32)
    ds, info = build_dataset("cifar10", str(tmp_path), True, augment=True)
    assert len(ds) == 6 and info.image_size == 32 and sorted(set(ds.labels.tolist())) == [3, 5]
    assert ds[0][0].shape == (3, 32, 32)
    test, _ = build_dataset("cifar10", str(tmp_path), False)
    assert sorted(test.labels.tolist()) == [3, 3, 5, 5]
    other = tmp_path / "other"
    _image_tree(other, "train", ["x", "y"], 1, size=32)
    ds, info = build_dataset("cifar100", str(other), True)
    assert info.num_classes == 2 and ds.classes == ["x", "y"]


def test_cifar100_normalization_option(tmp_path):
    from fullspike.data.static import CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD
    from fullspike.train import load_config

    _image_tree(tmp_path, "test", ["x", "y"], 1, size=32)
    raw = torch.from_numpy(np.array(Image.open(tmp_path / "test" / "x" / "0.png"))).permute(2, 0, 1) / 255.0
    for norm, mean, std in [
        (None, CIFAR100_MEAN, CIFAR100_STD),
        ("cifar100", CIFAR100_MEAN, CIFAR100_STD),
        ("cifar10", CIFAR10_MEAN, CIFAR10_STD),
    ]:
        opts = {} if norm is None else {"normalization": norm}
        ds, _ = build_dataset("cifar100", str(tmp_path), False, **opts)
        expected = (raw - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
        torch.testing.assert_close(ds[0][0], expected)
    with pytest.raises(ConfigError, match="normalization must be one of"):
        build_dataset("cifar100", str(tmp_path), False, normalization="imagenet")
    # the BNTT CIFAR-100 config normalises with CIFAR-10's statistics, as the authors' code
    assert load_config(CONFIGS / "bntt_vgg11_cifar100.yaml").data.options["normalization"] == "cifar10"
    assert "normalization" not in load_config(CONFIGS / "spikformer_4_384_cifar100.yaml").data.options


def test_cifar10_real_jpeg_subset(shared_data, tmp_path):
    import tarfile

    with tarfile.open(shared_data / "cifar10-jpg-test.tar.gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile()][:40] + [
            m for m in tar.getmembers() if m.isfile() and "/truck/" in m.name
        ][:5]
        tar.extractall(tmp_path, members=members, filter="data")
    ds, info = build_dataset("cifar10", str(tmp_path), False)
    assert len(ds) == 45 and info.num_classes == 10 and ds.classes[9] == "truck"
    assert set(ds.labels.tolist()) == {0, 9}  # CIFAR-10's own indices, not the folder order
    x, _ = ds[0]
    assert x.shape == (3, 32, 32)


def test_tiny_imagenet_layout(tmp_path):
    wnids = ["n01", "n02"]
    (tmp_path / "wnids.txt").write_text("\n".join(wnids))
    rng = np.random.default_rng(0)
    for w in wnids:
        d = tmp_path / "train" / w / "images"
        d.mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(d / f"{w}_{i}.JPEG")
    (tmp_path / "val" / "images").mkdir(parents=True)
    rows = []
    for i, w in enumerate(["n02", "n01", "n02"]):
        image = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
        image.save(tmp_path / "val" / "images" / f"val_{i}.JPEG")
        rows.append(f"val_{i}.JPEG\t{w}\t0\t0\t63\t63")
    (tmp_path / "val" / "val_annotations.txt").write_text("\n".join(rows))
    train, info = build_dataset("tiny_imagenet", str(tmp_path), True)
    val, _ = build_dataset("tiny_imagenet", str(tmp_path), False)
    assert len(train) == 4 and info.num_classes == 200 and info.image_size == 64
    assert val.labels.tolist() == [1, 0, 1]


def test_tiny_imagenet_real_subset(shared_data, tmp_path):
    import tarfile

    with tarfile.open(shared_data / "tiny-imagenet-200-subset.tar.gz") as tar:
        names = tar.getnames()
        top = names[0].split("/")[0]
        keep = [
            m
            for m in tar.getmembers()
            if m.name.endswith(("wnids.txt", "val_annotations.txt"))
            or "/val/images/val_1" == m.name[len(top) : len(top) + 17]
        ]
        tar.extractall(tmp_path, members=keep, filter="data")
    root = next(p.parent for p in tmp_path.rglob("wnids.txt"))
    ann = (root / "val" / "val_annotations.txt").read_text().splitlines()
    present = {p.name for p in (root / "val" / "images").glob("*.JPEG")}
    (root / "val" / "val_annotations.txt").write_text("\n".join(r for r in ann if r.split("\t")[0] in present))
    val, info = build_dataset("tiny_imagenet", str(root), False)
    assert len(val) == len(present) > 0 and len(info.classes) == 200


def test_missing_and_unknown_option_errors(tmp_path):
    with pytest.raises(DatasetError, match="wnids.txt is missing"):
        build_dataset("tiny_imagenet", str(tmp_path), True)
    with pytest.raises(DatasetError, match=r"expected .*train/<class>/<image>"):
        build_dataset("imagefolder", str(tmp_path), True)
    with pytest.raises(ConfigError, match=r"no option\(s\) \['resolution'\]"):
        build_dataset("cifar10", str(tmp_path), True, resolution=3)
    (tmp_path / "train" / "a").mkdir(parents=True)
    (tmp_path / "train" / "a" / "x.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="cannot decode image"):
        build_dataset("imagefolder", str(tmp_path), True)


def test_imagefolder_streamed_and_loader(tmp_path):
    _image_tree(tmp_path, "train", ["a", "b", "c"], 2, size=20)
    ds, info = build_dataset("imagefolder", str(tmp_path), True, image_size=16, in_memory=False)
    x, y = next(iter(make_loader(ds, info, 4, False)))
    assert x.shape == (4, 3, 16, 16) and info.num_classes == 3


def test_an_image_tree_holding_an_images_folder_is_still_the_tree(tmp_path):
    """A given root is the tree itself: a folder named like the default (images/) inside it is
    not taken for the dataset (it was, once --data-root learned to look inside a given root)."""
    _image_tree(tmp_path, "train", ["a", "b"], 2, size=12)
    (tmp_path / "images").mkdir()
    ds, info = build_dataset("imagefolder", str(tmp_path), True, image_size=8)
    assert len(ds) == 4 and info.classes == ["a", "b"]


def test_decoding_bar_only_on_a_terminal(tmp_path, capsys, monkeypatch):
    import io

    from fullspike.data.static import _decode_all

    Image.new("RGB", (2, 2)).save(tmp_path / "a.png")
    paths = [tmp_path / "a.png"] * 2000  # large enough to be worth a bar
    assert _decode_all(paths, None, "decoding test").shape == (2000, 3, 2, 2)
    err = capsys.readouterr().err
    assert "decoding test" not in err and "\r" not in err, err  # stderr is redirected here

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    _decode_all(paths, None, "decoding test")
    assert "decoding test" in term.getvalue()


@pytest.mark.parametrize("in_memory", [True, False])
def test_test_labels_follow_the_training_class_names(tmp_path, in_memory):
    # the test split lacks "bird": every later class must keep its training label
    _image_tree(tmp_path, "train", ["ant", "bird", "cat", "dog"], 2)
    _image_tree(tmp_path, "test", ["ant", "cat", "dog"], 1)
    train, info = build_dataset("imagefolder", str(tmp_path), True, image_size=12, in_memory=in_memory)
    test, test_info = build_dataset("imagefolder", str(tmp_path), False, image_size=12, in_memory=in_memory)
    labels = test.labels.tolist() if in_memory else list(test.targets)
    assert sorted(labels) == [0, 2, 3]  # ant, cat, dog as in training (the old numbering gave 0, 1, 2)
    assert list(test.classes) == list(train.classes) == ["ant", "bird", "cat", "dog"]
    assert test_info.num_classes == info.num_classes == 4
    if not in_memory:
        assert sorted(t for _, t in test.samples) == [0, 2, 3]


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_test_class_unknown_to_training_is_one_error(tmp_path, in_memory):
    _image_tree(tmp_path, "train", ["ant", "cat"], 1)
    _image_tree(tmp_path, "test", ["ant", "cow"], 1)
    with pytest.raises(DatasetError, match="cow") as err:
        build_dataset("imagefolder", str(tmp_path), False, image_size=12, in_memory=in_memory)
    assert "\n" not in str(err.value)


def test_a_cifar100_folder_tree_numbers_test_labels_by_training_names(tmp_path):
    _image_tree(tmp_path, "train", ["a", "b", "c"], 1, size=32)
    _image_tree(tmp_path, "test", ["c"], 2, size=32)
    test, info = build_dataset("cifar100", str(tmp_path), False)
    assert test.labels.tolist() == [2, 2] and info.num_classes == 3
