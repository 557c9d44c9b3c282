"""``data.name=OTHER`` drops the previous dataset's options and root."""

import pytest

from fullspike.errors import ConfigError
from fullspike.train import load_config
from fullspike.train.config import apply_overrides, config_from_dict

NMNIST = {"data": {"name": "nmnist", "root": "/data/nmnist", "options": {"T": 8, "download": False, "translate": 4}}}


def test_switching_dataset_drops_the_previous_options_and_root():
    cfg = config_from_dict(apply_overrides(NMNIST, ["data.name=digits"]))
    assert cfg.data.name == "digits" and cfg.data.options == {} and cfg.data.root is None


def test_options_and_root_given_before_the_switch_stay_and_are_checked():
    data = apply_overrides(NMNIST, ["data.root=/mine", "data.options.image_size=8", "data.name=imagefolder"])
    assert data["data"] == {"name": "imagefolder", "root": "/mine", "options": {"image_size": 8}}
    with pytest.raises(ConfigError, match="dataset 'digits' has no option"):
        config_from_dict(apply_overrides(NMNIST, ["data.options.T=4", "data.name=digits"]))


def test_the_same_dataset_keeps_everything():
    assert apply_overrides(NMNIST, ["data.name=nmnist"]) == NMNIST


def test_a_config_file_switched_on_the_command_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data: {name: fashion_mnist, root: /x, options: {download: false}}\n")
    cfg = load_config(path, ["data.name=digits"])
    assert cfg.data.options == {} and cfg.data.root is None
