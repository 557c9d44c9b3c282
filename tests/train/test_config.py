"""Configs: strict keys, typed values, overrides, and every shipped config loads."""
from pathlib import Path

import pytest

from fullspike.errors import ConfigError
from fullspike.train import load_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


def test_defaults_are_the_quickstart():
    cfg = load_config()
    assert cfg.model_name == "bntt_convnet" and cfg.data.name == "digits"
    assert load_config(CONFIGS[0].parent / "quickstart.yaml").to_dict() == cfg.to_dict()


def test_overrides():
    cfg = load_config(None, ["train.epochs=3", "model.T=4", "optim.lr=1e-3", "data.options.download=true",
                             "schedule.milestones=[0.5]"])
    assert cfg.train.epochs == 3 and cfg.model["T"] == 4 and cfg.optim.lr == 1e-3
    assert cfg.data.options == {"download": True} and cfg.schedule.milestones == [0.5]


@pytest.mark.parametrize("override,message", [
    ("train.epoch=3", "unknown config key 'train.epoch' (did you mean 'epochs'?)"),
    ("trian.epochs=3", "unknown config key 'trian' (did you mean 'train'?)"),
    ("optim.lr=fast", "config key 'optim.lr' must be a number"),
    ("train.amp=maybe", "config key 'train.amp' must be true or false"),
    ("train.epochs=2.5", "must be an integer"),
    ("epochs", "not of the form key=value"),
])
def test_bad_overrides(override, message):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert message in str(e.value) and "\n" not in str(e.value)


def test_unknown_key_in_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: {name: bntt_convnet}\ndata: {name: digits, batchsize: 3}\n")
    with pytest.raises(ConfigError, match="unknown config key 'data.batchsize' \\(did you mean 'batch_size'\\?\\)"):
        load_config(p)
    p.write_text("model: {T: 3}\n")
    with pytest.raises(ConfigError, match="'model.name' is required"):
        load_config(p)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    p.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_loads_and_names_a_model(path):
    import inspect

    import fullspike
    from fullspike.data import list_datasets
    from fullspike.models import model_factory

    cfg = load_config(path)
    assert cfg.model_name in fullspike.list_models()
    assert cfg.data.name in list_datasets()
    params = inspect.signature(model_factory(cfg.model_name)).parameters
    assert set(cfg.model_kwargs) <= set(params), f"{path.name}: unknown model arguments"
