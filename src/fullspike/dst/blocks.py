"""Residual blocks of spiking ResNets: the plain Spiking ResNet block, the SEW block, and the
dual-stream (DST) block with its auxiliary accumulation pathway (docs/methods.md, "DST").

Every block maps spike sequences ``[T, B, C, H, W]``; stateless layers run with T folded into
the batch. Module structure (names are stable; other tools such as the energy counter rely on it):

- ``branch``: :class:`~fullspike.nn.SeqSequential` ``conv1, bn1, sn1, conv2, bn2[, sn2]`` (basic)
  or ``conv1, bn1, sn1, conv2, bn2, sn2, conv3, bn3[, sn3]`` (bottleneck, stride on ``conv2``).
- ``downsample``: shortcut projection ``conv, bn[, sn]`` (1x1, stride s) or ``None`` (identity).
- ``connect``: :class:`~fullspike.dst.connect.Connect` (SEW and dual-stream blocks).
- ``sn``: the neuron after the addition (Spiking ResNet block only).
- dual-stream blocks add ``accum_downsample`` (:class:`AccumulationDownsampler` or ``None``) and
  ``accumulate`` (:class:`Accumulate`); both are :class:`AccumulationPath` modules, which is how
  :func:`~fullspike.dst.aap.remove_aap` and the energy counter recognise the AAP.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch
from torch import nn

from ..functional import fold_time, unfold_time
from ..nn import SeqSequential
from .connect import Connect

#: makes a fresh spiking neuron (``[T, B, ...] -> [T, B, ...]``)
NeuronFactory = Callable[[], nn.Module]

EXPANSION = {"basic": 1, "bottleneck": 4}
FAMILIES = ("spiking", "sew", "dst")


class Block(nn.Module):
    """Base of residual units: the spike tensors entering and leaving a :class:`Block` are what
    passes between blocks (binary in a full-spike network)."""


class AccumulationPath(nn.Module):
    """Base of every module of the auxiliary accumulation pathway (removed for FSNN inference)."""


def named_blocks(model: nn.Module) -> list[tuple[str, Block]]:
    """The residual :class:`Block` s of ``model`` in registration (= forward) order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, Block)]


def spike_stream_parameters(module: nn.Module) -> list[nn.Parameter]:
    """Parameters of ``module`` outside its :class:`AccumulationPath` submodules."""
    aap = {id(p) for m in module.modules() if isinstance(m, AccumulationPath) for p in m.parameters()}
    return [p for p in module.parameters() if id(p) not in aap]


def _conv(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=False)


def residual_branch(kind: str, in_ch: int, planes: int, stride: int, make_sn: NeuronFactory,
                    final_sn: bool = True) -> SeqSequential:
    """The residual branch ``F``: basic ``[3x3 s, 3x3]`` or bottleneck ``[1x1, 3x3 s, 1x1 (x4)]``,
    each conv followed by BN and a neuron (the last neuron only with ``final_sn``).
    Output channels: ``planes * EXPANSION[kind]``."""
    if kind == "basic":
        spec = [(in_ch, planes, 3, stride), (planes, planes, 3, 1)]
    elif kind == "bottleneck":
        spec = [(in_ch, planes, 1, 1), (planes, planes, 3, stride), (planes, planes * 4, 1, 1)]
    else:
        raise ValueError(f"unknown block kind '{kind}'; choose 'basic' or 'bottleneck'")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i, (ci, co, k, s) in enumerate(spec, 1):
        layers[f"conv{i}"] = _conv(ci, co, k, s)
        layers[f"bn{i}"] = nn.BatchNorm2d(co)
        if i < len(spec) or final_sn:
            layers[f"sn{i}"] = make_sn()
    return SeqSequential(layers)


def shortcut_projection(in_ch: int, out_ch: int, stride: int,
                        make_sn: NeuronFactory | None) -> SeqSequential:
    """Shortcut downsampler ``conv1x1(stride) -> BN [-> SN]``."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(conv=_conv(in_ch, out_ch, 1, stride),
                                                       bn=nn.BatchNorm2d(out_ch))
    if make_sn is not None:
        layers["sn"] = make_sn()
    return SeqSequential(layers)


def last_bn(branch: nn.Module) -> nn.BatchNorm2d:
    """The last batch norm of a residual branch (zero-initialised for identity mapping)."""
    bns = [m for m in branch.modules() if isinstance(m, nn.BatchNorm2d)]
    return bns[-1]


class AccumulationDownsampler(AccumulationPath):
    """``A' = ReLU(BN(P(A)))``: ``P`` = depthwise 3x3 conv (stride s, padding 1) then 1x1 conv
    ``C_in -> C_out``; just the 1x1 conv when ``stride == 1``. ``[T, B, C_in, H, W] ->
    [T, B, C_out, H/s, W/s]``. Children: ``dw`` (or ``None``), ``pw``, ``bn``, ``relu``."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.dw = _conv(in_ch, in_ch, 3, stride, groups=in_ch) if stride != 1 else None
        self.pw = _conv(in_ch, out_ch, 1)
        self.bn = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU()

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        x = fold_time(a)
        if self.dw is not None:
            x = self.dw(x)
        return unfold_time(self.relu(self.bn(self.pw(x))), a.shape[0])


