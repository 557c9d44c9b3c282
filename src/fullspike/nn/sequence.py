"""Running stateless layers over a sequence ``[T, B, ...]`` by folding T into the batch."""

from __future__ import annotations

import torch
from torch import nn

from ..functional import fold_time, per_step, unfold_time


class TimeFolded(nn.Module):
    """Wrap a stateless module (conv, linear, BN, pooling): ``[T, B, ...] -> [T, B, ...]``."""

    sequence_aware = True

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, ...] -> [T, B, ...]``: the wrapped module applied to ``[T*B, ...]``."""
        return per_step(self.module, x)


class SeqSequential(nn.Sequential):
    """``nn.Sequential`` whose stateless children are applied with T folded into the batch.

    Spiking neurons and BNTT layers (anything with ``sequence_aware = True`` or a
    :class:`~fullspike.nn.neurons.SpikingNeuron`) receive the whole ``[T, B, ...]`` sequence;
    other children receive ``[T*B, ...]``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, ...] -> [T, B, ...]``: the children in order, folding T into the batch only
        around the stateless ones."""
        T = x.shape[0]
        folded = False
        for m in self:
            if is_sequence_aware(m):
                if folded:
                    x, folded = unfold_time(x, T), False
                x = m(x)
            else:
                if not folded:
                    x, folded = fold_time(x), True
                x = m(x)
        return unfold_time(x, T) if folded else x


def is_sequence_aware(m: nn.Module) -> bool:
    from .neurons import SpikingNeuron

    return isinstance(m, SpikingNeuron) or getattr(m, "sequence_aware", False)
