"""Run folders and schedules: per-step multistep milestones, honest resume with changed values,
no mixing of two runs in one folder, and decoding shared only within one build."""

import gc
import json
import logging
import weakref

import pytest
import torch
from tiny import TINY

from fullspike.cli import main
from fullspike.train import build_data, build_optimizer, build_scheduler, fit, load_checkpoint, load_config
from fullspike.train.builders import lr_factor


def _rows(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    "epochs,milestones,drops",
    [
        (1, [0.5], [5]),  # one epoch: the drop is half-way, not before the first step
        (3, [0.5, 0.7, 0.9], [15, 21, 27]),  # three epochs: three distinct drops, not two on epoch 3
        (2, [1], [10]),  # whole-epoch milestones stay epochs
    ],
)
def test_multistep_milestones_are_fractions_of_the_steps(epochs, milestones, drops):
    cfg = load_config(None, [f"train.epochs={epochs}", f"schedule.milestones={milestones}"])
    factors = [lr_factor(cfg, s, 10) for s in range(10 * epochs)]
    changes = [s for s in range(1, len(factors)) if factors[s] != factors[s - 1]]
    assert changes == drops
    assert factors[0] == 1.0 and factors[-1] == pytest.approx(0.1 ** len(drops))


def test_per_step_scheduler_and_metrics_record_the_first_step_lr(tmp_path):
    cfg = load_config(None, TINY + ["train.epochs=1", "schedule.milestones=[0.5]"])
    model = torch.nn.Linear(2, 2)
    opt = build_optimizer(cfg, model)
    sched = build_scheduler(cfg, opt, 4)
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.01])
    fit(cfg, tmp_path / "one")
    assert [r["lr"] for r in _rows(tmp_path / "one")] == [0.1]  # not lr/10 for the whole run
    fit(load_config(None, TINY + ["train.epochs=3"]), tmp_path / "three")
    assert [r["lr"] for r in _rows(tmp_path / "three")] == pytest.approx([0.1, 0.1, 0.01])


def test_resume_applies_and_records_changed_optimiser_and_schedule_values(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="fullspike")
    run = tmp_path / "run"
    fit(load_config(None, TINY + ["train.epochs=1", "schedule.milestones=[0.9]"]), run)
    cfg = load_config(
        None, TINY + ["train.epochs=2", "schedule.milestones=[0.9]", "optim.lr=0.05", "optim.momentum=0.5"]
    )
    fit(cfg, run, resume=True)
    out = caplog.text
    assert "resume: optim.lr changed from 0.1 to 0.05; applied from epoch 2" in out
    assert "resume: optim.momentum changed from 0.9 to 0.5" in out
    saved = json.loads((run / "config.json").read_text())
    assert saved["optim"]["lr"] == 0.05 and saved["optim"]["momentum"] == 0.5
    assert [r["lr"] for r in _rows(run)] == pytest.approx([0.1, 0.05])  # trained with the new value
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["optimizer"]["param_groups"][0]["momentum"] == 0.5 and ckpt["config"]["optim"]["lr"] == 0.05


@pytest.mark.parametrize(
    "override,key",
    [
        ("model.width=16", "model.width"),
        ("optim.name=adam", "optim.name"),
        ("data.batch_size=16", "data.batch_size"),
        ("train.seed=3", "train.seed"),
        ("train.neuron_backend=eager", "train.neuron_backend"),
    ],
)
def test_resume_refuses_a_change_of_what_defines_the_run(tmp_path, capsys, override, key):
    run = tmp_path / "run"
    fit(load_config(None, TINY + ["train.epochs=1"]), run)
    before = (run / "config.json").read_text()
    assert main(["train", "--out", str(run), "--resume", *TINY, override]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--resume: {key} was" in err[0] and "cannot change" in err[0]
    assert (run / "config.json").read_text() == before  # nothing recorded


def test_resume_reads_the_stored_config_without_config(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *TINY, "train.epochs=1", "model.width=4"]) == 0
    assert main(["train", "--out", str(run), "--resume", "train.epochs=2"]) == 0
    assert "resuming quickstart" in capsys.readouterr().out
    assert [r["epoch"] for r in _rows(run)] == [1, 2]
    assert load_checkpoint(run / "checkpoint.pt")["config"]["model"]["width"] == 4


