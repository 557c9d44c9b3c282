"""Spiking layers: neurons, BNTT, time folding, encoders, connect functions and the Spiking
ResNet / SEW residual blocks. All take and return ``[T, B, ...]``."""
from .bntt import NORMS, BNTT1d, BNTT2d, make_norm
from .connect import CONNECTS, FULL_SPIKE, Connect, SpikeValueError, check_binary, connect
from .encoding import ENCODERS, DirectEncoder, RateEncoder, make_encoder
from .neurons import IF, LIF, NEURONS, PLIF, SpikingNeuron, make_neuron, set_backend
from .residual import EXPANSION, Block, SEWBlock, SpikingBlock, named_blocks, residual_branch
from .sequence import SeqSequential, TimeFolded

__all__ = [
    "IF", "LIF", "PLIF", "SpikingNeuron", "NEURONS", "make_neuron", "set_backend",
    "BNTT1d", "BNTT2d", "NORMS", "make_norm",
    "RateEncoder", "DirectEncoder", "ENCODERS", "make_encoder",
    "TimeFolded", "SeqSequential",
    "connect", "Connect", "CONNECTS", "FULL_SPIKE", "check_binary", "SpikeValueError",
    "Block", "SpikingBlock", "SEWBlock", "named_blocks", "residual_branch", "EXPANSION",
]
