"""Input encoders: static images ``[B, ...]`` to spike or current sequences ``[T, B, ...]``."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .. import checks
from .. import functional as SF
from ..registry import Registry

#: encoder classes by name (``"rate"``, ``"direct"``); each is built as ``cls(T)``
ENCODERS: Registry = Registry("encoding")


class Encoder(nn.Module):
    """Encodes ``[B, ...]`` into ``[T, B, ...]`` (``T >= 1``) with the pure function ``encode(x, T)``."""

    encode: Callable[[torch.Tensor, int], torch.Tensor]

    def __init__(self, T: int) -> None:
        super().__init__()
        self.T = checks.count(f"{type(self).__name__} T", T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return type(self).encode(x, self.T)

    def extra_repr(self) -> str:
        return f"T={self.T}"


@ENCODERS.register("rate")
class RateEncoder(Encoder):
    """BNTT's signed rate coding, drawn afresh at every step, in training and evaluation."""

    encode = staticmethod(SF.rate_encode)


@ENCODERS.register("direct")
class DirectEncoder(Encoder):
    """Direct coding: the analogue image repeated T times."""

    encode = staticmethod(SF.direct_encode)


def make_encoder(kind: str, T: int) -> Encoder:
    """The encoder called ``kind`` for ``T`` steps; unknown names raise a RegistryError."""
    return ENCODERS.get(kind)(T)
