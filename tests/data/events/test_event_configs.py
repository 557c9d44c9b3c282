"""The event-data configs in fullspike/configs/ load, their dataset options are accepted, their models build
from the dataset's info and take the frames the loader makes."""

import inspect

import pytest
import torch

from fullspike.configs import CONFIGS_DIR as CONFIGS
from fullspike.data import DatasetInfo, make_loader
from fullspike.data.registry import dataset_builder
from fullspike.train import build_data, build_model, load_config
from fullspike.train.builders import model_kwargs

EVENT_CONFIGS = {  # config -> (model, dataset, classes, native frame size)
    "dst_7bnet_dvsgesture.yaml": ("dst_7bnet", "dvs_gesture", 11, 128),
    "sew_7bnet_dvsgesture.yaml": ("sew_7bnet", "dvs_gesture", 11, 128),
    "dst_wide7bnet_cifar10dvs.yaml": ("dst_wide7bnet", "cifar10_dvs", 10, 128),
    "bntt_vgg9_cifar10_dvs.yaml": ("vgg9_bntt", "cifar10_dvs", 10, 128),
    "nmnist_bntt_convnet.yaml": ("bntt_convnet", "nmnist", 10, 34),
}


@pytest.mark.parametrize("name", sorted(EVENT_CONFIGS))
def test_config_names_model_and_dataset(name):
    cfg = load_config(CONFIGS / name)
    model, dataset, classes, size = EVENT_CONFIGS[name]
    assert (cfg.model_name, cfg.data.name) == (model, dataset)
    params = inspect.signature(dataset_builder(cfg.data.name)).parameters
    assert set(cfg.data.options) <= set(params)
    assert cfg.model_kwargs["T"] >= cfg.data.options["T"]  # BNTT cannot run more steps than built for
    info = DatasetInfo(classes, 2, cfg.data.options.get("resize") or size, kind="frames", T=cfg.data.options["T"])
    net = build_model(cfg, info)
    assert (net.num_classes, net.in_channels) == (classes, 2)


@pytest.mark.parametrize("name", ["dst_7bnet_dvsgesture.yaml", "sew_7bnet_dvsgesture.yaml"])
def test_gesture_configs_train_on_written_trials(gesture_tree, name):
    cfg = load_config(CONFIGS / name, [f"data.root={gesture_tree}", "data.num_workers=0"])
    data = build_data(cfg)
    assert data.info.T == 12 and len(data.train) == 3 and len(data.test) == 2  # temporal delete 12/16
    model = build_model(cfg, data.info)
    assert model_kwargs(cfg, data.info)["num_classes"] == 11
    x, y = next(iter(make_loader(data.train, data.info, 2, False)))
    assert x.shape == (12, 2, 2, 128, 128)
    out = model(x[:2])  # two frames keep the test fast
    logits = out.spike if hasattr(out, "spike") else out
    assert logits.shape == (2, 11) and torch.isfinite(logits).all()


def test_small_nmnist_config_runs_on_frames():
    cfg = load_config(CONFIGS / "nmnist_bntt_convnet.yaml")
    T = cfg.data.options["T"]
    model = build_model(cfg, DatasetInfo(10, 2, 34, kind="frames", T=T))
    assert model(torch.rand(T, 3, 2, 34, 34)).shape == (3, 10)
