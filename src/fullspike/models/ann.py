"""ANN counterparts of the BNTT networks, for the robustness comparison (docs/methods.md,
"BNTT", robustness): the same architecture with ReLU instead of spiking neurons and a
standard BN (with shift) wherever the SNN has a norm, trained by the same trainer and budget.

Registered as ``vgg9_ann``, ``vgg11_ann`` and ``convnet_ann`` (counterparts of ``vgg9_bntt``,
``vgg11_bntt`` and ``bntt_convnet``; same arguments minus the spiking ones);
:func:`ann_from_snn` converts any BNTT VGG.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..errors import ConfigError, ShapeError
from ..nn import BNTT1d, BNTT2d, SpikingNeuron, TimeFolded
from ..params import Count
from .registry import register_model
from .vgg_bntt import BNTTVGG, bntt_convnet, vgg9_bntt, vgg11_bntt


class ANNClassifier(nn.Module):
    """A non-spiking CNN: images ``[B, C, H, W]`` -> logits ``[B, num_classes]``."""

    def __init__(self, features: nn.Sequential, classifier: nn.Sequential, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.features, self.classifier = features, classifier
        self.in_channels, self.num_classes = in_channels, num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(
                f"{type(self).__name__} expects images [B, {self.in_channels}, H, W]; got shape {tuple(x.shape)}"
            )
        return self.classifier(self.features(x))


def _ann_layer(m: nn.Module) -> nn.Module:
    if isinstance(m, TimeFolded):
        m = m.module
    if isinstance(m, (BNTT2d, BNTT1d, _BatchNorm)):
        return (nn.BatchNorm1d if isinstance(m, (BNTT1d, nn.BatchNorm1d)) else nn.BatchNorm2d)(m.num_features)
    if isinstance(m, SpikingNeuron):
        return nn.ReLU()
    return copy.deepcopy(m)  # conv, linear, pooling, flatten, identity (norm "none"): same init


def ann_from_snn(model: BNTTVGG) -> ANNClassifier:
    """The ANN of the same architecture as a BNTT VGG: neurons become ReLU, every norm a standard
    BN; convs and linears are copied (so the ANN starts from the same initialisation)."""
    if not isinstance(model, BNTTVGG):
        raise ConfigError(f"ann_from_snn converts BNTT VGGs, not {type(model).__name__}")
    return ANNClassifier(
        nn.Sequential(*map(_ann_layer, model.features)),
        nn.Sequential(*map(_ann_layer, model.classifier)),
        model.in_channels,
        model.num_classes,
    )


@register_model
def vgg9_ann(
    num_classes: Count = 10, in_channels: Count = 3, image_size: Count = 32, width: Count = 64, hidden: Count = 1024
) -> ANNClassifier:
    """ANN counterpart of ``vgg9_bntt`` (conv-BN-ReLU, AvgPool, FC hidden, FC classes)."""
    return ann_from_snn(
        vgg9_bntt(
            num_classes=num_classes, T=1, in_channels=in_channels, image_size=image_size, width=width, hidden=hidden
        )
    )


@register_model
def vgg11_ann(num_classes: Count = 100, in_channels: Count = 3, image_size: Count = 32) -> ANNClassifier:
    """ANN counterpart of ``vgg11_bntt``."""
    return ann_from_snn(vgg11_bntt(num_classes=num_classes, T=1, in_channels=in_channels, image_size=image_size))


@register_model
def convnet_ann(
    num_classes: Count = 10,
    in_channels: Count = 1,
    image_size: Count = 8,
    width: Count = 32,
    hidden: Count = 128,
    convs_per_stage: Count = 1,
) -> ANNClassifier:
    """ANN counterpart of ``bntt_convnet`` (width x k, P, 2*width x k, P, FC hidden, FC classes)."""
    return ann_from_snn(
        bntt_convnet(
            num_classes=num_classes,
            T=1,
            in_channels=in_channels,
            image_size=image_size,
            width=width,
            hidden=hidden,
            convs_per_stage=convs_per_stage,
        )
    )
