"""The Trainer on its own (any module, any loss, callbacks, exact resume) and the built-in
callbacks as the config path uses them."""

import json

import pytest
import torch
from tiny import TINY
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from fullspike.errors import TrainingError
from fullspike.nn import LIF
from fullspike.train import Callback, Checkpoint, FiringRateRegularizer, Trainer, fit, load_checkpoint, load_config


class Spiking(nn.Module):
    """[B, 8] -> repeat over T=3 -> Linear -> LIF -> mean over time -> Linear: logits [B, 4]."""

    def __init__(self):
        super().__init__()
        self.fc1, self.lif, self.fc2 = nn.Linear(8, 16), LIF(tau=2.0), nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(self.lif(self.fc1(x).expand(3, *x.shape[:1], 16)).mean(0))


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(48, 8, generator=g), torch.randint(0, 4, (48,), generator=g))


def _trainer(callbacks=(), epochs=3, loss=nn.functional.cross_entropy, loader_seed=1):
    torch.manual_seed(0)
    model = Spiking()
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    loader = DataLoader(_data(), batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(loader_seed))
    return Trainer(
        model,
        loss,
        opt,
        loader,
        DataLoader(_data(1), batch_size=16),
        callbacks=list(callbacks),
        scheduler=sched,
        epochs=epochs,
    )


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_fit_start(self, trainer):
        self.events.append("fit_start")

    def on_epoch_start(self, trainer, epoch):
        self.events.append(f"epoch_start {epoch}")

    def on_evaluate(self, trainer, split, metrics):
        self.events.append(f"evaluate {split}")

    def on_epoch_end(self, trainer, row):
        self.events.append(f"epoch_end {row['epoch']}")
        row["extra"] = 1.0

    def on_fit_end(self, trainer):
        self.events.append("fit_end")


def test_trainer_trains_an_unregistered_module_with_any_loss_and_calls_the_hooks():
    rec = Recorder()
    calls = []

    def loss(out, y):
        calls.append(out.shape)
        return nn.functional.cross_entropy(out, y) + 0.0 * out.pow(2).mean()

    t = _trainer([rec], epochs=2, loss=loss)
    first = [p.detach().clone() for p in t.model.parameters()]
    result = t.fit()
    assert len(calls) == 2 * 6 + 2 * 3  # 6 training batches per epoch, 3 validation batches per evaluation
    assert rec.events == [
        "fit_start",
        "epoch_start 0",
        "evaluate val",
        "epoch_end 1",
        "epoch_start 1",
        "evaluate val",
        "epoch_end 2",
        "fit_end",
    ]
    assert [r["epoch"] for r in t.history] == [1, 2] and t.history[0]["extra"] == 1.0
    assert set(result) >= {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"}
    assert any(not torch.equal(a, b) for a, b in zip(first, t.model.parameters()))
    assert t.history[0]["lr"] == 0.5 and t.history[1]["lr"] == 0.25  # lr of each epoch's first step (step 6)


def test_trainer_resume_from_its_checkpoint_equals_an_uninterrupted_run(tmp_path):
    straight = _trainer(epochs=3)
    straight.fit()
    first = _trainer([Checkpoint(tmp_path / "c.pt")], epochs=1)
    first.fit()
    assert first.last_checkpoint == tmp_path / "c.pt"
    resumed = _trainer([Checkpoint(tmp_path / "c.pt")], epochs=3)
    torch.manual_seed(123)  # the restored RNG state must win over whatever ran in between
    resumed.load_state_dict(load_checkpoint(tmp_path / "c.pt"))
    assert resumed.epoch == 1
    resumed.fit()
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]


def test_firing_rate_regularizer_adds_its_penalty_and_lowers_the_rate():
    plain, reg = _trainer(epochs=4), _trainer([FiringRateRegularizer(5.0)], epochs=4)
    plain.fit()
    reg.fit()
    assert "firing_rate" in reg.history[-1] and "firing_rate" not in plain.history[-1]
    assert reg.history[-1]["firing_rate"] < 0.5 * reg.history[0]["firing_rate"]

    fr = FiringRateRegularizer(2.0)
    t = _trainer([fr], epochs=1)
    fr.on_fit_start(t)
    t.model.train()
    x = torch.randn(5, 8)
    spikes = t.model.lif(t.model.fc1(x).expand(3, 5, 16))
    t.model(x)
    base = torch.tensor(1.0)
    assert float(fr.on_loss(t, base).detach()) == pytest.approx(1.0 + 2.0 * float(spikes.mean().detach()))
    fr.on_fit_end(t)


