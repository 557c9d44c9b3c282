"""The benchmark's modes (benchmarks/run.py, benchmarks/measure.py): an inference step records
nothing for backward and leaves the model's state alone, the worker measures either mode, and
the rendering keeps each (case, mode) in its own table, old training-only result files included.
Tiny shapes; no timing is asserted."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
import measure  # noqa: E402

_spec = importlib.util.spec_from_file_location("benchmarks_run", BENCH / "run.py")
run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run)

import fullspike  # noqa: E402


def tiny_bntt():
    torch.manual_seed(0)
    return fullspike.create_model("bntt_convnet", T=2, width=4, hidden=8, image_size=8)


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_inference_step_is_eval_no_grad_and_changes_nothing():
    model = tiny_bntt()
    x = torch.randn(2, 1, 8, 8)
    outputs = []
    model.register_forward_hook(lambda m, i, out: outputs.append(out))
    before = state(model)
    step = measure.make_inference_step(model, (x,))
    step()
    assert not model.training
    assert len(outputs) == 1 and not outputs[0].requires_grad and outputs[0].grad_fn is None
    assert all(p.grad is None for p in model.parameters())
    after = state(model)  # BNTT's running statistics are not updated in evaluation
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_training_step_puts_the_model_back_in_training_mode():
    model = tiny_bntt().eval()
    x = torch.randn(2, 1, 8, 8)
    labels = torch.tensor([1, 3])
    before = state(model)
    step = measure.make_step(model, (x,), lambda out: torch.nn.functional.cross_entropy(out, labels), True)
    step()
    assert model.training
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    after = state(model)
    assert any(not torch.equal(before[k], after[k]) for k in before)


ROW_KEYS = {"status", "first_s", "median_s", "min_s", "times_s", "peak_mb", "threads"}


def worker_row(mode):
    return run.worker(
        dict(
            case="vgg9",
            T=2,
            batch=2,
            framework="fullspike",
            device="cpu",
            warmup=0,
            reps=1,
            allocator="default",
            mode=mode,
        )
    )


def test_worker_measures_inference_with_less_memory_than_training():
    inference, train = worker_row("inference"), worker_row("train")
    assert inference["status"] == "ok" and set(inference) == ROW_KEYS
    assert train["status"] == "ok" and set(train) == ROW_KEYS
    assert len(inference["times_s"]) == 1 and inference["median_s"] > 0
    # nothing is saved for backward and no gradient is made: far below a training step's peak
    assert 0 < inference["peak_mb"] < train["peak_mb"] / 2


def test_worker_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="unknown mode 'predict'"):
        worker_row("predict")


def ok_row(ms, mb, **extra):
    return {
        "status": "ok",
        "median_s": ms / 1e3,
        "min_s": ms / 1e3,
        "first_s": 1.0,
        "peak_mb": mb,
        "steps": 3,
        "rounds": 1,
        "threads": 1,
        "date": "2026-11-30",
        "command": "python benchmarks/run.py",
        "load": "1.0",
        **extra,
    }


def store_with_old_training_rows():
    meta = {"device_name": "test cpu", "versions": {"torch": "t", "spikingjelly": "s", "snntorch": "n"}, "threads": 1}
    return {
        "meta": meta,
        "rows": {
            "vgg9|25|4|fullspike|default": ok_row(100, 200),  # written before --mode existed
            "vgg9|25|4|ann|default": ok_row(110, 300),
            run.row_key("vgg9", 25, 4, "fullspike", "default", "inference"): ok_row(40, 20, mode="inference"),
            run.row_key("vgg9", 25, 4, "ann", "default", "inference"): ok_row(20, 10, mode="inference"),
        },
    }


def test_rendering_puts_inference_rows_in_their_own_table():
    text = run.render("cpu", store_with_old_training_rows())
    sections = text.split("### ")[1:]
    assert len(sections) == 2
    train, inference = sections  # training first, then inference of the same case
    assert train.startswith("BNTT VGG9") and "training step" in train.splitlines()[0]
    assert "inference" in inference.splitlines()[0]
    assert "| step time (ms, median) |" in train and "| forward time (ms, median) |" in inference
    assert "| fullspike | 100 | 1.00x | 200 | 1.00x |" in train
    assert "| ann | 110 | 1.10x | 300 | 1.50x |" in train
    assert "| fullspike | 40 | 1.00x | 20 | 1.00x |" in inference
    assert "| ann | 20 | 0.50x | 10 | 0.50x |" in inference


def test_old_rows_load_as_training_rows_that_a_new_run_replaces(tmp_path):
    import json

    path = tmp_path / "cpu.json"
    path.write_text(json.dumps(store_with_old_training_rows()))
    store = run.load_store(path)
    key = run.row_key("vgg9", 25, 4, "fullspike", "default", "train")
    assert store["rows"][key]["mode"] == "train" and len(store["rows"]) == 4
    store["rows"][key] = ok_row(90, 180, mode="train")  # what a new training run writes
    text = run.render("cpu", store)
    assert text.count("| fullspike |") == 2
    assert "| fullspike | 90 |" in text and "| fullspike | 100 |" not in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--mode", "predict"], "--mode takes a comma-separated subset of train, inference"),
        (["--cases", "lif", "--mode", "inference"], "nothing to run"),
    ],
)
def test_main_refuses_modes_with_nothing_to_measure(argv, message, capsys):
    assert run.main(argv + ["--no-write"]) == 2
    assert message in capsys.readouterr().err


def test_time_interleaved_takes_the_steps_in_turn_starting_one_further_each_round():
    calls = []
    steps = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    out = measure.time_interleaved(steps, torch.device("cpu"), warmup=1, reps=3)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]
    assert set(out) == {"a", "b", "c"}
    assert all(len(r["times_s"]) == 3 and r["min_s"] <= r["median_s"] for r in out.values())


def test_a_shared_worker_measures_every_framework_in_one_process():
    row = run.worker(
        dict(
            case="vgg9",
            T=2,
            batch=2,
            frameworks=["fullspike", "ann"],
            device="cpu",
            warmup=0,
            reps=2,
            allocator="default",
            mode="inference",
        )
    )
    assert row["status"] == "ok" and list(row["rows"]) == ["fullspike", "ann"]
    for r in row["rows"].values():
        assert set(r) == ROW_KEYS and r["status"] == "ok" and len(r["times_s"]) == 2
        assert r["peak_mb"] > 0


def test_shared_rows_get_tables_of_their_own_and_old_keys_ran_fresh():
    store = store_with_old_training_rows()
    store["rows"]["vgg9|25|4|fullspike|default|train"] = ok_row(100, 200)  # six parts: fresh
    for fw, ms in (("fullspike", 95), ("ann", 100)):
        store["rows"][run.row_key("vgg9", 25, 4, fw, "default", "train", "shared")] = ok_row(ms, 200)
    text = run.render("cpu", store)
    titles = [s.splitlines()[0] for s in text.split("### ")[1:]]
    assert len(titles) == 3 and titles[-1].endswith("training step (one process, frameworks in turn)")
    assert not any("one process" in t for t in titles[:2])
    assert "| ann | 100 | 1.05x |" in text.split("### ")[-1]
