import pytest
import torch
import torchvision

from fullspike.dst import DualStreamBlock, remove_aap
from fullspike.errors import ConfigError, ShapeError
from fullspike.models import DualStreamOutput, classification_loss, create_model, list_models
from fullspike.models.resnet import DEPTHS
from fullspike.nn import IF, Block, SEWBlock, SpikingBlock, named_blocks

TINY = dict(num_classes=5, T=2, width=4)  # imagenet stem on 32x32: 8x8 after the stem


def image(seed=0, b=2, size=32):
    return torch.randn(b, 3, size, size, generator=torch.Generator().manual_seed(seed))


def is_binary(x: torch.Tensor) -> bool:
    return bool(((x == 0) | (x == 1)).all())


class BlockSpikes:
    """Forward hooks on every block recording the spike tensors entering and leaving it."""

    def __init__(self, model):
        self.seen = []
        self.handles = [b.register_forward_hook(self.hook) for _, b in named_blocks(model)]

    def hook(self, module, inputs, output):
        self.seen.append(inputs[0])
        self.seen.append(output[0] if isinstance(output, tuple) else output)

    def close(self):
        for h in self.handles:
            h.remove()


def test_all_families_and_depths_are_registered():
    for family in ("spiking", "sew", "dst"):
        for depth in (18, 34, 50, 101, 152):
            assert f"{family}_resnet{depth}" in list_models("*resnet*")


@pytest.mark.parametrize("depth", [18, 34, 50, 101])
def test_spike_stream_parameter_counts_match_torchvision(depth):
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        expected = sum(p.numel() for p in getattr(torchvision.models, f"resnet{depth}")(weights=None).parameters())
        for name in (f"spiking_resnet{depth}", f"sew_resnet{depth}"):
            assert sum(p.numel() for p in create_model(name).parameters()) == expected, name
        dst = create_model(f"dst_resnet{depth}")
        fsnn = remove_aap(dst)
    assert sum(p.numel() for p in fsnn.parameters()) == expected
    assert sum(p.numel() for p in dst.parameters()) > expected  # the AAP's downsamplers


@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("connect", ["and", "iand", "or", "xor"])
def test_fsnn_is_binary_between_blocks_and_removing_aap_keeps_o_s(depth, connect):
    torch.manual_seed(depth)
    model = create_model(f"dst_resnet{depth}", connect=connect, **TINY)
    x = image(depth)
    rec = BlockSpikes(model)
    out = model(x)
    rec.close()
    assert isinstance(out, DualStreamOutput)
    assert len(rec.seen) == 2 * sum(DEPTHS[depth][1])
    assert all(is_binary(t) for t in rec.seen)
    assert sum(float(t.detach().sum()) for t in rec.seen) > 0  # not trivially silent
    fsnn = remove_aap(model)
    rec = BlockSpikes(fsnn)
    o_s = fsnn(x)
    rec.close()
    assert type(o_s) is torch.Tensor
    assert torch.equal(o_s, out.spike)
    assert all(is_binary(t) for t in rec.seen)
    assert all(isinstance(b, SEWBlock) for _, b in named_blocks(fsnn))


@pytest.mark.parametrize("connect", ["and", "iand", "or", "xor"])
def test_sew_full_spike_and_spiking_resnet_are_binary_between_blocks(connect):
    for name, kw in ((f"sew_resnet{34}", dict(connect=connect)), ("spiking_resnet50", {})):
        model = create_model(name, **TINY, **kw)
        rec = BlockSpikes(model)
        model(image(1))
        rec.close()
        assert all(is_binary(t) for t in rec.seen), name


def test_sew_add_is_not_full_spike():
    torch.manual_seed(0)
    model = create_model("sew_resnet18", **TINY)
    rec = BlockSpikes(model)
    model(image(2))
    rec.close()
    assert max(float(t.detach().max()) for t in rec.seen) >= 2  # ADD sums spikes into integers


def test_dst_rejects_add_and_spiking_has_no_connect():
    with pytest.raises(ConfigError, match="full-spike connect function.*'add'"):
        create_model("dst_resnet18", connect="add")
    with pytest.raises(ConfigError, match="no argument"):
        create_model("spiking_resnet18", connect="iand")


def test_default_neuron_is_the_dst_if_neuron():
    model = create_model("dst_resnet18", **TINY)
    neurons = [m for m in model.modules() if isinstance(m, IF)]
    assert neurons
    n = neurons[0]
    assert (n.v_threshold, n.v_reset, n.detach_reset) == (1.0, 0.0, True)
    assert n.surrogate.name == "sigmoid" and n.surrogate.alpha == 4.0
    custom = create_model("sew_resnet18", surrogate={"name": "sigmoid", "alpha": 8}, neuron="lif", **TINY)
    assert all(m.surrogate.alpha == 8 for m in custom.modules() if hasattr(m, "surrogate"))


def test_stem_runs_once_on_static_images_and_per_step_on_frames():
    model = create_model("dst_resnet18", **TINY)
    shapes = []
    model.stem.conv.register_forward_hook(lambda m, i, o: shapes.append(tuple(i[0].shape)))
    model(image(b=3))
    model(torch.rand(4, 3, 3, 32, 32))
    assert shapes == [(3, 3, 32, 32), (12, 3, 32, 32)]


@pytest.mark.parametrize("stem,size,first", [("imagenet", 32, 8), ("cifar", 32, 32)])
def test_stems_and_stage_resolutions(stem, size, first):
    model = create_model("spiking_resnet18", stem=stem, **TINY)
    sizes = []
    for i in range(1, 5):
        getattr(model, f"layer{i}")[-1].register_forward_hook(lambda m, inp, o: sizes.append(o.shape[-1]))
    out = model(image(size=size))
    assert out.shape == (2, 5)
    assert sizes == [first, first // 2, first // 4, first // 8]
    assert (model.stem.pool is None) == (stem == "cifar")


def test_zero_init_residual_zeroes_every_last_branch_bn():
    model = create_model("dst_resnet50", zero_init_residual=True, **TINY)
    for _, b in named_blocks(model):
        assert torch.all(b.branch.bn3.weight == 0)
        assert torch.all(b.branch.bn1.weight == 1)


def test_dual_stream_objective_trains_both_streams():
    model = create_model("dst_resnet18", stem="cifar", **TINY)
    out = model(image(size=16))
    loss = classification_loss(out, torch.tensor([0, 3]))
    loss.backward()
    blk = model.layer2[0]
    assert isinstance(blk, DualStreamBlock)
    assert blk.accum_downsample.pw.weight.grad.abs().sum() > 0
    assert blk.branch.conv1.weight.grad.abs().sum() > 0


def test_bad_arguments_fail_clearly():
    with pytest.raises(
        ConfigError,
        match=r"^model 'sew_resnet18': argument 'stem' must be one of 'imagenet' or "
        r"'cifar', got 'mnist'$",
    ):
        create_model("sew_resnet18", stem="mnist")
    with pytest.raises(ShapeError, match="in_channels=1"):
        create_model("sew_resnet18", **TINY)(torch.randn(2, 1, 32, 32))
    with pytest.raises(ConfigError, match="neuron"):
        create_model("sew_resnet18", neuron="izhikevich")
    gray = create_model("spiking_resnet18", in_channels=1, **TINY)
    assert gray(torch.randn(2, 1, 32, 32)).shape == (2, 5)
    assert all(isinstance(b, (SpikingBlock, Block)) for _, b in named_blocks(gray))
