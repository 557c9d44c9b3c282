"""Robustness: attack sanity on tiny models (FGSM raises the loss, strong attacks flip
predictions that zero-strength ones keep, PGD stays in the pixel-space ball and in valid images)."""

import numpy as np
import pytest
import torch

import fullspike
from fullspike.analysis.robustness import (
    Normalization,
    evaluate_robustness,
    fgsm,
    find_normalization,
    gaussian_noise,
    loss_gradient,
    pgd,
    robustness_table,
)
from fullspike.data import build_dataset
from fullspike.energy import estimate_bn_stats
from fullspike.errors import ConfigError, ShapeError
from fullspike.viz import plot_robustness

NORM = Normalization((0.3,), (0.4,))


def snn(encoding="direct"):
    return fullspike.create_model("bntt_convnet", T=3, width=4, hidden=8, image_size=8, encoding=encoding).eval()


def batch():
    g = torch.Generator().manual_seed(0)
    lo, hi = NORM.bounds(torch.zeros(1))
    return lo + (hi - lo) * torch.rand(8, 1, 8, 8, generator=g), torch.arange(8) % 10


@pytest.mark.parametrize("name", ["snn", "ann"])
def test_fgsm_increases_the_loss(name):
    torch.manual_seed(0)
    model = snn() if name == "snn" else fullspike.create_model("convnet_ann", width=4, hidden=8)
    x, y = batch()
    estimate_bn_stats(model, x, 1).eval()  # data statistics, so that the layers are active
    loss, grad = loss_gradient(model, x, y)
    assert grad.abs().sum() > 0  # the surrogate gradient reaches the input
    adv_loss, _ = loss_gradient(model, fgsm(model, x, y, 8 / 255, NORM), y)
    assert adv_loss > loss


def test_rate_coded_input_gets_a_gradient():
    torch.manual_seed(0)
    _, grad = loss_gradient(snn("rate"), *batch())
    assert grad.abs().sum() > 0


def test_accuracy_counts_clean_and_attacked_predictions():
    # labels = the model's own clean predictions, so clean accuracy is exactly 1; a strong attack
    # must flip some of them, and zero strength must change none
    torch.manual_seed(0)
    model = snn()
    x, _ = batch()
    estimate_bn_stats(model, x, 1).eval()
    with torch.no_grad():
        y = model(x).argmax(1)
    r = evaluate_robustness(model, [(x, y)], NORM, eps=(0.0, 64 / 255), sigmas=(0.0, 0.5), pgd_steps=3)
    assert r.samples == 8 and r.clean == 1.0
    for attack in ("gaussian", "fgsm", "pgd"):
        zero, strong = r.accuracy[attack].values()
        assert zero == 1.0 and strong < 1.0, (attack, r.accuracy[attack])
    assert all(p.requires_grad for p in model.parameters())  # restored


def test_pgd_and_noise_stay_in_the_pixel_ball_and_valid_images():
    torch.manual_seed(0)
    model = snn()
    x, y = batch()
    eps = 4 / 255
    for xp in (pgd(model, x, y, eps, NORM, steps=3), fgsm(model, x, y, eps, NORM)):
        pixel_delta = (xp - x) * 0.4
        assert pixel_delta.abs().max() <= eps + 1e-6 and pixel_delta.abs().max() > 0
        pixels = xp * 0.4 + 0.3
        assert pixels.min() >= -1e-6 and pixels.max() <= 1 + 1e-6
    noisy = gaussian_noise(x, 0.1, NORM, torch.Generator().manual_seed(0))
    assert ((noisy * 0.4 + 0.3) >= -1e-6).all() and 0 < ((noisy - x) * 0.4).std() < 0.1


def test_find_normalization_and_table(tmp_path):
    ds, _ = build_dataset("digits", None, False)
    assert find_normalization(torch.utils.data.Subset(ds, [0, 1])) == Normalization((0.3,), (0.4,))
    loader = [batch()]
    res = {
        k: evaluate_robustness(m, loader, NORM, eps=(0.0, 8 / 255), sigmas=(0.1,), attacks=("gaussian", "fgsm"))
        for k, m in (("SNN", snn()), ("ANN", fullspike.create_model("convnet_ann", width=4, hidden=8)))
    }
    table = robustness_table(res)
    assert "| fgsm | eps=8/255 |" in table and "| gaussian | sigma=0.1 |" in table and "pgd" not in table
    assert plot_robustness(res, tmp_path / "r.png").stat().st_size > 0


