"""How far a trained BNTT network's per-step batch statistics lie from the statistics pooled over
all steps, which is what one BN shared over time normalises with (docs/methods.md, "BNTT").

Read from the parameters alone: each BNTT layer keeps a running mean ``mu_t`` and variance
``var_t`` per step and channel. Pooling the T steps with equal weight gives the mixture's mean
``mu = mean_t mu_t`` and variance ``var = mean_t (var_t + mu_t^2) - mu^2``. Per step t, averaged
over channels:

* ``shift_t = |mu_t - mu| / sqrt(var + eps)``: how far the step's mean sits from the pooled one,
  in pooled standard deviations (0: a shared BN centres this step as BNTT does);
* ``scale_t = sqrt(var_t + eps) / sqrt(var + eps)``: the step's spread against the pooled one
  (1: a shared BN scales this step as BNTT does).

If every step's shift is near 0 and scale near 1, a shared BN normalises each step almost as
BNTT does, and only BNTT's per-step ``gamma_t`` (:mod:`.early_exit`) sets the two apart.
"""

from __future__ import annotations

import torch
from torch import nn

from ..nn import BNTT1d, BNTT2d


def step_statistics(model: nn.Module) -> dict:
    """``{"layers": {name: {"shift": [T], "scale": [T]}}, "shift": [T], "scale": [T]}`` (the last
    two averaged over layers, each layer weighing the same); ``{"layers": {}}`` when ``model``
    has no BNTT layer (a shared BN or no norm keeps no per-step statistics)."""
    layers = {}
    for name, m in model.named_modules():
        if not isinstance(m, (BNTT1d, BNTT2d)):
            continue
        mu_t, var_t = m.running_mean.double(), m.running_var.double()  # [T, C]
        mu = mu_t.mean(0)
        sd = ((var_t + mu_t**2).mean(0) - mu**2).clamp_min(0).add(m.eps).sqrt()  # [C]
        layers[name] = {
            "shift": ((mu_t - mu).abs() / sd).mean(1).tolist(),
            "scale": ((var_t + m.eps).sqrt() / sd).mean(1).tolist(),
        }
    if not layers:
        return {"layers": {}}
    mean = {k: torch.tensor([v[k] for v in layers.values()]).mean(0).tolist() for k in ("shift", "scale")}
    return {"layers": layers, **mean}