def test_divergence_names_only_a_checkpoint_of_this_run(tmp_path, monkeypatch):
    import fullspike.train.experiment as experiment

    real, calls = experiment.classification_loss, []

    def nan_after(n):
        def loss(out, y, label_smoothing=0.0):
            calls.append(1)
            return real(out, y) * (float("nan") if len(calls) > n else 1.0)

        return loss

    monkeypatch.setattr(experiment, "classification_loss", nan_after(0))
    with pytest.raises(TrainingError) as e:
        fit(load_config(None, TINY), tmp_path / "a")
    assert "this run has written no checkpoint yet" in str(e.value) and "checkpoint.pt" not in str(e.value)
    calls.clear()
    monkeypatch.setattr(experiment, "classification_loss", nan_after(10))  # 8 steps per epoch: epoch 2
    with pytest.raises(TrainingError) as e:
        fit(load_config(None, TINY), tmp_path / "b")
    assert f"the last good checkpoint of this run is {tmp_path / 'b' / 'checkpoint.pt'}" in str(e.value)
    assert "at epoch 2, step 3" in str(e.value) and "\n" not in str(e.value)


def test_config_path_uses_regularizer_annealing_and_tensorboard_callbacks(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = load_config(
        None,
        TINY
        + [
            "train.epochs=3",
            "train.tensorboard=true",
            "data.val_fraction=0.1",
            "train.firing_rate_penalty=0.01",
            "train.surrogate_anneal={start: 0.3, end: 0.9, param: gamma}",
        ],
    )
    fit(cfg, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["surrogate_gamma"] for r in rows] == pytest.approx([0.3, 0.6, 0.9])
    assert all(0.0 < r["firing_rate"] < 1.0 for r in rows)
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train_loss", "lr", "val_accuracy", "val_loss", "test_accuracy", "test_loss", "firing_rate"} <= tags
    assert [e.step for e in acc.Scalars("val_accuracy")] == [1, 2, 3]
    assert [e.step for e in acc.Scalars("test_accuracy")] == [3]


def test_surrogate_annealing_refuses_a_parameter_no_surrogate_has(tmp_path):
    from fullspike.errors import ConfigError

    cfg = load_config(None, TINY + ["train.surrogate_anneal={start: 1, end: 4}"])  # BNTT: triangle, no alpha
    with pytest.raises(ConfigError, match="no spiking neuron's surrogate has a parameter 'alpha'"):
        fit(cfg, tmp_path)


@pytest.mark.parametrize(
    "override,message",
    [
        (
            "train.surrogate_anneal={start: -1, end: 4}",
            "config key 'train.surrogate_anneal.start' must be a number > 0",
        ),
        ("train.surrogate_anneal={start: 1, end: 2, parm: x}", "'train.surrogate_anneal.parm' (did you mean 'param'?)"),
        ("train.firing_rate_penalty=-1", "config key 'train.firing_rate_penalty' must be a number >= 0"),
    ],
)
def test_callback_config_keys_are_validated(override, message):
    from fullspike.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_step_function_and_metric_objects_replace_the_default_loop():
    """ignite style: ``step_fn(model, batch) -> (loss, output)`` over dict batches, a regression
    with its own metric; the default accuracy is not guessed away but asked for."""
    from fullspike.train.metrics import MeanLoss

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=g)
    data = [{"x": x[i : i + 8], "y": x[i : i + 8].sum(1, keepdim=True)} for i in range(0, 32, 8)]

    def step(model, batch):
        out = model(batch["x"])
        return nn.functional.mse_loss(out, batch["y"]), out

    class MeanAbsError(MeanLoss):
        def update(self, output, batch, loss):
            self._add(loss=float((output - batch["y"]).abs().sum()), count=len(batch["y"]))

    model = nn.Linear(4, 1)
    trainer = Trainer(
        model,
        None,
        torch.optim.SGD(model.parameters(), lr=0.1),
        data,
        data,
        step_fn=step,
        metrics=[MeanAbsError()],
        eval_metrics=[MeanAbsError()],
        epochs=20,
    )
    first = trainer.evaluate(data)["loss"]
    result = trainer.fit()
    assert set(result) >= {"train_loss", "val_loss"} and "train_accuracy" not in result
    assert result["val_loss"] < first / 4  # it learned the sum
    pairs = [(b["x"], b["y"]) for b in data]
    with pytest.raises(TrainingError, match="accuracy needs class logits"):  # the default metrics: classification
        Trainer(model, nn.functional.mse_loss, torch.optim.SGD(model.parameters(), lr=0.1), pairs).fit()


def test_distributed_is_asked_for_not_guessed():
    model = nn.Linear(2, 2)
    with pytest.raises(TrainingError, match=r"distributed=True\) needs an initialised process group"):
        Trainer(model, nn.functional.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.1), [], distributed=True)


def test_the_train_package_imports_nothing_back_up_its_own_chain():
    """callbacks do not import the trainer (they see a TrainerState), the optimisers not the config."""
    import ast
    from pathlib import Path

    import fullspike.train as train

    root = Path(train.__file__).parent

    def imports(name):
        tree = ast.parse((root / f"{name}.py").read_text())
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1}

    assert "trainer" not in imports("callbacks") and "config" not in imports("optim")
    assert "trainer" not in imports("metrics") and "callbacks" not in imports("metrics")