class Accumulate(AccumulationPath):
    """The accumulation stream's addition ``A_out = A' + O`` (one accumulate per branch spike)."""

    def forward(self, a: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
        return a + o


class SpikingBlock(Block):
    """Plain Spiking ResNet block: ``S_out = SN(F(S) + D(S))`` with ``F`` ending in BN (no neuron)
    and ``D`` the identity or ``conv1x1-BN``. Output spikes are binary."""

    def __init__(self, branch: nn.Module, downsample: nn.Module | None, sn: nn.Module) -> None:
        super().__init__()
        self.branch, self.downsample, self.sn = branch, downsample, sn

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        short = s if self.downsample is None else self.downsample(s)
        return self.sn(self.branch(s) + short)


class SEWBlock(Block):
    """Spike-element-wise block: ``S_out = g(F(S), S')``, ``S' = S`` or ``SN(BN(conv1x1(S)))``."""

    def __init__(self, branch: nn.Module, downsample: nn.Module | None, connect: Connect) -> None:
        super().__init__()
        self.branch, self.downsample, self.connect = branch, downsample, connect

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        short = s if self.downsample is None else self.downsample(s)
        return self.connect(self.branch(s), short)


class DualStreamBlock(Block):
    """DST block: the SEW spike stream plus the accumulation stream.

    ``forward(S, A) -> (S_out, A_out)`` with ``O = F(S)``, ``S_out = g(O, S')`` and
    ``A_out = A' + O``, ``A' = A`` or ``ReLU(BN(P(A)))`` (:class:`AccumulationDownsampler`).
    The spike stream never reads ``A``; :meth:`without_aap` returns the equivalent
    :class:`SEWBlock` sharing the spike-stream modules.
    """

    def __init__(self, branch: nn.Module, downsample: nn.Module | None, connect: Connect,
                 accum_downsample: AccumulationDownsampler | None) -> None:
        super().__init__()
        self.branch, self.downsample, self.connect = branch, downsample, connect
        self.accum_downsample = accum_downsample
        self.accumulate = Accumulate()

    def forward(self, s: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        o = self.branch(s)
        short = s if self.downsample is None else self.downsample(s)
        a = a if self.accum_downsample is None else self.accum_downsample(a)
        return self.connect(o, short), self.accumulate(a, o)

    def without_aap(self) -> SEWBlock:
        return SEWBlock(self.branch, self.downsample, self.connect)


def residual_block(family: str, kind: str, in_ch: int, planes: int, stride: int,
                   make_sn: NeuronFactory, connect: str = "iand",
                   zero_init_residual: bool = False) -> Block:
    """One ResNet block of ``family`` (``"spiking"``, ``"sew"`` or ``"dst"``) and ``kind``
    (``"basic"`` or ``"bottleneck"``). A shortcut projection is added when the stride is not 1
    or the channel count changes (for ``"dst"`` also the accumulation downsampler).
    ``connect`` is ignored by the ``"spiking"`` family."""
    out_ch = planes * EXPANSION[kind]
    project = stride != 1 or in_ch != out_ch
    branch = residual_branch(kind, in_ch, planes, stride, make_sn, final_sn=family != "spiking")
    if zero_init_residual:
        nn.init.zeros_(last_bn(branch).weight)
    if family == "spiking":
        down = shortcut_projection(in_ch, out_ch, stride, None) if project else None
        return SpikingBlock(branch, down, make_sn())
    down = shortcut_projection(in_ch, out_ch, stride, make_sn) if project else None
    if family == "sew":
        return SEWBlock(branch, down, Connect(connect))
    if family == "dst":
        accum = AccumulationDownsampler(in_ch, out_ch, stride) if project else None
        return DualStreamBlock(branch, down, Connect(connect), accum)
    raise ValueError(f"unknown residual family '{family}'; choose one of {list(FAMILIES)}")
