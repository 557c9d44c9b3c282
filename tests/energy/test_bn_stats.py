"""BN-statistics estimation before counting an untrained network."""

import pytest
import torch
from torch import nn

from fullspike.energy import estimate_bn_stats
from fullspike.errors import ConfigError
from fullspike.nn import BNTT2d


def test_running_stats_become_the_average_of_the_batch_statistics():
    bn, bntt = nn.BatchNorm2d(3), BNTT2d(3, T=2)
    net = nn.Sequential(bn)
    a, b = torch.randn(4, 3, 5, 5) * 2 + 1, torch.randn(6, 3, 5, 5) - 3
    estimate_bn_stats(net, [(a, 0), (b, 0), (torch.full_like(a, 99.0), 0)], num_batches=2)
    means = torch.stack([a.mean((0, 2, 3)), b.mean((0, 2, 3))])
    vars_ = torch.stack([a.var((0, 2, 3)), b.var((0, 2, 3))])  # unbiased, as BN tracks it
    torch.testing.assert_close(bn.running_mean, means.mean(0))
    torch.testing.assert_close(bn.running_var, vars_.mean(0))
    assert bn.momentum == 0.1 and net.training  # momentum and (training) mode restored
    seq = torch.randn(2, 4, 3, 5, 5)
    estimate_bn_stats(bntt, seq, 1)  # one BN per step
    torch.testing.assert_close(bntt.running_mean, seq.mean((1, 3, 4)))
    assert bntt.weight.eq(1).all()  # learnable parameters untouched


def test_no_batch_count_runs_every_batch():
    bn = nn.BatchNorm1d(2)
    batches = [torch.randn(4, 2) + i for i in range(3)]
    estimate_bn_stats(nn.Sequential(bn), batches, None)
    torch.testing.assert_close(bn.running_mean, torch.stack([b.mean(0) for b in batches]).mean(0))


def test_no_batches_is_an_error():
    with pytest.raises(ConfigError, match="no input batches"):
        estimate_bn_stats(nn.Sequential(nn.BatchNorm1d(2)), [])


@pytest.mark.parametrize("num_batches", [0, -1, 1.5])
def test_a_nonsense_batch_count_is_refused_before_the_statistics_are_reset(num_batches):
    bn = nn.BatchNorm1d(2)
    bn.running_mean.fill_(3.0)
    with pytest.raises(ConfigError, match=r"^num_batches must be an integer >= 1 or None, got "):
        estimate_bn_stats(nn.Sequential(bn), [torch.randn(4, 2)], num_batches=num_batches)
    assert bn.running_mean.eq(3.0).all()
