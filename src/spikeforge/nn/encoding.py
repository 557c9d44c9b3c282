"""Input encoders: static images ``[B, ...]`` to spike or current sequences ``[T, B, ...]``."""
from __future__ import annotations

import torch
from torch import nn

from .. import functional as SF


class RateEncoder(nn.Module):
    """BNTT's signed rate coding, drawn afresh at every step, in training and evaluation."""

    def __init__(self, T: int) -> None:
        super().__init__()
        self.T = T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return SF.rate_encode(x, self.T)

    def extra_repr(self) -> str:
        return f"T={self.T}"


class DirectEncoder(nn.Module):
    """Direct coding: the analogue image repeated T times."""

    def __init__(self, T: int) -> None:
        super().__init__()
        self.T = T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return SF.direct_encode(x, self.T)

    def extra_repr(self) -> str:
        return f"T={self.T}"


ENCODERS = {"rate": RateEncoder, "direct": DirectEncoder}


def make_encoder(kind: str, T: int) -> nn.Module:
    try:
        return ENCODERS[kind](T)
    except KeyError:
        raise ValueError(f"unknown encoding '{kind}'; choose one of {sorted(ENCODERS)}") from None
