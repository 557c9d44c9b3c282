"""The classifiers' compact saving (fullspike.nn.memory): identical results, less kept memory."""

import copy

import pytest
import torch
from torch import nn

import fullspike
from fullspike.models.outputs import classification_loss
from fullspike.nn import SpikingNeuron

SMALL = {
    "vgg9_bntt": dict(T=6, width=16, hidden=32),
    "dst_resnet18": dict(T=3, stem="cifar", width=8),
}


def step(model, x, y, compact):
    """One forward + backward of a copy; (outputs, parameter grads, buffers after)."""
    m = copy.deepcopy(model)
    m.compact_saving = compact
    torch.manual_seed(1)  # the same rate-coding draws
    out = m(x)
    classification_loss(out, y).backward()
    outs = [out] if isinstance(out, torch.Tensor) else list(out)
    return outs, dict(m.named_parameters()), dict(m.named_buffers())


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_outputs_gradients_and_statistics_are_identical(name, mode):
    model = getattr(fullspike.create_model(name, num_classes=10, **SMALL[name]), mode)()
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    out_a, params_a, bufs_a = step(model, x, y, False)
    out_b, params_b, bufs_b = step(model, x, y, True)
    for a, b in zip(out_a, out_b):
        assert torch.equal(a, b)
    for key, p in params_a.items():
        assert (p.grad is None) == (params_b[key].grad is None), key
        assert p.grad is None or torch.equal(p.grad, params_b[key].grad), key
    assert sum(p.grad is not None for p in params_a.values()) > 10
    for key, buf in bufs_a.items():
        assert torch.equal(buf, bufs_b[key]), key


@pytest.mark.parametrize("name,most", [("vgg9_bntt", 0.55), ("dst_resnet18", 0.72)])
def test_forward_keeps_less_for_backward(name, most, kept_bytes):
    model = fullspike.create_model(name, num_classes=10, **SMALL[name]).train()
    x = torch.randn(4, 3, 32, 32)
    kept = {}
    for compact in (False, True):
        model.compact_saving = compact
        kept[compact], _ = kept_bytes(lambda: model(x))
    assert kept[True] < most * kept[False]


class SequenceReLU(nn.Module):
    sequence_aware = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def test_norm_outputs_nobody_saves_cost_nothing(peak_bytes):
    """With the neurons swapped for ReLUs (which keep their own outputs, not the norms'), the
    norms' rebuild marks must not keep anything alive: the step's peak is the plain one."""
    model = fullspike.create_model("vgg9_bntt", num_classes=10, **SMALL["vgg9_bntt"]).train()
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, SpikingNeuron):
                setattr(module, name, SequenceReLU())
    x = torch.randn(4, 3, 32, 32)
    peak = {}
    for compact in (False, True, False, True):  # the first step warms up
        model.compact_saving = compact
        peak[compact], _ = peak_bytes(lambda: model(x).sum().backward())
    assert peak[True] <= peak[False]