def test_resume_without_a_checkpoint_says_how_to_start(tmp_path, capsys):
    empty = tmp_path / "empty"
    assert main(["train", "--out", str(empty), "--resume", *TINY]) == 2
    assert capsys.readouterr().err.strip().endswith("; start without --resume")
    stopped = tmp_path / "stopped"  # killed before its first checkpoint: config.json, no checkpoint
    stopped.mkdir()
    (stopped / "config.json").write_text("{}")
    for argv in (["--resume"], ["--resume", "--config", "quickstart", *TINY]):
        assert main(["train", "--out", str(stopped), *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "stopped before its first checkpoint; start it again with --overwrite" in err[0]


def test_a_fresh_run_never_mixes_with_the_run_in_its_folder(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *TINY, "train.tensorboard=true"]) == 0
    capsys.readouterr()
    assert main(["train", "--out", str(run), *TINY, "train.epochs=1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already holds a run" in err[0] and "--resume" in err[0] and "--overwrite" in err[0]
    assert [r["epoch"] for r in _rows(run)] == [1, 2]  # untouched
    (run / ".checkpoint.pt.abc.tmp").write_bytes(b"half")
    assert main(["train", "--out", str(run), "--overwrite", *TINY, "train.epochs=1"]) == 0
    assert [r["epoch"] for r in _rows(run)] == [1]
    assert not (run / "tb").exists() and not (run / ".checkpoint.pt.abc.tmp").exists()
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 1


def test_decoded_images_are_shared_within_one_build_and_not_kept_after(tmp_path):
    from PIL import Image

    for split in ("train", "test"):
        for c in ("a", "b"):
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (8, 8), (40 * i, 90, 200)).save(tmp_path / split / c / f"{i}.png")
    cfg = load_config(
        None,
        [
            "data.name=imagefolder",
            f"data.root={tmp_path}",
            "data.options={image_size: 8}",
            "data.val_fraction=0.34",
            "data.augment=true",
        ],
    )
    data = build_data(cfg)
    images = data.train.dataset.images
    assert images.data_ptr() == data.val.dataset.images.data_ptr()  # augmented and plain views share
    ref = weakref.ref(images)
    del data, images
    gc.collect()
    assert ref() is None  # no process-wide cache keeps the decoded split alive


def test_neuron_backend_sets_every_neuron_and_keeps_the_numbers(tmp_path, monkeypatch):
    import fullspike.train.experiment as experiment
    from fullspike.nn import SpikingNeuron

    seen = []
    real = experiment.set_backend

    def spy(model, backend):
        seen.append(backend)
        n = real(model, backend)
        assert n > 0 and all(m.backend == backend for m in model.modules() if isinstance(m, SpikingNeuron))
        return n

    monkeypatch.setattr(experiment, "set_backend", spy)
    default = fit(load_config(None, TINY + ["train.epochs=1"]), tmp_path / "default")
    assert seen == []  # null: each neuron keeps its own backend
    eager = fit(load_config(None, TINY + ["train.epochs=1", "train.neuron_backend=eager"]), tmp_path / "eager")
    assert seen == ["eager"]
    assert eager["test_accuracy"] == pytest.approx(default["test_accuracy"], abs=1 / 128)


def test_a_folder_another_process_trains_into_is_refused(tmp_path, capsys):
    import os

    from fullspike.output_paths import exclusive_folder

    run = tmp_path / "run"
    with exclusive_folder(run):  # as a second `fullspike train --out run` would find it
        assert main(["train", "--out", str(run), *TINY]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"error: {run} is in use by another process (pid {os.getpid()}) writing a training run there; "
        "wait for it to end or choose another folder\n"
    )
    assert not (run / "checkpoint.pt").exists()
    fit(load_config(None, TINY + ["train.epochs=1"]), run)  # free again
    assert (run / "metrics.json").is_file()