def test_several_encoder_draws_average_the_gradient():
    # a rate-coded input draws new spikes every pass: the averaged gradient is the mean of the
    # single-draw gradients of the same draws, and a deterministic model is passed once
    model = snn("rate")
    x, y = batch()
    torch.manual_seed(3)
    singles = [loss_gradient(model, x, y)[1] for _ in range(4)]
    torch.manual_seed(3)
    _, averaged = loss_gradient(model, x, y, draws=4)
    assert torch.allclose(averaged, torch.stack(singles).mean(0), atol=1e-6)
    assert not torch.allclose(singles[0], singles[1])  # the draws differ
    direct = snn()
    calls = []
    direct.register_forward_hook(lambda *a: calls.append(1))
    loss_gradient(direct, x, y, draws=4)
    assert len(calls) == 1
    with pytest.raises(ConfigError, match="^draws must be an integer >= 1, got 0$"):
        loss_gradient(model, x, y, draws=0)


def test_pgd_step_size_defaults_to_a_share_of_eps():
    torch.manual_seed(0)
    model = snn()
    x, y = batch()
    estimate_bn_stats(model, x, 1).eval()
    adv = pgd(model, x, y, 8 / 255, NORM, steps=1, alpha=None, random_start=False)
    step = ((adv - x) * NORM.std[0]).abs()  # back in pixel units
    lo, hi = NORM.bounds(x)
    inside = (adv > lo) & (adv < hi)
    assert torch.allclose(step[inside], torch.full_like(step[inside], 8 / 255), atol=1e-6)  # min(2.5 eps, eps)


def digits_batches(model):
    """Two batches of the bundled digits test split, ``model``'s BN statistics set on them."""
    from fullspike.data import make_loader

    data, info = build_dataset("digits", None, False)
    loader = make_loader(torch.utils.data.Subset(data, range(96)), info, batch_size=48, shuffle=False)
    estimate_bn_stats(model, loader, 2).eval()
    return loader


def test_zero_strength_is_exactly_the_clean_accuracy_of_a_rate_coded_model():
    # every evaluation pass of a batch runs on the same encoder draws (common random numbers)
    model = snn("rate")
    loader = digits_batches(model)
    cleans = {
        seed: evaluate_robustness(model, loader, NORM, eps=(), sigmas=(), attacks=(), seed=seed).clean
        for seed in range(4)
    }
    assert len(set(cleans.values())) > 1  # the accuracy depends on the draws: the check below can fail
    state = torch.get_rng_state()
    r = evaluate_robustness(model, loader, NORM, eps=(0.0, 16 / 255), sigmas=(0.0,), pgd_steps=1, draws=2)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's generator is left alone
    assert r.samples == 96 and r.clean == cleans[0]  # the same seed, the same clean draws
    for attack in ("gaussian", "fgsm", "pgd"):
        assert r.accuracy[attack][0.0] == r.clean, (attack, r.accuracy[attack])
    assert r.accuracy["fgsm"][16 / 255] != r.clean  # only zero strength is clean
    assert r.to_dict()["shared_draws"] is True


def test_a_direct_coded_model_gets_the_accuracies_of_its_perturbed_inputs():
    # no encoder draws: each accuracy is that of the model on the perturbed batch, the noise and
    # PGD's start drawn from one generator seeded with `seed`, in the order of the attacks
    model = snn()
    loader = digits_batches(model)
    eps, sigma = 8 / 255, 0.2
    r = evaluate_robustness(model, loader, NORM, eps=(eps,), sigmas=(sigma,), pgd_steps=2, seed=5)
    gen = torch.Generator().manual_seed(5)
    right = {"clean": 0, "gaussian": 0, "fgsm": 0, "pgd": 0}
    for x, y in loader:
        inputs = {
            "clean": x,
            "gaussian": gaussian_noise(x, sigma, NORM, gen),
            "fgsm": fgsm(model, x, y, eps, NORM),
            "pgd": pgd(model, x, y, eps, NORM, steps=2, generator=gen),
        }
        with torch.no_grad():
            for k, inp in inputs.items():
                right[k] += int((model(inp).argmax(1) == y).sum())
    assert r.clean == right["clean"] / 96
    assert {a: r.accuracy[a][s] for a, s in (("gaussian", sigma), ("fgsm", eps), ("pgd", eps))} == {
        a: right[a] / 96 for a in ("gaussian", "fgsm", "pgd")
    }


