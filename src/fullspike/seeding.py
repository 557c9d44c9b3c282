"""Seeded random draws that leave the caller's random streams alone.

:func:`seeded_draws` runs a block on torch's global generators seeded afresh and restores them
afterwards: evaluation (``fullspike evaluate``, training's test evaluation) and the robustness
analysis use it so that a rate encoder's spikes repeat exactly for the same seed.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

#: the largest seed a run or an evaluation takes (numpy's seed range is 0..2^32 - 1)
MAX_SEED = 2**32 - 1


@contextlib.contextmanager
def seeded_draws(seed: int, device: torch.device | str) -> Iterator[None]:
    """Run the block with torch's generators (CPU, and ``device``'s when CUDA) seeded with ``seed``
    and restore their states afterwards: the draws inside (an encoder's spikes) repeat exactly,
    and the caller's random streams (training's) neither advance nor change."""
    device = torch.device(device)
    devices = (
        [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    )
    with torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        for index in devices:  # only the evaluating device's generator: other GPUs' streams stay as they are
            torch.cuda.default_generators[index].manual_seed(seed)
        yield
