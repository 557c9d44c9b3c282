"""Removing the auxiliary accumulation pathway (AAP) for full-spike (FSNN) inference.

Every accumulation-stream module is an :class:`~fullspike.dst.blocks.AccumulationPath`; a
module that holds part of the AAP otherwise is a :class:`~fullspike.dst.blocks.CarriesAAP`,
whose ``without_aap()`` returns its spike-only replacement (a
:class:`~fullspike.dst.blocks.DualStreamBlock` returns the equivalent SEW block; a
:class:`~fullspike.models.DualStreamClassifier` drops its own accumulation modules and stops
running the accumulation stream, so its ``forward`` returns the spike-stream logits ``O_s``).
"""

from __future__ import annotations

import copy

from torch import nn

from ..errors import ConfigError
from .blocks import AccumulationPath, CarriesAAP


def _aap_parts(model: nn.Module) -> list[str]:
    return [
        n or type(m).__name__
        for n, m in model.named_modules()
        if isinstance(m, AccumulationPath) or (isinstance(m, CarriesAAP) and m.carries_aap)
    ]


def has_aap(model: nn.Module) -> bool:
    """Whether ``model`` contains any part of an accumulation pathway."""
    return bool(_aap_parts(model))


def _strip(module: nn.Module) -> nn.Module:
    if isinstance(module, CarriesAAP):
        module = module.without_aap()
    for name, child in list(module.named_children()):
        new = _strip(child)
        if new is not child:
            setattr(module, name, new)
    return module


def remove_aap(model: nn.Module) -> nn.Module:
    """A copy of a dual-stream model with the AAP removed: the FSNN, returning ``O_s`` logits.

    Every accumulation-stream module and addition is gone; the spike stream is untouched, so
    its output is bit-identical to the dual-stream model's ``O_s``. The original is not modified.

    Example:
        ```python
        import torch
        import fullspike
        from fullspike.dst import has_aap, remove_aap

        dsnn = fullspike.create_model("dst_resnet18", num_classes=10, in_channels=1, T=2, stem="cifar", width=4)
        x = torch.rand(2, 1, 8, 8)
        both = dsnn.eval()(x)  # DualStreamOutput(spike, accum), each [B, 10]
        fsnn = remove_aap(dsnn)
        assert not has_aap(fsnn) and torch.equal(fsnn(x), both.spike)
        ```
    """
    if not has_aap(model):
        raise ConfigError(
            f"{type(model).__name__} has no accumulation pathway to remove "
            "(remove_aap needs a dual-stream model such as dst_resnet18)"
        )
    out = _strip(copy.deepcopy(model))
    left = _aap_parts(out)
    if left:  # a module kept an AAP part without declaring how to drop it
        raise ConfigError(
            f"remove_aap left accumulation modules behind: {left[:5]}; a module that "
            "holds them must be a CarriesAAP whose without_aap() drops them"
        )
    return out
