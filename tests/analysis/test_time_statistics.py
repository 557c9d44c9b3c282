"""fullspike.analysis.time_statistics: per-step shift and spread of a BNTT layer's running
statistics against the statistics pooled over steps, computed by hand."""

import math

import pytest
import torch
from torch import nn

from fullspike.analysis.time_statistics import step_statistics
from fullspike.nn import BNTT2d
from fullspike.nn.bntt import make_norm


def test_shift_and_scale_against_the_pooled_statistics():
    norm = BNTT2d(1, T=2)
    norm.eps = 0.0
    norm.running_mean.copy_(torch.tensor([[0.0], [2.0]]))  # two steps, one channel
    norm.running_var.copy_(torch.tensor([[1.0], [1.0]]))
    st = step_statistics(nn.Sequential(norm))
    # pooled: mean 1, variance mean(1 + 0, 1 + 4) - 1 = 2
    assert st["layers"]["0"]["shift"] == pytest.approx([1 / math.sqrt(2)] * 2)
    assert st["layers"]["0"]["scale"] == pytest.approx([1 / math.sqrt(2)] * 2)


def test_layers_weigh_the_same_and_equal_steps_give_shift_0_scale_1():
    same, moved = BNTT2d(3, T=4), BNTT2d(2, T=4)
    same.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]).expand(4, 3))
    same.running_var.copy_(torch.tensor([1.0, 4.0, 0.25]).expand(4, 3))
    moved.running_mean[0] = 3.0  # step 1 apart from steps 2..4 (mean 0, variance 1 each)
    st = step_statistics(nn.Sequential(same, moved))
    assert st["layers"]["0"]["shift"] == pytest.approx([0.0] * 4, abs=1e-6)
    assert st["layers"]["0"]["scale"] == pytest.approx([1.0] * 4, abs=1e-4)
    # moved: pooled mean 0.75, variance 1 + (9 / 4) - 0.5625 = 2.6875
    sd = math.sqrt(2.6875 + moved.eps)
    assert st["layers"]["1"]["shift"] == pytest.approx([2.25 / sd] + [0.75 / sd] * 3)
    assert st["shift"] == pytest.approx([(0 + 2.25 / sd) / 2] + [0.75 / sd / 2] * 3)


def test_networks_without_bntt_have_no_per_step_statistics():
    assert step_statistics(nn.Sequential(make_norm("bn", 4, T=3), nn.ReLU())) == {"layers": {}}
