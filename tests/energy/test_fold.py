"""BN folding: folded networks equal the originals (eval mode) and count the same operations."""

import pytest
import torch
from torch import nn

import fullspike
from fullspike.energy import StepwiseSynapse, count_bn, count_synaptic_ops, estimate_bn_stats, fold_bn
from fullspike.functional import rate_encode
from fullspike.models.outputs import heads
from fullspike.nn import IF, BNTT2d, TimeFolded


def randomise_norms(model):
    """Non-trivial BN/BNTT parameters, as after training."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if hasattr(m, "running_var"):
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            if m.bias is not None:
                m.bias.data.uniform_(-0.2, 0.2, generator=g)


def assert_same(model, folded, x):
    model.eval()
    with torch.no_grad():
        a, b = heads(model(x)), heads(folded(x))
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=1e-5)
    ra, rb = count_synaptic_ops(model, x), count_synaptic_ops(folded, x)
    assert [r.name for r in ra.layers] == [r.name for r in rb.layers]
    for r1, r2 in zip(ra.layers, rb.layers):
        # folding changes the float rounding of the synaptic input, which can flip a spike that
        # sits on the threshold: allow a handful of flips (1e-3 of a layer's operations) per step
        assert r2.step_ac == pytest.approx(r1.step_ac, rel=1e-3)
        assert r2.step_mac == pytest.approx(r1.step_mac, rel=1e-3)
        assert (r2.once_ac, r2.once_mac) == pytest.approx((r1.once_ac, r1.once_mac))
    assert rb.energy_mj == pytest.approx(ra.energy_mj, rel=1e-3)


@pytest.mark.parametrize("norm", ["bntt", "bn"])
def test_bntt_vgg_folds_exactly(norm):
    torch.manual_seed(0)
    m = fullspike.create_model("bntt_convnet", T=3, width=4, hidden=8, image_size=8, norm=norm)
    randomise_norms(m)
    x = torch.randn(4, 1, 8, 8)
    estimate_bn_stats(m, x, 1)
    frames = rate_encode(x, 3)
    f = fold_bn(m)
    assert count_bn(f) == 0 and count_bn(m) == 3  # the original keeps its norms
    if norm == "bntt":  # per-step weights
        assert isinstance(f.features[0], StepwiseSynapse) and f.features[0].weight.shape[0] == 3
    else:  # one BN shared over the steps folds into the conv itself
        assert isinstance(f.features[0], nn.Conv2d) and f.features[0].bias is not None
    assert_same(m, f, frames)
    assert_same(m, f, frames[:2])  # early exit: fewer steps than built for


def test_time_folded_pairs_fold():
    torch.manual_seed(0)
    m = nn.Sequential(
        TimeFolded(nn.Conv2d(2, 3, 3, padding=1)),
        TimeFolded(nn.BatchNorm2d(3)),
        IF(),
        TimeFolded(nn.Conv2d(3, 2, 1, bias=False)),
        BNTT2d(2, T=2),
        IF(),
    )
    randomise_norms(m)
    x = (torch.rand(2, 4, 2, 5, 5) < 0.3).float()
    estimate_bn_stats(m, x, 1)
    f = fold_bn(m)
    assert count_bn(f) == 0 and isinstance(f[3], StepwiseSynapse)
    m.eval()
    with torch.no_grad():
        torch.testing.assert_close(f[:2](x), m[:2](x), rtol=0, atol=1e-5)
    assert_same(m, f, x)


@pytest.mark.parametrize("name", ["sew_resnet18", "dst_resnet18", "spiking_resnet18", "dst_resnet50"])
def test_residual_families_fold_exactly(name):
    torch.manual_seed(0)
    m = fullspike.create_model(name, T=2, width=4, stem="cifar", num_classes=5)
    randomise_norms(m)
    x = torch.randn(2, 3, 8, 8)
    estimate_bn_stats(m, x, 1)
    f = fold_bn(m)
    assert count_bn(f) == 0
    assert_same(m, f, x)


@pytest.mark.parametrize(
    "name, kwargs, x",
    [
        ("spikformer_4_384", dict(dim=16, depth=1, heads=2, connect="iand", dst=True), torch.randn(2, 3, 16, 16)),
        ("spikformer_4_384", dict(dim=16, depth=1, heads=2), torch.randn(2, 3, 16, 16)),
        pytest.param(
            "dst_7bnet", dict(image_size=128), (torch.rand(2, 1, 2, 128, 128) < 0.1).float(), marks=pytest.mark.slow
        ),
    ],
)
def test_spikformer_and_dvs_nets_fold_exactly(name, kwargs, x):
    torch.manual_seed(0)
    m = fullspike.create_model(name, T=2, **kwargs)
    randomise_norms(m)
    estimate_bn_stats(m, x, 1)
    f = fold_bn(m)
    assert count_bn(f) == 0
    assert_same(m, f, x)


def test_linear_bn1d_with_bias_folds():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.ReLU())
    randomise_norms(m)
    m.train()(torch.randn(16, 6))
    f = fold_bn(m)
    assert isinstance(f[1], nn.Identity)
    x = torch.randn(5, 6)
    torch.testing.assert_close(f(x), m.eval()(x), rtol=0, atol=1e-5)


def test_float32_folds_are_the_float64_fold_rounded_once():
    """The folded float32 weights and bias are the float64 fold cast once (folding in float32
    rounds twice and moves membranes near the threshold across it)."""
    g = torch.Generator().manual_seed(3)
    conv, bn = nn.Conv2d(3, 8, 3, bias=True), nn.BatchNorm2d(8)
    bn.running_mean.uniform_(-1, 1, generator=g)
    bn.running_var.uniform_(1e-3, 50, generator=g)
    randomise_norms(bn)
    folded = fold_bn(nn.Sequential(conv, bn))[0]
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    exact_w = conv.weight.double() * scale.view(-1, 1, 1, 1)
    exact_b = (conv.bias.double() - bn.running_mean.double()) * scale + bn.bias.double()
    assert folded.weight.dtype == torch.float32
    assert torch.equal(folded.weight, exact_w.float()) and torch.equal(folded.bias, exact_b.float())
