"""Iterating over evaluation batches with an optional progress bar (energy, analysis)."""
from __future__ import annotations

import itertools
from typing import Iterable

import torch
from tqdm.auto import tqdm


def take_batches(inputs, max_batches: int | None = None, desc: str = "", progress: bool = False) -> Iterable:
    """The first ``max_batches`` items of ``inputs`` (a tensor is one batch), with a progress bar."""
    items = [inputs] if isinstance(inputs, torch.Tensor) else inputs
    total = len(items) if hasattr(items, "__len__") else None
    if max_batches is not None:
        total = max_batches if total is None else min(total, max_batches)
        items = itertools.islice(items, max_batches)
    return tqdm(items, desc=desc, total=total, disable=not progress, leave=False)
