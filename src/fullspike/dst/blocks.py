"""The dual-stream (DST) residual block and its auxiliary accumulation pathway (AAP)
(docs/methods.md, "DST"), and :func:`residual_block`, which builds a block of any residual
family (the Spiking ResNet and SEW blocks are in :mod:`fullspike.nn.residual`).

A dual-stream block has the SEW block's modules (``branch``, ``downsample``, ``connect``) plus
``accum_downsample`` (:class:`AccumulationDownsampler` or ``None``) and ``accumulate``
(:class:`Accumulate`); both are :class:`AccumulationPath` modules, which is how
:func:`~fullspike.dst.aap.remove_aap` and the energy counter recognise the AAP.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..errors import ConfigError
from ..functional import per_step
from ..nn.connect import Connect
from ..nn.residual import (
    EXPANSION,
    Block,
    NeuronFactory,
    SEWBlock,
    SpikingBlock,
    conv,
    last_bn,
    residual_branch,
    shortcut_projection,
)

FAMILIES = ("spiking", "sew", "dst")


class AccumulationPath(nn.Module):
    """Base of every module of the auxiliary accumulation pathway (removed for FSNN inference)."""


class CarriesAAP(nn.Module):
    """Base of modules that hold part of the AAP without being an :class:`AccumulationPath`
    (a dual-stream block, a dual-stream network): :meth:`without_aap` returns the spike-only
    replacement, which :func:`~fullspike.dst.aap.remove_aap` puts in its place."""

    @property
    def carries_aap(self) -> bool:
        """Whether this module still holds part of the AAP."""
        return True

    def without_aap(self) -> nn.Module:
        """The spike-only module that replaces this one when the AAP is removed."""
        raise NotImplementedError


def spike_stream_parameters(module: nn.Module) -> list[nn.Parameter]:
    """Parameters of ``module`` outside its :class:`AccumulationPath` submodules."""
    aap = {id(p) for m in module.modules() if isinstance(m, AccumulationPath) for p in m.parameters()}
    return [p for p in module.parameters() if id(p) not in aap]


class AccumulationDownsampler(AccumulationPath):
    """``A' = ReLU(BN(P(A)))``: ``P`` = depthwise 3x3 conv (stride s, padding 1) then 1x1 conv
    ``C_in -> C_out``; just the 1x1 conv when ``stride == 1``. ``[T, B, C_in, H, W] ->
    [T, B, C_out, H/s, W/s]``; ``in_ch``, ``out_ch`` and ``stride`` are integers >= 1.
    Children: ``dw`` (or ``None``), ``pw``, ``bn``, ``relu``."""

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        checks.count("AccumulationDownsampler in_ch", in_ch)
        checks.count("AccumulationDownsampler out_ch", out_ch)
        checks.count("AccumulationDownsampler stride", stride)
        self.dw = conv(in_ch, in_ch, 3, stride, groups=in_ch) if stride != 1 else None
        self.pw = conv(in_ch, out_ch, 1)
        self.bn = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU()

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        """``[T, B, C_in, H, W] -> [T, B, C_out, H/s, W/s]``: ``ReLU(BN(P(A)))`` at every step."""
        return per_step(self._project, a)

    def _project(self, x: torch.Tensor) -> torch.Tensor:
        if self.dw is not None:
            x = self.dw(x)
        return self.relu(self.bn(self.pw(x)))


class Accumulate(AccumulationPath):
    """The accumulation stream's addition ``A_out = A' + O`` (one accumulate per branch spike)."""

    def forward(self, a: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
        """``A' + O`` (both ``[T, B, C, H, W]``)."""
        return a + o


class DualStreamBlock(Block, CarriesAAP):
    """DST block: the SEW spike stream plus the accumulation stream.

    ``forward(S, A) -> (S_out, A_out)`` with ``O = F(S)``, ``S_out = g(O, S')`` and
    ``A_out = A' + O``, ``A' = A`` or ``ReLU(BN(P(A)))`` (:class:`AccumulationDownsampler`).
    The spike stream never reads ``A``; :meth:`without_aap` returns the equivalent
    :class:`~fullspike.nn.residual.SEWBlock` sharing the spike-stream modules.
    """

    def __init__(
        self,
        branch: nn.Module,
        downsample: nn.Module | None,
        connect: Connect,
        accum_downsample: AccumulationDownsampler | None,
    ) -> None:
        super().__init__()
        self.branch, self.downsample, self.connect = branch, downsample, connect
        self.accum_downsample = accum_downsample
        self.accumulate = Accumulate()

    def forward(self, s: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Spikes ``S`` and accumulation ``A`` (both ``[T, B, C, H, W]``) -> ``(S_out, A_out)``,
        each ``[T, B, C', H', W']``."""
        o = self.branch(s)
        short = s if self.downsample is None else self.downsample(s)
        a = a if self.accum_downsample is None else self.accum_downsample(a)
        return self.connect(o, short), self.accumulate(a, o)

    def without_aap(self) -> SEWBlock:
        """The spike-only :class:`~fullspike.nn.residual.SEWBlock` sharing this block's branch,
        downsample and connect modules."""
        return SEWBlock(self.branch, self.downsample, self.connect)


def residual_block(
    family: str,
    kind: str,
    in_ch: int,
    planes: int,
    stride: int,
    make_sn: NeuronFactory,
    connect: str = "iand",
    zero_init_residual: bool = False,
) -> Block:
    """One ResNet block of ``family`` (``"spiking"``, ``"sew"`` or ``"dst"``) and ``kind``
    (``"basic"`` or ``"bottleneck"``). A shortcut projection is added when the stride is not 1
    or the channel count changes (for ``"dst"`` also the accumulation downsampler). ``in_ch``,
    ``planes`` and ``stride`` are integers >= 1 (:func:`~fullspike.nn.residual_branch`).
    ``connect`` is ignored by the ``"spiking"`` family."""
    if family not in FAMILIES:
        raise ConfigError(f"unknown residual family '{family}'; choose one of {list(FAMILIES)}")
    out_ch = planes * EXPANSION[kind] if kind in EXPANSION else planes
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
    accum = AccumulationDownsampler(in_ch, out_ch, stride) if project else None
    return DualStreamBlock(branch, down, Connect(connect), accum)
