"""Static-image datasets: digits (embedded), Fashion-MNIST, CIFAR-10/100, Tiny-ImageNet,
ImageNet and any ImageFolder tree.

Small datasets are decoded into a uint8 tensor held in memory by the dataset object (inside a
:func:`decode_once` block, builds of the same split share one decoded copy, e.g. the augmented and
plain views of a training split); ImageNet-sized trees are streamed from disk. Nothing is cached
beyond the datasets that hold the tensors.
Augmentation and normalisation per dataset follow docs/methods.md ("Data").
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import logging
import struct
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import ConfigError, DatasetError
from ..params import Count
from .registry import DatasetInfo, register_dataset
from .roots import data_home, default_root

_LOG = logging.getLogger(__name__)

CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
CIFAR100_MEAN, CIFAR100_STD = (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
FMNIST_MEAN, FMNIST_STD = (0.2860,), (0.3530,)
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


_DECODED: ContextVar[dict | None] = ContextVar("fullspike_decoded", default=None)


@contextlib.contextmanager
def decode_once() -> Iterator[None]:
    """Within this block, datasets built from the same files share one decoded tensor; the
    sharing ends with the block, and the tensors live only as long as the datasets holding them."""
    token = _DECODED.set({})
    try:
        yield
    finally:
        _DECODED.reset(token)


def _shared_in_decode_once(fn: Callable) -> Callable:
    """Decorator: inside :func:`decode_once`, reuse ``fn``'s result for the same arguments."""

    @functools.wraps(fn)
    def wrapper(*args):
        shared = _DECODED.get()
        if shared is None:
            return fn(*args)
        key = (fn.__qualname__, *args)
        if key not in shared:
            shared[key] = fn(*args)
        return shared[key]

    return wrapper


def _transforms(mean, std, augment_ops: list | None):
    from torchvision.transforms import v2

    ops = list(augment_ops or [])
    ops += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    return v2.Compose(ops)


class TensorImageDataset(Dataset):
    """Images held as uint8 ``[N, C, H, W]`` with int labels; ``transform`` maps one image."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform, classes: list[str]):
        self.images, self.labels, self.transform, self.classes = images, labels, transform, classes

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.transform(self.images[i]), int(self.labels[i])


# ------------------------------------------------------------------ digits (embedded default)
@_shared_in_decode_once
def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    images = torch.from_numpy((d.images * (255.0 / 16.0)).round().astype(np.uint8)).unsqueeze(1)
    labels = torch.from_numpy(d.target.astype(np.int64))
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    n_test = len(labels) // 5  # a fixed 80/20 split of the 1797 images
    return images[perm], labels[perm], n_test


@register_dataset("digits")
def digits(root: str | None, train: bool, augment: bool = False):
    """scikit-learn's bundled 8x8 handwritten digits (1797 images): needs no download.
    A fixed 80/20 train/test split (seed 0)."""
    if root is not None and not train:  # said once: training and evaluation build the test split once
        _LOG.warning(
            f"data.root={root} is ignored: the digits data set is bundled with scikit-learn and reads no "
            "folder (data.root=null says so)"
        )
    images, labels, n_test = _digits()
    sl = slice(n_test, None) if train else slice(0, n_test)
    tf = _transforms((0.3,), (0.4,), None)
    ds = TensorImageDataset(images[sl], labels[sl], tf, [str(i) for i in range(10)])
    return ds, DatasetInfo(10, 1, 8, classes=ds.classes)


# ------------------------------------------------------------------ Fashion-MNIST (idx files)
FMNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def read_idx(path: Path) -> np.ndarray:
    """Read an idx file (optionally gzipped), checking its magic number and size."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DatasetError(f"cannot read {path}: {e}; delete it and download it again") from None
    if len(data) < 8:
        raise DatasetError(f"{path} is truncated (only {len(data)} bytes); download it again")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08 or not 1 <= ndim <= 3:
        raise DatasetError(f"{path} is not an idx uint8 file (bad magic number); download it again")
    dims = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if len(data) != expected:
        raise DatasetError(f"{path} is truncated or corrupt: {len(data)} bytes, expected {expected}; download it again")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _find_idx(root: Path, stem: str) -> Path | None:
    for d in (root, root / "FashionMNIST" / "raw"):
        for name in (stem, stem + ".gz"):
            if (d / name).is_file():
                return d / name
    return None


