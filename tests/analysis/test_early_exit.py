"""BNTT early exit: the exit rule on hand-set gammas, one-pass accuracy per step, per-sample exit."""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import fullspike
from fullspike.analysis.early_exit import (
    accuracy_per_step,
    analyse_early_exit,
    exit_step,
    gamma_statistics,
    mean_gamma_per_step,
    per_sample_exit,
    running_logits,
)
from fullspike.errors import ConfigError
from fullspike.nn import BNTT1d, BNTT2d
from fullspike.viz import plot_accuracy_energy, plot_gamma


def tiny(T=5, **kw):
    return fullspike.create_model("bntt_convnet", T=T, width=4, hidden=8, image_size=8, **kw)


def set_gammas(model, per_step):
    for m in model.modules():
        if isinstance(m, (BNTT1d, BNTT2d)):
            m.weight.data[:] = torch.tensor(per_step).view(-1, 1)


@pytest.mark.parametrize(
    "gammas, threshold, expected",
    [
        ([1.0, 0.8, 0.5, 0.05, 0.02], 0.1, 3),
        ([1.0, 0.05, 0.5, 0.05, 0.01], 0.1, 3),  # dips below, then back above: must *stay* below
        ([1.0, 0.8, 0.5, 0.05, 0.02], 0.6, 2),  # threshold configurable
        ([1.0, 0.8, 0.5, 0.3, 0.2], 0.1, 5),  # never collapses: run all steps
        ([0.05, 0.05, 0.05, 0.05, 0.05], 0.1, 1),
    ],
)
def test_exit_step_rule_on_hand_set_gammas(gammas, threshold, expected):
    m = tiny()
    set_gammas(m, gammas)
    mg = mean_gamma_per_step(gamma_statistics(m))
    assert mg.tolist() == pytest.approx(gammas)
    assert exit_step(mg, threshold) == expected


def test_gamma_is_averaged_over_channels_then_layers():
    m = tiny(T=2)
    layers = [mod for mod in m.modules() if isinstance(mod, (BNTT1d, BNTT2d))]
    layers[0].weight.data[:] = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.4, 0.4, 0.4, 0.4]])  # means .25, .4
    for other in layers[1:]:
        other.weight.data[:] = torch.tensor([[0.5], [0.1]])
    mg = mean_gamma_per_step(gamma_statistics(m))
    assert mg.tolist() == pytest.approx([(0.25 + 0.5 + 0.5) / 3, (0.4 + 0.1 + 0.1) / 3])


def test_early_exit_needs_bntt():
    with pytest.raises(ConfigError, match="BNTT"):
        gamma_statistics(tiny(norm="none"))


def test_running_mean_equals_a_shorter_run():
    torch.manual_seed(0)
    m = tiny(T=4, encoding="direct").eval()
    frames = torch.randn(4, 3, 1, 8, 8)
    with torch.no_grad():
        run = running_logits(m.forward_steps(frames))
        for t in range(1, 5):
            torch.testing.assert_close(run[t - 1], m(frames[:t]), rtol=0, atol=1e-5)


def test_accuracy_and_per_sample_exit_by_hand():
    # 3 steps, 2 samples, 2 classes; labels [0, 1]
    steps = torch.tensor(
        [
            [[0.0, 10.0], [0.0, 10.0]],  # step 1: both say class 1, very sure
            [[40.0, 0.0], [0.0, 0.0]],  # step 2: running means [20, 5], [0, 5]
            [[0.0, 0.0], [0.0, 0.0]],
        ]
    )
    labels = torch.tensor([0, 1])
    assert accuracy_per_step(steps, labels) == pytest.approx([0.5, 1.0, 1.0])
    latency, correct = per_sample_exit(steps, labels, margin=0.99)
    assert latency.tolist() == [1, 1] and correct.tolist() == [False, True]  # both exit at step 1
    latency, correct = per_sample_exit(steps, labels, margin=0.99999)
    assert latency.tolist() == [2, 3] and correct.tolist() == [True, True]


def test_analyse_early_exit_end_to_end(tmp_path):
    torch.manual_seed(0)
    m = tiny(T=4)
    set_gammas(m, [1.0, 0.9, 0.05, 0.01])
    loader = [(torch.randn(3, 1, 8, 8), torch.tensor([0, 1, 2])) for _ in range(2)]
    r = analyse_early_exit(m, loader, threshold=0.1, margins=(0.0, 1.0), energy_batches=1)
    assert r.exit_step == 2 and r.samples == 6 and len(r.accuracy) == 4
    assert len(r.energy_mj) == 4 and all(a < b for a, b in zip(r.energy_mj, r.energy_mj[1:]))
    assert r.energy_saved == pytest.approx(1 - r.energy_mj[1] / r.energy_mj[3])
    zero, never = r.per_sample
    assert zero["mean_latency"] == 1.0 and zero["accuracy"] == pytest.approx(r.accuracy[0])
    assert never["mean_latency"] == 4.0 and never["accuracy"] == pytest.approx(r.accuracy[-1])
    assert never["energy_mj"] == pytest.approx(r.energy_mj[-1])
    assert "exit step (threshold 0.1): 2 of 4" in r.summary()
    assert plot_gamma(gamma_statistics(m), tmp_path / "g.png", 0.1).stat().st_size > 0
    assert plot_accuracy_energy(r, tmp_path / "a.png").stat().st_size > 0


