"""A failed start never deletes anything and never leaves an empty folder; a resume continues only
its own run; what a kill or a full disk leaves is one line, not a traceback; bad input is refused
before the work (labels, empty splits, memory, --nproc); divergence without NaN is flagged."""

import gzip
import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from fullspike.cli import main

TINY = [
    "model.T=2",
    "model.width=8",
    "model.hidden=32",
    "data.train_subset=256",
    "data.test_subset=64",
    "train.epochs=2",
    "train.tensorboard=false",
]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", "--out", str(run), *TINY]) == 0
    return run


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


@pytest.mark.parametrize(
    "bad",
    [["data.name=fashion_mnist", "data.root=/no/such/folder"], ["data.val_fraction=0.9999", "data.train_subset=null"]],
    ids=["missing-data", "empty-training-split"],
)
def test_overwrite_that_cannot_start_keeps_the_old_run(run, capsys, bad):
    before = _tree(run)
    assert main(["train", "--out", str(run), "--overwrite", *TINY, *bad]) == 2
    _error_line(capsys)
    assert _tree(run) == before  # every file of the trained run, byte for byte


@pytest.mark.parametrize(
    "bad", [["model.in_channels=3"], ["model.num_classes=2"]], ids=["wrong-input-shape", "too-few-classes"]
)
def test_overwrite_whose_training_fails_before_a_checkpoint_keeps_the_old_run(run, capsys, bad):
    """A new run that fails in its first training step (or, for too few classes, when the model is
    built) is one error line, and the old run is put back, byte for byte."""
    before = _tree(run)
    assert main(["train", "--out", str(run), "--overwrite", *TINY, *bad]) == 2
    _error_line(capsys)
    assert _tree(run) == before
    assert not (run / ".replaced-run").exists()


def test_overwrite_replaces_the_run_once_the_new_one_is_built(run, capsys):
    (run / ".checkpoint.pt.abc.tmp").write_bytes(b"half")
    assert main(["train", "--out", str(run), "--overwrite", *TINY, "train.epochs=1"]) == 0
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 1
    assert not (run / ".checkpoint.pt.abc.tmp").exists()


def test_the_replaced_run_goes_once_the_new_run_has_a_checkpoint(run):
    """A hard kill (no cleanup runs) after the new run's first epoch leaves no old run behind."""
    import signal
    import subprocess
    import sys
    import time

    def new_rows() -> int:  # epochs the new run has finished (the old run's metrics.jsonl is older)
        rows = run / "metrics.jsonl"
        try:
            return len(rows.read_text().splitlines()) if rows.stat().st_mtime_ns > started else 0
        except FileNotFoundError:
            return 0

    cmd = [sys.executable, "-m", "fullspike", "train", "--out", str(run), "--overwrite", *TINY, "train.epochs=500"]
    started = time.time_ns()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and new_rows() < 2 and proc.poll() is None:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert new_rows() >= 2  # the new run finished epochs 1 and 2 before the kill
    assert not (run / ".replaced-run").exists()


def _older_stash(run: Path) -> None:
    """What a kill between the new run's first checkpoint and the old run's drop leaves: the old
    run, complete, in .replaced-run beside the new run."""
    (run / ".replaced-run").mkdir()
    (run / ".replaced-run" / "checkpoint.pt").write_bytes(b"older")
    (run / ".replaced-run" / "metrics.json").write_text('{"older": true}')
    (run / ".replaced-run" / ".complete").touch()


def test_a_resume_drops_the_run_an_overwrite_killed_after_its_first_checkpoint_had_replaced(run, capsys, caplog):
    _older_stash(run)
    assert main(["train", "--out", str(run), *TINY]) == 2  # a fresh start: the folder holds the newer run
    assert "already holds a run (checkpoint.pt" in _error_line(capsys)
    caplog.set_level("INFO", logger="fullspike")
    assert main(["train", "--out", str(run), "--resume"]) == 0
    assert not (run / ".replaced-run").exists() and "the run an --overwrite replaced" in caplog.text


