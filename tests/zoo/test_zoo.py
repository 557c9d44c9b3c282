"""The model zoo: every shipped entry loads offline, matches its SHA-256 and its recorded accuracy
on real test data; corrupt weights and unknown names fail with one line."""

import json
import shutil
import tarfile

import pytest
import torch
from torch.utils.data import Subset

import fullspike
from fullspike.cli import main
from fullspike.data import build_dataset, make_loader
from fullspike.errors import CheckpointError, ConfigError, RegistryError
from fullspike.train import evaluate
from fullspike.zoo import ZOO_DIR, card, cards, check_indices, load, sha256

ENTRIES = sorted(cards())


def _real_root(dataset, shared, tmp_path):
    if dataset == "fashion_mnist":
        return shared / "fashion-mnist"
    if dataset == "nmnist":
        with tarfile.open(shared / "nmnist-subset.tar.gz") as tar:
            tar.extractall(
                tmp_path, members=[m for m in tar.getmembers() if "/Test/" in m.name or m.isdir()], filter="data"
            )
        return tmp_path
    if dataset == "cifar10":
        with tarfile.open(shared / "cifar10-jpg-test.tar.gz") as tar:
            tar.extractall(tmp_path, filter="data")
        return tmp_path
    pytest.skip(f"no real test data wired for {dataset}")


def test_zoo_is_shipped():
    assert ENTRIES, "the zoo should ship at least one trained network"
    for name in ENTRIES:
        c = card(name)
        assert (ZOO_DIR / c["file"]).stat().st_size < 5e6  # a few MB at most
        for key in ("dataset", "test_accuracy", "T", "params", "command", "date", "machine"):
            assert c[key] not in (None, "")
        assert c["energy"]["ac"] > 0 and c["energy"]["energy_mj"] > 0 and c["energy"]["firing_rates"]


@pytest.mark.parametrize("name", ENTRIES)
def test_energy_was_counted_on_a_class_balanced_selection(name):
    """A test set stored class by class makes "the first 256 samples" one class: every card says
    which samples its energy was counted on, and a part of the test set is balanced over classes."""
    e, c = card(name)["energy"], card(name)
    counts = e["analysis_set"]["class_counts"]
    assert e["analysis_set"]["split"] == "test" and sum(counts.values()) == e["analysis_set"]["size"] == e["samples"]
    if e["samples"] < c["test_samples"]:  # the whole test set is as balanced as it is
        assert len(counts) == c["model_kwargs"]["num_classes"] and max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.parametrize("name", ENTRIES)
def test_entry_loads_and_has_its_recorded_accuracy(name, shared_data, tmp_path):
    c = card(name)
    model = fullspike.create_model(name, pretrained=True)
    assert not model.training and sum(p.numel() for p in model.parameters()) == c["params"]
    assert sha256(ZOO_DIR / c["file"]) == c["sha256"]
    root = _real_root(c["dataset"], shared_data, tmp_path)
    test, info = build_dataset(
        c["dataset"],
        str(root),
        False,
        False,
        **{**c["data_options"], **({"cache_dir": str(tmp_path / "frames")} if c["dataset"] == "nmnist" else {})},
    )
    n = c["check"]["test_samples"]
    torch.manual_seed(0)
    res = evaluate(model, make_loader(Subset(test, check_indices(test, n)), info, 256, False), torch.device("cpu"))
    heads = [k for k in c["check"] if k.startswith("accuracy")]  # DST nets: the FSNN/DSNN heads too
    assert heads == [k for k in res if k.startswith("accuracy")]
    for k in heads:  # one sample of float noise at most
        assert res[k] == pytest.approx(c["check"][k], abs=1.5 / n), k
    if n == len(test):
        assert res["accuracy"] == pytest.approx(c["test_accuracy"], abs=1.5 / n)


def _copy_zoo(tmp_path, name):
    shutil.copy2(ZOO_DIR / "cards.json", tmp_path / "cards.json")
    shutil.copy2(ZOO_DIR / card(name)["file"], tmp_path / card(name)["file"])
    return tmp_path / card(name)["file"]


@pytest.mark.parametrize("name", ENTRIES[:1])
def test_corrupt_weights_fail_with_one_line(name, tmp_path):
    weights = _copy_zoo(tmp_path, name)
    assert isinstance(load(f"zoo:{name}", tmp_path), torch.nn.Module)
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as e:
        load(name, tmp_path)
    assert "corrupt" in str(e.value) and "SHA-256" in str(e.value) and "\n" not in str(e.value)
    weights.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        load(name, tmp_path)


def test_unknown_entries_and_arguments(tmp_path):
    with pytest.raises(RegistryError, match="unknown pretrained model 'nope'"):
        fullspike.create_model("nope", pretrained=True)
    with pytest.raises(RegistryError, match="the zoo is empty"):
        load("x", tmp_path)
    if ENTRIES:
        with pytest.raises(ConfigError, match="exactly as trained"):
            fullspike.create_model(ENTRIES[0], pretrained=True, T=3)


def test_models_pretrained_lists_the_cards(capsys):
    assert main(["models", "--pretrained"]) == 0
    out = capsys.readouterr().out
    for name in ENTRIES:
        c = card(name)
        assert name in out and f"{100 * c['test_accuracy']:.2f}%" in out
        assert f"fullspike.create_model('{name}', pretrained=True)" in out
    assert json.loads((ZOO_DIR / "cards.json").read_text()).keys() == set(ENTRIES)


@pytest.mark.parametrize("name", ENTRIES[:1])
def test_fullspike_load_opens_a_zoo_entry_with_its_config(name):
    model, cfg = fullspike.load(f"zoo:{name}", overrides=["data.root=/elsewhere"], device="cpu")
    c = card(name)
    assert cfg.model_name == c["model"] and cfg.data.name == c["dataset"] and cfg.data.root == "/elsewhere"
    reference = load(name)
    assert not model.training
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))
    with pytest.raises(RegistryError, match="unknown pretrained model"):
        fullspike.load("zoo:no_such_net")
