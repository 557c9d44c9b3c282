"""The neuron spec and its fire/reset rule (docs/methods.md, "Neurons").

A :class:`NeuronSpec` is everything about a neuron except its charge coefficients
(decay, scale, bias); :func:`fire` and :func:`reset` are the rule every execution backend of
:mod:`fullspike.engine` applies to a charged membrane ``h``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from ..surrogate import Surrogate


@dataclass(frozen=True)
class NeuronSpec:
    """Threshold, reset, firing rule and surrogate (hashable: a kernel cache key)."""

    v_threshold: float
    v_reset: Optional[float]  # None: soft reset
    detach_reset: bool
    strict: bool
    surrogate: Surrogate

    @property
    def v_init(self) -> float:
        """The membrane at rest, where every sequence starts: ``v_reset`` (0 for soft reset)."""
        return 0.0 if self.v_reset is None else self.v_reset


def fire(h: torch.Tensor, spec: NeuronSpec) -> torch.Tensor:
    """Spike mask (bool) of charged membranes ``h``: ``h >= v_th`` (``h > v_th`` when strict)."""
    return h > spec.v_threshold if spec.strict else h >= spec.v_threshold


def reset(h: torch.Tensor, m: torch.Tensor, spec: NeuronSpec) -> torch.Tensor:
    """Post-reset membrane from ``h`` and its spike mask ``m`` (equal to the eager arithmetic)."""
    if spec.v_reset is None:
        return torch.where(m, h - spec.v_threshold, h)
    return torch.where(m, spec.v_reset, h)
