"""Analyses of trained networks, one module per analysis: :mod:`~spikeforge.analysis.early_exit`
(BNTT early exit), :mod:`~spikeforge.analysis.robustness` (noise and adversarial robustness,
SNN vs ANN), :mod:`~spikeforge.analysis.gradients` (per-block gradient statistics)."""