@_shared_in_decode_once
def _fashion_mnist(root: Path, train: bool, download: bool):
    prefix = "train" if train else "t10k"
    stems = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
    paths = [_find_idx(root, s) for s in stems]
    if None in paths and download:
        from torchvision.datasets import FashionMNIST

        FashionMNIST(str(root), train=train, download=True)  # checks the files' md5 sums
        paths = [_find_idx(root, s) for s in stems]
    if None in paths:
        missing = [s for s, p in zip(stems, paths) if p is None]
        raise DatasetError(
            f"Fashion-MNIST files {missing} (or .gz) not found in {root}; put the four idx files "
            f"there, or set data.options.download=true to fetch them"
        )
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or len(images) != len(labels):
        raise DatasetError(f"{paths[0]} and {paths[1]} do not match ({images.shape} vs {labels.shape})")
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


@register_dataset("fashion_mnist")
def fashion_mnist(root: str | None, train: bool, augment: bool = False, download: bool = False):
    """Fashion-MNIST from its four idx files (gzipped or not) in ``root`` (default
    ``fashion-mnist/`` in :func:`~fullspike.data.roots.data_home`).
    Augmentation: random crop 28 with padding 2 and horizontal flip."""
    from torchvision.transforms import v2

    images, labels = _fashion_mnist(default_root(root, "fashion-mnist"), train, download)
    aug = [v2.RandomCrop(28, padding=2), v2.RandomHorizontalFlip()] if augment else None
    ds = TensorImageDataset(images, labels, _transforms(FMNIST_MEAN, FMNIST_STD, aug), FMNIST_CLASSES)
    return ds, DatasetInfo(10, 1, 28, classes=FMNIST_CLASSES)


# ------------------------------------------------------------------ ImageFolder trees in memory
def _load_image(path: Path, size: int | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if size is not None and im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)
    except (OSError, UnidentifiedImageError) as e:
        raise DatasetError(f"cannot decode image {path}: {e}") from None


def _decode_all(paths: list[Path], size: int | None, desc: str) -> torch.Tensor:
    from ..progress import Bar

    arr = [_load_image(p, size) for p in Bar(paths, desc, progress=None if len(paths) >= 2000 else False, unit="img")]
    return torch.from_numpy(np.stack(arr))


IMG_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".JPEG", ".JPG", ".PNG"}


def _class_folders(split_dir: Path) -> list[str]:
    return sorted(d.name for d in split_dir.iterdir() if d.is_dir())


def _training_classes(split_dir: Path) -> tuple[str, ...] | None:
    """The class names that number the labels of ``split_dir``: for a test (or val) split, the
    class folders of the training split beside it (``../train``), so that a test split missing
    a class keeps every other label; None for the training split itself (its own folders)."""
    train_dir = split_dir.parent / "train"
    if split_dir.name == "train" or not train_dir.is_dir():
        return None
    return tuple(_class_folders(train_dir))


def _class_index(split_dir: Path, found: list[str], classes: tuple[str, ...] | None) -> dict[str, int]:
    """``{class name: label}``; a class of ``split_dir`` that the training split lacks is one
    :class:`DatasetError` (its label would mean nothing to the trained network)."""
    if classes is None:
        return {c: i for i, c in enumerate(found)}
    unknown = [c for c in found if c not in classes]
    if unknown:
        raise DatasetError(
            f"{split_dir} has class folder(s) {', '.join(unknown[:5])} that the training split "
            f"{split_dir.parent / 'train'} does not have; labels are matched by class folder "
            f"name, so give both splits the same classes"
        )
    return {c: i for i, c in enumerate(classes)}


def _scan_folder(split_dir: Path, classes: tuple[str, ...] | None = None) -> tuple[list[Path], list[int], list[str]]:
    """Image paths, labels and class names of an ImageFolder split; ``classes`` (the training
    split's, see :func:`_training_classes`) numbers the labels by class name when given."""
    found = _class_folders(split_dir)
    index = _class_index(split_dir, found, classes)
    paths, labels = [], []
    for c in found:
        files = sorted(p for p in (split_dir / c).rglob("*") if p.suffix in IMG_EXT)
        paths += files
        labels += [index[c]] * len(files)
    return paths, labels, list(classes) if classes is not None else found


@_shared_in_decode_once
def _folder_in_memory(split_dir: Path, size: int | None):
    paths, labels, classes = _scan_folder(split_dir, _training_classes(split_dir))
    if not paths:
        raise DatasetError(f"no images found under {split_dir}/<class>/*.jpg|png")
    return _decode_all(paths, size, f"decoding {split_dir}"), torch.tensor(labels), classes


