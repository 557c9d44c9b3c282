"""Spiking ResNets: plain Spiking ResNet, SEW ResNet and the dual-stream DST ResNet
(docs/methods.md, "DST"), at depths 18, 34, 50, 101 and 152.

Registered as ``spiking_resnet{D}``, ``sew_resnet{D}`` and ``dst_resnet{D}``, one line each
(:func:`~fullspike.models.registry.variant`: the class's typed keyword arguments, the family's
``connect`` default). Module structure:

- ``stem``: :class:`~fullspike.models.common.Stem` (``conv``, ``bn``, ``sn``, ``pool``). ImageNet
  stem: conv7x7 stride 2 + BN computed once on the static image, repeated T times, IF, MaxPool
  3x3 stride 2. CIFAR stem: conv3x3 stride 1 + BN, IF, no pooling.
- ``layer1`` .. ``layer4``: ``nn.Sequential`` of :class:`~fullspike.nn.residual.Block`
  (named ``layer{i}.{j}`` like torchvision).
- ``avgpool``, ``fc``: global average pool per step, mean over T, linear. A dual-stream network
  applies the same ``fc`` to both streams and returns ``DualStreamOutput(O_s, O_a)``.

Normalisation: one standard ``BatchNorm2d`` (with shift) shared over the time steps (T folded),
as in the SEW/DST code; the spike streams of the ImageNet ResNet-18/34/50/101 therefore have
exactly the parameter counts of torchvision's ResNets.
"""

from __future__ import annotations

from typing import Callable, Literal

import torch
from torch import nn

from ..dst.blocks import residual_block
from ..functional import per_step
from ..nn.neurons import NeuronSpec
from ..nn.residual import EXPANSION, Block
from ..params import Count
from ..surrogate import SurrogateSpec
from .common import ConnectName, Stem, check_connect, neurons
from .dual_stream import DualStreamClassifier
from .registry import register_model, variant

DEPTHS: dict[int, tuple[str, list[int]]] = {
    18: ("basic", [2, 2, 2, 2]),
    34: ("basic", [3, 4, 6, 3]),
    50: ("bottleneck", [3, 4, 6, 3]),
    101: ("bottleneck", [3, 4, 23, 3]),
    152: ("bottleneck", [3, 8, 36, 3]),
}
Family = Literal["spiking", "sew", "dst"]
Depth = Literal[18, 34, 50, 101, 152]


class SpikingResNet(DualStreamClassifier):
    """A spiking ResNet of ``family`` ``"spiking"`` (SN after the addition), ``"sew"`` (connect
    function) or ``"dst"`` (dual-stream, full-spike connect function plus the AAP).

    Input: images ``[B, C, H, W]`` (stem computed once, repeated T times) or frames
    ``[T', B, C, H, W]``. Output: logits ``[B, num_classes]``; ``DualStreamOutput`` for ``"dst"``
    until :func:`~fullspike.dst.remove_aap` turns it into the FSNN.

    Arguments (of the registered factories too): ``num_classes``, ``T`` (time steps),
    ``in_channels``, ``connect`` (SEW/DST only; DST needs a full-spike one),
    ``neuron``/``surrogate`` (names or mappings such as ``{name: sigmoid, alpha: 4}``),
    ``zero_init_residual`` (zero the last BN of every branch), ``stem`` ('imagenet' or 'cifar')
    and ``width`` (the first stage's channel count; 64 is the paper's).
    """

    def __init__(
        self,
        family: Family,
        depth: Depth,
        *,
        num_classes: Count = 1000,
        T: Count = 4,
        in_channels: Count = 3,
        connect: ConnectName = "add",
        neuron: NeuronSpec = "if",
        surrogate: SurrogateSpec = "sigmoid",
        zero_init_residual: bool = False,
        stem: Literal["imagenet", "cifar"] = "imagenet",
        width: Count = 64,
    ) -> None:
        super().__init__(T, in_channels, num_classes, encoding="direct")
        kind, counts = DEPTHS[depth]
        self.family, self.depth = family, depth
        self.connect_name = None if family == "spiking" else check_connect(family, connect)
        self.dual_stream = family == "dst"
        make_sn = neurons(neuron, surrogate)
        if stem == "imagenet":
            self.stem = Stem(
                nn.Conv2d(in_channels, width, 7, 2, 3, bias=False),
                nn.BatchNorm2d(width),
                make_sn(),
                T,
                nn.MaxPool2d(3, 2, 1),
            )
        else:
            self.stem = Stem(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), make_sn(), T)
        in_ch = width
        for i, n in enumerate(counts):
            planes = width * 2**i
            blocks = []
            for j in range(n):
                blocks.append(
                    residual_block(
                        family,
                        kind,
                        in_ch,
                        planes,
                        2 if (i > 0 and j == 0) else 1,
                        make_sn,
                        connect,
                        zero_init_residual,
                    )
                )
                in_ch = planes * EXPANSION[kind]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def blocks(self) -> list[Block]:
        return [b for layer in (self.layer1, self.layer2, self.layer3, self.layer4) for b in layer]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem(x)

    def stages(self) -> list[tuple[nn.Module, None]]:
        return [(b, None) for b in self.blocks()]

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H, W] -> [B, num_classes]``: pool per step, mean over T, linear."""
        pooled = per_step(lambda t: self.avgpool(t).flatten(1), x)
        return self.fc(pooled.mean(0))


_BLOCKS = {
    18: "basic blocks [2, 2, 2, 2]",
    34: "basic blocks [3, 4, 6, 3]",
    50: "bottleneck blocks [3, 4, 6, 3]",
    101: "bottleneck blocks [3, 4, 23, 3]",
    152: "bottleneck blocks [3, 8, 36, 3]",
}
_FAMILIES = {
    "spiking": ("Plain Spiking", "SN after the residual addition", {}),
    "sew": ("SEW", "spike-element-wise connect function (default ADD)", {"connect": "add"}),
    "dst": ("DST", "dual-stream, full-spike connect function (default IAND) plus the AAP", {"connect": "iand"}),
}


def _create(family: Family, depth: Depth) -> Callable[..., SpikingResNet]:
    """The factory ``{family}_resnet{depth}``: :class:`SpikingResNet`'s arguments (no ``connect``
    for the plain Spiking ResNet)."""
    title, what, defaults = _FAMILIES[family]
    return variant(
        f"{family}_resnet{depth}",
        SpikingResNet,
        family,
        depth,
        doc=f"{title} ResNet-{depth}: {what}; {_BLOCKS[depth]}.",
        drop=() if defaults else ("connect",),
        **defaults,
    )


spiking_resnet18 = register_model(_create("spiking", 18))
spiking_resnet34 = register_model(_create("spiking", 34))
spiking_resnet50 = register_model(_create("spiking", 50))
spiking_resnet101 = register_model(_create("spiking", 101))
spiking_resnet152 = register_model(_create("spiking", 152))
sew_resnet18 = register_model(_create("sew", 18))
sew_resnet34 = register_model(_create("sew", 34))
sew_resnet50 = register_model(_create("sew", 50))
sew_resnet101 = register_model(_create("sew", 101))
sew_resnet152 = register_model(_create("sew", 152))
dst_resnet18 = register_model(_create("dst", 18))
dst_resnet34 = register_model(_create("dst", 34))
dst_resnet50 = register_model(_create("dst", 50))
dst_resnet101 = register_model(_create("dst", 101))
dst_resnet152 = register_model(_create("dst", 152))
