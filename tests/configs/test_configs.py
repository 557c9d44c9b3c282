"""The experiment configs ship with the package and are named by their file's stem."""

from pathlib import Path

import pytest

from fullspike.cli import main
from fullspike.configs import CONFIGS_DIR, config_file, list_configs
from fullspike.errors import ConfigError, RegistryError
from fullspike.train import load_config


def test_configs_are_package_data_and_load_by_name_or_path():
    assert CONFIGS_DIR.parent.name == "fullspike"
    names = list_configs()
    assert "quickstart" in names and "bntt_vgg9_cifar10" in names
    assert names == sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))
    for name in names:
        by_name = load_config(name)
        assert by_name.to_dict() == load_config(CONFIGS_DIR / f"{name}.yaml").to_dict()
    assert load_config("quickstart.yaml", ["train.epochs=1"]).train.epochs == 1
    assert config_file("quickstart") == CONFIGS_DIR / "quickstart.yaml"


def test_a_file_beats_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("quickstart").write_text("name: mine\n")
    assert load_config("quickstart").name == "mine"


def test_unknown_names_and_paths_are_one_line_with_suggestions():
    with pytest.raises(RegistryError):
        config_file("bntt_vgg9_cifar1")
    with pytest.raises(ConfigError) as e:
        load_config("bntt_vgg9_cifar1")
    assert "did you mean 'bntt_vgg9_cifar10'" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(
        ConfigError,
        match=r"configs/quickstart.yaml not found; the shipped config 'quickstart' "
        r"is --config quickstart",
    ):
        load_config("configs/quickstart.yaml")
    with pytest.raises(ConfigError, match="not found; give a YAML file"):
        load_config("elsewhere/none.yaml")


def test_fullspike_configs_lists_names_and_descriptions(capsys):
    assert main(["configs", "bntt_vgg9*"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["bntt_vgg9_cifar10", "bntt_vgg9_cifar10_dvs"]
    assert "BNTT VGG9 on CIFAR-10" in lines[0]


def test_shipped_configs_fix_no_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("FULLSPIKE_DATA", str(tmp_path))
    for name in list_configs():
        assert load_config(name).data.root is None, name  # data.root=DIR, else the default location
