"""Batch norm rebuilt in backward: torch's results bit for bit, less memory kept."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import fullspike.nn as snn
from fullspike.errors import ShapeError
from fullspike.nn.batch_norm import BatchNorm2d, batch_norm
from fullspike.nn.memory import compact_saving


def bn_inputs(dtype, affine, bias):
    x = (torch.randn(6, 5, 7, 7, dtype=dtype) * 3 + 1).requires_grad_()
    w = (torch.rand(5, dtype=dtype) + 0.5).requires_grad_() if affine else None
    b = torch.randn(5, dtype=dtype).requires_grad_() if bias else None
    return x, w, b


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine,bias", [(True, True), (True, False), (False, False)])
def test_equals_torch_batch_norm_then_neuron_bit_for_bit(dtype, training, affine, bias):
    """Output, running statistics and every gradient of BN -> LIF, against F.batch_norm."""
    results = []
    lif = snn.LIF(tau=2.0, v_threshold=0.5)
    for compact in (False, True):
        torch.manual_seed(0)
        x, w, b = bn_inputs(dtype, affine, bias)
        rm, rv = torch.randn(5, dtype=dtype), torch.rand(5, dtype=dtype) + 0.5
        with compact_saving(compact):
            norm = batch_norm if compact else F.batch_norm
            y = norm(x, rm, rv, w, b, training, 0.1, 1e-4)
            s = lif(y.unflatten(0, (3, 2)))  # [T=3, B=2, C, H, W]
        (s * torch.linspace(-1, 1, s.numel(), dtype=dtype).view_as(s)).sum().backward()
        results.append([y, s, rm, rv, x.grad] + [p.grad for p in (w, b) if p is not None])
    for u, v in zip(*results):
        assert torch.equal(u, v)
    assert results[0][4].abs().sum() > 0


def test_the_norm_output_is_not_kept(kept_bytes):
    x = (torch.randn(4, 2, 8, 6, 6) + 0.5).requires_grad_()
    bn, lif = BatchNorm2d(8), snn.LIF()

    def forward():
        return lif(bn(x.flatten(0, 1)).unflatten(0, (4, 2)))

    plain, _ = kept_bytes(forward)
    compact, _ = kept_bytes(lambda: _compact(forward))
    # the neuron's saved input (the norm's output) is rebuilt from the norm's saved input;
    # the spikes (the output) and the norm's input are kept either way
    assert abs(plain - compact - x.numel() * 4) < 256  # less the rebuild's per-channel terms


def _compact(fn):
    with compact_saving():
        return fn()


@pytest.mark.parametrize("track", [True, False])
def test_batchnorm2d_module_is_torchs_batchnorm2d(track):
    ref = nn.BatchNorm2d(5, momentum=0.2, track_running_stats=track)
    with torch.no_grad():
        ref.weight.uniform_(0.5, 1.5)
        ref.bias.normal_()
    ours = BatchNorm2d(5, momentum=0.2, track_running_stats=track)
    ours.load_state_dict(ref.state_dict())
    assert isinstance(ours, nn.BatchNorm2d) and ours.state_dict().keys() == ref.state_dict().keys()
    for mode in ("train", "train", "eval"):
        x = torch.randn(4, 5, 3, 3).requires_grad_()
        x2 = x.detach().clone().requires_grad_()
        y_ref = getattr(ref, mode)()(x)
        with compact_saving():
            y = getattr(ours, mode)()(x2)
        (y_ref * y_ref).sum().backward()
        (y * y).sum().backward()
        assert torch.equal(y, y_ref) and torch.equal(x.grad, x2.grad)
    for key, value in ref.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    assert torch.equal(ours.weight.grad, ref.weight.grad)


def test_one_value_per_channel_in_training_is_a_clear_error():
    with compact_saving(), pytest.raises(ShapeError, match="more than 1 value per channel"):
        BatchNorm2d(3).train()(torch.randn(1, 3, 1, 1))


def test_bntt_in_a_compact_forward_equals_the_plain_one():
    bntt = snn.BNTT2d(4, T=3)
    x = torch.randn(3, 5, 4, 6, 6) * 2 + 1
    outs = []
    for compact in (False, True):
        m = copy.deepcopy(bntt).train()
        xi = x.clone().requires_grad_()
        with compact_saving(compact):
            s = snn.LIF(leak=0.9, v_reset=None)(m(xi))
        s.sum().backward()
        outs.append([s, xi.grad, m.weight.grad, m.running_mean, m.running_var, m.num_batches_tracked])
    for u, v in zip(*outs):
        assert torch.equal(u, v)
