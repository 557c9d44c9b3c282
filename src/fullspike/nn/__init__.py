"""Spiking layers: neurons, BNTT, time folding, encoders, connect functions and the Spiking
ResNet / SEW residual blocks. All take and return ``[T, B, ...]``. Saving for backward compactly:
:mod:`.memory` (spikes as bytes) and :mod:`.batch_norm` (norm outputs rebuilt)."""

from .batch_norm import BatchNorm2d
from .bntt import NORMS, BNTT1d, BNTT2d, make_norm
from .connect import CONNECTS, FULL_SPIKE, Connect, SpikeValueError, check_binary, connect
from .encoding import ENCODERS, DirectEncoder, RateEncoder, make_encoder
from .memory import compact_saving, mark_spikes
from .neurons import IF, LIF, NEURONS, PLIF, SpikingNeuron, make_neuron, set_backend
from .residual import EXPANSION, Block, SEWBlock, SpikingBlock, named_blocks, residual_branch
from .sequence import SeqSequential, TimeFolded

__all__ = [
    "IF",
    "LIF",
    "PLIF",
    "SpikingNeuron",
    "NEURONS",
    "make_neuron",
    "set_backend",
    "BNTT1d",
    "BNTT2d",
    "NORMS",
    "make_norm",
    "BatchNorm2d",
    "compact_saving",
    "mark_spikes",
    "RateEncoder",
    "DirectEncoder",
    "ENCODERS",
    "make_encoder",
    "TimeFolded",
    "SeqSequential",
    "connect",
    "Connect",
    "CONNECTS",
    "FULL_SPIKE",
    "check_binary",
    "SpikeValueError",
    "Block",
    "SpikingBlock",
    "SEWBlock",
    "named_blocks",
    "residual_branch",
    "EXPANSION",
]
