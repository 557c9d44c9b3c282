"""Batch Normalization Through Time (Kim & Panda 2021) and the norms it is compared with.

:class:`BNTT2d` / :class:`BNTT1d` hold one independent batch norm per time step: per-step batch
statistics in training, per-step running mean/var (momentum 0.1) in evaluation, a per-step
learnable scale ``gamma_t`` (init 1), no shift by default, eps 1e-4. Internally the T steps are
laid side by side as ``T * C`` channels so a single native batch-norm call serves all steps.
Both take ``(num_features, T, eps=1e-4, momentum=0.1, bias=False)``: ``num_features`` and ``T``
integers >= 1, ``eps`` > 0, ``momentum`` in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..errors import ShapeError
from ..registry import Registry
from .batch_norm import batch_norm
from .sequence import TimeFolded


class _BNTT(nn.Module):
    sequence_aware = True
    _feature_dims: int = 0  # spatial dims after C

    def __init__(self, num_features: int, T: int, eps: float = 1e-4, momentum: float = 0.1, bias: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        checks.count(f"{name} num_features", num_features)
        checks.count(f"{name} T", T)
        checks.positive(f"{name} eps", eps)
        checks.unit(f"{name} momentum", momentum)
        self.num_features, self.T, self.eps, self.momentum = num_features, T, eps, momentum
        self.weight = nn.Parameter(torch.ones(T, num_features))
        self.bias = nn.Parameter(torch.zeros(T, num_features)) if bias else None
        self.register_buffer("running_mean", torch.zeros(T, num_features))
        self.register_buffer("running_var", torch.ones(T, num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: [T', B, C, *spatial] -> same shape``, with ``T' <= T`` (early exit uses fewer)."""
        want = 3 + self._feature_dims
        if x.dim() != want or x.shape[2] != self.num_features:
            raise ShapeError(
                f"{type(self).__name__}({self.num_features}, T={self.T}) expects "
                f"[T, B, {self.num_features}{', H, W' if self._feature_dims else ''}]; got {tuple(x.shape)}"
            )
        Tn = x.shape[0]
        if Tn > self.T:
            raise ShapeError(
                f"{type(self).__name__} was built for T={self.T} time steps but got {Tn}; a BNTT "
                f"network cannot run for more steps than it was built for (rebuild it with T={Tn})"
            )
        B = x.shape[1]
        rest = x.shape[3:]
        y = x.transpose(0, 1).reshape(B, Tn * self.num_features, *rest)
        if self.training:
            self.num_batches_tracked.add_(1)
        # rows [:Tn] of the contiguous [T, C] buffers are views, so running stats update in place
        rm, rv = self.running_mean[:Tn].view(-1), self.running_var[:Tn].view(-1)
        y = batch_norm(  # its output is rebuilt in backward in a compact-saving forward
            y,
            rm,
            rv,
            self.weight[:Tn].reshape(-1),
            None if self.bias is None else self.bias[:Tn].reshape(-1),
            self.training,
            self.momentum,
            self.eps,
        )
        return y.view(B, Tn, self.num_features, *rest).transpose(0, 1)

    def gamma(self) -> torch.Tensor:
        """The per-step scales ``[T, C]`` (detached), read by early exit."""
        return self.weight.detach()

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, T={self.T}, eps={self.eps}, momentum={self.momentum}, bias={self.bias is not None}"
        )


class BNTT1d(_BNTT):
    """BNTT for ``[T, B, C]`` (after a linear layer)."""

    _feature_dims = 0


class BNTT2d(_BNTT):
    """BNTT for ``[T, B, C, H, W]`` (after a conv layer)."""

    _feature_dims = 2


#: norms by name; each factory is ``(num_features, T, dim) -> module`` on ``[T, B, C, ...]``
NORMS: Registry = Registry("norm")


@NORMS.register("bntt")
def bntt(num_features: int, T: int, dim: int = 2) -> nn.Module:
    """One BN per time step (:class:`BNTT2d` after a conv, :class:`BNTT1d` after a linear)."""
    return (BNTT2d if dim == 2 else BNTT1d)(num_features, T)


@NORMS.register("bn")
def shared_bn(num_features: int, T: int, dim: int = 2) -> nn.Module:
    """One BN shared over all steps (T folded into the batch, no shift, eps 1e-4 like BNTT, so
    only the per-step split differs)."""
    bn = (nn.BatchNorm2d if dim == 2 else nn.BatchNorm1d)(num_features, eps=1e-4)
    bn.bias.requires_grad_(False)
    return TimeFolded(bn)


@NORMS.register("none")
def no_norm(num_features: int, T: int, dim: int = 2) -> nn.Module:
    """The identity."""
    return nn.Identity()


def make_norm(kind: str, num_features: int, T: int, dim: int = 2) -> nn.Module:
    """The normalisation ``kind`` (``"bntt"``, ``"bn"``, ``"none"``: :data:`NORMS`) after a
    conv (``dim=2``) or linear (``dim=1``) layer on a sequence."""
    return NORMS.get(kind)(num_features, T, dim)
