"""Opening a file never runs code: a checkpoint whose unpickling would write a marker file is
refused in one line by every entry point that opens a user's checkpoint, and the marker never
appears; fullspike's own checkpoints (RNG, NumPy, Python and optimiser states) still load."""

import shutil
from pathlib import Path

import pytest
import torch

import fullspike
from fullspike.cli import main
from fullspike.errors import CheckpointError
from fullspike.safe_load import CHECKPOINT_FORMAT, UNSAFE, load_state

TINY = [
    "model.T=2",
    "model.width=8",
    "model.hidden=32",
    "data.train_subset=64",
    "data.test_subset=32",
    "train.epochs=1",
    "train.tensorboard=false",
]


class _RunsCode:
    """Unpickling this object runs ``exec`` of a line that writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def _evil(path: Path, marker: Path, header: bool = True) -> Path:
    content = {"model": _RunsCode(marker)}
    if header:  # looks like a fullspike checkpoint from outside
        content = {"format": CHECKPOINT_FORMAT, "model_name": "bntt_convnet", **content}
    torch.save(content, path)
    return path


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("safe") / "run"
    assert main(["train", "--out", str(run), *TINY]) == 0
    return run


@pytest.fixture
def evil_run(trained_run, tmp_path):
    """A copy of a real run folder whose checkpoint.pt was replaced by a code-running pickle."""
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    _evil(run / "checkpoint.pt", tmp_path / "MARKER")
    return run


def test_the_unsafe_pickle_would_run_code_if_unpickled(tmp_path):
    # the test's premise: the file really runs code under the unrestricted loader
    path = _evil(tmp_path / "evil.pt", tmp_path / "MARKER")
    torch.load(path, weights_only=False)
    assert (tmp_path / "MARKER").read_text() == "ran"


@pytest.mark.parametrize("header", [True, False])
def test_load_state_refuses_in_one_line_and_runs_nothing(tmp_path, header):
    path = _evil(tmp_path / "evil.pt", tmp_path / "MARKER", header)
    with pytest.raises(CheckpointError, match=UNSAFE) as err:
        load_state(path)
    assert "\n" not in str(err.value) and "exec" in str(err.value)  # names what it asked for
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.parametrize(
    "argv",
    [
        lambda run: ["evaluate", "--checkpoint", str(run / "checkpoint.pt")],
        lambda run: ["evaluate", "--checkpoint", str(run)],
        lambda run: ["energy", "--checkpoint", str(run / "checkpoint.pt"), "--samples", "4"],
        lambda run: ["robustness", "--checkpoint", str(run), "--samples", "4", "--attacks", "gaussian"],
        lambda run: ["export", str(run), "--out", str(run / "net.nir")],
        lambda run: ["export", str(run), "--check"],
        lambda run: ["train", "--out", str(run), "--resume"],
        lambda run: ["train", "--out", str(run), "--resume", "train.epochs=2"],
    ],
    ids=[
        "evaluate-file",
        "evaluate-run",
        "energy",
        "robustness",
        "export",
        "export-check",
        "resume",
        "resume-overrides",
    ],
)
def test_every_command_refuses_the_pickle_without_running_it(evil_run, tmp_path, capsys, argv):
    assert main(argv(evil_run)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and UNSAFE in err[0], err
    assert not (tmp_path / "MARKER").exists()


def test_fullspike_load_and_create_model_refuse_the_pickle(evil_run, tmp_path):
    for call in (
        lambda: fullspike.load(evil_run),
        lambda: fullspike.load(evil_run / "checkpoint.pt"),
        lambda: fullspike.create_model("bntt_convnet", checkpoint_path=evil_run / "checkpoint.pt"),
        lambda: fullspike.create_model(
            "bntt_convnet", checkpoint_path=_evil(tmp_path / "sd.pt", tmp_path / "MARKER", header=False)
        ),
    ):
        with pytest.raises(CheckpointError, match=UNSAFE):
            call()
    assert not (tmp_path / "MARKER").exists()


def test_the_study_runner_refuses_the_pickle(evil_run, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))  # the checkout's studies/
    from studies.runner import load_run

    with pytest.raises(CheckpointError, match=UNSAFE):
        load_run(evil_run)
    assert not (tmp_path / "MARKER").exists()


def test_the_zoo_refuses_a_pickle_even_with_a_matching_card(tmp_path):
    from fullspike import zoo

    path = _evil(tmp_path / "net.pt", tmp_path / "MARKER", header=False)
    (tmp_path / "cards.json").write_text(
        '{"net": {"file": "net.pt", "sha256": "%s", "model": "bntt_convnet", "model_kwargs": {}}}' % zoo.sha256(path)
    )
    with pytest.raises(CheckpointError, match=UNSAFE):
        zoo.load("net", tmp_path)
    assert not (tmp_path / "MARKER").exists()


def test_fullspike_checkpoints_load_under_weights_only_with_every_state(trained_run):
    ckpt = torch.load(trained_run / "checkpoint.pt", weights_only=True)
    assert {"rng", "optimizer", "model", "config"} <= set(ckpt)
    assert {"torch", "numpy", "python"} <= set(ckpt["rng"]) and ckpt["optimizer"]["state"]
    model, cfg = fullspike.load(trained_run)
    assert cfg.model_name == "bntt_convnet" and not model.training
