"""Dual-Stream Training (DST) with the auxiliary accumulation pathway (AAP), Chen et al.

Connect functions, residual blocks (Spiking ResNet, SEW, dual-stream) and :func:`remove_aap`,
which turns a trained dual-stream network into the deployable full-spike network (FSNN).
The networks themselves are registered in :mod:`fullspike.models` (``dst_resnet18``, ...).
"""
from .aap import has_aap, remove_aap
from .blocks import (
    EXPANSION,
    Accumulate,
    AccumulationDownsampler,
    AccumulationPath,
    Block,
    DualStreamBlock,
    SEWBlock,
    SpikingBlock,
    named_blocks,
    residual_block,
    residual_branch,
    spike_stream_parameters,
)
from .connect import CONNECTS, FULL_SPIKE, Connect, SpikeValueError, check_binary, connect

__all__ = [
    "connect", "Connect", "CONNECTS", "FULL_SPIKE", "check_binary", "SpikeValueError",
    "Block", "SpikingBlock", "SEWBlock", "DualStreamBlock", "AccumulationPath",
    "AccumulationDownsampler", "Accumulate", "residual_block", "residual_branch", "EXPANSION",
    "named_blocks", "spike_stream_parameters",
    "remove_aap", "has_aap",
]
