"""SEW ResNet's event-camera networks and their dual-stream (DST) versions
(docs/methods.md, "DST", "DVS networks").

- 7B-Net (DVS128 Gesture, 11 classes, ``2x128x128``): stem conv (2->32, ``stem_kernel`` x
  ``stem_kernel``, default 1x1 as in SEW's published code) + BN + PLIF, then 7 x
  (residual block ``[conv3x3-BN-PLIF] x 2`` joined by the connect function, MaxPool 2x2),
  flatten, mean over T, linear.
- Wide-7B-Net (CIFAR10-DVS, 10 classes): the same at 64 channels for 4 stages, a transition
  conv1x1 64->128 + BN + PLIF, then 3 stages at 128.

Neurons: PLIF (initial tau 2, hard reset to 0, detached reset), ATan surrogate (alpha 2) as in
the SEW ResNet code.

AAP of the DST versions (not published; the project's choice, configurable): the accumulation
stream starts as the stem's spikes; each block adds its branch spikes (``A_out = A + O``);
after each block ``A`` is pooled like ``S`` (``accum_pool="max"``, or ``"avg"``); at the
channel change ``A`` goes through the accumulation downsampler ``ReLU(BN(conv1x1(A)))``, the
stride-1 form of the DST ResNet's. The classifier reads both streams.

Module structure: ``stem`` (:class:`~fullspike.models.common.Stem`); ``layers``: an
``nn.ModuleList`` of residual :class:`~fullspike.nn.residual.Block` s, pooling and the
transition (``SeqSequential``); ``accum_layers``: an ``nn.ModuleDict`` holding, under the index
of each non-block layer, its accumulation-stream counterpart (an
:class:`~fullspike.dst.blocks.AccumulationPath`); ``fc``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Literal, Optional

import torch
from torch import nn

from ..dst.blocks import AccumulationDownsampler, AccumulationPath, residual_block
from ..errors import ConfigError
from ..functional import per_step
from ..nn import SeqSequential
from ..nn.neurons import NeuronSpec
from ..params import Count
from ..registry import Registry
from ..surrogate import SurrogateSpec
from .common import ConnectName, Stem, check_connect, neurons
from .dual_stream import DualStreamClassifier
from .registry import register_model, variant

PLIF = {"name": "plif", "tau": 2.0}
#: pooling modules of the accumulation stream by name (``accum_pool``), built as ``cls(2)``
ACCUM_POOLS: Registry = Registry("accum_pool")
ACCUM_POOLS.register("max")(nn.MaxPool2d)
ACCUM_POOLS.register("avg")(nn.AvgPool2d)
AccumPool = ACCUM_POOLS.name_type()


class AccumulationPool(AccumulationPath):
    """Pooling of the accumulation stream ``[T, B, C, H, W] -> [T, B, C, H/2, W/2]``."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.pool = ACCUM_POOLS.get(kind)(2)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return per_step(self.pool, a)


class DVSResNet(DualStreamClassifier):
    """7B-Net family: one residual block and a 2x2 max-pool per stage; ``channels`` lists the
    stages' widths (a conv1x1-BN-SN transition where it changes); ``stem_kernel``: the stem
    conv's kernel size (odd; 1 in SEW's published code, the default of every factory).

    Input: frames ``[T, B, C, H, W]`` (or static images, repeated over ``T``). Output: logits
    ``[B, num_classes]``; ``DualStreamOutput`` for ``family="dst"``.
    """

    def __init__(
        self,
        family: Literal["sew", "dst"],
        channels: list[int],
        *,
        num_classes: Count = 11,
        T: Count = 16,
        in_channels: Count = 2,
        image_size: Count = 128,
        connect: ConnectName = "add",
        neuron: NeuronSpec = PLIF,
        surrogate: SurrogateSpec = "atan",
        zero_init_residual: bool = False,
        accum_pool: AccumPool = "max",
        stem_kernel: Count = 1,
    ) -> None:
        super().__init__(T, in_channels, num_classes, encoding="direct")
        if stem_kernel % 2 == 0:
            raise ConfigError(
                f"stem_kernel must be an odd kernel size (1 as in SEW's code, or 3, 5, ...), got {stem_kernel}"
            )
        size = image_size // 2 ** len(channels)
        if size < 1:
            raise ConfigError(f"image_size={image_size} is too small for {len(channels)} 2x2 poolings")
        self.family, self.connect_name = family, check_connect(family, connect)
        self.dual_stream = family == "dst"
        make_sn = neurons(neuron, surrogate)
        c = channels[0]
        self.stem = Stem(
            nn.Conv2d(in_channels, c, stem_kernel, padding=stem_kernel // 2, bias=False),
            nn.BatchNorm2d(c),
            make_sn(),
            T,
        )
        self.layers = nn.ModuleList()
        accum: dict[str, nn.Module] = {}
        for width in channels:
            if width != c:
                accum[str(len(self.layers))] = AccumulationDownsampler(c, width, 1)
                self.layers.append(
                    SeqSequential(
                        OrderedDict(conv=nn.Conv2d(c, width, 1, bias=False), bn=nn.BatchNorm2d(width), sn=make_sn())
                    )
                )
                c = width
            self.layers.append(residual_block(family, "basic", c, c, 1, make_sn, connect, zero_init_residual))
            accum[str(len(self.layers))] = AccumulationPool(accum_pool)
            self.layers.append(SeqSequential(nn.MaxPool2d(2)))
        self.accum_layers = nn.ModuleDict(accum) if self.dual_stream else None
        self.fc = nn.Linear(c * size * size, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem(x)

    def stages(self) -> list[tuple[nn.Module, Optional[nn.Module]]]:
        accum = dict(self.accum_layers.items()) if self.accum_layers is not None else {}
        return [(layer, accum.get(str(i))) for i, layer in enumerate(self.layers)]

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, h, w] -> [B, num_classes]``: flatten, mean over T, linear."""
        return self.fc(x.flatten(2).mean(0))

    def drop_accumulation_modules(self) -> None:
        self.accum_layers = None


SEVEN_B = [32] * 7
WIDE_SEVEN_B = [64] * 4 + [128] * 3
_7B = "SEW ResNet's 7B-Net for DVS128 Gesture (32 channels, 7 stages), PLIF neurons"
_WIDE = "SEW ResNet's Wide-7B-Net for CIFAR10-DVS (4 stages at 64, 3 at 128), PLIF neurons"
_DST = "; DST: full-spike connect function (default IAND) plus the accumulation stream"

sew_7bnet = register_model(variant("sew_7bnet", DVSResNet, "sew", SEVEN_B, doc=_7B, drop=("accum_pool",)))
dst_7bnet = register_model(variant("dst_7bnet", DVSResNet, "dst", SEVEN_B, doc=_7B + _DST, connect="iand"))
sew_wide7bnet = register_model(
    variant("sew_wide7bnet", DVSResNet, "sew", WIDE_SEVEN_B, doc=_WIDE, drop=("accum_pool",), num_classes=10)
)
dst_wide7bnet = register_model(
    variant("dst_wide7bnet", DVSResNet, "dst", WIDE_SEVEN_B, doc=_WIDE + _DST, connect="iand", num_classes=10)
)
