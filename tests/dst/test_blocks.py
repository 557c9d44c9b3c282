import pytest
import torch
from torch import nn

from fullspike.dst import (
    AccumulationDownsampler,
    AccumulationPath,
    DualStreamBlock,
    has_aap,
    remove_aap,
    residual_block,
)
from fullspike.errors import ConfigError
from fullspike.models.common import neurons
from fullspike.nn import SEWBlock, SpikingBlock

make_if = neurons("if", "sigmoid")


def spikes(*shape, p=0.4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < p).float()


@pytest.mark.parametrize("kind", ["basic", "bottleneck"])
@pytest.mark.parametrize("connect", ["iand", "or", "xor"])
def test_zero_init_dual_stream_block_is_an_identity_on_both_streams(kind, connect):
    ch = 8 if kind == "basic" else 16  # bottleneck: planes 4 -> 16 channels out
    block = residual_block(
        "dst", kind, ch, ch // (1 if kind == "basic" else 4), 1, make_if, connect, zero_init_residual=True
    )
    s = spikes(2, 2, ch, 6, 6)
    a = torch.randn(2, 2, ch, 6, 6)
    s_out, a_out = block(s, a)
    assert s.sum() > 0
    assert torch.equal(s_out, s)
    assert torch.equal(a_out, a)


@pytest.mark.parametrize("connect", ["iand", "or", "xor"])
def test_zero_init_downsampling_block_passes_the_projected_shortcut(connect):
    block = residual_block("dst", "basic", 4, 8, 2, make_if, connect, zero_init_residual=True)
    s, a = spikes(2, 2, 4, 8, 8), torch.rand(2, 2, 4, 8, 8)
    s_out, a_out = block(s, a)
    assert torch.equal(s_out, block.downsample(s))  # S_out = S'
    assert torch.equal(a_out, block.accum_downsample(a))  # A_out = A'
    assert s_out.shape == a_out.shape == (2, 2, 8, 4, 4)


def test_zero_init_and_block_is_silent_instead_of_identity():
    block = residual_block("dst", "basic", 8, 8, 1, make_if, "and", zero_init_residual=True)
    s = spikes(2, 2, 8, 5, 5)
    s_out, _ = block(s, torch.zeros_like(s))
    assert s.sum() > 0 and s_out.sum() == 0  # the AND "silence problem"


def test_zero_init_spiking_and_sew_blocks_pass_spikes_through():
    s = spikes(3, 2, 8, 5, 5)
    plain = residual_block("spiking", "basic", 8, 8, 1, make_if, zero_init_residual=True)
    sew = residual_block("sew", "basic", 8, 8, 1, make_if, "add", zero_init_residual=True)
    assert isinstance(plain, SpikingBlock) and isinstance(sew, SEWBlock)
    assert torch.equal(plain(s), s)  # IF(v_th=1) of a 0/1 input with hard reset returns it
    assert torch.equal(sew(s), s)


def test_accumulation_stream_adds_branch_spikes():
    block = residual_block("dst", "basic", 8, 8, 1, make_if, "iand")
    s, a = spikes(2, 2, 8, 5, 5), torch.randn(2, 2, 8, 5, 5)
    o = block.branch(s)
    s_out, a_out = block(s, a)
    assert o.sum() > 0
    assert torch.equal(a_out, a + o)
    assert torch.equal(s_out, s * (1 - o))


def test_accumulation_downsampler_structure():
    strided = AccumulationDownsampler(4, 8, 2)
    assert strided.dw.groups == 4 and strided.dw.stride == (2, 2) and strided.dw.kernel_size == (3, 3)
    assert strided.pw.kernel_size == (1, 1) and strided.pw.out_channels == 8
    assert AccumulationDownsampler(4, 8, 1).dw is None
    y = strided(torch.randn(2, 3, 4, 8, 8))
    assert y.shape == (2, 3, 8, 4, 4) and (y >= 0).all()  # ReLU


def test_block_families_and_projections():
    assert residual_block("sew", "basic", 8, 8, 1, make_if).downsample is None
    down = residual_block("spiking", "bottleneck", 8, 4, 2, make_if)
    assert down.downsample is not None and not hasattr(down.downsample, "sn")  # added before SN
    dst = residual_block("dst", "bottleneck", 8, 4, 1, make_if)  # 8 -> 16 channels
    assert isinstance(dst, DualStreamBlock) and dst.accum_downsample.dw is None
    assert hasattr(dst.downsample, "sn")
    with pytest.raises(ValueError, match="unknown residual family"):
        residual_block("plain", "basic", 8, 8, 1, make_if)


def test_remove_aap_on_a_block_and_errors():
    block = residual_block("dst", "basic", 4, 8, 2, make_if, "xor")
    assert has_aap(block)
    fsnn = remove_aap(block)
    assert isinstance(fsnn, SEWBlock)
    assert not any(isinstance(m, AccumulationPath) for m in fsnn.modules())
    assert isinstance(block, DualStreamBlock)  # the original is untouched
    s = spikes(2, 2, 4, 8, 8)
    assert torch.equal(fsnn(s), block(s, torch.zeros_like(s))[0])
    with pytest.raises(ConfigError, match="no accumulation pathway"):
        remove_aap(nn.Linear(2, 2))


@pytest.mark.parametrize(
    "name, args", [("in_ch", (0, 4, 1)), ("planes", (4, 0, 1)), ("stride", (4, 4, 0)), ("stride", (4, 4, -1))]
)
@pytest.mark.parametrize("family", ["spiking", "sew", "dst"])
def test_a_block_of_nonsense_size_is_one_line_naming_it(family, name, args):
    with pytest.raises(ConfigError, match=rf"^{name} must be an integer >= 1, got "):
        residual_block(family, "basic", *args, make_if)


@pytest.mark.parametrize("name, args", [("in_ch", (0, 4, 2)), ("out_ch", (4, 0, 1)), ("stride", (4, 4, 0))])
def test_an_accumulation_downsampler_of_nonsense_size_is_one_line_naming_it(name, args):
    with pytest.raises(ConfigError, match=rf"^AccumulationDownsampler {name} must be an integer >= 1, got "):
        AccumulationDownsampler(*args)
