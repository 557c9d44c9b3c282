"""Evaluation draws its randomness (rate coding) from seeded generators: ``fullspike evaluate``
on a finished run repeats the test accuracy its training recorded, exactly, and leaves the
caller's random streams as they were."""

import json

import pytest
import torch

import fullspike
from fullspike.cli import main
from fullspike.train import build_eval_loader, evaluate, fit, load_config

TINY = [
    "model.T=3",
    "model.width=4",
    "model.hidden=16",
    "train.epochs=1",
    "train.tensorboard=false",
    "data.train_subset=128",
    "data.test_subset=100",
    "data.batch_size=16",
]  # rate coding (the default)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "quick"
    fit(load_config(None, TINY), out)
    return out


def _evaluate_cli(run, tmp_path, name, *extra):
    assert main(["evaluate", "--checkpoint", str(run), "--out", str(tmp_path / name), *extra]) == 0
    return json.loads((tmp_path / name).read_text())


def test_evaluate_repeats_the_recorded_test_accuracy_exactly(run, tmp_path):
    metrics = json.loads((run / "metrics.json").read_text())
    first, second = _evaluate_cli(run, tmp_path, "a.json"), _evaluate_cli(run, tmp_path, "b.json")
    assert first["accuracy"] == second["accuracy"] == metrics["test_accuracy"]
    assert first["loss"] == second["loss"] == metrics["test_loss"]
    assert first["seed"] == metrics["test_seed"] == 0


def test_the_seed_changes_the_draws_and_is_recorded(run, tmp_path, capsys):
    other = [_evaluate_cli(run, tmp_path, f"s{s}.json", "--seed", str(s)) for s in (1, 2, 3)]
    assert [o["seed"] for o in other] == [1, 2, 3]
    assert len({o["loss"] for o in other}) > 1  # rate coding draws differ with the seed
    assert "seed: 3" in capsys.readouterr().out


def test_evaluation_leaves_the_callers_random_streams_alone(run):
    model, cfg = fullspike.load(run)
    loader, _ = build_eval_loader(cfg, "test")
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = evaluate(model, loader, torch.device("cpu"))
    assert torch.equal(torch.get_rng_state(), state)
    torch.rand(5)  # whatever the caller's stream is doing, evaluation gives the same numbers
    assert evaluate(model, loader, torch.device("cpu")) == a
    assert evaluate(model, loader, torch.device("cpu"), seed=1) != a