def _stash_only(run: Path, complete: bool = True) -> dict[str, bytes]:
    """What an --overwrite killed before its first checkpoint leaves: the old run moved into
    .replaced-run (marked complete), nothing of the new one; returns the old run's files."""
    before = _tree(run)
    (run / ".replaced-run").mkdir()
    for name in ("checkpoint.pt", "config.json", "metrics.jsonl", "metrics.json", "tb"):
        if os.path.lexists(run / name):
            os.replace(run / name, run / ".replaced-run" / name)
    if complete:
        (run / ".replaced-run" / ".complete").touch()
    return before


def test_what_a_kill_inside_the_stash_moves_leaves_is_put_back_by_the_next_start(run, capsys, caplog):
    """Killed while moving the old run aside (no completion mark, the checkpoint already moved),
    while restoring it (the restore mark), or before the first move (an empty stash): the next
    start puts the old run back whole, says so, and then treats the folder as holding that run."""
    caplog.set_level("INFO", logger="fullspike")
    before = _stash_only(run, complete=False)
    for name in ("metrics.json", "metrics.jsonl"):  # the moves not made yet
        os.replace(run / ".replaced-run" / name, run / name)
    assert main(["train", "--out", str(run), *TINY]) == 2
    assert "already holds a run" in _error_line(capsys) and _tree(run) == before
    assert "an --overwrite was killed while moving it aside" in caplog.text
    _stash_only(run)
    (run / ".replaced-run" / ".restoring").touch()
    os.replace(run / ".replaced-run" / "config.json", run / "config.json")  # one file back before the kill
    assert main(["train", "--out", str(run), "--resume", "train.epochs=3"]) == 0
    assert "killed while restoring it" in caplog.text and not (run / ".replaced-run").exists()
    (run / ".replaced-run").mkdir()  # killed right after making the stash
    (run / ".replaced-run.dropped").mkdir()  # and a stash being deleted
    assert main(["train", "--out", str(run), "--resume", "train.epochs=4"]) == 0
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".replaced")) == []


def test_a_stash_of_an_earlier_fullspike_without_its_checkpoint_is_refused_not_guessed(run, capsys):
    """An earlier fullspike moved the checkpoint after config.json and metrics.jsonl, without marks,
    and deleted a stash file by file: such a stash beside a checkpoint could be part of the run in
    the folder or of another; every start refuses in one line and nothing moves."""
    (run / ".replaced-run").mkdir()
    for name in ("config.json", "metrics.jsonl"):
        os.replace(run / name, run / ".replaced-run" / name)
    before = _tree(run)
    for mode in ([*TINY], ["--resume"], ["--overwrite", *TINY]):
        assert main(["train", "--out", str(run), *mode]) == 2
        assert "left by an interrupted --overwrite of an earlier fullspike" in _error_line(capsys)
        assert _tree(run) == before


def test_an_overwrite_into_an_empty_folder_moves_nothing_aside(tmp_path, capsys, caplog):
    caplog.set_level("INFO", logger="fullspike")
    (tmp_path / "new").mkdir()
    assert main(["train", "--out", str(tmp_path / "new"), "--overwrite", *TINY, "model.in_channels=3"]) == 2
    _error_line(capsys)
    assert "kept the run" not in caplog.text and not (tmp_path / "new" / ".replaced-run").exists()


def test_a_restore_that_fails_keeps_the_old_run_aside(run, capsys, caplog, monkeypatch):
    """The new run fails before its first checkpoint and putting the old run back fails too (a
    folder gone read-only): the old run stays in .replaced-run, the log says where, the error
    line is the new run's, and the next start puts it back."""
    import fullspike.train.run_folder as run_folder

    before = _tree(run)

    def read_only(out):
        raise PermissionError(13, "Permission denied", str(out / "config.json"))

    monkeypatch.setattr(run_folder, "clear_run_folder", read_only)
    assert main(["train", "--out", str(run), "--overwrite", *TINY, "model.in_channels=3"]) == 2
    kept, error = capsys.readouterr().err.strip().splitlines()  # where the old run is, then the new run's error
    assert f"is kept in {run / '.replaced-run'}: putting it back failed" in kept and error.startswith("error: ")
    assert (run / ".replaced-run" / "checkpoint.pt").is_file()
    monkeypatch.undo()
    (run / ".replaced-run" / ".restoring").touch()  # as if the restore had got past the new run's files
    for f in list(run.iterdir()):  # the failed new run's files (its lock stays, as in a real folder)
        if f.name in ("config.json", "metrics.jsonl", "metrics.json", "tb"):
            (shutil.rmtree if f.is_dir() else os.remove)(f)
    assert main(["train", "--out", str(run), *TINY]) == 2  # put back, then refused: the folder holds a run
    assert "already holds a run" in _error_line(capsys) and _tree(run) == before


