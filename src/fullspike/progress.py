"""Progress bars: shown only on a terminal unless asked for.

``progress`` arguments follow one rule everywhere (the same as ``train.progress``): ``True``
draws a bar, ``False`` never, ``None`` only when standard error is a terminal, so logs
redirected to a file or a pipe hold no bars.
"""

from __future__ import annotations

import itertools
import sys
from typing import Iterable

import torch
from tqdm.auto import tqdm


def show_bars(progress: bool | None) -> bool:
    """Whether to draw a bar: ``progress``, or (None) whether standard error is a terminal."""
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        return bool(isatty and isatty())
    return bool(progress)


def bar(items: Iterable, desc: str = "", total: int | None = None, progress: bool | None = None, **options) -> tqdm:
    """``items`` wrapped in a transient bar (``leave=False``) drawn per :func:`show_bars`."""
    options.setdefault("leave", False)
    return tqdm(items, desc=desc, total=total, disable=not show_bars(progress), file=sys.stderr, **options)


def take_batches(inputs, max_batches: int | None = None, desc: str = "", progress: bool | None = False) -> Iterable:
    """The first ``max_batches`` items of ``inputs`` (a tensor is one batch), with a progress bar."""
    items = [inputs] if isinstance(inputs, torch.Tensor) else inputs
    total = len(items) if hasattr(items, "__len__") else None
    if max_batches is not None:
        total = max_batches if total is None else min(total, max_batches)
        items = itertools.islice(items, max_batches)
    return bar(items, desc, total, progress)
