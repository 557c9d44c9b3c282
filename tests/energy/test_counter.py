"""Hand-counted cases for the synaptic-operation counter (docs/methods.md, "Energy accounting")."""

import pytest
import torch
from torch import nn

from fullspike.dst import Accumulate
from fullspike.energy import count_synaptic_ops
from fullspike.errors import ConfigError
from fullspike.models.common import Stem
from fullspike.nn import IF, Connect, SeqSequential, SEWBlock


def spikes(T, B, *shape, counts):
    """Binary spikes ``[T, B, *shape]`` with exactly ``counts[t]`` ones at step t (per whole step)."""
    x = torch.zeros(T, B * torch.Size(shape).numel())
    for t, k in enumerate(counts):
        x[t, torch.randperm(x.shape[1])[:k]] = 1.0
    return x.view(T, B, *shape)


def test_conv_on_spikes_counts_ac_at_the_firing_rate():
    torch.manual_seed(0)
    conv = SeqSequential(nn.Conv2d(2, 3, 3, padding=1, bias=False))
    x = spikes(2, 1, 2, 4, 4, counts=[8, 4])  # 32 inputs per step: rates 1/4 and 1/8
    r = count_synaptic_ops(conv, x)  # frames: T=2, B=1
    ops = 2 * 9 * 3 * 16  # C_in * k*k * C_out * H_out * W_out per step
    (row,) = r.layers
    assert row.step_ops == [ops, ops]
    assert row.step_ac == pytest.approx([ops * 8 / 32, ops * 4 / 32])
    assert r.total_ac == pytest.approx(ops * 12 / 32) and r.total_mac == 0
    assert row.step_rate == pytest.approx([0.25, 0.125])
    assert r.energy_mj == pytest.approx(0.9e-9 * ops * 12 / 32)
    assert r.ann_energy_mj == pytest.approx(4.6e-9 * ops)  # one step, all MACs
    assert r.ec_range_mj == pytest.approx((0.0, 0.9e-9 * 2 * ops))
    assert r.energy_mj_at(1) == pytest.approx(0.9e-9 * ops * 8 / 32)


class Direct(nn.Module):
    """A network that repeats an analogue image over T steps (conv runs T times on real values)."""

    T = 3

    def __init__(self):
        super().__init__()
        self.body = SeqSequential(nn.Conv2d(3, 4, 3, stride=2, padding=1, groups=1))

    def forward(self, x):
        return self.body(x.unsqueeze(0).expand(self.T, *x.shape))


def test_conv_on_a_real_image_is_mac_every_step():
    r = count_synaptic_ops(Direct(), torch.rand(2, 3, 8, 8) + 0.1)
    ops = 3 * 9 * 4 * 4 * 4
    assert r.T == 3 and r.samples == 2
    assert r.total_mac == pytest.approx(3 * ops) and r.total_ac == 0
    assert r.layers[0].step_mac == pytest.approx([ops] * 3)


def test_grouped_conv_and_linear():
    torch.manual_seed(0)
    net = SeqSequential(nn.Conv2d(4, 4, 3, padding=1, groups=2), nn.Flatten(1), nn.Linear(4 * 9, 5))
    x = spikes(2, 3, 4, 3, 3, counts=[27, 54])  # 108 inputs per step (B=3)
    r = count_synaptic_ops(net, x)
    conv, lin = r.layers
    assert conv.ops == pytest.approx(2 * (2 * 9 * 4 * 9))  # (C_in/groups) k k C_out H W, two steps
    assert conv.step_ac == pytest.approx([2 * 9 * 4 * 9 * 0.25, 2 * 9 * 4 * 9 * 0.5])
    assert lin.ops == pytest.approx(2 * 36 * 5) and lin.mac == pytest.approx(2 * 36 * 5)  # real input


def test_linear_on_signed_spikes_is_ac_and_mixed_steps_decide_per_step():
    lin = nn.Linear(4, 3, bias=False)
    x = torch.tensor([[[1.0, 0, -1, 0]], [[0.5, 0, 0, 0]]])  # step 0 signed spikes, step 1 real
    r = count_synaptic_ops(SeqSequential(lin), x, T=2, batch_size=1)
    (row,) = r.layers
    assert row.step_ac == pytest.approx([12 * 0.5, 0.0])
    assert row.step_mac == pytest.approx([0.0, 12.0])


class Attention(nn.Module):
    """Spikformer-style products: ``(Q K^T) V`` with functional matmuls on [T, B, N, d]."""

    T = 2

    def forward(self, qkv):
        q, k, v = qkv
        attn = q @ k.transpose(-2, -1)  # binary x binary: AC at the sparser rate
        return torch.matmul(attn, v)  # integer counts x binary v: AC at v's rate


def test_attention_products_count_as_functional_matmuls():
    torch.manual_seed(0)
    T, B, N, d = 2, 1, 4, 8
    q, k, v = (spikes(T, B, N, d, counts=c) for c in ([16, 8], [8, 4], [4, 16]))
    r = count_synaptic_ops(Attention(), torch.stack([q, k, v]), T=T, batch_size=B)
    qk, av = r.layers
    assert qk.name == "matmul#0" and av.name == "matmul#1"
    assert qk.step_ops == [N * N * d] * 2 and av.step_ops == [N * d * N] * 2
    assert qk.step_ac == pytest.approx([N * N * d * 8 / 32, N * N * d * 4 / 32])  # min(q, k) rate
    assert av.step_ac == pytest.approx([N * d * N * 4 / 32, N * d * N * 16 / 32])
    assert r.total_mac == 0


