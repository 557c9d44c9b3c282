"""Pieces shared by the residual model families: neuron defaults, connect checks, the spiking stem."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import torch
from torch import nn

from ..errors import ConfigError
from ..functional import per_step
from ..nn import make_neuron
from ..nn.connect import CONNECTS, FULL_SPIKE, connect_name
from ..nn.residual import NeuronFactory
from ..surrogate import Surrogate, make_surrogate

#: what a ``neuron`` setting of the residual families does not say: threshold 1, hard reset to
#: 0, detached reset (as in the SEW/DST code)
NEURON_DEFAULTS = {"v_threshold": 1.0, "v_reset": 0.0, "detach_reset": True}
#: the annotation of a ``connect`` argument: a registered connect function's name
ConnectName = CONNECTS.name_type()


def neurons(neuron: str | Mapping, surrogate: str | Surrogate | Mapping) -> NeuronFactory:
    """A factory of fresh neurons of the ``neuron`` setting (a name or ``{"name": ..., **kw}``)
    with :data:`NEURON_DEFAULTS` and ``surrogate`` under it (:func:`~fullspike.nn.make_neuron`)."""
    return functools.partial(make_neuron, neuron, defaults={**NEURON_DEFAULTS, "surrogate": make_surrogate(surrogate)})


def check_connect(family: str, connect: str) -> str:
    """The normalised connect name; dual-stream (``"dst"``) models reject ADD."""
    key = connect_name(connect)
    if family == "dst" and key not in FULL_SPIKE:
        raise ConfigError(
            f"dual-stream (dst_*) models need a full-spike connect function "
            f"{list(FULL_SPIKE)}; '{connect}' makes block outputs non-binary "
            f"(use the sew_* model for ADD)"
        )
    return key


class Stem(nn.Module):
    """``conv -> BN -> SN [-> pool]``. A static image ``[B, C, H, W]`` goes through conv and BN
    once and the result is repeated over ``T`` steps; frames ``[T, B, C, H, W]`` go step by step
    (T folded). Output: spikes ``[T, B, C_out, H', W']``. Children: ``conv``, ``bn``, ``sn``,
    ``pool`` (or ``None``)."""

    def __init__(
        self, conv: nn.Conv2d, bn: nn.BatchNorm2d, sn: nn.Module, T: int, pool: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.T = T
        self.conv, self.bn, self.sn, self.pool = conv, bn, sn, pool

    def _synapse(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            y = self._synapse(x)
            y = y.unsqueeze(0).expand(self.T, *y.shape)
        else:
            y = per_step(self._synapse, x)
        s = self.sn(y)
        if self.pool is not None:
            s = per_step(self.pool, s)
        return s
