"""BNTT VGGs: architecture, shapes, input validation, registry."""

import pytest
import torch
from torch import nn

import fullspike
from fullspike.errors import ConfigError, RegistryError, ShapeError
from fullspike.nn import LIF, BNTT1d, BNTT2d


def test_registry_lists_and_creates():
    names = fullspike.list_models()
    assert {"vgg9_bntt", "vgg11_bntt", "bntt_convnet"} <= set(names)
    assert fullspike.list_models("vgg*") == sorted(n for n in names if n.startswith("vgg"))
    with pytest.raises(RegistryError, match="unknown model 'vgg9_bnt'.*vgg9_bntt"):
        fullspike.create_model("vgg9_bnt")
    with pytest.raises(ConfigError, match=r"no argument\(s\) \['depth'\]"):
        fullspike.create_model("vgg9_bntt", depth=3)


def test_vgg9_architecture_matches_spec():
    m = fullspike.create_model("vgg9_bntt", T=25)
    convs = [mod for mod in m.modules() if isinstance(mod, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 256]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) and c.bias is None for c in convs)
    fcs = [mod for mod in m.modules() if isinstance(mod, nn.Linear)]
    assert [(f.in_features, f.out_features) for f in fcs] == [(256 * 4 * 4, 1024), (1024, 10)]
    assert sum(isinstance(mod, BNTT2d) for mod in m.modules()) == 7
    assert sum(isinstance(mod, BNTT1d) for mod in m.modules()) == 1
    lifs = [mod for mod in m.modules() if isinstance(mod, LIF)]
    assert len(lifs) == 8
    assert all(lif.leak == 0.95 and lif.v_reset is None and lif.strict and lif.detach_reset for lif in lifs)
    n_conv = 3 * 64 * 9 + 64 * 64 * 9 + 64 * 128 * 9 + 128 * 128 * 9 + 128 * 256 * 9 + 2 * 256 * 256 * 9
    n_fc = 4096 * 1024 + 1024 * 10
    n_gamma = 25 * (64 * 2 + 128 * 2 + 256 * 3 + 1024)
    assert sum(p.numel() for p in m.parameters()) == n_conv + n_fc + n_gamma


def test_vgg9_reduced_width():
    m = fullspike.create_model("vgg9_bntt", T=2, width=16, hidden=128, image_size=28, in_channels=1)
    convs = [mod.out_channels for mod in m.modules() if isinstance(mod, nn.Conv2d)]
    assert convs == [16, 16, 32, 32, 64, 64, 64]
    fcs = [(f.in_features, f.out_features) for f in m.modules() if isinstance(f, nn.Linear)]
    assert fcs == [(64 * 3 * 3, 128), (128, 10)]  # 28 -> 14 -> 7 -> 3
    assert m(torch.rand(4, 1, 28, 28)).shape == (4, 10)


def test_vgg11_architecture_matches_spec():
    m = fullspike.create_model("vgg11_bntt", T=2, image_size=64, num_classes=200)
    convs = [mod.out_channels for mod in m.modules() if isinstance(mod, nn.Conv2d)]
    assert convs == [64, 128, 256, 256, 512, 512, 512, 512]
    fcs = [(f.in_features, f.out_features) for f in m.modules() if isinstance(f, nn.Linear)]
    assert fcs == [(512, 4096), (4096, 200)]
    assert m.classifier[-1].weight.shape == (200, 4096)


@pytest.mark.parametrize(
    "name,kw,shape",
    [
        ("vgg9_bntt", dict(T=2), (2, 3, 32, 32)),
        ("vgg11_bntt", dict(T=2), (2, 3, 32, 32)),
        ("bntt_convnet", dict(T=3, image_size=28), (2, 1, 28, 28)),
    ],
)
def test_forward_shapes_and_backward(name, kw, shape):
    m = fullspike.create_model(name, **kw)
    y = m(torch.randn(*shape))
    assert y.shape == (shape[0], m.num_classes)
    y.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_convnet_convs_per_stage_stacks_convs_before_each_pooling():
    m = fullspike.create_model("bntt_convnet", T=2, width=4, hidden=8, image_size=28, convs_per_stage=2)
    convs = [(c.in_channels, c.out_channels) for c in m.modules() if isinstance(c, nn.Conv2d)]
    assert convs == [(1, 4), (4, 4), (4, 8), (8, 8)]
    assert [type(f).__name__ for f in m.features].count("AvgPool2d") == 2
    assert m.classifier[1].in_features == 8 * 7 * 7
    assert m(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    ann = fullspike.create_model("convnet_ann", width=4, hidden=8, image_size=28, convs_per_stage=2)
    assert sum(isinstance(c, nn.Conv2d) for c in ann.modules()) == 4
    with pytest.raises(ConfigError, match="argument 'convs_per_stage' must be an integer >= 1, got 0"):
        fullspike.create_model("bntt_convnet", convs_per_stage=0)


def test_frames_input_and_norm_variants():
    for norm in ("bntt", "bn", "none"):
        m = fullspike.create_model("bntt_convnet", T=4, in_channels=2, image_size=16, norm=norm)
        assert m(torch.rand(4, 3, 2, 16, 16)).shape == (3, 10)
    steps = m.forward_steps(torch.rand(4, 3, 2, 16, 16))
    assert steps.shape == (4, 3, 10)


def test_last_layer_is_averaged_over_time():
    # the last FC (no bias, no neuron) sees the hidden spikes of every step; the logits are its
    # outputs averaged over the T steps, i.e. the FC of the time-mean of those spikes
    m = fullspike.create_model("bntt_convnet", T=4, encoding="direct").eval()
    last = m.classifier[-1]
    seen = []
    last.register_forward_hook(lambda mod, inp, out: seen.append(inp[0]))
    x = torch.randn(2, 1, 8, 8)
    logits = m(x)
    hidden = seen[0].view(4, 2, -1)  # [T * B, hidden] with T folded time-major
    assert set(hidden.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(hidden[0], hidden[-1])  # the steps differ, so the mean matters
    torch.testing.assert_close(logits, hidden.mean(0) @ last.weight.T)


def test_wrong_input_shapes_are_clear_errors():
    m = fullspike.create_model("vgg9_bntt", T=2)
    with pytest.raises(ShapeError, match="built for 3 input channel"):
        m(torch.randn(2, 1, 32, 32))
    with pytest.raises(ShapeError, match=r"expects images \[B, 3, H, W\] or frames"):
        m(torch.randn(3, 32, 32))
    with pytest.raises(ShapeError, match="built for T=2"):
        m(torch.randn(5, 2, 3, 32, 32))


def test_spiking_convnet_is_the_deployable_layout():
    """Max-pooling of spikes, LIF with a hard reset, one BN shared over the steps (no BNTT)."""
    from fullspike.models.vgg_bntt import BNTTVGG

    model = fullspike.create_model("spiking_convnet", T=4, width=4, hidden=8)
    mods = list(model.modules())
    assert any(isinstance(m, nn.MaxPool2d) for m in mods) and not any(isinstance(m, nn.AvgPool2d) for m in mods)
    assert not any(isinstance(m, (BNTT1d, BNTT2d)) for m in mods)
    assert all(m.v_reset == 0.0 for m in mods if isinstance(m, LIF))
    assert model(torch.rand(4, 3, 2, 34, 34)).shape == (3, 10)
    with pytest.raises(ConfigError, match="unknown pool 'sum'"):
        BNTTVGG([4, "P"], num_classes=2, T=2, in_channels=1, image_size=8, hidden=4, pool="sum")
