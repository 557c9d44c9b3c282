"""Encoders: BNTT's signed rate coding statistics and direct coding."""

import pytest
import torch

from fullspike import functional as SF
from fullspike.errors import ConfigError
from fullspike.nn import DirectEncoder, RateEncoder


def test_rate_coding_probabilities_and_signs():
    x = torch.tensor([0.0, 0.5, -1.0, 1.5, -3.0, 2.0])
    s = SF.rate_encode(x.expand(20000, 6), T=4)
    assert s.shape == (4, 20000, 6)
    assert set(s.unique().tolist()) <= {-1.0, 0.0, 1.0}
    rate = s.mean(dim=(0, 1))
    expected = torch.sign(x) * torch.clamp(x.abs() / 2, max=1)
    assert torch.allclose(rate, expected, atol=0.01)
    assert torch.all(s[..., 0] == 0) and torch.all(s[..., 5] == 1) and torch.all(s[..., 4] == -1)


def test_rate_coding_draws_afresh_each_step_and_call_in_eval_too():
    enc = RateEncoder(T=8).eval()
    x = torch.full((64, 10), 1.0)
    a, b = enc(x), enc(x)
    assert not torch.equal(a, b)
    assert not torch.equal(a[0], a[1])
    # steps are independent draws: correlation between steps is ~0
    c = torch.corrcoef(torch.stack([a[0].flatten(), a[1].flatten()]))[0, 1]
    assert abs(c) < 0.1


def test_direct_coding_repeats():
    x = torch.randn(3, 2)
    y = DirectEncoder(T=5)(x)
    assert y.shape == (5, 3, 2) and all(torch.equal(y[t], x) for t in range(5))


@pytest.mark.parametrize("encode", [SF.rate_encode, SF.direct_encode])
@pytest.mark.parametrize("T", [0, -1, 2.0])
def test_an_encoding_takes_at_least_one_step(encode, T):
    with pytest.raises(ConfigError, match=r"^T must be an integer >= 1, got "):
        encode(torch.rand(2, 3), T)


@pytest.mark.parametrize("encoder", [RateEncoder, DirectEncoder])
@pytest.mark.parametrize(
    "T, shown", [(0, "0"), (-1, "-1"), (torch.ones(10, 10), r"a tensor of shape \(10, 10\)")], ids=["0", "-1", "matrix"]
)
def test_an_encoder_is_built_for_at_least_one_step(encoder, T, shown):
    with pytest.raises(ConfigError, match=rf"^{encoder.__name__} T must be an integer >= 1, got {shown}$"):
        encoder(T)
