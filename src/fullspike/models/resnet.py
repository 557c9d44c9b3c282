"""Spiking ResNets: plain Spiking ResNet, SEW ResNet and the dual-stream DST ResNet
(docs/methods.md, "DST"), at depths 18, 34, 50, 101 and 152.

Registered as ``spiking_resnet{D}``, ``sew_resnet{D}`` and ``dst_resnet{D}``, one factory function
each. Module structure:

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

from collections.abc import Mapping
from typing import Union

import torch
from torch import nn

from ..dst.blocks import residual_block
from ..errors import ConfigError
from ..functional import per_step
from ..nn.residual import EXPANSION, Block
from ..surrogate import Surrogate
from .common import Stem, check_connect, neurons
from .dual_stream import DualStreamClassifier
from .registry import register_model

DEPTHS: dict[int, tuple[str, list[int]]] = {
    18: ("basic", [2, 2, 2, 2]),
    34: ("basic", [3, 4, 6, 3]),
    50: ("bottleneck", [3, 4, 6, 3]),
    101: ("bottleneck", [3, 4, 23, 3]),
    152: ("bottleneck", [3, 8, 36, 3]),
}
STEMS = ("imagenet", "cifar")
NeuronArg = Union[str, Mapping]
SurrogateArg = Union[str, Surrogate, Mapping]


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
        self.connect_name = None if family == "spiking" else check_connect(family, connect)
        self.dual_stream = family == "dst"
        make_sn = neurons(neuron, surrogate)
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
        return [b for layer in (self.layer1, self.layer2, self.layer3, self.layer4) for b in layer]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem(x)

    def stages(self) -> list[tuple[nn.Module, None]]:
        return [(b, None) for b in self.blocks()]

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, C, H, W] -> [B, num_classes]``: pool per step, mean over T, linear."""
        pooled = per_step(lambda t: self.avgpool(t).flatten(1), x)
        return self.fc(pooled.mean(0))


def _resnet(family: str, depth: int, connect: str = "add", **kwargs) -> SpikingResNet:
    """The network of the ``{family}_resnet{depth}`` factories below."""
    return SpikingResNet(family, depth, connect=connect, **kwargs)


@register_model
def spiking_resnet18(num_classes: int = 1000, T: int = 4, in_channels: int = 3,
                     neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                     zero_init_residual: bool = False, stem: str = "imagenet",
                     width: int = 64) -> SpikingResNet:
    """Plain Spiking ResNet-18: SN after the residual addition; basic blocks [2, 2, 2, 2].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("spiking", 18, **locals())


@register_model
def spiking_resnet34(num_classes: int = 1000, T: int = 4, in_channels: int = 3,
                     neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                     zero_init_residual: bool = False, stem: str = "imagenet",
                     width: int = 64) -> SpikingResNet:
    """Plain Spiking ResNet-34: SN after the residual addition; basic blocks [3, 4, 6, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("spiking", 34, **locals())


@register_model
def spiking_resnet50(num_classes: int = 1000, T: int = 4, in_channels: int = 3,
                     neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                     zero_init_residual: bool = False, stem: str = "imagenet",
                     width: int = 64) -> SpikingResNet:
    """Plain Spiking ResNet-50: SN after the residual addition; bottleneck blocks [3, 4, 6, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("spiking", 50, **locals())


@register_model
def spiking_resnet101(num_classes: int = 1000, T: int = 4, in_channels: int = 3,
                      neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                      zero_init_residual: bool = False, stem: str = "imagenet",
                      width: int = 64) -> SpikingResNet:
    """Plain Spiking ResNet-101: SN after the residual addition; bottleneck blocks [3, 4, 23, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("spiking", 101, **locals())


@register_model
def spiking_resnet152(num_classes: int = 1000, T: int = 4, in_channels: int = 3,
                      neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                      zero_init_residual: bool = False, stem: str = "imagenet",
                      width: int = 64) -> SpikingResNet:
    """Plain Spiking ResNet-152: SN after the residual addition; bottleneck blocks [3, 8, 36, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("spiking", 152, **locals())


@register_model
def sew_resnet18(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = "add",
                 neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                 zero_init_residual: bool = False, stem: str = "imagenet",
                 width: int = 64) -> SpikingResNet:
    """SEW ResNet-18: spike-element-wise connect function (default ADD); basic blocks [2, 2, 2, 2].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("sew", 18, **locals())


@register_model
def sew_resnet34(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = "add",
                 neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                 zero_init_residual: bool = False, stem: str = "imagenet",
                 width: int = 64) -> SpikingResNet:
    """SEW ResNet-34: spike-element-wise connect function (default ADD); basic blocks [3, 4, 6, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("sew", 34, **locals())


@register_model
def sew_resnet50(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = "add",
                 neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                 zero_init_residual: bool = False, stem: str = "imagenet",
                 width: int = 64) -> SpikingResNet:
    """SEW ResNet-50: spike-element-wise connect function (default ADD);
    bottleneck blocks [3, 4, 6, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("sew", 50, **locals())


@register_model
def sew_resnet101(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = "add",
                  neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                  zero_init_residual: bool = False, stem: str = "imagenet",
                  width: int = 64) -> SpikingResNet:
    """SEW ResNet-101: spike-element-wise connect function (default ADD);
    bottleneck blocks [3, 4, 23, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("sew", 101, **locals())


@register_model
def sew_resnet152(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = "add",
                  neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                  zero_init_residual: bool = False, stem: str = "imagenet",
                  width: int = 64) -> SpikingResNet:
    """SEW ResNet-152: spike-element-wise connect function (default ADD);
    bottleneck blocks [3, 8, 36, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("sew", 152, **locals())


@register_model
def dst_resnet18(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = "iand",
                 neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                 zero_init_residual: bool = False, stem: str = "imagenet",
                 width: int = 64) -> SpikingResNet:
    """DST ResNet-18: dual-stream, full-spike connect function (default IAND) plus the AAP;
    basic blocks [2, 2, 2, 2].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("dst", 18, **locals())


@register_model
def dst_resnet34(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = "iand",
                 neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                 zero_init_residual: bool = False, stem: str = "imagenet",
                 width: int = 64) -> SpikingResNet:
    """DST ResNet-34: dual-stream, full-spike connect function (default IAND) plus the AAP;
    basic blocks [3, 4, 6, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("dst", 34, **locals())


@register_model
def dst_resnet50(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = "iand",
                 neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                 zero_init_residual: bool = False, stem: str = "imagenet",
                 width: int = 64) -> SpikingResNet:
    """DST ResNet-50: dual-stream, full-spike connect function (default IAND) plus the AAP;
    bottleneck blocks [3, 4, 6, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("dst", 50, **locals())


@register_model
def dst_resnet101(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = "iand",
                  neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                  zero_init_residual: bool = False, stem: str = "imagenet",
                  width: int = 64) -> SpikingResNet:
    """DST ResNet-101: dual-stream, full-spike connect function (default IAND) plus the AAP;
    bottleneck blocks [3, 4, 23, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("dst", 101, **locals())


@register_model
def dst_resnet152(num_classes: int = 1000, T: int = 4, in_channels: int = 3, connect: str = "iand",
                  neuron: NeuronArg = "if", surrogate: SurrogateArg = "sigmoid",
                  zero_init_residual: bool = False, stem: str = "imagenet",
                  width: int = 64) -> SpikingResNet:
    """DST ResNet-152: dual-stream, full-spike connect function (default IAND) plus the AAP;
    bottleneck blocks [3, 8, 36, 3].

    Arguments as :class:`SpikingResNet`."""
    return _resnet("dst", 152, **locals())
