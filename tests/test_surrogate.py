"""Surrogate gradients against their formulas (docs/methods.md, "Neurons")."""

import math

import pytest
import torch

from fullspike import surrogate as sg

X = torch.linspace(-2, 2, 41, dtype=torch.float64)


def grad_of(s: sg.Surrogate, x=X):
    x = x.clone().requires_grad_(True)
    y = s.spike(x)
    y.sum().backward()
    return y.detach(), x.grad


def test_forward_is_heaviside():
    y, _ = grad_of(sg.Sigmoid())
    assert torch.equal(y, (X >= 0).double())
    y = sg.Sigmoid().spike(X, strict=True)
    assert torch.equal(y, (X > 0).double())


@pytest.mark.parametrize("alpha", [1.0, 4.0, 8.0])
def test_sigmoid(alpha):
    _, g = grad_of(sg.Sigmoid(alpha))
    ref = [alpha * (1 / (1 + math.exp(-alpha * x))) * (1 - 1 / (1 + math.exp(-alpha * x))) for x in X.tolist()]
    assert torch.allclose(g, torch.tensor(ref, dtype=torch.float64))
    assert g[20].item() == pytest.approx(alpha / 4)  # peak at x = 0


@pytest.mark.parametrize("alpha", [2.0, 3.0])
def test_atan(alpha):
    _, g = grad_of(sg.ATan(alpha))
    ref = [alpha / 2 / (1 + (math.pi / 2 * alpha * x) ** 2) for x in X.tolist()]
    assert torch.allclose(g, torch.tensor(ref, dtype=torch.float64))


def test_triangle():
    _, g = grad_of(sg.Triangle(0.3, width=1.0))
    ref = [0.3 * max(0.0, 1 - abs(x)) for x in X.tolist()]
    assert torch.allclose(g, torch.tensor(ref, dtype=torch.float64))
    _, g2 = grad_of(sg.Triangle(0.3, width=2.0))
    assert g2[30].item() == pytest.approx(0.3 * (1 - 1.0 / 2.0))  # x = 1


def test_registry_and_extension():
    assert {"sigmoid", "atan", "triangle"} <= set(sg.available())
    assert sg.make_surrogate("atan", alpha=3.0) == sg.ATan(3.0)

    @sg.register("box_test")
    class Box(sg.Surrogate):
        def grad(self, x):
            return (x.abs() < 0.5).to(x.dtype)

    _, g = grad_of(sg.make_surrogate("box_test"))
    assert torch.equal(g, (X.abs() < 0.5).double())
    with pytest.raises(KeyError, match="unknown surrogate 'sigmod'.*sigmoid"):
        sg.make_surrogate("sigmod")
