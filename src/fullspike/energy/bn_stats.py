"""Estimating batch-norm statistics of an untrained network before counting its operations.

With random weights and default running statistics (mean 0, var 1), deep layers of a spiking
network can fall silent, so integer sums (SEW ADD outputs, accumulations) happen to look binary
and MACs are undercounted. Running a few batches in training mode gives every BN (and BNTT step)
the statistics of the data it sees, as a trained network would have (docs/methods.md, "Energy accounting").
"""

from __future__ import annotations

import torch
from torch import nn

from .. import checks
from ..errors import ConfigError
from ..progress import take_batches


def _norms(model: nn.Module) -> list[nn.Module]:
    return [
        m
        for m in model.modules()
        if isinstance(getattr(m, "running_mean", None), torch.Tensor)
        and isinstance(getattr(m, "running_var", None), torch.Tensor)
        and hasattr(m, "momentum")
    ]


@torch.no_grad()
def estimate_bn_stats(
    model: nn.Module, inputs, num_batches: int | None = 2, progress: bool | None = False
) -> nn.Module:
    """Reset and re-estimate the running mean/var of every BN and BNTT layer of ``model`` (in place).

    ``inputs``: one batch or an iterable of batches / ``(x, y, ...)`` tuples; the first
    ``num_batches`` (>= 1; None: all of them) are run in training mode without gradients, and the
    running statistics become the plain average of the per-batch statistics. Learnable parameters
    are untouched; the model's mode is restored. Returns ``model``.
    """
    checks.count("num_batches", num_batches, optional=True)
    norms = _norms(model)
    momenta = [m.momentum for m in norms]
    was_training = model.training
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    for m in norms:
        m.running_mean.zero_()
        m.running_var.fill_(1.0)
    model.train()
    seen = 0
    try:
        for item in take_batches(inputs, num_batches, "BN statistics", progress):
            x = item if isinstance(item, torch.Tensor) else item[0]
            for m in norms:
                m.momentum = 1.0 / (seen + 1)  # cumulative average of the batch statistics
            model(x.to(device))
            seen += 1
    finally:
        for m, mom in zip(norms, momenta):
            m.momentum = mom
        model.train(was_training)
    if not seen:
        raise ConfigError("estimate_bn_stats got no input batches")
    return model
