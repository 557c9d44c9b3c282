"""`fullspike energy`, `fullspike evaluate --early-exit` and `fullspike robustness` end to end
on tiny models trained on the bundled digits."""

import json

import pytest
import torch
import yaml

import fullspike
from fullspike.cli import main
from fullspike.train import fit, load_config

TINY = [
    "model.T=3",
    "model.width=4",
    "model.hidden=16",
    "data.train_subset=128",
    "data.test_subset=32",
    "train.epochs=1",
    "train.tensorboard=false",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    fit(load_config(None, TINY), root / "snn")
    ann = {
        "name": "ann",
        "model": {"name": "convnet_ann", "width": 4, "hidden": 16},
        "data": {"name": "digits", "batch_size": 32, "train_subset": 128, "test_subset": 32},
        "optim": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
        "train": {"epochs": 1, "tensorboard": False},
    }
    (root / "ann.yaml").write_text(yaml.safe_dump(ann))
    fit(load_config(root / "ann.yaml"), root / "ann")
    return root


def test_energy_cli_prints_the_table_and_writes_json_and_plot(trained, tmp_path, capsys):
    checkpoint = str(trained / "snn" / "checkpoint.pt")
    assert main(["energy", "--checkpoint", checkpoint, "--samples", "16", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "features.0" in out and "classifier.4" in out and "energy" in out
    data = json.loads((tmp_path / "energy.json").read_text())
    assert data["summary"]["samples"] == 16 and data["summary"]["T"] == 3  # exactly the samples asked
    # the rate encoder's spikes are drawn from a fixed seed: counting again gives the same numbers
    assert type(fullspike.create_model("bntt_convnet").encoder).__name__ == "RateEncoder"  # the default
    torch.rand(7)  # whatever the process's random stream has done in between
    assert main(["energy", "--checkpoint", checkpoint, "--samples", "16", "--out", str(tmp_path / "again")]) == 0
    assert json.loads((tmp_path / "again" / "energy.json").read_text())["summary"] == data["summary"]
    assert len(data["layers"]) == 4 and (tmp_path / "energy.png").stat().st_size > 0


def test_energy_cli_without_checkpoint_needs_a_config(capsys):
    assert main(["energy"]) == 2
    assert "give --checkpoint" in capsys.readouterr().err


def test_evaluate_early_exit(trained, tmp_path, capsys):
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                str(trained / "snn" / "checkpoint.pt"),
                "--early-exit",
                "--exit-threshold",
                "0.5",
                "--energy-batches",
                "1",
                "--early-exit-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert "exit step (threshold 0.5)" in capsys.readouterr().out
    res = json.loads((tmp_path / "early_exit.json").read_text())
    assert res["T"] == 3 and len(res["accuracy"]) == 3 and len(res["energy_mj"]) == 3 and res["samples"] == 32
    assert {p.name for p in tmp_path.iterdir()} == {"early_exit.json", "gamma.png", "early_exit.png"}


def test_robustness_cli_snn_vs_ann(trained, tmp_path, capsys):
    assert (
        main(
            [
                "robustness",
                "--checkpoint",
                str(trained / "snn" / "checkpoint.pt"),
                "--ann-checkpoint",
                str(trained / "ann" / "checkpoint.pt"),
                "--eps",
                "0",
                "8",
                "--sigmas",
                "0.1",
                "--pgd-steps",
                "2",
                "--samples",
                "32",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    table = (tmp_path / "robustness.md").read_text()
    assert "SNN (bntt_convnet)" in table and "ANN (convnet_ann)" in table and "| pgd | eps=8/255 |" in table
    res = json.loads((tmp_path / "robustness.json").read_text())
    snn = res["SNN (bntt_convnet)"]
    assert snn["samples"] == 32 and set(snn["accuracy"]) == {"gaussian", "fgsm", "pgd"}
    assert (tmp_path / "robustness.png").stat().st_size > 0
