"""Pure functions: neuron dynamics over sequences, time folding, encoders."""
from .backends import BACKENDS
from .neuron import if_sequence, leaky_sequence, lif_sequence, neuron_sequence
from .sequence import direct_encode, fold_time, rate_encode, unfold_time

__all__ = [
    "neuron_sequence", "if_sequence", "lif_sequence", "leaky_sequence", "BACKENDS",
    "fold_time", "unfold_time", "rate_encode", "direct_encode",
]
