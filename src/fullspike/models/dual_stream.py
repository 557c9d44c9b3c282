"""The dual-stream classifier protocol (docs/methods.md, "DST"): the base of the DST ResNets,
7B-Nets and Spikformer.

A :class:`DualStreamClassifier` runs a spike stream ``S`` and, while ``dual_stream`` is set,
the auxiliary accumulation stream ``A``, which starts at the embedding's spikes and is carried
through every stage: a :class:`~fullspike.dst.blocks.DualStreamBlock` maps ``(S, A)`` to both
streams' next values; any other stage maps ``S`` while its accumulation counterpart (if any)
maps ``A``. Both streams go through the same head. :meth:`without_aap` (the hook
:func:`~fullspike.dst.remove_aap` calls) leaves the spike stream, whose output is then a plain
logits tensor ``O_s``.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import nn

from ..dst.blocks import CarriesAAP, DualStreamBlock
from ..nn.memory import compact_saving
from .base import SpikingClassifier
from .outputs import DualStreamOutput


class DualStreamClassifier(SpikingClassifier, CarriesAAP):
    """Base of classifiers that run a spike stream and, with ``dual_stream``, the AAP.

    Subclasses set ``self.dual_stream`` and implement :meth:`embed`, :meth:`stages` and
    :meth:`forward_head`; they override :meth:`drop_accumulation_modules` when they hold
    accumulation modules outside their blocks.
    """

    dual_stream: bool = False

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Input (images or frames, already checked) -> spikes ``[T, B, ...]``."""
        raise NotImplementedError

    def stages(self) -> list[tuple[nn.Module, Optional[nn.Module]]]:
        """The stages after the embedding in forward order, each ``(layer, accumulation
        counterpart or None)``."""
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """One stream's final features ``[T, B, ...]`` -> logits ``[B, num_classes]``."""
        raise NotImplementedError

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``(S, A)``: both streams' final features, ``A`` None unless ``dual_stream``."""
        self.check_input(x)
        s = self.embed(x)
        a = s if self.dual_stream else None
        for layer, accum in self.stages():
            if isinstance(layer, DualStreamBlock):
                s, a = layer(s, a)
            else:
                s = layer(s)
                if a is not None and accum is not None:
                    a = accum(a)
        return s, a

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, DualStreamOutput]:
        """Logits ``[B, num_classes]``, or ``DualStreamOutput(O_s, O_a)`` with ``dual_stream``."""
        with compact_saving(self.compact_saving):
            s, a = self.forward_features(x)
            if a is None:
                return self.forward_head(s)
            return DualStreamOutput(self.forward_head(s), self.forward_head(a))

    @property
    def carries_aap(self) -> bool:
        return self.dual_stream

    def without_aap(self) -> "DualStreamClassifier":
        """The AAP-removal hook: stop running the accumulation stream (its blocks are replaced
        by :func:`~fullspike.dst.remove_aap`) and drop the network's own accumulation modules."""
        self.dual_stream = False
        self.drop_accumulation_modules()
        return self

    def drop_accumulation_modules(self) -> None:
        """Remove accumulation modules held outside the blocks (none by default)."""
