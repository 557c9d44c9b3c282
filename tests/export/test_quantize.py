"""Quantised weights: per-layer symmetric integers with one scale, written as integer-valued
conv/affine nodes followed by their scale node; the graph computes quantize_weights(model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fullspike.errors import ExportError
from fullspike.export import quantize_weights
from fullspike.export.quantize import quantize_tensor
from fullspike.nn import IF, LIF, SeqSequential

nir = pytest.importorskip("nir")
from fullspike.export import from_nir, to_nir  # noqa: E402


@pytest.mark.parametrize("bits", [4, 8, 16])
def test_integers_in_range_and_within_half_a_step(bits):
    w = torch.randn(16, 8, 3, 3) * 0.3
    q, s = quantize_tensor(w, bits)
    qmax = 2 ** (bits - 1) - 1
    assert torch.equal(q, q.round()) and q.abs().max().item() == qmax and q.dtype == w.dtype
    assert s == pytest.approx(w.abs().max().item() / qmax)
    assert (q.double() * s - w.double()).abs().max().item() <= s / 2 + 1e-12


@pytest.mark.parametrize("bits", [3, 17, 8.0, True, "8"])
def test_unsupported_widths_are_one_line(bits):
    with pytest.raises(ExportError, match=r"quantize needs a weight width of 4\.\.16 bits"):
        quantize_tensor(torch.ones(2), bits)


def net() -> SeqSequential:
    model = SeqSequential(
        nn.Conv2d(2, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        LIF(tau=2.0, v_reset=0.0),
        nn.MaxPool2d(2),
        nn.Flatten(1),
        nn.Linear(6 * 16, 12),
        IF(v_reset=0.0),
        nn.Linear(12, 4),
    )
    model.T = 4
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.mul_(6)  # every layer fires (checked below)
    return model.double().eval()


@pytest.mark.parametrize("gates", ["threshold", "if"])
def test_the_graph_holds_integers_and_computes_the_quantised_model(gates):
    torch.manual_seed(0)
    model = net()
    x = (torch.rand(4, 20, 2, 8, 8, dtype=torch.float64) < 0.4).double() * 2
    graph = to_nir(model, x, quantize=6, gates=gates)
    layers = [
        n for n, v in graph.nodes.items() if type(v).__name__ in ("Conv2d", "Affine") and f"{n}.scale" in graph.nodes
    ]
    assert sorted(layers) == ["0", "5", "7"]
    for n in layers:
        w = np.asarray(graph.nodes[n].weight)
        assert np.array_equal(w, np.round(w)) and np.abs(w).max() == 31
        assert (n, f"{n}.scale") in graph.edges
    assert "6-bit" in graph.metadata["weights"]
    ref = quantize_weights(model, 6)(x)
    steps = from_nir(graph).nodes(x)
    out = steps["output"]
    assert all(steps[n].mean().item() > 0.01 for n in ("2", "6"))  # both neuron layers fire
    assert (out - ref).abs().max().item() < 1e-9
    assert (ref - model(x)).abs().max().item() > 1e-3  # quantising changed the network


def test_16_bits_is_close_to_float():
    torch.manual_seed(0)
    model = net()
    x = (torch.rand(4, 50, 2, 8, 8, dtype=torch.float64) < 0.4).double()
    with torch.no_grad():
        ref, q = model(x), quantize_weights(model, 16)(x)
    assert (ref.mean(0).argmax(-1) == q.mean(0).argmax(-1)).float().mean().item() >= 0.95


def test_bntt_folded_layers_are_quantised_too():
    """A BNTT net (not exportable) is quantised alike: one scale over all steps' folded weights."""
    from fullspike.energy import StepwiseSynapse
    from fullspike.models import create_model

    model = create_model("bntt_convnet", T=3, width=4, hidden=8).eval()
    q = quantize_weights(model, 5)
    layers = [m for m in q.modules() if isinstance(m, (StepwiseSynapse, nn.Conv2d, nn.Linear))]
    assert any(isinstance(m, StepwiseSynapse) for m in layers)
    for m in layers:
        w = m.weight.detach().double()
        s = w.abs().max().item() / 15
        assert torch.allclose(w / s, (w / s).round(), atol=1e-4)


def _frames(model: nn.Module) -> torch.Tensor:
    torch.manual_seed(1)
    return (torch.rand(model.T, 20, 2, 8, 8) < 0.4).float() * 2  # event counts: integer inputs


@pytest.mark.parametrize("gates", ["threshold", "if"])
def test_the_quantised_model_computes_its_graph_in_float32_to_the_last_bit(gates):
    """The graph computes s (q x + b / s); the quantised model used to compute (s q) x + b, one
    float32 rounding apart, enough to flip a spike whose membrane lands on the threshold."""
    torch.manual_seed(0)
    model = net().float()
    x = _frames(model)
    with torch.no_grad():
        assert torch.equal(from_nir(to_nir(model, x, quantize=8, gates=gates))(x), quantize_weights(model, 8)(x))


def test_exporting_the_quantised_model_writes_the_graph_it_computes():
    """to_nir of quantize_weights' copy reads the scale each layer multiplies its output by (it was
    dropped once: the graph was off by that scale per layer)."""
    torch.manual_seed(0)
    model = net().float()
    x = _frames(model)
    q = quantize_weights(model, 6)
    with torch.no_grad():
        ref = q(x)
        assert torch.equal(from_nir(to_nir(q, x))(x), ref)
        assert torch.equal(from_nir(to_nir(q, x, quantize=6))(x), ref)  # quantising it again changes nothing
        assert torch.equal(quantize_weights(q, 6)(x), ref)


def test_the_quantised_model_s_scales_are_in_its_state_dict():
    """The state dict describes the quantised network: it loads into another quantised copy and
    computes the same, and a float copy refuses it rather than running integers without scales."""
    torch.manual_seed(0)
    model = net().float()
    x = _frames(model)
    q = quantize_weights(model, 8)
    other = quantize_weights(net().float(), 8)
    other.load_state_dict(q.state_dict())
    with torch.no_grad():
        assert torch.equal(other(x), q(x))
    with pytest.raises(RuntimeError, match="weight_scale"):
        net().float().load_state_dict(q.state_dict())
