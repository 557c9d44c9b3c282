"""Time folding and input encoders as pure functions. Sequences are ``[T, B, ...]``."""

from __future__ import annotations

from typing import Callable

import torch

from .. import checks
from ..errors import ShapeError


def fold_time(x: torch.Tensor) -> torch.Tensor:
    """``[T, B, ...] -> [T*B, ...]`` (a view when possible) so stateless layers see one batch."""
    if x.dim() < 2:
        raise ShapeError(f"expected a sequence [T, B, ...]; got shape {tuple(x.shape)}")
    return x.flatten(0, 1)


def unfold_time(x: torch.Tensor, T: int) -> torch.Tensor:
    """``[T*B, ...] -> [T, B, ...]``."""
    if x.shape[0] % T:
        raise ShapeError(f"cannot split a batch of {x.shape[0]} into T={T} time steps")
    return x.view(T, x.shape[0] // T, *x.shape[1:])


def per_step(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Apply a stateless ``fn`` to every step of ``x: [T, B, ...]`` at once (T folded into the
    batch): ``[T, B, ...] -> [T, B, ...']``."""
    return unfold_time(fn(fold_time(x)), x.shape[0])


def rate_encode(x: torch.Tensor, T: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """BNTT's signed rate (Poisson) coding of a normalised input ``x: [B, ...] -> [T, B, ...]``
    (``T >= 1`` steps).

    Each step draws afresh ``s = sign(x) * [2u <= |x|]``, ``u ~ U(0, 1)``: spikes in
    {-1, 0, +1}, firing with probability ``min(|x| / 2, 1)``.
    """
    checks.count("T", T)
    u = torch.rand((T, *x.shape), device=x.device, dtype=x.dtype, generator=generator)
    return torch.sign(x) * (2.0 * u <= x.abs()).to(x.dtype)


def direct_encode(x: torch.Tensor, T: int) -> torch.Tensor:
    """Direct coding: the analogue input repeated at every step, ``[B, ...] -> [T, B, ...]`` (``T >= 1``)."""
    checks.count("T", T)
    return x.unsqueeze(0).expand(T, *x.shape)