@pytest.mark.parametrize(
    "name, attack, kwargs",
    [
        ("eps", fgsm, dict(eps=-0.1)),
        ("eps", fgsm, dict(eps=float("nan"))),
        ("eps", pgd, dict(eps=-0.1)),
        ("steps", pgd, dict(eps=0.1, steps=0, alpha=None)),  # was a ZeroDivisionError
        ("steps", pgd, dict(eps=0.1, steps=-1)),
        ("alpha", pgd, dict(eps=0.1, alpha=-0.01)),
        ("alpha", pgd, dict(eps=0.1, alpha=0)),
        ("draws", fgsm, dict(eps=0, draws=0)),  # refused at the entry, even where no gradient is drawn
        ("draws", pgd, dict(eps=0, draws=0)),
    ],
)
def test_a_nonsense_attack_strength_is_one_line_naming_it(name, attack, kwargs):
    x, y = batch()
    with pytest.raises(ConfigError, match=rf"^{name} must be "):
        attack(snn(), x, y, norm=NORM, **kwargs)


@pytest.mark.parametrize("sigma", [-0.1, float("inf")])
def test_a_nonsense_noise_level_is_one_line_naming_it(sigma):
    with pytest.raises(ConfigError, match=r"^sigma must be a finite number >= 0, got "):
        gaussian_noise(batch()[0], sigma, NORM)


@pytest.mark.parametrize(
    "name, mean, std",
    [("std", (0.5,), (0.0,)), ("std", (0.5,), (-0.2,)), ("mean", (float("nan"),), (0.5,)), ("std", (0.5,), "0.5")],
)
def test_a_normalisation_has_a_finite_mean_and_a_positive_std(name, mean, std):
    with pytest.raises(ConfigError, match=rf"^{name}(\[0\])? must be "):
        Normalization(mean, std)


def test_pgd_checks_its_draws_once_not_at_every_step(monkeypatch):
    from fullspike import checks

    model, (x, y), counted, count = snn(), batch(), [], checks.count
    monkeypatch.setattr(checks, "count", lambda name, value, **kw: counted.append(name) or count(name, value, **kw))
    pgd(model, x, y, 0.1, NORM, steps=3, draws=2)
    assert counted.count("draws") == 1


def test_a_normalisation_has_one_mean_and_one_std_per_channel_or_one_for_all():
    with pytest.raises(
        ConfigError, match=r"^mean and std must have one value per input channel \(or one for all\), got 3 and 2"
    ):
        Normalization((0.5, 0.5, 0.5), (0.5, 0.5))
    norm = Normalization((m for m in (0.3, 0.5)), (s for s in (0.4, 0.2)))  # generators: their items are kept
    assert norm == Normalization((0.3, 0.5), (0.4, 0.2))
    assert norm.scale(torch.zeros(1, 2, 4, 4)).flatten().tolist() == pytest.approx([2.5, 5.0])
    # one number, or one value, for every channel; a [C, 1, 1] tensor gives its values
    x = torch.zeros(1, 3, 4, 4)
    assert Normalization(0.5, 0.25).bounds(x)[0].flatten().tolist() == [-2.0]
    assert Normalization((0.5, 0.5, 0.5), (0.25,)).bounds(x)[1].flatten().tolist() == [2.0, 2.0, 2.0]
    assert Normalization(torch.full((3, 1, 1), 0.5), np.float32(0.25)).mean == (0.5, 0.5, 0.5)
    # a normalisation of another number of channels than the images' is refused, not broadcast
    with pytest.raises(ShapeError, match="the normalisation has 2 values per channel but the images"):
        Normalization((0.5, 0.5), (0.5,)).bounds(torch.zeros(1, 1, 4, 4))


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("eps", dict(eps=0.1)),  # one number, not a list
        (r"eps\[1\]", dict(eps=[0, -2 / 255])),
        (r"sigmas\[0\]", dict(sigmas=[-0.1])),
        ("pgd_steps", dict(pgd_steps=0)),
        ("pgd_alpha", dict(pgd_alpha=0)),
        ("max_batches", dict(max_batches=-1)),
        ("draws", dict(draws=0, attacks=["gaussian"])),  # refused even where no attack draws
    ],
)
def test_evaluate_robustness_refuses_nonsense_before_any_work(name, kwargs):
    with pytest.raises(ConfigError, match=rf"^{name} must be "):
        evaluate_robustness(snn(), [batch()], NORM, **kwargs)
