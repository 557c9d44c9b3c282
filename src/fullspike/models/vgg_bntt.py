"""BNTT VGG networks (Kim & Panda 2021; docs/methods.md, "BNTT").

conv3x3 (no bias) -> norm -> leak-factor LIF for every conv; AvgPool 2x2 on spikes; a hidden FC
(+ norm, LIF); a last FC that does not spike, whose outputs are averaged over the time steps.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from ..errors import ConfigError
from ..nn import LIF, SeqSequential, make_norm
from ..nn.bntt import NORMS
from ..nn.encoding import ENCODERS
from ..params import Count, Fraction
from ..surrogate import Triangle
from .base import StepwiseClassifier
from .registry import register_model

VGG9 = [64, 64, "P", 128, 128, "P", 256, 256, 256, "P"]
VGG11 = [64, "P", 128, "P", 256, 256, "P", 512, 512, "P", 512, 512]
Norm = NORMS.name_type()  # "bntt", "bn", "none"
Encoding = ENCODERS.name_type()  # "rate", "direct", ...


def bntt_neuron(leak: float, v_threshold: float = 1.0, v_reset: float | None = None) -> LIF:
    """BNTT's neuron: leak-factor LIF, soft reset (detached; or a hard reset to ``v_reset``),
    fires on h > v_th, triangle surrogate."""
    return LIF(
        leak=leak,
        v_threshold=v_threshold,
        v_reset=v_reset,
        detach_reset=True,
        surrogate=Triangle(0.3, width=v_threshold),
        strict=True,
    )


#: spike pooling of the VGGs by name: BNTT's average pooling, or max pooling (spikes stay spikes)
POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


class BNTTVGG(StepwiseClassifier):
    """A VGG-style SNN with BNTT (or shared BN, or no norm) after every synaptic layer.

    Input: images ``[B, C, H, W]`` (rate-coded over ``T`` steps) or frames ``[T', B, C, H, W]``
    with ``T' <= T``. Output: logits ``[B, num_classes]``, the last FC averaged over steps.
    """

    def __init__(
        self,
        layers: Sequence,
        *,
        num_classes: int,
        T: int,
        in_channels: int,
        image_size: int,
        hidden: int,
        norm: str = "bntt",
        leak: float = 0.95,
        global_pool: bool = False,
        encoding: str = "rate",
        v_threshold: float = 1.0,
        pool: str = "avg",
        v_reset: float | None = None,
    ) -> None:
        super().__init__(T, in_channels, num_classes, encoding, max_T=T if norm == "bntt" else None)
        if pool not in POOLS:
            raise ConfigError(f"unknown pool '{pool}'; choose one of {list(POOLS)}")
        self.norm = norm
        feats: list[nn.Module] = []
        c, size = in_channels, image_size
        for v in layers:
            if v == "P":
                feats.append(POOLS[pool](2))
                size //= 2
            else:
                feats += [
                    nn.Conv2d(c, v, 3, padding=1, bias=False),
                    make_norm(norm, v, T, 2),
                    bntt_neuron(leak, v_threshold, v_reset),
                ]
                c = v
        if size < 1:
            raise ConfigError(f"image_size={image_size} is too small for {layers.count('P')} poolings")
        if global_pool:
            feats.append(nn.AdaptiveAvgPool2d(1))
            size = 1
        self.features = SeqSequential(*feats)
        self.classifier = SeqSequential(
            nn.Flatten(1),
            nn.Linear(c * size * size, hidden, bias=False),
            make_norm(norm, hidden, T, 1),
            bntt_neuron(leak, v_threshold, v_reset),
            nn.Linear(hidden, num_classes, bias=False),
        )
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight, gain=2.0)

    def forward_steps(self, x: torch.Tensor) -> torch.Tensor:
        """Per-step outputs of the last FC, ``[T, B, num_classes]`` (early exit reads these)."""
        return self.classifier(self.features(self.to_sequence(x)))


@register_model
def vgg9_bntt(
    num_classes: Count = 10,
    T: Count = 25,
    in_channels: Count = 3,
    image_size: Count = 32,
    norm: Norm = "bntt",
    leak: Fraction = 0.95,
    encoding: Encoding = "rate",
    width: Count = 64,
    hidden: Count = 1024,
) -> BNTTVGG:
    """VGG9 of the BNTT paper (CIFAR-10): 64,64,P,128,128,P,256x3,P, FC 1024, FC classes.
    ``width`` scales every conv (the paper's 64: widths ``width * (1,1,2,2,4,4,4)``)."""
    layers = [v if v == "P" else v * width // 64 for v in VGG9]
    return BNTTVGG(
        layers,
        num_classes=num_classes,
        T=T,
        in_channels=in_channels,
        image_size=image_size,
        hidden=hidden,
        norm=norm,
        leak=leak,
        encoding=encoding,
    )


@register_model
def vgg11_bntt(
    num_classes: Count = 100,
    T: Count = 30,
    in_channels: Count = 3,
    image_size: Count = 32,
    norm: Norm = "bntt",
    leak: Fraction = 0.99,
    encoding: Encoding = "rate",
) -> BNTTVGG:
    """VGG11 of the BNTT paper (CIFAR-100, Tiny-ImageNet): ..., 512x2, global pool, FC 4096."""
    return BNTTVGG(
        VGG11,
        num_classes=num_classes,
        T=T,
        in_channels=in_channels,
        image_size=image_size,
        hidden=4096,
        norm=norm,
        leak=leak,
        global_pool=True,
        encoding=encoding,
    )


@register_model
def bntt_convnet(
    num_classes: Count = 10,
    T: Count = 8,
    in_channels: Count = 1,
    image_size: Count = 8,
    norm: Norm = "bntt",
    leak: Fraction = 0.95,
    encoding: Encoding = "rate",
    width: Count = 32,
    hidden: Count = 128,
    convs_per_stage: Count = 1,
) -> BNTTVGG:
    """A small BNTT conv net: ``convs_per_stage`` convs of ``width`` channels, P, as many of
    ``2 * width``, P, FC hidden, FC classes (the quick-start's net has one conv per stage)."""
    return _convnet(**locals())  # the arguments above, by name


@register_model
def spiking_convnet(
    num_classes: int = 10,
    T: int = 8,
    in_channels: int = 2,
    image_size: int = 34,
    leak: float = 0.95,
    encoding: str = "rate",
    width: int = 32,
    hidden: int = 256,
) -> BNTTVGG:
    """A plain full-spike conv net, built to deploy (NIR): conv ``width``, MaxPool, conv
    ``2 * width``, MaxPool, FC hidden, FC classes; one BN per layer shared over the steps (folded
    at export), leak-factor LIF neurons with a hard reset to 0 (fire on h > 1)."""
    return _convnet(**locals(), norm="bn", pool="max", v_reset=0.0)  # the arguments above, by name


def _convnet(*, width: int, convs_per_stage: int = 1, **options: Any) -> BNTTVGG:
    """The small conv net of ``bntt_convnet`` and ``spiking_convnet``: ``convs_per_stage`` convs of
    ``width`` channels, P, as many of ``2 * width``, P, FC hidden, FC classes; ``options`` go to
    :class:`BNTTVGG` (the two factories check and type them)."""
    layers = [width] * convs_per_stage + ["P"] + [2 * width] * convs_per_stage + ["P"]
    return BNTTVGG(layers, **options)
