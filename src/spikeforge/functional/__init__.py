"""Pure functions: neuron dynamics over sequences, time folding, encoders."""
from .neuron import if_sequence, leaky_sequence, lif_sequence, neuron_sequence
from .sequence import direct_encode, fold_time, rate_encode, unfold_time

__all__ = [
    "neuron_sequence", "if_sequence", "lif_sequence", "leaky_sequence",
    "fold_time", "unfold_time", "rate_encode", "direct_encode",
]