def _split_dir(root: Path, train: bool, what: str, hint: str) -> Path:
    names = ["train"] if train else ["test", "val"]
    for n in names:
        if (root / n).is_dir():
            return root / n
    raise DatasetError(f"{what} not found: expected {root}/{names[0]}/<class>/<image>; {hint}")


CIFAR_NORMALIZATION = {"cifar10": (CIFAR10_MEAN, CIFAR10_STD), "cifar100": (CIFAR100_MEAN, CIFAR100_STD)}


def _cifar(root: Path, train: bool, augment: bool, download: bool, n_classes: int, normalization: str):
    from torchvision.transforms import v2

    if normalization not in CIFAR_NORMALIZATION:
        raise ConfigError(
            f"CIFAR-{n_classes}: option normalization must be one of {list(CIFAR_NORMALIZATION)} "
            f"(whose mean/std to use), got {normalization!r}"
        )
    mean, std = CIFAR_NORMALIZATION[normalization]
    batches = root / ("cifar-10-batches-py" if n_classes == 10 else "cifar-100-python")
    if batches.is_dir() or download:
        images, labels, classes = _cifar_batches(root, train, download, n_classes)
    else:
        images, labels, classes = _folder_in_memory(
            _split_dir(
                root,
                train,
                f"CIFAR-{n_classes}",
                f"put the python batches ({batches.name}/) or an ImageFolder tree (train/, test/) in {root}, "
                "or set data.options.download=true",
            ),
            32,
        )
        if n_classes == 10 and set(classes) <= set(CIFAR10_CLASSES):  # a partial tree keeps CIFAR's indices
            remap = torch.tensor([CIFAR10_CLASSES.index(c) for c in classes])
            labels, classes = remap[labels], CIFAR10_CLASSES
    aug = [v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()] if augment else None
    ds = TensorImageDataset(images, labels, _transforms(mean, std, aug), classes)
    return ds, DatasetInfo(10 if n_classes == 10 else len(classes), 3, 32, classes=classes)


@_shared_in_decode_once
def _cifar_batches(root: Path, train: bool, download: bool, n_classes: int):
    from torchvision.datasets import CIFAR10, CIFAR100

    cls = CIFAR10 if n_classes == 10 else CIFAR100
    try:
        d = cls(str(root), train=train, download=download)  # verifies md5 sums
    except RuntimeError as e:
        raise DatasetError(f"CIFAR-{n_classes} in {root}: {e}") from None
    images = torch.from_numpy(d.data).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(d.targets), list(d.classes)


@register_dataset("cifar10")
def cifar10(root: str | None, train: bool, augment: bool = False, download: bool = False):
    """CIFAR-10 from the python batches (downloadable, md5-checked) or an ImageFolder tree
    ``train/<class>/*.jpg``, ``test/<class>/*.jpg``. Augmentation: crop 32 pad 4, flip."""
    return _cifar(default_root(root, "cifar10"), train, augment, download, 10, "cifar10")


@register_dataset("cifar100")
def cifar100(
    root: str | None, train: bool, augment: bool = False, download: bool = False, normalization: str = "cifar100"
):
    """CIFAR-100, as :func:`cifar10`. ``normalization``: whose mean/std normalise the images,
    ``cifar100`` (its own) or ``cifar10`` (what the BNTT authors' code uses for CIFAR-100, and
    the BNTT config's choice; with rate coding it sets the firing probabilities |x|/2, see
    docs/methods.md, "Data")."""
    return _cifar(default_root(root, "cifar100"), train, augment, download, 100, normalization)


# ------------------------------------------------------------------ Tiny-ImageNet
@_shared_in_decode_once
def _tiny_imagenet(root: Path, train: bool):
    wnids_file = root / "wnids.txt"
    if not wnids_file.is_file():
        raise DatasetError(
            f"Tiny-ImageNet not found: {wnids_file} is missing; unpack "
            f"tiny-imagenet-200.zip so that {root}/wnids.txt, train/ and val/ exist"
        )
    wnids = wnids_file.read_text().split()
    index = {w: i for i, w in enumerate(wnids)}
    if train:
        paths, labels = [], []
        for w in wnids:
            files = sorted((root / "train" / w / "images").glob("*.JPEG"))
            paths += files
            labels += [index[w]] * len(files)
    else:
        ann = root / "val" / "val_annotations.txt"
        if not ann.is_file():
            raise DatasetError(f"Tiny-ImageNet validation labels missing: {ann}")
        rows = [line.split("\t") for line in ann.read_text().splitlines() if line.strip()]
        try:
            paths = [root / "val" / "images" / r[0] for r in rows]
            labels = [index[r[1]] for r in rows]
        except (IndexError, KeyError) as e:
            raise DatasetError(f"{ann} is malformed ({e!r})") from None
    if not paths:
        raise DatasetError(f"no Tiny-ImageNet {'training' if train else 'validation'} images under {root}")
    return _decode_all(paths, 64, "decoding Tiny-ImageNet"), torch.tensor(labels), wnids


