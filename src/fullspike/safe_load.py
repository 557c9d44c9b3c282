"""Opening a user's file never runs code: the one place fullspike reads a PyTorch file.

:func:`load_state` reads with ``torch.load(weights_only=True)``: tensors, numbers, strings and
the plain containers (dict, list, tuple) only, which is all a fullspike checkpoint or a state
dict holds. A file that needs anything else (a pickled object, whose unpickling could run any
command) is refused, never retried with the unrestricted loader. Imports only torch, the
standard library and :mod:`fullspike.errors` (a low-level module every layer may use).
"""

from __future__ import annotations

import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from .errors import CheckpointError

#: the header of a fullspike training checkpoint (its ``format`` entry)
CHECKPOINT_FORMAT = "fullspike-checkpoint"
UNSAFE = "not a fullspike checkpoint or written by an unsafe pickle"


def load_state(path: str | Path, what: str = "checkpoint", map_location: str | torch.device = "cpu"):
    """The content of the PyTorch file ``path`` (``what`` names it in messages), read with
    ``weights_only=True``. A missing file, a file that is not a PyTorch file, or one whose
    content is more than tensors and plain containers is one :class:`CheckpointError` line."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what} {path} not found")
    try:
        with warnings.catch_warnings():  # torch's notes on an old pickle protocol: the refusal below says it all
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:  # weights_only refused a global: never load it otherwise
        if "Weights only load failed" not in str(e) or "Unsupported operand" in str(e):  # not a pickle
            raise CheckpointError(
                f"{what} {path} is corrupt or not a PyTorch file ({_first_line(e)}); use another file or retrain"
            ) from None
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        asks = f" (it asks for {found.group(1)})" if found else ""
        raise CheckpointError(
            f"{what} {path} is {UNSAFE}{asks}; fullspike never runs code from a file: "
            f"use a checkpoint written by fullspike or a state dict of tensors"
        ) from None
    except MemoryError:
        raise
    except Exception as e:  # truncated zip, not a PyTorch file at all
        raise CheckpointError(
            f"{what} {path} is corrupt or not a PyTorch file ({_first_line(e)}); use another file or retrain"
        ) from None


def load_into(model: torch.nn.Module, state: Mapping[str, torch.Tensor], misfit: str) -> None:
    """``model.load_state_dict(state)``; a state that does not fit the model (missing, unexpected
    or mis-shaped entries) is one :class:`CheckpointError` line: ``misfit`` (which file does not
    fit which model) and the first detail of PyTorch's message."""
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        lines = str(e).splitlines()
        detail = lines[1].strip() if len(lines) > 1 else lines[0]
        raise CheckpointError(f"{misfit} (different model arguments?): {detail}") from None


def _first_line(err: Exception, limit: int = 160) -> str:
    """``Type: first line of the message``, cut to ``limit`` characters."""
    lines = str(err).strip().splitlines()
    text = f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
    return text if len(text) <= limit else text[:limit] + "..."


__all__ = ["CHECKPOINT_FORMAT", "UNSAFE", "load_state"]
