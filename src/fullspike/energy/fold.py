"""Folding batch norm into the conv/linear layer before it (inference only).

With ``scale = gamma / sqrt(running_var + eps)``, a conv/linear ``W, b`` followed by BN becomes
``W' = W * scale`` (per output channel) and ``b' = (b - running_mean) * scale + beta``.

BNTT (:class:`~fullspike.nn.BNTT2d`/:class:`~fullspike.nn.BNTT1d`) has one BN per time step, so
its fold is a different weight per step: ``W'_t = W * scale_t``, ``b'_t = -mu_t * scale_t``
(+ ``beta_t``). The pair is replaced by a :class:`StepwiseSynapse` that applies step ``t``'s
folded weights to the inputs of step ``t``; the synaptic operations are those of the original
layer, only the weights differ per step.

The fold is computed in float64 and cast once to the layer's dtype, so a float32 model's folded
weights are the float32 values nearest the exact ones (folding in float32 rounds twice and moves
membranes near the threshold across it: a flipped spike changes the logits by ~0.1).

A pair is a conv/linear child immediately followed, in its parent's child order, by a BN child
over the same channels (the layout of every fullspike model: ``SeqSequential(conv, bn, sn)``,
``Stem(conv, bn, ...)``, ``AccumulationDownsampler(dw, pw, bn, relu)``). A conv may be wrapped in
:class:`~fullspike.nn.TimeFolded`, and a BN too.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..errors import ShapeError
from ..nn import BNTT1d, BNTT2d, SeqSequential, TimeFolded

_SYNAPSES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_CONV_FN = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}


class StepwiseSynapse(nn.Module):
    """A conv or linear layer with per-time-step weights (a conv/linear folded with BNTT).

    ``forward(x: [T', B, ...]) -> [T', B, ...]`` with ``T' <= T``: step ``t`` uses
    ``weight[t]`` and ``bias[t]``. Sequence-aware (it needs the time axis). Inference only.
    """

    sequence_aware = True

    def __init__(self, layer: nn.Module, scale: torch.Tensor, shift: torch.Tensor) -> None:
        super().__init__()
        w = layer.weight.detach()
        view = (*scale.shape, *([1] * (w.dim() - 1)))  # [T, C_out, 1, ...]
        self.weight = nn.Parameter((w.double().unsqueeze(0) * scale.view(view)).to(w.dtype))
        b = layer.bias.detach().double() if layer.bias is not None else torch.zeros_like(scale[0])
        self.bias = nn.Parameter((b * scale + shift).to(w.dtype))
        self.T = scale.shape[0]
        self.conv = (
            dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups)
            if isinstance(layer, nn.modules.conv._ConvNd)
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T', B, ...] -> [T', B, ...]`` for ``T' <= T``: step ``t`` uses ``weight[t]`` and ``bias[t]``."""
        if x.shape[0] > self.T:
            raise ShapeError(f"{type(self).__name__} was folded for T={self.T} steps but got {x.shape[0]}")
        if self.conv is None:
            return torch.stack([F.linear(x[t], self.weight[t], self.bias[t]) for t in range(x.shape[0])])
        fn = _CONV_FN[self.weight.dim() - 1]
        return torch.stack([fn(x[t], self.weight[t], self.bias[t], **self.conv) for t in range(x.shape[0])])

    def extra_repr(self) -> str:
        """The layer kind, weight shape and ``T``, for ``repr``."""
        kind = "linear" if self.conv is None else f"conv{self.weight.dim() - 3}d"
        return f"{kind}, weight={tuple(self.weight.shape)}, T={self.T}"


def _unwrap(m: nn.Module) -> nn.Module:
    return m.module if isinstance(m, TimeFolded) else m


def _bn_affine(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` of an eval-mode BN, in float64: ``[C]`` for BN, ``[T, C]`` for BNTT."""
    mean, var = bn.running_mean.double(), bn.running_var.double()
    gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(mean)
    scale = gamma / torch.sqrt(var + bn.eps)
    return scale, beta - mean * scale


def _foldable(layer: nn.Module, bn: nn.Module) -> bool:
    if not isinstance(layer, _SYNAPSES):
        return False
    if isinstance(layer, nn.modules.conv._ConvNd) and layer.padding_mode != "zeros":
        return False
    out = layer.out_channels if not isinstance(layer, nn.Linear) else layer.out_features
    if isinstance(bn, (BNTT1d, BNTT2d)):
        return bn.num_features == out
    return isinstance(bn, _BatchNorm) and bn.track_running_stats and bn.num_features == out


def _fold_into(layer: nn.Module, scale: torch.Tensor, shift: torch.Tensor) -> None:
    """Fold the float64 ``scale``/``shift`` into ``layer`` in float64, cast once to its dtype."""
    w = layer.weight.detach()
    b = layer.bias.detach().double() if layer.bias is not None else torch.zeros_like(scale)
    layer.weight = nn.Parameter((w.double() * scale.view(-1, *([1] * (w.dim() - 1)))).to(w.dtype))
    layer.bias = nn.Parameter((b * scale + shift).to(w.dtype))


@torch.no_grad()
def fold_bn(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in evaluation mode with every conv/linear + BN pair fused.

    Standard BN is folded into the layer's weights and bias (the BN becomes ``nn.Identity``).
    A conv/linear + BNTT pair becomes a :class:`StepwiseSynapse` (per-step folded weights) and
    ``nn.Identity``; this needs the layer to see the time axis, so it is done where the pair sits
    in a :class:`~fullspike.nn.SeqSequential` or the layer is wrapped in ``TimeFolded``.
    The original model is not modified. In evaluation mode the copy computes the same function
    (up to float rounding) and has the same synaptic-operation counts.

    Example:
        ```python
        import fullspike
        from fullspike.energy import count_bn, fold_bn

        model = fullspike.create_model("bntt_convnet", T=4)
        folded = fold_bn(model)  # each conv/linear + BNTT pair -> a StepwiseSynapse
        assert count_bn(model) == 3 and count_bn(folded) == 0
        ```
    """
    folded = copy.deepcopy(model).eval()
    for parent in folded.modules():
        names = list(parent._modules)
        for first, second in zip(names, names[1:]):
            wrapped, bn_slot = parent._modules[first], parent._modules[second]
            if wrapped is None or bn_slot is None:
                continue
            layer, bn = _unwrap(wrapped), _unwrap(bn_slot)
            if not _foldable(layer, bn):
                continue
            scale, shift = _bn_affine(bn)
            if isinstance(bn, (BNTT1d, BNTT2d)):
                if not (isinstance(parent, SeqSequential) or isinstance(wrapped, TimeFolded)):
                    continue  # the layer sees T folded into the batch: no per-step weights possible
                setattr(parent, first, StepwiseSynapse(layer, scale, shift))
            else:
                _fold_into(layer, scale, shift)
            setattr(parent, second, nn.Identity())
    return folded


def count_bn(model: nn.Module) -> int:
    """Number of BN / BNTT layers left in ``model`` (0 after a complete fold)."""
    return sum(isinstance(m, (_BatchNorm, BNTT1d, BNTT2d)) for m in model.modules())
