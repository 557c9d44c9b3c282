"""Optional extras (events, plot, tensorboard): never imported by `import fullspike`, and a
missing one is a clear hint naming the extra to install."""

import json
import logging
import os
import subprocess
import sys

import pytest

from fullspike.errors import MissingDependencyError
from fullspike.optional import require

OPTIONAL = ("matplotlib", "tensorboard", "tonic", "aedat")


def test_require_returns_the_module():
    import json as real

    assert require("json", extra="x") is real


def test_a_missing_module_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(MissingDependencyError) as e:
        require("matplotlib", extra="plot", purpose="drawing plots")
    msg = str(e.value)
    assert msg.startswith("drawing plots needs matplotlib, which is not installed (")
    assert msg.endswith(": pip install 'fullspike[plot]'") and "\n" not in msg


def test_importing_fullspike_imports_no_optional_package():
    code = (
        "import sys, fullspike, fullspike.train, fullspike.energy, fullspike.analysis, fullspike.data, "
        "fullspike.dst, fullspike.cli, fullspike.data.events\n"
        "from fullspike.cli import build_parser; build_parser()\n"
        f"print([m for m in {OPTIONAL!r} if m in sys.modules])"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def tiny_config(*overrides: str):
    """The embedded default at a size that trains in a second."""
    from fullspike.train import load_config

    size = ["model.T=2", "model.width=4", "model.hidden=16", "data.train_subset=32", "data.test_subset=16"]
    return load_config(None, [*size, "train.epochs=1", *overrides])


def test_without_matplotlib_energy_writes_its_json_and_notes_the_plot(tmp_path, capsys, monkeypatch):
    from fullspike.cli import main
    from fullspike.train import fit

    fit(tiny_config("train.tensorboard=false"), tmp_path / "run")
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert (
        main(
            [
                "energy",
                "--checkpoint",
                str(tmp_path / "run" / "checkpoint.pt"),
                "--samples",
                "16",
                "--out",
                str(tmp_path / "e"),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert json.loads((tmp_path / "e" / "energy.json").read_text())["summary"]["samples"] == 16
    assert not (tmp_path / "e" / "energy.png").exists()
    assert captured.err.strip() == (
        "note: energy.png not drawn: drawing plots needs matplotlib, which is not "
        "installed (import of matplotlib halted; None in sys.modules): "
        "pip install 'fullspike[plot]'"
    )
    assert f"wrote {tmp_path / 'e' / 'energy.json'}\n" in captured.out


def test_without_tensorboard_training_warns_once_and_goes_on(tmp_path, caplog, monkeypatch):
    from fullspike.train import fit

    monkeypatch.setitem(sys.modules, "tensorboard", None)
    metrics = fit(tiny_config("train.tensorboard=true"), tmp_path)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "train.tensorboard=true needs tensorboard, which is not installed (import of "
        "tensorboard halted; None in sys.modules): pip install 'fullspike[tensorboard]'; metrics go to "
        "metrics.jsonl only (train.tensorboard=false hides this)"
    ]
    assert 0 <= metrics["test_accuracy"] <= 1 and not (tmp_path / "tb").exists()


def test_by_default_training_without_tensorboard_is_quiet_and_with_it_logs(tmp_path, caplog, monkeypatch):
    from fullspike.train import fit, load_config

    tiny = [
        "model.T=2",
        "model.width=4",
        "model.hidden=16",
        "data.train_subset=32",
        "data.test_subset=16",
        "train.epochs=1",
    ]
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "tensorboard", None)
        fit(load_config(None, tiny), tmp_path / "without")
        # train.tensorboard: null asks for nothing
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert not (tmp_path / "without" / "tb").exists()
    fit(load_config(None, tiny), tmp_path / "with")  # tensorboard is installed in the dev extra
    assert list((tmp_path / "with" / "tb").glob("events.out.tfevents.*"))
