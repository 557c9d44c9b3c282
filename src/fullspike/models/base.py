"""What every fullspike classifier shares: turning its input into a ``[T, B, C, H, W]`` sequence;
and the base of classifiers that predict the mean of per-step outputs (BNTT's VGGs)."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from ..nn.encoding import make_encoder
from ..nn.memory import compact_saving


class SpikingClassifier(nn.Module):
    """Base of the registered classifiers.

    A model accepts static images ``[B, C, H, W]`` (encoded over its own ``T`` steps by
    ``self.encoder``) or event frames ``[T', B, C, H, W]`` (used as they are), and returns
    logits ``[B, num_classes]``.
    """

    #: save tensors for backward compactly during forward (spikes as bytes, norm outputs
    #: rebuilt; :mod:`fullspike.nn.memory`); set False for double backward
    compact_saving: bool = True

    def __init__(
        self, T: int, in_channels: int, num_classes: int, encoding: str = "direct", max_T: int | None = None
    ) -> None:
        super().__init__()
        if T < 1:
            raise ConfigError(f"T must be >= 1, got {T}")
        self.T, self.in_channels, self.num_classes = T, in_channels, num_classes
        self.max_T = max_T  # BNTT models cannot run longer than they were built for
        self.encoder = make_encoder(encoding, T)

    def check_input(self, x: torch.Tensor) -> bool:
        """Validate ``x``; returns True for a static image batch, False for a frame sequence."""
        name = type(self).__name__
        if x.dim() == 4:
            static = True
            c = x.shape[1]
        elif x.dim() == 5:
            static = False
            c = x.shape[2]
            if self.max_T is not None and x.shape[0] > self.max_T:
                raise ShapeError(f"{name} was built for T={self.max_T} but got {x.shape[0]} frames")
        else:
            raise ShapeError(
                f"{name} expects images [B, {self.in_channels}, H, W] or frames "
                f"[T, B, {self.in_channels}, H, W]; got shape {tuple(x.shape)}"
            )
        if c != self.in_channels:
            raise ShapeError(
                f"{name} was built for {self.in_channels} input channel(s) but got {c} "
                f"(input shape {tuple(x.shape)}); set in_channels={c} when creating the model"
            )
        return static

    def to_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, H, W]`` -> encoded ``[T, B, C, H, W]``; frames pass through."""
        return self.encoder(x) if self.check_input(x) else x


class StepwiseClassifier(SpikingClassifier):
    """A classifier whose prediction is the mean over time of its per-step outputs, so the
    prediction after any T' <= T steps can be read from one run (BNTT early exit,
    :mod:`fullspike.analysis.early_exit`). Subclasses implement :meth:`forward_steps`."""

    def forward_steps(self, x: torch.Tensor) -> torch.Tensor:
        """Per-step outputs ``[T, B, num_classes]`` of images ``[B, C, H, W]`` or frames."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, C, H, W]`` or frames ``[T, B, C, H, W]`` -> logits ``[B, num_classes]``, the
        mean over time of :meth:`forward_steps`."""
        with compact_saving(self.compact_saving):
            return self.forward_steps(x).mean(0)
