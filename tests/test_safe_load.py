"""Opening a file never runs code: a checkpoint whose unpickling would write a marker file is
refused in one line by every entry point that opens a user's checkpoint, and the marker never
appears; fullspike's own checkpoints (RNG, NumPy, Python and optimiser states) still load."""

import re
import shutil
from pathlib import Path

import pytest
import torch

import fullspike
from fullspike.cli import main
from fullspike.errors import CheckpointError
from fullspike.safe_load import (
    CHECKPOINT_FORMAT,
    RAW_PICKLE,
    UNSAFE,
    WEIGHTS_SHA256,
    check_checkpoint,
    load_state,
    weights_sha256,
)

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


@pytest.mark.parametrize(
    "payload, protocol", [("object", 4), ("object", 5), ("dict", 2), ("dict", 3), ("dict", 4), ("dict", 5)]
)
def test_a_raw_pickle_is_refused_as_not_tensor_only_not_as_corrupt(tmp_path, protocol, payload):
    """A bare pickle of a plain dict (protocols 2 and 3 reach torch's legacy reader and failed there
    as 'corrupt'), or of a code-running object in protocols 4/5, which fail on their framing first
    (in 2 and 3 torch names the global it refuses)."""
    import pickle

    path = tmp_path / f"raw_p{protocol}.pkl"
    obj = _RunsCode(tmp_path / "MARKER") if payload == "object" else {"w": [1.0, 2.0]}
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    with pytest.raises(CheckpointError, match=re.escape(RAW_PICKLE)) as err:
        load_state(path)
    assert "corrupt" not in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "MARKER").exists()


@pytest.mark.parametrize("content", [b"", b"hello world\n", bytes(range(256)) * 20], ids=["empty", "text", "noise"])
def test_an_unreadable_file_is_corrupt_in_our_words_not_torchs(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="is corrupt or not a PyTorch file") as err:
        load_state(path)
    assert "PyTorch 2.6" not in str(err.value) and "weights_only" not in str(err.value)
    assert "\n" not in str(err.value)


def test_weights_sha256_covers_names_dtypes_shapes_and_bytes():
    state = {"a.weight": torch.arange(6.0).reshape(2, 3), "b.bias": torch.ones(3, dtype=torch.float16)}
    digest = weights_sha256(state)
    assert weights_sha256(dict(reversed(state.items()))) == digest  # the key order does not matter
    flipped = dict(state, **{"a.weight": state["a.weight"].clone()})
    flipped["a.weight"].view(-1).view(torch.int32)[0] ^= 1  # one bit of the data
    for other in (
        flipped,
        dict(state, **{"a.weight": state["a.weight"].reshape(3, 2)}),  # same bytes, other shape
        dict(state, **{"b.bias": state["b.bias"].view(torch.int16)}),  # same bytes, other dtype
        {"a.bias" if k == "a.weight" else k: v for k, v in state.items()},  # another name
    ):
        assert weights_sha256(other) != digest


def _checkpoint(**changes) -> dict:
    """A valid fullspike checkpoint of a tiny net with ``changes`` made to it."""
    from fullspike.train.checkpoint import rng_state

    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "version": 1,
        WEIGHTS_SHA256: weights_sha256(model.state_dict()),
        "epoch": 1,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "rng": rng_state(),
        "history": [{"epoch": 0, "loss": 1.0}],
        "train_seconds": 1.5,
        "train_cpu_seconds": 2.0,
        "model_name": "linear",
        "model_kwargs": {"T": 2},
        "config": {"model": {"name": "linear"}},
    }
    return {**ckpt, **changes}


def test_a_valid_checkpoint_passes_the_check():
    ckpt = _checkpoint()
    assert check_checkpoint(ckpt, "c.pt", keys=("model", "rng", "optimizer")) is ckpt


@pytest.mark.parametrize(
    "key,value",
    [
        ("model", [1, 2, 3]),
        ("model", None),
        ("model", "hello"),
        ("model", {"w": "not a tensor"}),
        ("model_kwargs", "x"),
        ("config", [1]),
        ("model_name", 5),
        ("rng", {"torch": torch.zeros(3)}),
        ("optimizer", {"state": 5}),
        ("epoch", "five"),
        ("epoch", -1),
        ("history", "x"),
        ("train_seconds", float("nan")),
        (WEIGHTS_SHA256, "abc"),
    ],
)
def test_a_malformed_entry_is_one_line_naming_the_file_and_the_entry(key, value):
    with pytest.raises(CheckpointError) as err:
        check_checkpoint(_checkpoint(**{key: value}), "run/c.pt")
    msg = str(err.value)
    assert "\n" not in msg and "run/c.pt" in msg and f"malformed '{key}' entry" in msg


def test_weights_that_differ_from_the_recorded_checksum_are_corrupt_and_older_checkpoints_load(caplog):
    ckpt = _checkpoint()
    ckpt["model"]["weight"][0, 0] += 1e-3
    with pytest.raises(CheckpointError, match="is corrupt: its weights do not match the checksum recorded"):
        check_checkpoint(ckpt, "c.pt")
    del ckpt[WEIGHTS_SHA256]  # an older fullspike's checkpoint: nothing to check against
    assert check_checkpoint(ckpt, "c.pt") is ckpt
    assert not caplog.records


def test_non_finite_weights_are_a_warning_naming_how_many(caplog):
    ckpt = _checkpoint()
    ckpt["model"]["weight"][0, 0] = float("nan")
    ckpt["model"]["bias"][0] = float("inf")
    del ckpt[WEIGHTS_SHA256]
    check_checkpoint(ckpt, "c.pt")
    [record] = caplog.records
    assert record.levelname == "WARNING" and "2 of its 2 weight tensors hold NaN or inf" in record.getMessage()
