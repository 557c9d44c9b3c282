"""Every DST-paper config loads, names a registered dataset with valid options, and builds its model."""

import inspect

import pytest
import torch

from fullspike.configs import CONFIGS_DIR as CONFIGS
from fullspike.data import DatasetInfo, list_datasets
from fullspike.data.registry import dataset_builder
from fullspike.models import DualStreamOutput, create_model
from fullspike.train import fit, load_config, model_kwargs

INFO = {
    "imagenet": DatasetInfo(1000, 3, 224),
    "cifar10": DatasetInfo(10, 3, 32),
    "cifar100": DatasetInfo(100, 3, 32),
    "dvs_gesture": DatasetInfo(11, 2, 128, "frames", 16),
    "cifar10_dvs": DatasetInfo(10, 2, 128, "frames", 16),
}
DST_CONFIGS = sorted(p for pat in ("*resnet*", "*7bnet*", "spikformer*") for p in CONFIGS.glob(f"{pat}.yaml"))


def test_every_paper_experiment_has_a_config():
    names = {p.stem for p in DST_CONFIGS}
    for d in (18, 34, 50, 101):
        assert {f"dst_resnet{d}_imagenet", f"sew_resnet{d}_imagenet"} <= names
    for fam in ("spiking", "sew", "dst"):
        assert {f"{fam}_resnet18_cifar10", f"{fam}_resnet34_cifar10"} <= names
    assert {
        "dst_7bnet_dvsgesture",
        "sew_7bnet_dvsgesture",
        "dst_wide7bnet_cifar10dvs",
        "sew_wide7bnet_cifar10dvs",
        "spikformer_4_384_cifar100",
        "spikformer_4_384_iand_cifar100",
        "spikformer_4_384_dst_cifar100",
    } <= names


@pytest.mark.parametrize("path", DST_CONFIGS, ids=lambda p: p.stem)
def test_config_builds_its_model(path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    assert cfg.data.name in list_datasets()
    params = inspect.signature(dataset_builder(cfg.data.name)).parameters
    assert set(cfg.data.options) <= set(params)
    with torch.device("meta"):
        model = create_model(cfg.model_name, **model_kwargs(cfg, INFO[cfg.data.name]))
    assert model.num_classes == INFO[cfg.data.name].num_classes
    assert getattr(model, "dual_stream", False) == (cfg.model_name.startswith("dst_") or cfg.model.get("dst", False))


def test_dual_stream_model_trains_through_the_trainer(tmp_path):
    cfg = load_config(
        CONFIGS / "dst_resnet18_cifar10.yaml",
        [
            "data.name=digits",
            "data.root=null",
            "data.options={}",
            "data.batch_size=32",
            "data.num_workers=0",
            "data.train_subset=64",
            "data.test_subset=32",
            "model.width=4",
            "model.T=2",
            "train.epochs=1",
            "train.tensorboard=false",
            "train.device=cpu",
        ],
    )
    metrics = fit(cfg, tmp_path)
    assert {"test_accuracy", "test_accuracy_spike", "test_accuracy_accum"} <= set(metrics)
    assert isinstance(
        create_model("dst_resnet18", in_channels=1, num_classes=10, width=4, T=2, stem="cifar")(
            torch.randn(2, 1, 8, 8)
        ),
        DualStreamOutput,
    )
