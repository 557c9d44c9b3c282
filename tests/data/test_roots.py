"""Where data are looked for without a data.root, and the one line that says so when they are missing."""

from pathlib import Path

import pytest

from fullspike.data import build_dataset
from fullspike.data.roots import DATA_ENV, data_home, default_root
from fullspike.errors import DatasetError


def test_the_default_location_is_the_environment_variable_else_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert data_home() == tmp_path and default_root(None, "cifar10") == tmp_path / "cifar10"
    assert default_root("/given", "cifar10") == Path("/given")
    monkeypatch.delenv(DATA_ENV)
    assert data_home() == Path.home() / ".cache" / "fullspike" / "data"


def test_missing_data_at_the_default_location_say_how_to_point_at_them(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    with pytest.raises(DatasetError) as e:
        build_dataset("fashion_mnist", None, False)
    msg = str(e.value)
    assert str(tmp_path / "fashion-mnist") in msg and "data.root=DIR" in msg and DATA_ENV in msg
    assert "\n" not in msg
    with pytest.raises(DatasetError) as e:  # a root the user gave: no advice about defaults
        build_dataset("fashion_mnist", str(tmp_path / "mine"), False)
    assert DATA_ENV not in str(e.value) and str(tmp_path / "mine") in str(e.value)
    assert "the dataset's own folder, or a folder holding it under its standard name" in str(e.value)


def test_a_given_root_is_the_dataset_folder_or_the_folder_holding_it(tmp_path):
    (tmp_path / "fashion-mnist").mkdir()
    assert default_root(tmp_path, "fashion-mnist") == tmp_path / "fashion-mnist"  # the parent
    assert default_root(tmp_path / "fashion-mnist", "fashion-mnist") == tmp_path / "fashion-mnist"  # itself


@pytest.mark.parametrize("given", ["parent", "itself"])
def test_every_dataset_reads_from_either_form_of_root(tmp_path, given, shared_data):
    if not (shared_data / "fashion-mnist").is_dir():
        pytest.skip("no fashion-mnist in the shared data")
    root = shared_data if given == "parent" else shared_data / "fashion-mnist"
    ds, info = build_dataset("fashion_mnist", str(root), False)
    assert len(ds) == 10000 and info.in_channels == 1
