"""Checkpoint files: written with the user's umask, and temporaries of a killed save removed."""

import logging
import os

import pytest
import torch

from fullspike.train import fit, load_config
from fullspike.train.checkpoint import atomic_save, remove_partial_saves

TINY = [
    "model.T=2",
    "model.width=4",
    "model.hidden=16",
    "data.train_subset=64",
    "data.test_subset=32",
    "train.epochs=1",
    "train.tensorboard=false",
]


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_checkpoint_mode_follows_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    atomic_save({"w": torch.ones(2)}, tmp_path / "checkpoint.pt")
    assert (tmp_path / "checkpoint.pt").stat().st_mode & 0o777 == mode
    assert torch.equal(torch.load(tmp_path / "checkpoint.pt")["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_remove_partial_saves_removes_only_temporaries_of_that_file(tmp_path):
    keep = ["checkpoint.pt", ".other.pt.abc.tmp", "checkpoint.pt.tmp", "notes.tmp"]
    gone = [".checkpoint.pt.k2j4h1x9.tmp", ".checkpoint.pt.0a1b2c3d.tmp"]  # mkstemp's and today's names
    for name in keep + gone:
        (tmp_path / name).write_bytes(b"x")
    assert remove_partial_saves(tmp_path / "checkpoint.pt") == sorted(tmp_path / n for n in gone)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


@pytest.mark.parametrize("resume", [False, True])
def test_training_removes_the_temporary_a_killed_save_left(tmp_path, caplog, resume):
    caplog.set_level(logging.INFO, logger="fullspike")
    cfg = load_config(None, TINY)
    if resume:
        fit(cfg, tmp_path)
    orphans = [tmp_path / f".{name}.deadbeef.tmp" for name in ("checkpoint.pt", "config.json", "metrics.json")]
    tmp_path.mkdir(exist_ok=True)
    for orphan in orphans:
        orphan.write_bytes(b"half a save")
    fit(cfg, tmp_path, resume=resume)
    for orphan in orphans:
        assert not orphan.exists()
        assert f"removed {orphan}, left by an interrupted save" in caplog.messages


@pytest.mark.parametrize(
    "key,value",
    [("rng", {"torch": torch.zeros(3)}), ("optimizer", {"state": 5}), ("epoch", "five"), ("model", [1, 2, 3])],
)
def test_resume_from_a_checkpoint_with_a_malformed_entry_is_one_line(tmp_path, capsys, key, value):
    from fullspike.cli import main

    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *TINY]) == 0
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    torch.save({**ckpt, key: value}, run / "checkpoint.pt")
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--resume", "train.epochs=2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"checkpoint {run / 'checkpoint.pt'} has a malformed '{key}' entry" in err[0], err
