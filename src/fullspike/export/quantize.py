"""Per-layer symmetric weight quantisation for spike-only hardware (docs/deploy.md, "Quantised weights").

Every conv/linear weight ``W`` of the BN-folded network becomes ``s * q`` with integers
``q = round(W / s)`` in ``[-(2^(bits-1) - 1), 2^(bits-1) - 1]`` and one scale per layer,
``s = max|W| / (2^(bits-1) - 1)``. The NIR graph stores ``q`` in the Conv2d/Affine node (its
bias divided by ``s``) followed by a Scale node ``s`` (gates "threshold"), or a diagonal 1x1 conv /
affine of ``s`` (gates "if"), so importers run it with standard nodes. :func:`quantize_weights`
gives the PyTorch network that computes the same: each layer holds ``q`` and ``b / s`` and its
``weight_scale`` buffer ``s`` multiplies its output.
"""

from __future__ import annotations

import torch
from torch import nn

from ..energy import StepwiseSynapse, fold_bn
from ..errors import ExportError

#: the weight widths ``quantize`` accepts
BITS = range(4, 17)


def check_bits(bits: int) -> int:
    """``bits`` if it is a supported weight width (4..16), else one :class:`ExportError` line."""
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in BITS:
        raise ExportError(f"quantize needs a weight width of {BITS.start}..{BITS.stop - 1} bits, got {bits!r}")
    return bits


def quantize_tensor(weight: torch.Tensor, bits: int) -> tuple[torch.Tensor, float]:
    """``(q, s)``: integer-valued ``q`` (same dtype and shape as ``weight``) and the per-layer
    scale ``s`` with ``weight ~= s * q``; computed in float64. An all-zero weight has ``s = 1``."""
    qmax = 2 ** (check_bits(bits) - 1) - 1
    w = weight.detach().double()
    peak = w.abs().max().item() if w.numel() else 0.0
    s = peak / qmax if peak > 0 else 1.0
    return torch.clamp(torch.round(w / s), -qmax, qmax).to(weight.dtype), s


#: the buffer of a layer whose output is multiplied by it (:func:`quantize_weights`)
SCALE = "weight_scale"


def _rescale(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    """A forward hook: the layer's output times its :data:`SCALE` buffer ``s``, so that the layer
    computes ``s (q x + b / s)``, the operations of the graph's layer node and its scale node, in
    the same order."""
    return output * getattr(module, SCALE)


def layer_scale(module: nn.Module) -> float:
    """The scale a quantised layer multiplies its output by (:func:`quantize_weights`), else 1."""
    scale = getattr(module, SCALE, None)
    return 1.0 if scale is None else float(scale)


@torch.no_grad()
def quantize_weights(model: nn.Module, bits: int) -> nn.Module:
    """A BN-folded copy of ``model`` (evaluation mode) that computes what a quantised NIR graph
    (``to_nir(..., quantize=bits)``) computes: each conv/linear layer holds the integers ``q``
    (per layer, ``bits`` wide; :func:`quantize_tensor`) as its weight, ``b / s`` as its bias and
    ``s`` as its ``weight_scale`` buffer (so ``state_dict`` holds it: it loads only into another
    quantised copy), and a forward hook multiplies its output by ``s``; :func:`~fullspike.export.to_nir`
    of this copy writes the same graph. The graph's operations in their order, so
    the two agree to the last bit where the graph's rounding would otherwise flip a spike at its
    threshold (computing ``(s q) x + b`` instead differs in float32 by a rounding).
    Layers folded with BNTT (:class:`~fullspike.energy.StepwiseSynapse`) get one scale over
    all their steps' weights, so a network that cannot be exported is quantised alike."""
    check_bits(bits)
    folded = fold_bn(model)
    for m in folded.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, StepwiseSynapse)):
            q, s = quantize_tensor(m.weight, bits)
            dtype = m.weight.dtype
            m.weight = nn.Parameter(q)
            if m.bias is not None:
                m.bias = nn.Parameter((m.bias.detach().double() / s).to(dtype))
            if hasattr(m, SCALE):  # quantised before: its scale already multiplies the output
                setattr(m, SCALE, torch.tensor(layer_scale(m) * s, dtype=dtype))
            else:
                m.register_buffer(SCALE, torch.tensor(s, dtype=dtype))
                m.register_forward_hook(_rescale)
    return folded
