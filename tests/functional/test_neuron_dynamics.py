"""Neuron dynamics against hand-computed sequences (docs/methods.md, "Neurons")."""

import math

import pytest
import torch

from fullspike import functional as SF
from fullspike import nn as snn
from fullspike.errors import ShapeError
from fullspike.surrogate import Sigmoid


def seq(*vals):
    return torch.tensor(vals, dtype=torch.float64).view(-1, 1)


def test_if_hard_reset():
    s, v = SF.if_sequence(seq(0.5, 0.6, 0.3, 1.2), v_reset=0.0, return_membrane=True)
    assert s.flatten().tolist() == [0, 1, 0, 1]
    assert torch.allclose(v.flatten(), seq(0.5, 0.0, 0.3, 0.0).flatten())


def test_if_soft_reset():
    s, v = SF.if_sequence(seq(0.5, 0.6, 0.3, 1.2), v_reset=None, return_membrane=True)
    assert s.flatten().tolist() == [0, 1, 0, 1]
    assert torch.allclose(v.flatten(), seq(0.5, 0.1, 0.4, 0.6).flatten())


def test_if_fires_on_equality_unless_strict():
    x = seq(1.0)
    assert SF.if_sequence(x).item() == 1.0
    assert SF.if_sequence(x, strict=True).item() == 0.0


def test_lif_decay_input_hard_reset():
    # h = v + (x - v) / 2 with tau = 2: 0.75, 1.125 (fire, v=0), 0.75, 1.125 (fire)
    s, v = SF.lif_sequence(seq(1.5, 1.5, 1.5, 1.5), tau=2.0, return_membrane=True)
    assert s.flatten().tolist() == [0, 1, 0, 1]
    assert torch.allclose(v.flatten(), seq(0.75, 0.0, 0.75, 0.0).flatten())


def test_lif_nonzero_reset_potential_decays_towards_it():
    # v starts at v_reset=-0.5; h = v + (x - (v - v_reset)) / tau; x = 0 keeps v at v_reset
    s, v = SF.lif_sequence(seq(0.0, 0.0), tau=4.0, v_reset=-0.5, return_membrane=True)
    assert s.sum() == 0 and torch.allclose(v, torch.full_like(v, -0.5))


def test_lif_soft_reset():
    # tau=2, soft: h1=1.0 -> fires (>=), v=0; h2 = 0 + (3-0)/2 = 1.5 -> fires, v=0.5; h3 = .5 + (0-.5)/2 = .25
    s, v = SF.lif_sequence(seq(2.0, 3.0, 0.0), tau=2.0, v_reset=None, return_membrane=True)
    assert s.flatten().tolist() == [1, 1, 0]
    assert torch.allclose(v.flatten(), seq(0.0, 0.5, 0.25).flatten())


def test_leaky_bntt_form_soft_strict():
    # lambda=0.5: h1=1.0 (not > 1), h2=0.5+0.6=1.1 fires -> v=0.1, h3=0.05+0.8=0.85
    s, v = SF.leaky_sequence(seq(1.0, 0.6, 0.8), leak=0.5, v_reset=None, strict=True, return_membrane=True)
    assert s.flatten().tolist() == [0, 1, 0]
    assert torch.allclose(v.flatten(), seq(1.0, 0.1, 0.85).flatten())


def _sg(x, alpha=4.0):
    s = 1 / (1 + math.exp(-alpha * x))
    return alpha * s * (1 - s)


@pytest.mark.parametrize("detach", [False, True])
def test_detach_reset_gradient(detach):
    # IF, hard reset to 0. x1 = 1.2 fires at step 1, so v1 = h1 * (1 - s1) and
    # d s2 / d x1 = sg'(h2 - 1) * dv1/dx1, dv1/dx1 = (1 - s1) - [not detached] h1 * sg'(h1 - 1).
    x = torch.tensor([[1.2], [0.3]], dtype=torch.float64, requires_grad=True)
    s = SF.if_sequence(x, detach_reset=detach, surrogate=Sigmoid(4.0))
    s[1].sum().backward()
    h1, h2 = 1.2, 0.0 + 0.3
    dv1 = 0.0 if detach else -h1 * _sg(h1 - 1)
    assert x.grad[0].item() == pytest.approx(_sg(h2 - 1) * dv1, rel=1e-9, abs=1e-12)
    assert x.grad[1].item() == pytest.approx(_sg(h2 - 1), rel=1e-9)


def test_modules_match_functional_and_need_no_reset():
    x = torch.rand(5, 3, 4) * 2
    lif = snn.LIF(tau=2.0)
    a, b = lif(x), lif(x)  # no state carried between calls
    assert torch.equal(a, b)
    assert torch.equal(a, SF.lif_sequence(x, 2.0))
    assert a.shape == x.shape and set(a.unique().tolist()) <= {0.0, 1.0}


def test_plif_learns_tau():
    plif = snn.PLIF(tau=2.0)
    assert plif.tau == pytest.approx(2.0)
    x = torch.rand(4, 2, 3) * 2
    assert torch.equal(plif(x), SF.lif_sequence(x, 2.0))
    plif(x).sum().backward()
    assert plif.w.grad is not None and plif.w.grad.abs() > 0


def test_bntt_leak_lif_module():
    lif = snn.LIF(leak=0.5, v_reset=None, strict=True)
    assert lif(seq(1.0, 0.6, 0.8).float()).flatten().tolist() == [0, 1, 0]


def test_neuron_rejects_non_sequence():
    with pytest.raises(ShapeError, match=r"\[T, B, \.\.\.\]"):
        snn.IF()(torch.rand(3))


def test_bad_neuron_arguments():
    with pytest.raises(ValueError):
        snn.LIF(tau=0.5)
    with pytest.raises(ValueError, match="unknown neuron"):
        snn.make_neuron("relu")