def test_a_second_interrupt_during_the_restore_loses_nothing(run, capsys, monkeypatch):
    """Ctrl-C again while the old run moves back (after its first file): the moves stop, nothing is
    deleted, and the next start finishes putting the old run back."""
    import fullspike.train.run_folder as run_folder

    before, real, moved = _tree(run), os.replace, []

    def interrupted(src, dst):
        if Path(src).parent.name == ".replaced-run" and Path(dst).parent == run:  # a move back
            moved.append(Path(src).name)
            if len(moved) == 2:
                raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(run_folder.os, "replace", interrupted)
    assert main(["train", "--out", str(run), "--overwrite", *TINY, "model.in_channels=3"]) != 0
    monkeypatch.undo()
    assert (run / ".replaced-run" / ".restoring").exists() and (run / ".replaced-run" / "checkpoint.pt").exists()
    capsys.readouterr()
    assert main(["train", "--out", str(run), *TINY]) == 2  # put back whole, then refused: the folder holds it
    assert "already holds a run" in _error_line(capsys) and _tree(run) == before


def test_a_file_in_the_place_of_the_stash_is_never_deleted(run, capsys):
    (run / ".replaced-run").write_text("mine")
    assert main(["train", "--out", str(run), "--overwrite", *TINY]) == 2
    assert "is a file or a link, not a run moved aside by fullspike" in _error_line(capsys)
    assert (run / ".replaced-run").read_text() == "mine"


def test_a_run_moved_aside_by_a_killed_overwrite_is_never_lost(run, capsys):
    """A plain start (or a resume) beside the run a killed --overwrite moved aside is refused in one
    line that says how to keep it; once put back it resumes."""
    before = _stash_only(run)
    assert main(["train", "--out", str(run), *TINY]) == 2
    assert "holds the run an interrupted --overwrite moved aside" in _error_line(capsys)
    assert main(["train", "--out", str(run), "--resume"]) == 2
    assert "move its files back into" in _error_line(capsys)
    for f in list((run / ".replaced-run").iterdir()):  # what the message says to do
        if f.name != ".complete":
            os.replace(f, run / f.name)
    shutil.rmtree(run / ".replaced-run")
    assert _tree(run) == before
    assert main(["train", "--out", str(run), "--resume", "train.epochs=3"]) == 0


def test_an_overwrite_beside_a_stale_stash_keeps_the_newer_run_if_it_fails(run, capsys):
    """A stash beside a run with a checkpoint is stale (that run started after it): a failing
    --overwrite puts back the run that was in the folder, not the older stashed one."""
    newer = _tree(run)
    _older_stash(run)
    assert main(["train", "--out", str(run), "--overwrite", *TINY, "model.in_channels=3"]) == 2
    _error_line(capsys)
    assert _tree(run) == newer and not (run / ".replaced-run").exists()


def test_an_overwrite_beside_the_stash_of_a_killed_overwrite_replaces_the_stashed_run(run):
    _stash_only(run)
    (run / "metrics.jsonl").write_text("")  # the killed attempt's files: no checkpoint
    assert main(["train", "--out", str(run), "--overwrite", *TINY, "train.epochs=1"]) == 0
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 1 and not (run / ".replaced-run").exists()


def test_a_failed_start_leaves_no_folder_behind(tmp_path, capsys):
    fresh = tmp_path / "fresh"
    assert main(["train", "--out", str(fresh), *TINY, "data.name=fashion_mnist", "data.root=/no/such"]) == 2
    _error_line(capsys)
    assert not fresh.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    assert main(["train", "--out", str(existing), *TINY, "data.name=fashion_mnist", "data.root=/no/such"]) == 2
    assert existing.is_dir() and list(existing.iterdir()) == []  # the user's folder stays, without a .lock


