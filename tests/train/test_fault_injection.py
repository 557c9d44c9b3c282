"""Fault injection in CI (the full 20-kill study is scripts/fault_injection.py, results in
docs/fault_injection.md): one run SIGKILLed three times, twice inside a checkpoint save, resumed
with `fullspike train --config ... --resume` each time, ends bit-identical to an uninterrupted run."""

import random

import pytest

OVERRIDES = [
    "model.T=2",
    "model.width=4",
    "model.hidden=16",
    "data.train_subset=256",
    "data.test_subset=32",
    "data.batch_size=32",
    "train.epochs=5",
    "train.tensorboard=false",
]
PAUSE = 0.3  # seconds each save waits between its temporary file and the rename


@pytest.fixture(scope="module")
def fi(load_script):
    return load_script("fault_injection")


@pytest.mark.slow
def test_three_kills_two_inside_saves_then_resume_is_bit_identical(fi, tmp_path):
    reference = fi.reference_run(tmp_path / "reference", PAUSE, OVERRIDES)
    out, rng = tmp_path / "run", random.Random(0)

    first = fi.kill_run(out, PAUSE, {"kind": "save", "save": 2}, rng, OVERRIDES)
    assert first["inside_save"] and first["temporaries_left"] == 1 and first["checkpoint_epoch_at_kill"] == 1
    second = fi.kill_run(out, PAUSE, {"kind": "time", "after": 0.2}, rng, OVERRIDES, resume=True)
    assert not second["finished_before_kill"]
    third = fi.kill_run(out, PAUSE, {"kind": "save", "save": 1}, rng, OVERRIDES, resume=True)
    assert third["inside_save"] and not third["finished_before_kill"]

    final = fi.resume_run(out, OVERRIDES)
    assert final["resume"] == "resumed" and final["resume_rc"] == 0, final["resume_error"]
    assert final["orphans_removed"] == 1 and final["temporaries_after"] == 0
    assert fi.identical(fi.weights(out), reference["weights"])
    assert fi.metrics_epochs(out) == [1, 2, 3, 4, 5]  # no row of a lost epoch twice
