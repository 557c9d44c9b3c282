"""Spiking ResNets: plain Spiking ResNet, SEW ResNet and the dual-stream DST ResNet
(docs/methods.md, "DST"), at depths 18, 34, 50, 101 and 152.

Registered as ``spiking_resnet{D}``, ``sew_resnet{D}`` and ``dst_resnet{D}``. Module structure:

- ``stem``: :class:`~fullspike.models.common.Stem` (``conv``, ``bn``, ``sn``, ``pool``). ImageNet
  stem: conv7x7 stride 2 + BN computed once on the static image, repeated T times, IF, MaxPool
  3x3 stride 2. CIFAR stem: conv3x3 stride 1 + BN, IF, no pooling.
- ``layer1`` .. ``layer4``: ``nn.Sequential`` of :class:`~fullspike.dst.blocks.Block`
  (named ``layer{i}.{j}`` like torchvision).
- ``avgpool``, ``fc``: global average pool per step, mean over T, linear. A dual-stream network
  applies the same ``fc`` to both streams and returns ``DualStreamOutput(O_s, O_a)``.

Normalisation: one standard ``BatchNorm2d`` (with shift) shared over the time steps (T folded),
as in the SEW/DST code; the spike streams of the ImageNet ResNet-18/34/50/101 therefore have
exactly the parameter counts of torchvision's ResNets.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from ..dst.blocks import EXPANSION, Block, DualStreamBlock, residual_block
from ..dst.connect import FULL_SPIKE, connect_name
from ..errors import ConfigError
from ..functional import fold_time, unfold_time
from ..surrogate import Surrogate
from .base import SpikingClassifier
from .common import Stem, neuron_maker
from .outputs import DualStreamOutput
from .registry import register_model

DEPTHS: dict[int, tuple[str, list[int]]] = {
    18: ("basic", [2, 2, 2, 2]),
    34: ("basic", [3, 4, 6, 3]),
    50: ("bottleneck", [3, 4, 6, 3]),
    101: ("bottleneck", [3, 4, 23, 3]),
    152: ("bottleneck", [3, 8, 36, 3]),
}
STEMS = ("imagenet", "cifar")


class SpikingResNet(SpikingClassifier):
    """A spiking ResNet of ``family`` ``"spiking"`` (SN after the addition), ``"sew"`` (connect
    function) or ``"dst"`` (dual-stream, full-spike connect function plus the AAP).

    Input: images ``[B, C, H, W]`` (stem computed once, repeated T times) or frames
    ``[T', B, C, H, W]``. Output: logits ``[B, num_classes]``; ``DualStreamOutput`` for ``"dst"``
    until :func:`~fullspike.dst.remove_aap` turns it into the FSNN.
    """

    def __init__(self, family: str, depth: int, *, num_classes: int, T: int, in_channels: int,
                 connect: str, neuron, surrogate, zero_init_residual: bool, stem: str,
                 width: int) -> None:
        super().__init__(T, in_channels, num_classes, encoding="direct")
        if depth not in DEPTHS:
            raise ConfigError(f"no ResNet of depth {depth}; choose one of {sorted(DEPTHS)}")
        if stem not in STEMS:
            raise ConfigError(f"unknown stem '{stem}'; choose one of {list(STEMS)}")
        if width < 1:
            raise ConfigError(f"width must be a positive channel count, got {width}")
        kind, counts = DEPTHS[depth]
        self.family, self.depth = family, depth
        self.connect_name = None if family == "spiking" else connect
        self.dual_stream = family == "dst"
        make_sn = neuron_maker(neuron, surrogate)
        if stem == "imagenet":
            self.stem = Stem(nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width),
                             make_sn(), T, nn.MaxPool2d(3, 2, 1))
        else:
            self.stem = Stem(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                             make_sn(), T)
        in_ch = width
        for i, n in enumerate(counts):
            planes = width * 2 ** i
            blocks = []
            for j in range(n):
                blocks.append(residual_block(family, kind, in_ch, planes, 2 if (i > 0 and j == 0) else 1,
                                             make_sn, connect, zero_init_residual))
                in_ch = planes * EXPANSION[kind]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def blocks(self) -> list[Block]:
        return [b for i in range(1, 5) for b in getattr(self, f"layer{i}")]

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H, W] -> [B, num_classes]``: pool per step, mean over T, linear."""
        pooled = unfold_time(self.avgpool(fold_time(x)).flatten(1), x.shape[0])
        return self.fc(pooled.mean(0))

    def forward(self, x: torch.Tensor):
        self.check_input(x)
        s = self.stem(x)
        if not self.dual_stream:
            for block in self.blocks():
                s = block(s)
            return self.head(s)
        a = s
        for block in self.blocks():
            s, a = block(s, a)
        return DualStreamOutput(self.head(s), self.head(a))

    def without_aap(self) -> "SpikingResNet":
        """Used by :func:`~fullspike.dst.remove_aap`: the network returns ``O_s`` only (its
        dual-stream blocks are replaced by SEW blocks there)."""
        self.dual_stream = False
        return self


def check_connect(family: str, connect: str) -> str:
    """The normalised connect name; dual-stream (``"dst"``) models reject ADD."""
    key = connect_name(connect)
    if family == "dst" and key not in FULL_SPIKE:
        raise ConfigError(f"dual-stream (dst_*) models need a full-spike connect function "
                          f"{list(FULL_SPIKE)}; '{connect}' makes block outputs non-binary "
                          f"(use the sew_* model for ADD)")
    return key


def _register(family: str, depth: int) -> None:
    name = f"{family}_resnet{depth}"
    kind = DEPTHS[depth][0]

    if family == "spiking":
        def factory(num_classes: int = 1000, T: int = 4, in_channels: int = 3,
                    neuron: str | Mapping = "if", surrogate: str | Surrogate | Mapping = "sigmoid",
                    zero_init_residual: bool = False, stem: str = "imagenet",
                    width: int = 64) -> SpikingResNet:
            return SpikingResNet("spiking", depth, num_classes=num_classes, T=T, in_channels=in_channels,
                                 connect="add", neuron=neuron, surrogate=surrogate,
                                 zero_init_residual=zero_init_residual, stem=stem, width=width)
    else:
        default = "add" if family == "sew" else "iand"

        def factory(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = default,
                    neuron: str | Mapping = "if", surrogate: str | Surrogate | Mapping = "sigmoid",
                    zero_init_residual: bool = False, stem: str = "imagenet",
                    width: int = 64) -> SpikingResNet:
            return SpikingResNet(family, depth, num_classes=num_classes, T=T, in_channels=in_channels,
                                 connect=check_connect(family, connect), neuron=neuron,
                                 surrogate=surrogate, zero_init_residual=zero_init_residual,
                                 stem=stem, width=width)

    what = {"spiking": "plain Spiking ResNet (SN after the residual addition)",
            "sew": "SEW ResNet (spike-element-wise connect function, default ADD)",
            "dst": "DST ResNet (dual-stream: full-spike connect function, default IAND, plus the AAP)"}
    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (
        f"{what[family]}, depth {depth} ({kind} blocks {DEPTHS[depth][1]}). ``width`` is the "
        "first stage's channel count (64 = the paper's); ``stem`` 'imagenet' or 'cifar'; "
        "``neuron``/``surrogate``: names or mappings such as {name: sigmoid, alpha: 4}."
    )
    globals()[name] = register_model(factory)


for _family in ("spiking", "sew", "dst"):
    for _depth in DEPTHS:
        _register(_family, _depth)
