"""Model outputs and the losses/predictions read from them.

Most models return logits ``[B, K]``. Dual-stream (DST/AAP) models return a
:class:`DualStreamOutput` with the spike-stream logits ``O_s`` and accumulation-stream logits
``O_a``; their objective is ``CE(O_s) + CE(O_a)``. At inference the DSNN combines the two heads by
averaging their logits (the paper leaves this open; this is the project's documented choice,
always reported beside ``O_s`` alone and ``O_a`` alone).
"""

from __future__ import annotations

from typing import NamedTuple, Union

import torch
import torch.nn.functional as F


class DualStreamOutput(NamedTuple):
    """The two heads of a dual-stream network: ``spike`` (``O_s``, logits ``[B, K]`` of the
    spike stream, the FSNN's prediction) and ``accum`` (``O_a``, ``[B, K]`` of the
    accumulation stream)."""

    spike: torch.Tensor  # O_s, [B, K]
    accum: torch.Tensor  # O_a, [B, K]

    def combined(self) -> torch.Tensor:
        """DSNN prediction: the mean of the two heads' logits."""
        return 0.5 * (self.spike + self.accum)


ModelOutput = Union[torch.Tensor, DualStreamOutput]


def classification_loss(out: ModelOutput, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy; for dual-stream outputs ``CE(O_s) + CE(O_a)``."""
    if isinstance(out, DualStreamOutput):
        return F.cross_entropy(out.spike, target, label_smoothing=label_smoothing) + F.cross_entropy(
            out.accum, target, label_smoothing=label_smoothing
        )
    return F.cross_entropy(out, target, label_smoothing=label_smoothing)


#: the key of the model's own prediction in :func:`heads`
PREDICTION = "prediction"


def prediction(out: ModelOutput) -> torch.Tensor:
    """The model's prediction ``[B, K]``: the logits, or the DSNN's combined heads."""
    return out.combined() if isinstance(out, DualStreamOutput) else out


def heads(out: ModelOutput) -> dict[str, torch.Tensor]:
    """The logits ``[B, K]`` to report accuracy for: ``{"prediction": logits}``, or for
    dual-stream outputs ``{"prediction": combined, "spike": O_s, "accum": O_a}``.

    The :data:`PREDICTION` entry is the model's prediction (``accuracy`` / ``test_accuracy`` in
    metrics; the others ``accuracy_spike``, ``accuracy_accum``).
    """
    if isinstance(out, DualStreamOutput):
        return {PREDICTION: prediction(out), "spike": out.spike, "accum": out.accum}
    return {PREDICTION: out}