def test_a_multi_process_start_finishes_a_cut_short_stash_before_its_check(run, capsys, caplog):
    """--nproc 2 checks the folder before launching its workers: like one process, it first puts
    back a run a killed --overwrite had begun to move aside, then refuses the folder that holds it."""
    caplog.set_level("INFO", logger="fullspike")
    before = _tree(run)
    (run / ".replaced-run").mkdir()
    os.replace(run / "checkpoint.pt", run / ".replaced-run" / "checkpoint.pt")  # the first move, then the kill
    assert main(["train", "--out", str(run), "--nproc", "2", *TINY]) == 2
    assert "already holds a run" in _error_line(capsys) and _tree(run) == before
    assert "killed while moving it aside" in caplog.text


@pytest.mark.parametrize("nproc", ["0", "-2"])
def test_nproc_below_one_is_refused(tmp_path, capsys, nproc):
    assert main(["train", "--out", str(tmp_path / "r"), "--nproc", nproc, *TINY]) == 2
    assert "--nproc" in _error_line(capsys)
    assert not (tmp_path / "r").exists()


def test_a_checkpoint_of_another_run_is_refused_on_resume(run, tmp_path, capsys):
    other = tmp_path / "other"
    assert main(["train", "--out", str(other), *TINY, "model.width=4", "train.epochs=1"]) == 0
    capsys.readouterr()
    shutil.copy(other / "checkpoint.pt", run / "checkpoint.pt")
    rows = (run / "metrics.jsonl").read_text()
    assert main(["train", "--out", str(run), "--resume", "train.epochs=3"]) == 2
    line = _error_line(capsys)
    assert "not the checkpoint of the run" in line and "model.width" in line
    assert (run / "metrics.jsonl").read_text() == rows  # nothing mixed in


def test_metrics_json_records_the_epochs_trained(run, capsys):
    assert main(["train", "--out", str(run), "--resume", "train.epochs=1"]) == 0  # 2 already trained
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 2


def test_a_half_written_metrics_row_is_dropped_with_a_notice_on_resume(run, capsys):
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 3, "lr": 0.0')  # what a kill in the middle of a write leaves
    assert main(["train", "--out", str(run), "--resume", "train.epochs=3"]) == 0
    assert "warning: dropped line 3" in capsys.readouterr().err
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3]


def test_a_checkpoint_with_the_header_but_missing_keys_is_one_line(run, capsys):
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    del ckpt["optimizer"], ckpt["rng"]
    torch.save(ckpt, run / "checkpoint.pt")
    for argv in (["train", "--out", str(run), "--resume"], ["evaluate", "--checkpoint", str(run)]):
        assert main(argv) == 2
        line = _error_line(capsys)
        assert "lacks optimizer, rng" in line


def test_a_full_disk_during_a_checkpoint_save_is_one_line(tmp_path, capsys, monkeypatch):
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full (every write fails with ENOSPC, as on a full disk)")
    real_open = os.open

    def full_disk_for_checkpoints(path, flags, *args, **kwargs):  # the checkpoint's file is on a full disk
        if Path(path).name.startswith(".checkpoint.pt."):
            return real_open("/dev/full", os.O_WRONLY)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", full_disk_for_checkpoints)
    out = tmp_path / "run"
    # a checkpoint larger than the file buffer: torch's zip writer meets the failed write itself
    assert main(["train", "--out", str(out), *TINY, "model.hidden=1024", "train.epochs=1"]) == 2
    line = _error_line(capsys)
    assert line.startswith("error: cannot write checkpoint.pt") and "the disk is full" in line
    assert not (out / "checkpoint.pt").exists()


