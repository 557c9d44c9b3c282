"""A neuron input given as the batch norm before it (engine/norm_input.py): the native kernel
applies the norm itself in backward, bit for bit as torch's kernel, and falls back to the rebuilt
tensor wherever it cannot."""

import copy

import pytest
import torch
from test_backends import _spec
from test_native import _no_notice, pytestmark  # noqa: F401 (the same skip and notice filter)

import fullspike.nn as snn
from fullspike.engine import native
from fullspike.engine.norm_input import NormInput
from fullspike.nn.batch_norm import batch_norm
from fullspike.nn.memory import compact_saving


def _norm(shape=(6, 5, 7, 7), bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    C = shape[1]
    z = torch.randn(shape, generator=g) * 3 + 1
    scale, mean = torch.rand(C, generator=g) + 0.5, torch.randn(C, generator=g)
    b = torch.randn(C, generator=g) if bias else None
    return NormInput(z, z, scale, mean, b)


@pytest.mark.parametrize("shape", [(6, 5, 7, 7), (2, 16, 16, 16), (3, 7, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_kernel_norm_rows_are_torchs_batch_norm_when_the_probe_says_so(shape, bias):
    n = _norm(shape, bias)
    source = native._source(_spec())
    ours = native.norm_rows(source, n.z, n.scale, n.mean, n.bias)
    if native._norm_matches_torch(source):
        assert torch.equal(ours, n.rebuild())
    else:  # torch does not fuse here: the kernels must not be trusted with the norm
        assert not native.NativeKernels().reads_norm_input(_spec())


def test_values_and_time_slices_are_views_of_the_rebuilt_output():
    n = _norm((6, 5, 4, 4))
    y = n.rebuild()
    x = y.view(3, 2, 5, 4, 4)  # [T, B, C, H, W] over the norm's [T * B, C, H, W]
    nx = NormInput(n.base.view(3, 2, 5, 4, 4), n.base, n.scale, n.mean, n.bias)
    assert torch.equal(nx.values(), x) and nx.shape == x.shape
    assert torch.equal(nx[1:3].values(), x[1:3])
    assert (n.group, n.channels) == (16, 5)


def _bn_lif(x, w, b, lif, compact, order=None):
    """BN (training) -> LIF over a [T, B, ...] sequence; order: a permutation applied to the
    norm output before the neuron (a layout the kernel cannot walk in place)."""
    with compact_saving(compact):
        y = batch_norm(x.flatten(0, 1), None, None, w, b, True, 0.1, 1e-5).unflatten(0, x.shape[:2])
        if order is not None:
            y = y.permute(*order)
        return lif(y)


@pytest.mark.parametrize(
    "neuron,order",
    [
        ("lif", None),
        ("lif", (0, 1, 2, 4, 3)),  # a layout the kernel cannot walk in z: the rebuilt tensor
        ("plif_checkpoint", None),  # PLIF's input-scale gradient reads x too; segments of 2 steps
    ],
)
def test_backward_through_the_norm_input_equals_the_plain_backward(monkeypatch, neuron, order):
    seen = []
    backward = native.NativeKernels.backward

    def spy(self, g_s, g_v, h, x, *args, **kw):
        seen.append(isinstance(x, NormInput))
        return backward(self, g_s, g_v, h, x, *args, **kw)

    monkeypatch.setattr(native.NativeKernels, "backward", spy)
    results = []
    for compact in (False, True):
        torch.manual_seed(0)
        lif = (
            snn.LIF(tau=2.0, v_threshold=0.5, backend="native")
            if neuron == "lif"
            else snn.PLIF(tau=2.0, v_threshold=0.5, backend="native", checkpoint=2)
        )
        x = (torch.randn(5, 3, 4, 6, 6) * 2 + 0.5).requires_grad_()
        w, b = (torch.rand(4) + 0.5).requires_grad_(), torch.randn(4).requires_grad_()
        s = _bn_lif(x, w, b, lif, compact, order)
        (s * torch.linspace(-1, 1, s.numel()).view_as(s)).sum().backward()
        results.append((s, x.grad, w.grad, b.grad, *(p.grad for p in lif.parameters())))
    for u, v in zip(*results):
        assert torch.equal(u, v)
    assert results[0][1].abs().sum() > 0
    trusted = native.NativeKernels().reads_norm_input(_spec())  # (the same fs_norm in every library)
    # plain: the tensor; compact: the norm's description wherever the kernel's arithmetic is
    # torch's (a permuted view is then copied from the rebuilt output inside the kernel call)
    k = len(seen) // 2  # (one call per segment)
    assert seen == [False] * k + [trusted] * k and k == (3 if neuron == "plif_checkpoint" else 1)


def test_an_untrusted_norm_arithmetic_saves_the_norm_output_instead(monkeypatch):
    monkeypatch.setattr(native.NativeKernels, "reads_norm_input", lambda self, spec: False)
    seen = []
    backward = native.NativeKernels.backward
    monkeypatch.setattr(
        native.NativeKernels,
        "backward",
        lambda self, g_s, g_v, h, x, *a, **k: seen.append(type(x)) or backward(self, g_s, g_v, h, x, *a, **k),
    )
    bntt = snn.BNTT2d(4, T=3)
    x = torch.randn(3, 5, 4, 6, 6) * 2 + 1
    outs = []
    for compact in (False, True):
        m = copy.deepcopy(bntt).train()
        xi = x.clone().requires_grad_()
        with compact_saving(compact):
            s = snn.LIF(leak=0.9, v_reset=None, backend="native")(m(xi))
        s.sum().backward()
        outs.append((s, xi.grad, m.weight.grad))
    assert seen == [torch.Tensor, torch.Tensor]
    for u, v in zip(*outs):
        assert torch.equal(u, v)
