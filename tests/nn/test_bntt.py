"""BNTT: per-step statistics in training and evaluation (docs/methods.md, "BNTT")."""

import pytest
import torch
from torch import nn

from fullspike.errors import ConfigError, ShapeError
from fullspike.nn import BNTT1d, BNTT2d, TimeFolded, make_norm


def stepwise_input(T=3, B=16, C=2):
    # each step has its own mean and scale, so per-step statistics matter
    return torch.stack([torch.randn(B, C, 4, 4) * (t + 1) + 3 * t for t in range(T)])


def test_defaults_match_spec():
    bn = BNTT2d(8, T=5)
    assert bn.eps == 1e-4 and bn.momentum == 0.1 and bn.bias is None
    assert bn.weight.shape == (5, 8) and torch.all(bn.weight == 1)
    assert bn.running_mean.shape == (5, 8) and torch.all(bn.running_var == 1)


def test_training_normalises_each_step_with_its_own_batch_stats():
    x = stepwise_input()
    bn = BNTT2d(2, T=3).train()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 2.0], [0.5, 0.5]]))
    y = bn(x)
    for t in range(3):
        xt = x[t]
        mu = xt.mean(dim=(0, 2, 3), keepdim=True)
        var = xt.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
        ref = (xt - mu) / torch.sqrt(var + 1e-4) * bn.weight[t].view(1, -1, 1, 1)
        assert torch.allclose(y[t], ref, atol=1e-5)
        # running stats of step t move 10% towards that step's batch statistics
        n = xt.numel() / 2
        assert torch.allclose(bn.running_mean[t], 0.1 * mu.flatten(), atol=1e-5)
        assert torch.allclose(bn.running_var[t], 0.9 + 0.1 * var.flatten() * n / (n - 1), atol=1e-4)


def test_evaluation_uses_per_step_running_stats():
    bn = BNTT2d(2, T=3).eval()
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
        bn.running_var.copy_(torch.tensor([[1.0, 4.0], [9.0, 16.0], [25.0, 36.0]]))
        bn.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    x = stepwise_input()
    y = bn(x)
    ref = (x - bn.running_mean.view(3, 1, 2, 1, 1)) / torch.sqrt(bn.running_var.view(3, 1, 2, 1, 1) + 1e-4)
    assert torch.allclose(y, ref * bn.weight.view(3, 1, 2, 1, 1), atol=1e-5)


def test_equals_independent_batchnorm_per_step():
    x = stepwise_input(T=4)
    bntt = BNTT2d(2, T=4)
    per_step = [nn.BatchNorm2d(2, eps=1e-4) for _ in range(4)]
    for _ in range(3):  # a few training steps, then evaluation
        y = bntt(x)
        for t in range(4):
            assert torch.allclose(y[t], per_step[t](x[t]), atol=1e-5)
    bntt.eval()
    for m in per_step:
        m.eval()
    y = bntt(x * 0.5)
    for t in range(4):
        assert torch.allclose(y[t], per_step[t](x[t] * 0.5), atol=1e-5)


def test_bntt1d_and_fewer_steps():
    bn = BNTT1d(3, T=4)
    x = torch.randn(2, 8, 3)
    y = bn(x)  # early exit runs fewer steps than built for
    assert y.shape == x.shape
    assert torch.all(bn.running_mean[2:] == 0) and torch.any(bn.running_mean[:2] != 0)


def test_more_steps_than_built_is_a_clear_error():
    with pytest.raises(ShapeError, match="built for T=3 time steps but got 5"):
        BNTT2d(2, T=3)(torch.randn(5, 2, 2, 4, 4))
    with pytest.raises(ShapeError, match=r"expects \[T, B, 2, H, W\]"):
        BNTT2d(2, T=3)(torch.randn(3, 2, 4, 4))


def test_gamma_gets_gradient_per_step():
    # a loss on step 1 only: gamma_1's gradient is sum(w * x_hat_1) per channel, the others get 0
    bn = BNTT2d(2, T=3)
    x = stepwise_input()
    w = torch.randn(x[1].shape, generator=torch.Generator().manual_seed(0))
    (bn(x)[1] * w).sum().backward()
    mu = x[1].mean(dim=(0, 2, 3), keepdim=True)
    var = x[1].var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    expected = (w * (x[1] - mu) / torch.sqrt(var + 1e-4)).sum(dim=(0, 2, 3))
    assert expected.abs().min() > 0.1  # the check below can fail
    torch.testing.assert_close(bn.weight.grad[1], expected, rtol=1e-4, atol=1e-4)
    assert torch.all(bn.weight.grad[0] == 0) and torch.all(bn.weight.grad[2] == 0)


def test_make_norm_variants():
    assert isinstance(make_norm("bntt", 4, 3, 2), BNTT2d)
    shared = make_norm("bn", 4, 3, 2)
    assert isinstance(shared, TimeFolded) and isinstance(shared.module, nn.BatchNorm2d)
    x = stepwise_input(C=4)
    y = shared(x)  # one set of statistics over all steps
    mu = x.mean(dim=(0, 1, 3, 4))
    assert torch.allclose(y.mean(dim=(0, 1, 3, 4)), torch.zeros(4), atol=1e-5)
    assert not torch.allclose(y[0].mean(dim=(0, 2, 3)), torch.zeros(4), atol=1e-2) or mu.abs().sum() == 0
    assert isinstance(make_norm("none", 4, 3), nn.Identity)
    with pytest.raises(ValueError, match="unknown norm"):
        make_norm("layer", 4, 3)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("num_features", dict(num_features=0)),
        ("num_features", dict(num_features=-1)),
        ("T", dict(T=2.0)),
        ("eps", dict(eps=0.0)),
        ("eps", dict(eps=-1e-4)),
        ("momentum", dict(momentum=1.5)),
        ("momentum", dict(momentum=None)),
    ],
)
@pytest.mark.parametrize("norm", [BNTT1d, BNTT2d])
def test_a_nonsense_argument_is_one_line_naming_it(norm, name, kwargs):
    with pytest.raises(ConfigError, match=rf"^{norm.__name__} {name} must be "):
        norm(**{"num_features": 3, "T": 2, **kwargs})
