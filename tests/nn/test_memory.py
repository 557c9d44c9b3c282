"""Compact saving for backward: spikes kept as bytes, exact values in backward."""

import torch
from torch import nn

import fullspike.nn as snn
from fullspike.nn.memory import active_saver, compact_saving, mark_spikes


def spiking_conv():
    return snn.SeqSequential(snn.LIF(), nn.Conv2d(3, 8, 3, padding=1))


def run(net, x, compact):
    """Forward under ``compact_saving(compact)``, backward; (output, input grad, weight grad)."""
    x = x.detach().requires_grad_()
    net.zero_grad()
    with compact_saving(compact):
        out = net(x)
    (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    return out, x.grad, net[1].weight.grad


def test_spikes_are_kept_as_bytes_and_gradients_unchanged(kept_bytes):
    net, x = spiking_conv(), torch.randn(4, 8, 3, 16, 16) + 0.8
    spikes_bytes = x.numel() * 4
    plain, out_p = kept_bytes(lambda: net(x.requires_grad_()))
    compact, _ = kept_bytes(lambda: _forward_compact(net, x))
    # the conv's saved input (the spikes) costs 1 byte per value instead of 4
    assert plain - compact == spikes_bytes - spikes_bytes // 4
    a, b = run(net, x, False), run(net, x, True)
    for u, v in zip(a, b):
        assert torch.equal(u, v)


def _forward_compact(net, x):
    with compact_saving():
        return net(x)


def test_views_and_time_slices_of_spikes_are_compacted_too(kept_bytes):
    lif, w = snn.LIF(), torch.randn(3, 5, requires_grad=True)
    x = torch.randn(6, 4, 3) + 0.8

    def forward():
        s = lif(x)
        return s[2] @ w + s.flatten(0, 1)[:4] @ w  # a time slice and a folded view

    plain, _ = kept_bytes(forward)
    compact, _ = kept_bytes(lambda: _call_compact(forward))
    assert plain - compact == x.numel() * 3  # one uint8 copy instead of the float spikes
    w.grad = None
    forward().sum().backward()
    g_plain, w.grad = w.grad, None
    _call_compact(forward).sum().backward()
    assert torch.equal(w.grad, g_plain)


def _call_compact(fn):
    with compact_saving():
        return fn()


def test_spikes_changed_in_place_after_marking_are_saved_as_they_are():
    w = torch.randn(3, 5, requires_grad=True)
    x = torch.randn(6, 4, 3) + 0.8
    grads = []
    for compact in (False, True):
        w.grad = None
        with compact_saving(compact):
            s = mark_spikes(snn.LIF()(x))
            s.mul_(2.0)  # no longer 0/1: must not be restored from the 0/1 bytes
            (s @ w).sum().backward()
        grads.append(w.grad)
    assert torch.equal(grads[0], grads[1])
    assert grads[0].abs().sum() > 0


def test_only_active_inside_the_block_with_grad_enabled_and_not_nested():
    assert active_saver() is None
    s = torch.ones(3, 2)
    assert mark_spikes(s) is s  # outside: nothing to do
    with compact_saving() as outer:
        assert outer is not None and active_saver() is outer
        with compact_saving() as inner:
            assert inner is None and active_saver() is outer  # the outer saver stays in charge
    with torch.no_grad(), compact_saving() as saver:
        assert saver is None
    with compact_saving(enabled=False) as saver:
        assert saver is None and active_saver() is None
    assert active_saver() is None


def test_is_spikes_follows_storage_and_ignores_partial_tensors():
    with compact_saving() as saver:
        s = torch.zeros(4, 3)
        mark_spikes(s)
        assert saver.is_spikes(s) and saver.is_spikes(s[1:]) and saver.is_spikes(s.t())
        part = torch.zeros(4, 3)[1:]  # does not own its storage: never marked
        mark_spikes(part)
        assert not saver.is_spikes(part)
        assert not saver.is_spikes(torch.zeros(4, 3))
