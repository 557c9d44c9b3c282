"""One-off messages of the engine, shown at the user's line of code.

A notice raised deep inside a neuron call (compiling kernels, falling back to another backend)
is most useful pointing at the user's own call rather than at fullspike's or torch's internals;
:func:`warn_at_caller` finds that frame.
"""

from __future__ import annotations

import os
import sys
import warnings

import torch

_INTERNAL = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),  # the fullspike package
    os.path.dirname(os.path.abspath(torch.__file__)),
)


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """``warnings.warn(message, category)`` attributed to the innermost frame outside fullspike
    and torch (module calls pass through ``torch.nn``)."""
    level, frame = 2, sys._getframe(1)  # stacklevel 2: the frame that called this function
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_INTERNAL):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)
