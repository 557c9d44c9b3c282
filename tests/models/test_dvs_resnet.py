import pytest
import torch

from fullspike.dst import AccumulationPath, DualStreamBlock, remove_aap
from fullspike.errors import ConfigError
from fullspike.models import DualStreamOutput, create_model
from fullspike.models.dvs_resnet import AccumulationPool
from fullspike.nn import PLIF, SEWBlock, named_blocks


def events(seed=0, T=2, B=1):
    """Event-count-like frames [T, B, 2, 128, 128]."""
    g = torch.Generator().manual_seed(seed)
    return torch.poisson(torch.full((T, B, 2, 128, 128), 0.3), generator=g)


def spike_stream(model):
    seen = []
    hooks = [
        b.register_forward_hook(lambda m, i, o: seen.extend([i[0], o[0] if isinstance(o, tuple) else o]))
        for _, b in named_blocks(model)
    ]
    return seen, hooks


@pytest.mark.parametrize("name,classes,blocks", [("sew_7bnet", 11, 7), ("sew_wide7bnet", 10, 7)])
def test_sew_dvs_nets(name, classes, blocks):
    model = create_model(name)
    assert sum(isinstance(b, SEWBlock) for _, b in named_blocks(model)) == blocks
    out = model(events())
    assert out.shape == (1, classes)
    neurons = [m for m in model.modules() if hasattr(m, "surrogate")]
    assert neurons and all(isinstance(n, PLIF) and n.detach_reset and abs(n.tau - 2.0) < 1e-6 for n in neurons)


@pytest.mark.parametrize(
    "name,connect",
    [("dst_7bnet", c) for c in ("and", "iand", "or", "xor")] + [("dst_wide7bnet", c) for c in ("iand", "xor")],
)
def test_dst_dvs_nets_remove_aap_and_stay_binary(name, connect):
    torch.manual_seed(0)
    model = create_model(name, connect=connect)
    x = events(1)
    seen, hooks = spike_stream(model)
    out = model(x)
    for h in hooks:
        h.remove()
    assert isinstance(out, DualStreamOutput)
    assert all(bool(((t == 0) | (t == 1)).all()) for t in seen)
    assert sum(float(t.detach().sum()) for t in seen) > 0
    fsnn = remove_aap(model)
    assert fsnn.accum_layers is None
    assert not any(isinstance(m, (AccumulationPath, DualStreamBlock)) for m in fsnn.modules())
    assert torch.equal(fsnn(x), out.spike)


def test_wide_net_projects_the_accumulation_stream_at_the_channel_change():
    model = create_model("dst_wide7bnet", accum_pool="avg")
    accum = dict(model.accum_layers.items())
    transition = [k for k, m in accum.items() if not isinstance(m, AccumulationPool)]
    assert len(transition) == 1
    proj = accum[transition[0]]
    assert (proj.pw.in_channels, proj.pw.out_channels, proj.dw) == (64, 128, None)
    assert model.layers[int(transition[0])].conv.out_channels == 128  # the spike-stream transition
    assert sum(isinstance(m, AccumulationPool) for m in accum.values()) == 7
    assert isinstance(model(events(2)), DualStreamOutput)


def test_dvs_nets_reject_bad_options():
    with pytest.raises(ConfigError, match="full-spike"):
        create_model("dst_7bnet", connect="add")
    with pytest.raises(ConfigError, match="accum_pool"):
        create_model("dst_7bnet", accum_pool="median")
    with pytest.raises(ConfigError, match="too small"):
        create_model("sew_7bnet", image_size=64)


@pytest.mark.parametrize("name", ["sew_7bnet", "dst_7bnet", "sew_wide7bnet", "dst_wide7bnet"])
def test_stem_kernel_defaults_to_sews_1x1(name):
    conv = create_model(name).stem.conv
    assert conv.kernel_size == (1, 1) and conv.padding == (0, 0)  # SEW ResNet's published 7B-Nets
    conv3 = create_model(name, stem_kernel=3).stem.conv
    assert conv3.kernel_size == (3, 3) and conv3.padding == (1, 1)
    torch.manual_seed(0)
    out = create_model(name, stem_kernel=3)(events())
    assert (out.spike if isinstance(out, DualStreamOutput) else out).shape[-1] in (10, 11)  # sizes kept
    with pytest.raises(ConfigError, match="odd kernel size"):
        create_model(name, stem_kernel=2)