@register_dataset("tiny_imagenet")
def tiny_imagenet(root: str | None, train: bool, augment: bool = False):
    """Tiny-ImageNet-200 in its standard layout (the labelled ``val/`` split serves as test).
    64x64; augmentation: crop 64 pad 4, flip."""
    from torchvision.transforms import v2

    images, labels, wnids = _tiny_imagenet(default_root(root, "tiny-imagenet-200"), train)
    aug = [v2.RandomCrop(64, padding=4), v2.RandomHorizontalFlip()] if augment else None
    ds = TensorImageDataset(images, labels, _transforms(IMAGENET_MEAN, IMAGENET_STD, aug), wnids)
    return ds, DatasetInfo(200, 3, 64, classes=wnids)


# ------------------------------------------------------------------ streamed ImageFolder trees
def _streamed_folder(root: Path, train: bool, tf, what: str):
    from torchvision.datasets import ImageFolder

    split = _split_dir(root, train, what, "point data.root at the folder holding train/ and val/")
    ds = ImageFolder(str(split), transform=tf)
    classes = _training_classes(split)
    if classes is not None:  # number the labels by the training split's class names
        index = _class_index(split, list(ds.classes), classes)
        ds.samples = [(p, index[ds.classes[t]]) for p, t in ds.samples]
        ds.imgs, ds.targets = ds.samples, [t for _, t in ds.samples]
        ds.classes, ds.class_to_idx = list(classes), {c: i for i, c in enumerate(classes)}
    return ds


@register_dataset("imagenet")
def imagenet(root: str | None, train: bool, augment: bool = False, image_size: Count = 224):
    """ImageNet (ILSVRC-2012) as ImageFolder trees ``train/<wnid>/`` and ``val/<wnid>/``, streamed.
    Training: random-resized crop + flip; test: resize 256, centre crop 224."""
    from torchvision.transforms import v2

    if train and augment:
        ops = [v2.RandomResizedCrop(image_size), v2.RandomHorizontalFlip()]
    else:
        ops = [v2.Resize(int(image_size * 256 / 224)), v2.CenterCrop(image_size)]
    tf = v2.Compose(
        [v2.PILToTensor(), *ops, v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    )
    ds = _streamed_folder(default_root(root, "imagenet"), train, tf, "ImageNet")
    return ds, DatasetInfo(len(ds.classes), 3, image_size, classes=ds.classes)


@register_dataset("imagefolder")
def imagefolder(
    root: str | None,
    train: bool,
    augment: bool = False,
    image_size: Count = 32,
    mean: tuple = IMAGENET_MEAN,
    std: tuple = IMAGENET_STD,
    in_memory: bool = True,
):
    """Any tree ``root/train/<class>/*`` and ``root/test|val/<class>/*``, resized to ``image_size``.
    Augmentation: crop with padding image_size/8, flip."""
    from torchvision.transforms import v2

    # a given root is the tree itself: "images" is too common a name to look for a tree inside it
    path = Path(root).expanduser() if root is not None else data_home() / "images"
    aug = [v2.RandomCrop(image_size, padding=image_size // 8), v2.RandomHorizontalFlip()] if augment else None
    if in_memory:
        split = _split_dir(path, train, "image folder", "see the imagefolder dataset docs")
        images, labels, classes = _folder_in_memory(split, image_size)
        ds = TensorImageDataset(images, labels, _transforms(mean, std, aug), classes)
    else:
        tf = v2.Compose(
            [
                v2.PILToTensor(),
                v2.Resize((image_size, image_size)),
                *(aug or []),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(mean, std),
            ]
        )
        ds = _streamed_folder(path, train, tf, "image folder")
    return ds, DatasetInfo(len(ds.classes), 3, image_size, classes=list(ds.classes))