def test_the_margin_is_chosen_on_validation_outputs():
    from fullspike.analysis.early_exit import choose_margin

    # 2 samples, 3 steps, 2 classes: sample 0 is sure (and right) from step 1, sample 1 only at step 3
    steps = torch.tensor([[[4.0, 0.0], [0.2, 0.0]], [[4.0, 0.0], [0.0, 0.1]], [[4.0, 0.0], [0.0, 9.0]]])
    labels = torch.tensor([0, 1])
    # margin 0.01: sample 1 exits at step 1, wrong; 0.5: it waits until step 3 and is right
    assert choose_margin(steps, labels, (0.01, 0.5, 0.99)) == 0.5
    assert choose_margin(steps, torch.tensor([1, 0]), (0.5,)) == 0.5  # full-T accuracy 0: any margin keeps it
    wrong_late = steps.clone()
    wrong_late[2, 1] = torch.tensor([9.0, 0.0])  # sample 1 wrong at T: early exit is right, full T is not
    assert choose_margin(wrong_late, labels, (0.01,)) == 0.01


def test_analyse_early_exit_records_the_margin_chosen_on_a_validation_loader():
    m = tiny(T=4).eval()
    g = torch.Generator().manual_seed(0)
    test = [(torch.rand(6, 1, 8, 8, generator=g), torch.arange(6) % 10)]
    val = [(torch.rand(6, 1, 8, 8, generator=g), torch.arange(6) % 10)]
    r = analyse_early_exit(m, test, energy_batches=0, val_loader=val, margins=(0.0, 0.5))
    assert r.val_samples == 6 and r.chosen_margin in (0.0, 0.5) and r.chosen["margin"] == r.chosen_margin
    assert r.to_dict()["chosen_margin"] == r.chosen_margin
    # the record holds what the choice saw: the chosen margin is, of those keeping the validation
    # accuracy of all T steps, the one with the fewest steps on validation
    kept = [p for p in r.per_sample if p["val_accuracy"] >= r.val_accuracy_full]
    best = min(kept, key=lambda p: (p["val_mean_latency"], -p["margin"])) if kept else None
    assert r.chosen_margin == (best["margin"] if best else None)
    assert analyse_early_exit(m, test, energy_batches=0).chosen_margin is None
    assert "val_accuracy" not in analyse_early_exit(m, test, energy_batches=0, margins=(0.5,)).per_sample[0]


def test_energy_is_counted_on_a_class_balanced_share_of_a_loader(monkeypatch):
    """A test set stored class by class: one batch's worth of energy samples covers every class."""
    import fullspike.energy

    counted, real = [], fullspike.energy.count_synaptic_ops

    def spy(model, loader, **kw):
        counted.extend(int(y) for _, ys in loader for y in ys)
        return real(model, loader, **kw)

    monkeypatch.setattr(fullspike.energy, "count_synaptic_ops", spy)
    x, y = torch.rand(9, 1, 8, 8), torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    loader = DataLoader(TensorDataset(x, y), batch_size=3)
    analyse_early_exit(tiny(T=2), loader, energy_batches=1, margins=(0.5,))
    assert sorted(counted) == [0, 1, 2]  # not the first batch, all of class 0


def test_full_T_accuracy_is_evaluate_s_for_a_rate_coded_model_and_the_same_seed():
    """``fullspike evaluate --early-exit`` runs the analysis under the seed ``evaluate`` uses: at
    T' = T it is the same model on the same spikes, so the same accuracy (the progress bar around
    its loop once started the DataLoader twice, shifting every draw)."""
    from fullspike.data import build_dataset, make_loader
    from fullspike.energy import estimate_bn_stats
    from fullspike.seeding import seeded_draws
    from fullspike.train import evaluate

    data, info = build_dataset("digits", None, False)
    loader = make_loader(data, info, batch_size=64, shuffle=False)
    m = estimate_bn_stats(tiny(T=3, encoding="rate"), loader, 2).eval()
    accuracies = {seed: evaluate(m, loader, "cpu", progress=False, seed=seed)["accuracy"] for seed in range(3)}
    assert len(set(accuracies.values())) > 1  # the accuracy depends on the draws: the check below can fail
    for progress in (False, True):
        with seeded_draws(0, torch.device("cpu")):
            r = analyse_early_exit(m, loader, energy_batches=0, progress=progress)
        assert r.samples == len(data) and r.accuracy[-1] == pytest.approx(accuracies[0], abs=0.1 / len(data))


@pytest.mark.parametrize("threshold", [0, -0.1, float("nan")])
def test_the_exit_threshold_is_a_positive_number(threshold):
    with pytest.raises(ConfigError, match=r"^threshold must be a finite number > 0, got "):
        exit_step(torch.tensor([0.5, 0.05]), threshold)


@pytest.mark.parametrize("margin", [-0.1, 1.5, float("nan")])
def test_a_per_sample_margin_is_a_probability_difference(margin):
    steps, labels = torch.zeros(2, 3, 4), torch.zeros(3, dtype=torch.long)
    with pytest.raises(ConfigError, match=r"^margin must be a finite number in \[0, 1\], got "):
        per_sample_exit(steps, labels, margin)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("threshold", dict(threshold=-1)),
        (r"margins\[1\]", dict(margins=(0.5, 1.5))),
        ("energy_batches", dict(energy_batches=-1)),
        ("max_batches", dict(max_batches=0)),
    ],
)
def test_analyse_early_exit_refuses_nonsense_before_any_work(name, kwargs):
    loader = [(torch.randn(3, 1, 8, 8), torch.tensor([0, 1, 2]))]
    with pytest.raises(ConfigError, match=rf"^{name} must be "):
        analyse_early_exit(tiny(T=2), loader, **kwargs)
