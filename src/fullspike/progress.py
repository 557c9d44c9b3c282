"""Progress bars: shown only on a terminal unless asked for.

``progress`` arguments follow one rule everywhere (the same as ``train.progress``): ``True``
draws a bar, ``False`` never, ``None`` only when standard error is a terminal, so logs
redirected to a file or a pipe hold no bars.

A bar never touches what it counts: :class:`Bar` iterates its items exactly once, itself, and
only tells tqdm how far it got. tqdm is never handed the iterable, because some of its front
ends iterate it on their own (``tqdm.auto``'s asyncio class calls ``iter()`` in its constructor
and again in ``__iter__``): a ``DataLoader`` started twice draws two base seeds from torch's
global generator (and starts its worker pool twice), so a loop in a bar would see other random
draws (a rate encoder's spikes) than the same loop without one.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any, Iterable, Iterator

import torch
from tqdm.auto import tqdm  # a notebook widget in Jupyter, else a text bar


def show_bars(progress: bool | None) -> bool:
    """Whether to draw a bar: ``progress``, or (None) whether standard error is a terminal."""
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        return bool(isatty and isatty())
    return bool(progress)


def _length(items: Iterable) -> int | None:
    """``len(items)``, or None where it has none (a DataLoader over an iterable-style dataset)."""
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None


class Bar:
    """``items`` with a transient bar (``leave=False`` unless given): iterating a ``Bar`` iterates
    ``items`` once and draws nothing at random; the bar advances by one per item and closes when
    the loop ends (or breaks off).

    ``total`` is the bar's length (default ``len(items)`` where items have one); ``progress``
    follows :func:`show_bars`; other options go to tqdm (``unit``, ``leave``, ...)."""

    def __init__(
        self, items: Iterable, desc: str = "", total: int | None = None, progress: bool | None = None, **options
    ):
        total = _length(items) if total is None else total
        options.setdefault("leave", False)
        self.items = items
        self.tqdm = tqdm(total=total, desc=desc, disable=not show_bars(progress), file=sys.stderr, **options)

    def __iter__(self) -> Iterator:
        try:
            for item in self.items:
                yield item
                self.tqdm.update()
        finally:
            self.tqdm.close()

    def set_postfix(self, values: dict[str, Any]) -> None:
        """Show ``values`` (``{name: value}``) after the bar."""
        self.tqdm.set_postfix(values)


def take_batches(inputs, max_batches: int | None = None, desc: str = "", progress: bool | None = False) -> Bar:
    """The first ``max_batches`` items of ``inputs`` (a tensor is one batch), with a progress bar."""
    items = [inputs] if isinstance(inputs, torch.Tensor) else inputs
    total = _length(items)
    if max_batches is not None:
        total = max_batches if total is None else min(total, max_batches)
        items = itertools.islice(items, max_batches)
    return Bar(items, desc, total, progress)
