"""Commands that write files check the location before the work and report write failures in
one line; progress bars go to terminals only and never share a line with an error."""

import errno
import importlib
import io
import json
import os
import pathlib

import pytest

from fullspike.cli import main
from fullspike.train import fit, load_config

TINY = [
    "model.T=2",
    "model.width=4",
    "model.hidden=16",
    "data.train_subset=64",
    "data.test_subset=48",
    "train.epochs=1",
    "train.tensorboard=false",
]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    fit(load_config(None, TINY), out)
    return str(out / "checkpoint.pt")


@pytest.fixture
def blocked(tmp_path):
    """A location no one (root included) can create: a folder under a regular file."""
    (tmp_path / "file").write_text("x")
    return tmp_path / "file" / "out"


def one_error(capsys, argv, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot write "), err
    for n in needles:
        assert n in err[0], err[0]
    return err[0]


def _no_work(monkeypatch):
    """Make every long computation fail loudly: the location must be refused before it."""

    def boom(*args, **kwargs):
        raise AssertionError("the work started before the output location was checked")

    import fullspike.analysis.early_exit as ee
    import fullspike.analysis.gradients as grad
    import fullspike.analysis.robustness as rob
    import fullspike.energy as energy
    import fullspike.train as train

    load_module = importlib.import_module("fullspike.train.load")
    for module, name in [
        (energy, "count_synaptic_ops"),
        (ee, "analyse_early_exit"),
        (rob, "evaluate_robustness"),
        (grad, "gradient_study"),
        (grad, "block_statistics"),
        (train, "fit"),
        (train, "load_checkpoint"),
        (load_module, "load_checkpoint"),
    ]:
        monkeypatch.setattr(module, name, boom)


@pytest.mark.parametrize("command", ["energy", "early-exit", "robustness", "analyze", "train", "evaluate-out"])
def test_unwritable_output_is_refused_before_the_work(command, checkpoint, blocked, capsys, monkeypatch):
    _no_work(monkeypatch)
    argv = {
        "energy": ["energy", "--checkpoint", checkpoint, "--out", str(blocked)],
        "early-exit": ["evaluate", "--checkpoint", checkpoint, "--early-exit", "--early-exit-dir", str(blocked)],
        "robustness": ["robustness", "--checkpoint", checkpoint, "--out", str(blocked)],
        "analyze": ["analyze", "firing", "--model", "sew_resnet18", "--out", str(blocked)],
        "train": ["train", "--out", str(blocked), *TINY],
        "evaluate-out": ["evaluate", "--checkpoint", checkpoint, "--out", str(blocked / "r.json")],
    }[command]
    one_error(capsys, argv, str(blocked), "a part of the path is a file, not a folder")


def test_full_disk_while_writing_energy_json(checkpoint, tmp_path, capsys, monkeypatch):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pathlib.Path, "write_text", full)
    one_error(
        capsys,
        ["energy", "--checkpoint", checkpoint, "--samples", "8", "--out", str(tmp_path)],
        "energy.json",
        str(tmp_path),
        "the disk is full; free some space",
    )


def test_full_disk_during_a_checkpoint_save_is_one_line(tmp_path, capsys, monkeypatch):
    import fullspike.train.checkpoint as ck

    def full(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ck.torch, "save", full)
    one_error(capsys, ["train", "--out", str(tmp_path), *TINY], "checkpoint.pt", "the disk is full")
    assert not list(tmp_path.glob(".checkpoint.pt.*")), "the temporary file was left behind"


# ------------------------------------------------------------------------------ progress bars
class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def rendered(text: str) -> list[str]:
    """What a terminal shows for ``text``: '\\r' returns to column 0 and later characters overwrite."""
    lines, col = [[]], 0
    for ch in text:
        if ch == "\n":
            lines.append([])
            col = 0
        elif ch == "\r":
            col = 0
        else:
            line = lines[-1]
            line[col : col + 1] = [ch]
            col += 1
    return ["".join(row).rstrip() for row in lines]


@pytest.mark.parametrize("command", ["energy", "early-exit", "robustness"])
def test_no_bars_in_redirected_stderr(command, checkpoint, tmp_path, capsys):
    argv = {
        "energy": ["energy", "--checkpoint", checkpoint, "--samples", "16", "--out", str(tmp_path)],
        "early-exit": [
            "evaluate",
            "--checkpoint",
            checkpoint,
            "--early-exit",
            "--energy-batches",
            "1",
            "--early-exit-dir",
            str(tmp_path),
        ],
        "robustness": [
            "robustness",
            "--checkpoint",
            checkpoint,
            "--eps",
            "0",
            "--sigmas",
            "0",
            "--pgd-steps",
            "1",
            "--samples",
            "16",
            "--out",
            str(tmp_path),
        ],
    }[command]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "it/s" not in err and "█" not in err, err


def test_a_failing_command_logs_the_error_as_a_line_of_its_own(checkpoint, tmp_path, capsys, monkeypatch):
    import fullspike.cli.energy as energy_cli

    real = energy_cli.open_model

    class Batches(list):
        batch_size = 16

    def wrong_second_batch(*args, **kwargs):  # the model refuses it while counting
        cfg, model, device, loader, chosen = real(*args, **kwargs)
        x, y = next(iter(loader))
        return cfg, model, device, Batches([(x, y), (x.repeat(1, 3, 1, 1), y)]), chosen

    monkeypatch.setattr(energy_cli, "open_model", wrong_second_batch)
    argv = ["energy", "--checkpoint", checkpoint, "--samples", "48", "--batch-size", "16", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "in_channels=3" in err, repr(err)
    term = FakeTerminal()  # on a terminal the bar is drawn, and cleared before the error
    monkeypatch.setattr("sys.stderr", term)
    assert main(argv) == 2
    text = term.getvalue()
    assert "counting" in text and "\r" in text
    assert rendered(text)[-2].startswith("error: ") and rendered(text)[-1] == "", rendered(text)


# ------------------------------------------------------------------ robustness, analyze firing
@pytest.mark.parametrize(
    "asked,expected",
    [
        (["--samples", "20", "--batch-size", "16"], 20),  # not two whole batches of 16
        (["--samples", "1000"], 48),  # the whole test set, when it is smaller
    ],
)
def test_robustness_evaluates_exactly_the_samples_asked(checkpoint, tmp_path, asked, expected):
    argv = ["robustness", "--checkpoint", checkpoint, "--eps", "0", "--sigmas", "0", "--attacks", "fgsm"]
    assert main([*argv, *asked, "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "robustness.json").read_text())
    assert res["SNN (bntt_convnet)"]["samples"] == expected == res["analysis_set"]["size"]
    assert sum(res["analysis_set"]["class_counts"].values()) == expected


def test_analyze_firing_prints_no_empty_column(tmp_path, capsys):
    assert (
        main(
            [
                "analyze",
                "firing",
                "--model",
                "spiking_resnet18",
                "--batches",
                "1",
                "--batch-size",
                "2",
                "--image-size",
                "8",
                "--out",
                str(tmp_path),
                "stem=cifar",
                "width=4",
                "T=2",
            ]
        )
        == 0
    )
    header, row = capsys.readouterr().out.splitlines()[:2]
    assert header.split() == ["model", "blocks", "mean_firing_rate"]
    assert row.split()[:2] == ["spiking_resnet18", "8"] and 0 <= float(row.split()[2]) <= 1