class AfterSEW(nn.Module):
    """A SEW ADD block (identity branch: output = 2 * spikes) followed by a conv."""

    def __init__(self):
        super().__init__()
        self.block = SEWBlock(nn.Identity(), None, Connect("add"))
        self.conv = SeqSequential(nn.Conv2d(1, 2, 1, bias=False))

    def forward(self, x):
        return self.conv(self.block(x))


def test_conv_after_a_sew_add_block_holding_twos_is_mac():
    x = spikes(2, 1, 1, 2, 2, counts=[1, 3])
    r = count_synaptic_ops(AfterSEW(), x)
    (row,) = r.layers
    assert row.step_mac == pytest.approx([8.0, 8.0]) and row.ac == 0  # 1*1*2*2*2 ops per step


class Dual(nn.Module):
    def __init__(self):
        super().__init__()
        self.accumulate = Accumulate()

    def forward(self, x):
        return self.accumulate(x * 3.0, x)  # A' (real) + O (spikes)


def test_accumulation_stream_addition_is_one_ac_per_incoming_spike():
    x = spikes(2, 2, 3, 2, 2, counts=[5, 7])  # 24 values per step (B=2)
    r = count_synaptic_ops(Dual(), x)
    (row,) = r.layers
    assert row.op == "accumulate" and row.name == "accumulate"
    assert row.step_ac == pytest.approx([5 / 2, 7 / 2])  # per sample
    assert row.mac == 0 and row.ann_ops == 0


class StemNet(nn.Module):
    T = 3

    def __init__(self):
        super().__init__()
        self.stem = Stem(nn.Conv2d(1, 2, 3, padding=1, bias=False), nn.BatchNorm2d(2), IF(), self.T)
        self.conv = SeqSequential(nn.Conv2d(2, 2, 1, bias=False))

    def forward(self, x):
        return self.conv(self.stem(x))


def test_a_stem_that_runs_once_counts_once():
    torch.manual_seed(0)
    net = StemNet()
    r = count_synaptic_ops(net, torch.randn(2, 1, 4, 4))
    stem, conv = r.layers
    assert stem.name == "stem.conv" and stem.runs_once
    assert stem.mac == pytest.approx(1 * 9 * 2 * 16) and stem.step_ops == [0, 0, 0]
    assert stem.ann_ops == pytest.approx(1 * 9 * 2 * 16)
    assert conv.step_ops == [2 * 2 * 16] * 3 and conv.mac == 0  # spikes after the stem
    assert r.energy_mj_at(0) == pytest.approx(4.6e-9 * 288)  # the stem, before any step
    assert len(r.neurons) == 1 and r.neurons[0].updates == 2 * 16 * 3


def test_data_loader_gives_the_mean_per_sample():
    torch.manual_seed(0)
    conv = SeqSequential(nn.Conv2d(1, 1, 1, bias=False))
    a = spikes(1, 2, 1, 2, 2, counts=[2])  # 8 inputs
    b = spikes(1, 1, 1, 2, 2, counts=[4])  # 4 inputs
    loader = [(a, torch.zeros(2)), (b, torch.zeros(1))]
    r = count_synaptic_ops(conv, loader)
    assert r.samples == 3
    assert r.total_ac == pytest.approx(6 / 3) and r.total_ops == pytest.approx(4.0)


def test_bntt_vgg_counts_every_layer_and_step():
    import fullspike

    torch.manual_seed(0)
    m = fullspike.create_model("bntt_convnet", T=3, width=4, hidden=8, image_size=8)
    r = count_synaptic_ops(m, torch.randn(2, 1, 8, 8))
    assert [row.name for row in r.layers] == ["features.0", "features.4", "classifier.1", "classifier.4"]
    first = r.layers[0]
    assert first.ops == pytest.approx(3 * 1 * 9 * 4 * 64) and first.mac == 0  # rate-coded input
    assert all(len(row.step_ops) == 3 for row in r.layers)
    assert len(r.step_firing_rates) == 3
    frames = fullspike.functional.rate_encode(torch.randn(2, 1, 8, 8), 2)
    assert count_synaptic_ops(m, frames).T == 2  # fewer frames than built for: T from the frames


@pytest.mark.parametrize(
    "name, value",
    [
        ("e_ac_pj", -1.0),
        ("e_ac_pj", 0.0),
        ("e_mac_pj", float("nan")),
        ("e_mac_pj", float("inf")),
        ("T", 0),
        ("T", -1),
        ("batch_size", 0),
        ("batch_size", -2),
        ("max_batches", 0),
        ("max_batches", -1),
    ],
)
def test_a_nonsense_argument_is_one_line_naming_it(name, value):
    conv = SeqSequential(nn.Conv2d(2, 3, 3, padding=1, bias=False))
    with pytest.raises(ConfigError, match=rf"^{name} must be "):
        count_synaptic_ops(conv, [spikes(2, 1, 2, 4, 4, counts=[8, 4])], **{name: value})


@pytest.mark.parametrize("t", [-1, 3, 1.5])
def test_energy_after_t_steps_takes_a_step_count_of_the_report(t):
    conv = SeqSequential(nn.Conv2d(2, 3, 3, padding=1, bias=False))
    r = count_synaptic_ops(conv, spikes(2, 1, 2, 4, 4, counts=[8, 4]))
    assert r.energy_mj_at(0) == 0 and r.energy_mj_at(2) == pytest.approx(r.energy_mj)
    with pytest.raises(ConfigError, match=r"^t must be an integer in \[0, 2\], got "):
        r.energy_mj_at(t)
