"""``fullspike.load`` and evaluation: the model from a run, only the evaluated split's files, and
the data root the run recorded (never the current folder)."""

import json
import shutil

import pytest
import torch

import fullspike
from fullspike.cli import main
from fullspike.train import build_eval_loader, evaluate, fit, load_config

TINY = [
    "model.T=2",
    "model.width=4",
    "model.hidden=16",
    "model.encoding=direct",
    "train.epochs=1",
    "train.tensorboard=false",
    "data.batch_size=4",
]


def _image_tree(root):
    from PIL import Image

    for split, n in (("train", 6), ("test", 3)):
        for k, c in enumerate(("cat", "dog")):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (8, 8), (120 * k, 20 * i, 60)).save(root / split / c / f"{i}.png")


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A run trained from tmp_path with the *relative* data.root 'imgs'."""
    _image_tree(tmp_path / "imgs")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(None, TINY + ["data.name=imagefolder", "data.root=imgs", "data.options={image_size: 8}"])
    fit(cfg, tmp_path / "run")
    return tmp_path / "run"


def test_load_returns_the_trained_model_in_eval_mode_and_its_config(run):
    model, cfg = fullspike.load(run)
    assert not model.training and cfg.model_name == "bntt_convnet" and cfg.data.name == "imagefolder"
    saved = torch.load(run / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())
    same, _ = fullspike.load(run / "checkpoint.pt")
    assert all(torch.equal(a, b) for a, b in zip(same.state_dict().values(), model.state_dict().values()))
    loader, _ = build_eval_loader(cfg, "test")
    acc = evaluate(model, loader, "cpu")["accuracy"]
    assert acc == json.loads((run / "metrics.json").read_text())["test_accuracy"]


def test_the_run_records_the_absolute_data_root_and_evaluation_uses_it(run, tmp_path, monkeypatch, capsys):
    recorded = json.loads((run / "config.json").read_text())["data"]["root"]
    assert recorded == str((tmp_path / "imgs").resolve())
    shutil.rmtree(tmp_path / "imgs" / "train")  # evaluating the test split needs no training files
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "imgs").mkdir(parents=True)  # an empty 'imgs' here must not be picked up
    monkeypatch.chdir(elsewhere)
    assert main(["evaluate", "--checkpoint", str(run)]) == 0
    out = capsys.readouterr().out
    acc = float(next(line for line in out.splitlines() if line.startswith("accuracy:")).split()[1])
    assert acc == pytest.approx(json.loads((run / "metrics.json").read_text())["test_accuracy"], abs=1e-4)
    assert "samples: 6" in out

    shutil.move(tmp_path / "imgs", tmp_path / "moved")
    assert main(["evaluate", "--checkpoint", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "imgs") in err[0]
    assert main(["evaluate", "--checkpoint", str(run), f"data.root={tmp_path / 'moved'}"]) == 0


def test_val_split_without_a_validation_fraction_is_one_line(run, capsys):
    assert main(["evaluate", "--checkpoint", str(run), "--split", "val"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "data.val_fraction" in err[0]


def test_evaluation_commands_take_a_run_folder_and_write_into_it(run, capsys):
    assert main(["energy", "--checkpoint", str(run), "--samples", "4"]) == 0
    assert (run / "energy.json").is_file() and (run / "energy.png").is_file()
    assert json.loads((run / "energy.json").read_text())["summary"]["model"] == "bntt_convnet"
    assert (
        main(
            [
                "robustness",
                "--checkpoint",
                str(run),
                "--eps",
                "0",
                "--sigmas",
                "0.1",
                "--attacks",
                "gaussian",
                "--samples",
                "4",
            ]
        )
        == 0
    )
    assert (run / "robustness.json").is_file()
