"""Spiking layers: neurons, BNTT, time folding, encoders. All take and return ``[T, B, ...]``."""
from .bntt import BNTT1d, BNTT2d, make_norm
from .encoding import DirectEncoder, RateEncoder, make_encoder
from .neurons import IF, LIF, PLIF, SpikingNeuron, make_neuron, set_backend
from .sequence import SeqSequential, TimeFolded

__all__ = [
    "IF", "LIF", "PLIF", "SpikingNeuron", "make_neuron", "set_backend",
    "BNTT1d", "BNTT2d", "make_norm",
    "RateEncoder", "DirectEncoder", "make_encoder",
    "TimeFolded", "SeqSequential",
]
