"""Energy accounting: synaptic operations (AC / MAC), BN folding, BN-statistics estimation.

``count_synaptic_ops(model, inputs)`` returns an :class:`EnergyReport` (per sample, all steps).
See docs/methods.md, "Energy accounting" and :mod:`fullspike.energy.counter` for the counting rules.
"""

from .bn_stats import estimate_bn_stats
from .counter import count_synaptic_ops, infer_steps
from .fold import StepwiseSynapse, count_bn, fold_bn
from .report import EnergyReport, LayerRow, NeuronRow, fmt_count

__all__ = [
    "count_synaptic_ops",
    "infer_steps",
    "EnergyReport",
    "LayerRow",
    "NeuronRow",
    "fmt_count",
    "fold_bn",
    "count_bn",
    "StepwiseSynapse",
    "estimate_bn_stats",
]
