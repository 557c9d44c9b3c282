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


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_no_command_writes_over_the_checkpoint_it_reads(run, capsys):
    ckpt = run / "checkpoint.pt"
    before = ckpt.read_bytes()
    copies = ("energy.json", "firing.csv", "gamma.png", "robustness.md")  # checkpoints bearing an output's name
    for name in copies:
        (run / name).write_bytes(before)
    for argv in (
        ["evaluate", "--checkpoint", str(run), "--out", str(ckpt)],
        ["evaluate", "--checkpoint", str(ckpt), "--out", str(run / ".." / run.name / "checkpoint.pt")],
        ["evaluate", "--checkpoint", str(run / "gamma.png"), "--early-exit", "--early-exit-dir", str(run)],
        ["energy", "--checkpoint", str(run / "energy.json"), "--samples", "4"],
        ["robustness", "--checkpoint", str(run), "--ann-checkpoint", str(run / "robustness.md"), "--out", str(run)],
        ["analyze", "firing", "--checkpoint", str(run / "firing.csv"), "--out", str(run)],
    ):
        assert main(argv) == 2, argv
        assert "which this command reads" in _one_error_line(capsys), argv
    assert all((run / n).read_bytes() == before for n in ("checkpoint.pt", *copies))


def test_a_saved_checkpoint_records_its_weights_checksum_and_a_flipped_weight_is_refused(run, tmp_path, capsys):
    from fullspike.safe_load import WEIGHTS_SHA256, weights_sha256

    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert ckpt[WEIGHTS_SHA256] == weights_sha256(ckpt["model"])
    name, tensor = next((k, v) for k, v in ckpt["model"].items() if v.is_floating_point())
    tensor.view(-1)[0] = -tensor.view(-1)[0] + 1  # one weight changed after the save, the checksum kept
    torch.save(ckpt, tmp_path / "damaged.pt")
    with pytest.raises(fullspike.errors.CheckpointError, match="is corrupt: its weights do not match the checksum"):
        fullspike.load(tmp_path / "damaged.pt")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "damaged.pt")]) == 2
    assert "damaged.pt is corrupt" in _one_error_line(capsys)
    del ckpt[WEIGHTS_SHA256]  # as an older fullspike wrote it: loads
    torch.save(ckpt, tmp_path / "older.pt")
    model, _ = fullspike.load(tmp_path / "older.pt")
    assert torch.equal(model.state_dict()[name], tensor)


@pytest.mark.parametrize("key,value", [("model", [1, 2, 3]), ("model", None), ("model_kwargs", "x")])
def test_a_malformed_entry_is_one_line_from_every_reader(run, tmp_path, capsys, key, value):
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    torch.save({**ckpt, key: value}, tmp_path / "bad.pt")
    with pytest.raises(fullspike.errors.CheckpointError, match=f"bad.pt has a malformed '{key}' entry"):
        fullspike.load(tmp_path / "bad.pt")
    with pytest.raises(fullspike.errors.CheckpointError, match=f"malformed '{key}' entry"):
        fullspike.create_model("bntt_convnet", checkpoint_path=tmp_path / "bad.pt", **ckpt["model_kwargs"])
    for argv in (
        ["evaluate", "--checkpoint", str(tmp_path / "bad.pt")],
        ["energy", "--checkpoint", str(tmp_path / "bad.pt"), "--samples", "4", "--out", str(tmp_path)],
    ):
        assert main(argv) == 2
        assert f"malformed '{key}' entry" in _one_error_line(capsys)


ZOO = "zoo:nmnist_spiking_convnet"


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["model.name=bntt_convnet"], "holds a 'spiking_convnet' model but the config builds 'bntt_convnet'"),
        (
            ["model.width=8"],
            "does not fit the 'spiking_convnet' the config builds with width=8 where it records width=32",
        ),
    ],
)
def test_a_zoo_override_that_changes_the_model_the_weights_need_is_refused(overrides, message):
    with pytest.raises(fullspike.errors.CheckpointError, match=message) as err:
        fullspike.load(ZOO, overrides=overrides, device="cpu")
    assert "\n" not in str(err.value) and ZOO in str(err.value)


def test_a_zoo_override_the_weights_fit_runs_and_is_what_the_config_records():
    model, cfg = fullspike.load(ZOO, overrides=["model.T=4"], device="cpu")
    assert model.T == 4 and cfg.model["T"] == 4
    reference = fullspike.zoo.load(ZOO)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))


def test_a_zoo_entry_with_another_config_says_what_does_not_fit():
    with pytest.raises(
        fullspike.errors.CheckpointError, match="zoo:nmnist_bntt_convnet does not fit .* T=6 where it records T=8"
    ):
        fullspike.load("zoo:nmnist_bntt_convnet", config="quickstart", device="cpu")
