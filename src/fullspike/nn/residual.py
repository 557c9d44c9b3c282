"""Residual blocks of spiking ResNets: the plain Spiking ResNet block and the SEW
(spike-element-wise) block, with their branch and shortcut builders (docs/methods.md, "DST").
The dual-stream block of DST is in :mod:`fullspike.dst.blocks`.

Every block maps spike sequences ``[T, B, C, H, W]``; stateless layers run with T folded into
the batch. Module structure (names are stable; other tools such as the energy counter rely on it):

- ``branch``: :class:`~fullspike.nn.SeqSequential` ``conv1, bn1, sn1, conv2, bn2[, sn2]`` (basic)
  or ``conv1, bn1, sn1, conv2, bn2, sn2, conv3, bn3[, sn3]`` (bottleneck, stride on ``conv2``).
- ``downsample``: shortcut projection ``conv, bn[, sn]`` (1x1, stride s) or ``None`` (identity).
- ``connect``: :class:`~fullspike.nn.connect.Connect` (SEW blocks).
- ``sn``: the neuron after the addition (Spiking ResNet block only).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch
from torch import nn

from .. import checks
from ..errors import ConfigError
from .batch_norm import BatchNorm2d
from .connect import Connect
from .sequence import SeqSequential

#: makes a fresh spiking neuron (``[T, B, ...] -> [T, B, ...]``); keyword arguments override
NeuronFactory = Callable[..., nn.Module]

EXPANSION = {"basic": 1, "bottleneck": 4}


class Block(nn.Module):
    """Base of residual units: the spike tensors entering and leaving a :class:`Block` are what
    passes between blocks (binary in a full-spike network)."""


def named_blocks(model: nn.Module) -> list[tuple[str, Block]]:
    """The residual :class:`Block` s of ``model`` in registration (= forward) order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, Block)]


def conv(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A bias-free ``k x k`` convolution with "same" padding."""
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=False)


def residual_branch(
    kind: str, in_ch: int, planes: int, stride: int, make_sn: NeuronFactory, final_sn: bool = True
) -> SeqSequential:
    """The residual branch ``F``: basic ``[3x3 s, 3x3]`` or bottleneck ``[1x1, 3x3 s, 1x1 (x4)]``,
    each conv followed by BN and a neuron (the last neuron only with ``final_sn``). ``in_ch``,
    ``planes`` and ``stride`` are integers >= 1. Output channels: ``planes * EXPANSION[kind]``."""
    checks.count("in_ch", in_ch)
    checks.count("planes", planes)
    checks.count("stride", stride)
    if kind == "basic":
        spec = [(in_ch, planes, 3, stride), (planes, planes, 3, 1)]
    elif kind == "bottleneck":
        spec = [(in_ch, planes, 1, 1), (planes, planes, 3, stride), (planes, planes * 4, 1, 1)]
    else:
        raise ConfigError(f"unknown block kind '{kind}'; choose 'basic' or 'bottleneck'")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i, (ci, co, k, s) in enumerate(spec, 1):
        layers[f"conv{i}"] = conv(ci, co, k, s)
        layers[f"bn{i}"] = BatchNorm2d(co)
        if i < len(spec) or final_sn:
            layers[f"sn{i}"] = make_sn()
    return SeqSequential(layers)


def shortcut_projection(in_ch: int, out_ch: int, stride: int, make_sn: NeuronFactory | None) -> SeqSequential:
    """Shortcut downsampler ``conv1x1(stride) -> BN [-> SN]``."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(conv=conv(in_ch, out_ch, 1, stride), bn=BatchNorm2d(out_ch))
    if make_sn is not None:
        layers["sn"] = make_sn()
    return SeqSequential(layers)


def last_bn(branch: nn.Module) -> nn.BatchNorm2d:
    """The last batch norm of a residual branch (zero-initialised for identity mapping)."""
    bns = [m for m in branch.modules() if isinstance(m, nn.BatchNorm2d)]
    return bns[-1]


class SpikingBlock(Block):
    """Plain Spiking ResNet block: ``S_out = SN(F(S) + D(S))`` with ``F`` ending in BN (no neuron)
    and ``D`` the identity or ``conv1x1-BN``. Output spikes are binary."""

    def __init__(self, branch: nn.Module, downsample: nn.Module | None, sn: nn.Module) -> None:
        super().__init__()
        self.branch, self.downsample, self.sn = branch, downsample, sn

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, B, C, H, W]`` -> spikes ``[T, B, C', H', W']``: ``SN(F(S) + S')``."""
        short = s if self.downsample is None else self.downsample(s)
        return self.sn(self.branch(s) + short)


class SEWBlock(Block):
    """Spike-element-wise block: ``S_out = g(F(S), S')``, ``S' = S`` or ``SN(BN(conv1x1(S)))``."""

    def __init__(self, branch: nn.Module, downsample: nn.Module | None, connect: Connect) -> None:
        super().__init__()
        self.branch, self.downsample, self.connect = branch, downsample, connect

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, B, C, H, W]`` -> ``g(F(S), S')``, ``[T, B, C', H', W']`` (spikes when ``g`` is full-spike)."""
        short = s if self.downsample is None else self.downsample(s)
        return self.connect(self.branch(s), short)
