"""Every command that takes a trained model takes ``zoo:NAME`` (one resolver), with the data
from ``data.root`` / ``--data-root``; outputs default to runs/zoo/<entry>."""

import json
import tarfile

import pytest

from fullspike.cli import main
from fullspike.zoo import cards

NAME = "fashion_mnist_bntt_convnet"
pytestmark = pytest.mark.skipif(NAME not in cards(), reason=f"the zoo ships no {NAME}")


@pytest.fixture
def root(shared_data):
    return str(shared_data / "fashion-mnist")


def test_every_command_takes_a_zoo_name(root, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    zoo, data = f"zoo:{NAME}", [f"data.root={root}", "data.test_subset=32", "train.progress=false"]
    assert main(["evaluate", "--checkpoint", zoo, *data, "--out", "eval.json"]) == 0
    assert json.loads((tmp_path / "eval.json").read_text())["samples"] == 32
    assert main(["evaluate", "--checkpoint", zoo, "--early-exit", "--energy-batches", "1", *data]) == 0
    assert (tmp_path / "runs" / "zoo" / NAME / "early_exit" / "early_exit.json").is_file()
    assert main(["energy", "--checkpoint", zoo, "--samples", "16", *data]) == 0
    assert json.loads((tmp_path / "runs" / "zoo" / NAME / "energy.json").read_text())
    assert (
        main(
            [
                "robustness",
                "--checkpoint",
                zoo,
                "--samples",
                "16",
                "--eps",
                "0",
                "2",
                *data,
                "--sigmas",
                "0",
                "--pgd-steps",
                "1",
            ]
        )
        == 0
    )
    assert (tmp_path / "runs" / "zoo" / NAME / "robustness.json").is_file()
    assert main(["export", zoo, "--check", "--samples", "8", *data]) == 0
    out = capsys.readouterr().out
    assert "accuracy:" in out and "verdict: not exportable" in out  # the check says why a BNTT net is not


def test_analyze_firing_on_a_zoo_resnet_with_data_root_or_data_root_option(shared_data, tmp_path, capsys):
    dst = "cifar10_dst_resnet18_w16"
    if dst not in cards():
        pytest.skip(f"the zoo ships no {dst}")
    with tarfile.open(shared_data / "cifar10-jpg-test.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    for i, how in enumerate((["--data-root", str(tmp_path)], [f"data.root={tmp_path}"])):
        assert (
            main(
                [
                    "analyze",
                    "firing",
                    "--checkpoint",
                    f"zoo:{dst}",
                    *how,
                    "--batches",
                    "1",
                    "--batch-size",
                    "4",
                    "--out",
                    str(tmp_path / f"firing{i}"),
                ]
            )
            == 0
        )
        rows = json.loads((tmp_path / f"firing{i}" / "firing.json").read_text())["records"]
        assert rows and all(0 <= r["firing_rate"] <= 1 for r in rows)


def test_analyze_firing_honours_the_data_root(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    for how in (["--data-root", str(missing)], [f"data.root={missing}"]):
        assert main(["analyze", "firing", "--checkpoint", f"zoo:{NAME}", *how, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and str(missing) in err


def test_zoo_data_come_from_the_default_location_when_no_root_is_given(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FULLSPIKE_DATA", str(tmp_path))
    assert main(["evaluate", "--checkpoint", f"zoo:{NAME}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(tmp_path / "fashion-mnist") in err and "data.root=DIR" in err


def test_a_bare_zoo_name_is_not_a_path_but_the_error_points_at_the_zoo(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["energy", "--checkpoint", NAME]) == 2
    assert f"zoo:{NAME}" in capsys.readouterr().err
    assert main(["export", "zoo:no_such_net", "--check"]) == 2
    assert "unknown pretrained model 'no_such_net'" in capsys.readouterr().err
