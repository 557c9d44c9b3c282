"""Pure functions: neuron dynamics over sequences (the rule and the eager reference; the spec and
the execution backends are in :mod:`fullspike.engine`), time folding, encoders."""

from ..engine.spec import NeuronSpec
from .neuron import if_sequence, leaky_sequence, lif_sequence, neuron_sequence
from .sequence import direct_encode, fold_time, per_step, rate_encode, unfold_time

__all__ = [
    "neuron_sequence",
    "if_sequence",
    "lif_sequence",
    "leaky_sequence",
    "NeuronSpec",
    "fold_time",
    "unfold_time",
    "per_step",
    "rate_encode",
    "direct_encode",
]
