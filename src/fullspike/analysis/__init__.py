"""Analyses of trained networks, one module per analysis: :mod:`~fullspike.analysis.early_exit`
(BNTT early exit), :mod:`~fullspike.analysis.robustness` (noise and adversarial robustness,
SNN vs ANN), :mod:`~fullspike.analysis.gradients` (per-block gradient statistics),
:mod:`~fullspike.analysis.time_statistics` (BNTT's per-step statistics against pooled ones)."""
