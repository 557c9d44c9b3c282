"""Batch norm whose output backward rebuilds instead of keeping (docs/performance.md, "Memory").

The neuron after a batch norm saves the norm's output for its backward, while the norm saves
its input: two float tensors of the same size per layer. Inside
:func:`~fullspike.nn.memory.compact_saving`, :func:`batch_norm` marks its output as rebuilt
from the input it keeps anyway: in training, from the batch statistics of the forward call
(per-channel ``mean``, ``invstd``); in evaluation, from the running statistics. The rebuild runs
the same native CPU kernel as forward, in its running-statistics form with ``weight' = invstd *
weight``, ``mean' = mean``, ``var' = 1``, ``eps' = 0`` (so ``1/sqrt(var' + eps') = 1`` and the
kernel's scale is ``weight'`` exactly), which gives forward's output bit for bit; the neuron
then recomputes the same membranes and spikes in backward. In training, the mark also carries
the output's description (:class:`~fullspike.engine.norm_input.NormInput`: the input and the
per-channel scale, mean and bias), from which the native neuron kernel computes the values
itself, in torch's arithmetic, instead of having them rebuilt into a new tensor. Float32/float64 on CPU only (other
dtypes and devices save the output as usual).

:class:`BatchNorm2d` is ``torch.nn.BatchNorm2d`` with that forward; BNTT uses :func:`batch_norm`
for its per-step norms.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..engine.norm_input import NormInput
from ..errors import ShapeError
from .memory import active_saver, mark_recomputable

_EXACT_DTYPES = (torch.float32, torch.float64)


def batch_norm(
    x: torch.Tensor,
    running_mean: Optional[torch.Tensor],
    running_var: Optional[torch.Tensor],
    weight: Optional[torch.Tensor],
    bias: Optional[torch.Tensor],
    training: bool,
    momentum: float,
    eps: float,
) -> torch.Tensor:
    """``torch.nn.functional.batch_norm`` (same arguments and result, running statistics
    updated the same way), whose output backward rebuilds from ``x`` inside a compact-saving
    forward. ``x: [N, C, ...]``."""
    if (
        active_saver() is None
        or x.device.type != "cpu"
        or x.dtype not in _EXACT_DTYPES
        or any(p is not None and p.dtype != x.dtype for p in (weight, bias))
    ):
        return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    if training and x.numel() // x.shape[1] <= 1:
        raise ShapeError(
            f"batch norm needs more than 1 value per channel when training, got "
            f"input size {tuple(x.shape)}; use a larger batch"
        )
    y, mean, invstd = torch.native_batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps)
    z = x.detach()
    b = None if bias is None else bias.detach().clone()
    if training:
        norm = NormInput(z, z, invstd if weight is None else invstd * weight.detach(), mean, b)
        # the kernel finds an element's channel from its offset in z: z must be laid out as y
        readable = z.is_contiguous() and z.storage_offset() == 0
        return mark_recomputable(y, norm.rebuild, norm if readable else None)
    w = None if weight is None else weight.detach().clone()
    rm, rv = running_mean.detach().clone(), running_var.detach().clone()

    def rebuild() -> torch.Tensor:
        return torch.native_batch_norm(z, w, b, rm, rv, False, 0.0, eps)[0]

    return mark_recomputable(y, rebuild)


class BatchNorm2d(nn.BatchNorm2d):
    """``torch.nn.BatchNorm2d`` (same parameters, buffers and results) whose output backward
    rebuilds instead of keeping inside a compact-saving forward (:func:`batch_norm`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W] -> [N, C, H, W]``, as ``torch.nn.BatchNorm2d`` (the same result and
        running-statistics update); inside compact saving the output is rebuilt for backward."""
        if active_saver() is None or self.momentum is None:
            return super().forward(x)
        self._check_input_dim(x)  # the same decisions as torch's _BatchNorm.forward
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
        use_buffers = not self.training or self.track_running_stats
        training = self.training or (self.running_mean is None and self.running_var is None)
        return batch_norm(
            x,
            self.running_mean if use_buffers else None,
            self.running_var if use_buffers else None,
            self.weight,
            self.bias,
            training,
            self.momentum,
            self.eps,
        )
