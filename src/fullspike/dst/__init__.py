"""Dual-Stream Training (DST) with the auxiliary accumulation pathway (AAP), Chen et al.

The dual-stream block and its accumulation pathway, :func:`residual_block` (a block of any
residual family) and :func:`remove_aap`, which turns a trained dual-stream network into the
deployable full-spike network (FSNN). Connect functions and the Spiking ResNet / SEW blocks are
in :mod:`fullspike.nn` (``nn.connect``, ``nn.residual``); the networks are registered in
:mod:`fullspike.models` (``dst_resnet18``, ...), on :class:`~fullspike.models.DualStreamClassifier`.
"""

from .aap import has_aap, remove_aap
from .blocks import (
    Accumulate,
    AccumulationDownsampler,
    AccumulationPath,
    CarriesAAP,
    DualStreamBlock,
    residual_block,
    spike_stream_parameters,
)

__all__ = [
    "DualStreamBlock",
    "AccumulationPath",
    "AccumulationDownsampler",
    "Accumulate",
    "CarriesAAP",
    "residual_block",
    "spike_stream_parameters",
    "remove_aap",
    "has_aap",
]