def test_a_model_too_large_for_memory_is_one_line(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), *TINY, f"model.T={10**13}"]) == 2
    line = _error_line(capsys)
    assert "not enough memory" in line and "model.T" in line


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def test_labels_outside_the_classes_are_refused_when_the_data_are_built(tmp_path, capsys, monkeypatch):
    root = tmp_path / "fmnist"
    root.mkdir()
    for prefix, labels in (("train", [0, 1, 12, 3]), ("t10k", [0, 1, 2, 3])):
        _write_idx(root / f"{prefix}-images-idx3-ubyte.gz", np.zeros((4, 28, 28), np.uint8))
        _write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", np.array(labels))
    from fullspike.train import trainer

    def never(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(trainer.Trainer, "fit", never)
    assert (
        main(
            [
                "train",
                "--out",
                str(tmp_path / "r"),
                *TINY,
                "data.name=fashion_mnist",
                f"data.root={root}",
                "data.train_subset=null",
                "data.batch_size=2",
            ]
        )
        == 2
    )
    line = _error_line(capsys)
    assert "label(s) outside 0..9" in line and "12" in line
    assert not (tmp_path / "r").exists()


def test_writes_into_a_run_folder_do_not_follow_symbolic_links(run, tmp_path, capsys):
    victims = {}
    for name in ("config.json", "metrics.jsonl", "metrics.json"):
        victim = tmp_path / f"victim-{name}"
        victim.write_bytes((run / name).read_bytes())  # readable, so the resume goes on
        (run / name).unlink()
        (run / name).symlink_to(victim)
        victims[victim] = victim.read_bytes()
    assert main(["train", "--out", str(run), "--resume", "train.epochs=3"]) == 0
    for victim, content in victims.items():
        assert victim.read_bytes() == content
    assert not any((run / n).is_symlink() for n in ("config.json", "metrics.jsonl", "metrics.json"))
    assert [json.loads(r)["epoch"] for r in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    victim = tmp_path / "victim-lock"
    victim.write_text("precious")
    (run / ".lock").unlink()
    (run / ".lock").symlink_to(victim)
    assert main(["train", "--out", str(run), "--resume", "train.epochs=4"]) == 2
    assert "symbolic link" in _error_line(capsys)
    assert victim.read_text() == "precious"


def test_tensorboard_events_do_not_follow_a_symbolic_link_at_tb(run, tmp_path, caplog):
    pytest.importorskip("tensorboard")
    victim = tmp_path / "victim-tb"
    victim.mkdir()
    (run / "tb").symlink_to(victim, target_is_directory=True)
    with caplog.at_level("WARNING"):
        assert main(["train", "--out", str(run), "--resume", "train.epochs=3", "train.tensorboard=true"]) == 0
    assert list(victim.iterdir()) == [] and "is a symbolic link: not followed" in caplog.text
    (run / "tb").unlink()  # without the link, the events are written
    assert main(["train", "--out", str(run), "--resume", "train.epochs=4", "train.tensorboard=true"]) == 0
    assert any(p.name.startswith("events.out.tfevents") for p in (run / "tb").iterdir())


def test_a_diverging_run_is_flagged_in_the_log_and_in_metrics_json(tmp_path, capsys):
    out = tmp_path / "lr1000"
    assert main(["train", "--out", str(out), *TINY, "optim.lr=1000"]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning: training diverges")]
    assert len(warnings) == 1 and "optim.lr" in warnings[0]
    metrics = json.loads((out / "metrics.json").read_text())
    first_loss = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])["train_loss"]
    assert first_loss > 10 * np.log(10) and metrics["divergence_warning"].startswith("training diverges")


def test_a_healthy_run_has_no_divergence_warning(trained, capsys):
    assert json.loads((trained / "metrics.json").read_text())["divergence_warning"] is None


def test_the_divergence_rule_without_classes_compares_with_the_first_epoch(caplog):
    from types import SimpleNamespace

    from fullspike.train.callbacks import DivergenceWarning

    trainer = SimpleNamespace(is_main=True)
    cb = DivergenceWarning(None)
    for epoch, loss in ((1, 2.0), (2, 19.0)):  # up to 10x the first epoch's loss: no warning
        cb.on_epoch_end(trainer, {"epoch": epoch, "train_loss": loss})
    assert cb.message is None
    cb.on_epoch_end(trainer, {"epoch": 3, "train_loss": 21.0})
    assert cb.message is not None and "epoch 3" in cb.message
    restored = DivergenceWarning(None)
    restored.load_state_dict(cb.state_dict())  # a resumed run keeps the warning
    assert restored.message == cb.message
    warned = [r for r in caplog.records if r.levelname == "WARNING" and "training diverges" in r.getMessage()]
    assert len(warned) == 1  # logged once, not again by the restored callback
