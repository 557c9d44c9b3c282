"""A neuron's input given as the batch norm before it: the norm's input and per-channel terms.

Inside :func:`~fullspike.nn.memory.compact_saving`, a training-mode batch norm's output is not
kept for backward but rebuilt from the norm's input ``z``, which the norm keeps anyway
(:mod:`fullspike.nn.batch_norm`). The neuron after the norm is the one that needs that output
in backward. A :class:`NormInput` describes it without materialising it, so a kernel that can
(``Kernels.reads_norm_input``: the native one) reads ``z`` and applies the norm on the fly,
in the same arithmetic as torch's kernel, instead of reading a rebuilt ``[T, ...]`` copy that
would be allocated, written and freed every step. Any other consumer calls :meth:`NormInput.values`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import torch


@dataclass(frozen=True)
class NormInput:
    """The neuron input ``x`` as ``fs_norm(z, scale[k], mean[k], bias[k])`` elementwise.

    ``z``: the norm's input viewed with ``x``'s geometry (same size, strides and storage offset
    as ``x`` has in the norm's output, a contiguous ``[N, channels, *S]`` tensor); ``base``:
    that whole input (contiguous, covering its storage); ``scale``, ``mean``, ``bias`` (or None): ``[channels]``
    float32, ``scale = invstd * weight``; the element at storage offset ``o`` belongs to channel
    ``(o // group) % channels`` with ``group = prod(S)``.
    """

    z: torch.Tensor
    base: torch.Tensor
    scale: torch.Tensor
    mean: torch.Tensor
    bias: Optional[torch.Tensor]

    def rebuild(self) -> torch.Tensor:
        """The norm's whole output (shaped like ``base``), as torch's kernel computes it in its
        running-statistics form with ``var = 1``, ``eps = 0`` (so its scale is ``scale``
        exactly): forward's output bit for bit."""
        with torch.no_grad():
            one = torch.ones_like(self.mean)
            return torch.native_batch_norm(self.base, self.scale, self.bias, self.mean, one, False, 0.0, 0.0)[0]

    @property
    def shape(self) -> torch.Size:
        return self.z.shape

    @property
    def group(self) -> int:
        return self.base[0, 0].numel()

    @property
    def channels(self) -> int:
        return self.base.shape[1]

    def __getitem__(self, steps: slice) -> "NormInput":
        """The steps ``steps`` (a slice of the time dimension) of ``x``."""
        return replace(self, z=self.z[steps])

    def values(self) -> torch.Tensor:
        """``x`` itself: the norm's output rebuilt, viewed with ``x``'s geometry."""
        return self.rebuild().as_strided(self.z.size(), self.z.stride(), self.z.storage_offset())
