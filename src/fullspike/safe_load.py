"""Opening a user's file never runs code: the one place fullspike reads a PyTorch file.

:func:`load_state` reads with ``torch.load(weights_only=True)``: tensors, numbers, strings and
the plain containers (dict, list, tuple) only, which is all a fullspike checkpoint or a state
dict holds. A file that needs anything else (a pickled object, whose unpickling could run any
command) is refused, never retried with the unrestricted loader. Imports only torch, the
standard library and :mod:`fullspike.errors` (a low-level module every layer may use).
"""

from __future__ import annotations

import hashlib
import logging
import math
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from .errors import CheckpointError

#: the header of a fullspike training checkpoint (its ``format`` entry)
CHECKPOINT_FORMAT = "fullspike-checkpoint"
UNSAFE = "not a fullspike checkpoint or written by an unsafe pickle"
#: a file that is a bare pickle (not a PyTorch file), which only the unrestricted loader reads
RAW_PICKLE = "not a tensor-only checkpoint (it would need unpickling arbitrary objects, which fullspike refuses)"
#: the checkpoint entry holding :func:`weights_sha256` of its ``model`` entry, written on save
WEIGHTS_SHA256 = "weights_sha256"

_LOG = logging.getLogger(__name__)


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
        if "Weights only load failed" not in str(e) or "Unsupported operand" in str(e):  # not torch's pickle
            raise _unreadable(what, path, e) from None
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        asks = f" (it asks for {found.group(1)})" if found else ""
        raise CheckpointError(
            f"{what} {path} is {UNSAFE}{asks}; fullspike never runs code from a file: "
            f"use a checkpoint written by fullspike or a state dict of tensors"
        ) from None
    except MemoryError:
        raise
    except Exception as e:  # truncated zip, not a PyTorch file at all, or a bare pickle torch misreads
        raise _unreadable(what, path, e) from None


def _unreadable(what: str, path: Path, error: Exception) -> CheckpointError:
    """The one line for a file torch could not read: a bare pickle (of any protocol: 2 and 3 pass
    for torch's legacy format until its magic number, 4 and 5 fail on their framing) is said to
    be one; anything else is corrupt."""
    if _is_raw_pickle(path):
        return CheckpointError(
            f"{what} {path} is {RAW_PICKLE}; use a checkpoint written by fullspike or a state dict of tensors"
        )
    return _corrupt(what, path, error)


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


def weights_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """The SHA-256 hex digest of a state dict's tensors: for each key in sorted order, the key,
    the dtype, the shape and the raw bytes (any device; the same weights give the same digest)."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _is_bytes_tensor(v: Any) -> bool:
    return isinstance(v, torch.Tensor) and v.dtype == torch.uint8 and v.dim() == 1


def _is_named(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) for k in v)


def _is_tensors(v: Any) -> bool:
    return isinstance(v, Mapping) and all(isinstance(k, str) and isinstance(t, torch.Tensor) for k, t in v.items())


def _is_optimizer(v: Any) -> bool:
    groups = v.get("param_groups") if isinstance(v, dict) else None
    return (
        isinstance(v.get("state") if isinstance(v, dict) else None, dict)
        and isinstance(groups, list)
        and all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups)
    )


def _is_rng(v: Any) -> bool:
    """The states :func:`fullspike.train.checkpoint.rng_state` records: torch's (bytes of the CPU
    generator's size), NumPy's (MT19937: name, 624 words, position, Gaussian flag and cache),
    Python's (version, 625 words, Gaussian cache) and, optionally, CUDA's (one per device)."""
    if not isinstance(v, dict):
        return False
    n, py = v.get("numpy"), v.get("python")
    return (
        _is_bytes_tensor(v.get("torch"))
        and v["torch"].numel() == torch.get_rng_state().numel()
        and isinstance(n, (list, tuple))
        and len(n) == 5
        and isinstance(n[0], str)
        and isinstance(n[1], torch.Tensor)
        and n[1].numel() == 624
        and not n[1].is_floating_point()
        and _is_int(n[2])
        and _is_int(n[3])
        and isinstance(n[4], (int, float))
        and isinstance(py, (list, tuple))
        and len(py) == 3
        and _is_int(py[0])
        and isinstance(py[1], (list, tuple))
        and len(py[1]) == 625
        and all(_is_int(w) for w in py[1])
        and (py[2] is None or isinstance(py[2], float))
        and (isinstance(v.get("cuda", []), list) and all(_is_bytes_tensor(s) for s in v.get("cuda", [])))
    )


#: what each entry of a fullspike checkpoint must be: ``(test, what it should be, in words)``;
#: an entry that fails its test is refused when the checkpoint is read (:func:`check_checkpoint`)
ENTRIES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "version": (_is_int, "a format version number"),
    "fullspike": (lambda v: isinstance(v, str), "a version string"),
    WEIGHTS_SHA256: (lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None, "a SHA-256"),
    "epoch": (lambda v: _is_int(v) and v >= 0, "a number of epochs"),
    "model": (_is_tensors, "a state dict of named tensors"),
    "optimizer": (_is_optimizer, "an optimizer state with 'state' and 'param_groups'"),
    "scheduler": (lambda v: v is None or _is_named(v), "a scheduler state"),
    "rng": (_is_rng, "the random generators' states"),
    "loader_rng": (lambda v: v is None or _is_bytes_tensor(v), "a generator state"),
    "history": (lambda v: isinstance(v, list) and all(_is_named(row) for row in v), "a list of epoch records"),
    "train_seconds": (_is_real, "a number of seconds"),
    "train_cpu_seconds": (_is_real, "a number of seconds"),
    "callbacks": (lambda v: v is None or (isinstance(v, list) and all(_is_named(c) for c in v)), "callback states"),
    "model_name": (lambda v: isinstance(v, str), "a model name"),
    "model_kwargs": (_is_named, "a mapping of model arguments"),
    "config": (_is_named, "a config mapping"),
}


def check_checkpoint(ckpt: Any, path: str | Path, keys: Sequence[str] = ()) -> dict:
    """Validate the content of the fullspike checkpoint file ``path`` (as :func:`load_state` read
    it) and return it: its header, each of ``keys`` present, every entry of :data:`ENTRIES` that it
    holds of the right type, and its weights matching the :data:`WEIGHTS_SHA256` recorded when it
    was saved (a checkpoint without that entry, of an older fullspike, is not checked). Anything
    else is one :class:`CheckpointError` line naming the file and the entry; weights holding NaN or
    inf are a logged warning."""
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a fullspike checkpoint (no '{CHECKPOINT_FORMAT}' header)")
    missing = [k for k in keys if k not in ckpt]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} has the fullspike header but lacks {', '.join(missing)} "
            f"(damaged or not written by fullspike); use another checkpoint or retrain"
        )
    for key, (test, expected) in ENTRIES.items():
        if key in ckpt and not test(ckpt[key]):
            raise CheckpointError(
                f"checkpoint {path} has a malformed '{key}' entry (not {expected}); "
                f"it is damaged or not written by fullspike: use another checkpoint or retrain"
            )
    if "model" in ckpt:
        check_weights(ckpt["model"], path, ckpt.get(WEIGHTS_SHA256))
    return ckpt


def check_weights(state: Mapping[str, torch.Tensor], path: str | Path, sha256: str | None) -> None:
    """Refuse weights whose :func:`weights_sha256` differs from ``sha256`` (the one recorded when
    they were saved; None: not recorded, not checked) in one :class:`CheckpointError` line; log a
    warning when some tensors hold NaN or inf."""
    if sha256 is not None and weights_sha256(state) != sha256:
        raise CheckpointError(
            f"checkpoint {path} is corrupt: its weights do not match the checksum recorded when it was saved; "
            f"use another copy of it or retrain"
        )
    bad = [k for k, t in state.items() if (t.is_floating_point() or t.is_complex()) and not torch.isfinite(t).all()]
    if bad:
        _LOG.warning(
            "checkpoint %s: %d of its %d weight tensors hold NaN or inf (first: %s); its outputs may be NaN",
            path,
            len(bad),
            len(state),
            bad[0],
        )


def _is_raw_pickle(path: Path) -> bool:
    """Whether the file at ``path`` starts as a bare pickle of protocol 2 to 5 does (``PROTO n``),
    not as a PyTorch zip file."""
    with open(path, "rb") as f:
        head = f.read(2)
    return len(head) == 2 and head[0] == pickle.PROTO[0] and 2 <= head[1] <= pickle.HIGHEST_PROTOCOL


def _corrupt(what: str, path: Path, err: Exception) -> CheckpointError:
    """The one line for a file torch cannot read: what is wrong in our words, never torch's notes."""
    return CheckpointError(
        f"{what} {path} is corrupt or not a PyTorch file ({_reason(err)}); use another file or retrain"
    )


def _reason(err: Exception, limit: int = 120) -> str:
    """A short reason why torch could not read a file: ours for the usual cases, else the first
    sentence of the error's first line, cut to ``limit`` characters."""
    if isinstance(err, EOFError):
        return "the file is empty or cut short"
    if isinstance(err, (pickle.UnpicklingError, KeyError, UnicodeDecodeError)):
        return "its bytes are not PyTorch data"
    lines = str(err).strip().splitlines()
    first = lines[0].split(". ")[0] if lines else ""
    if "zip archive" in first:
        return "its zip archive is damaged (cut short or altered)"
    text = f"{type(err).__name__}: {first}" if first else type(err).__name__
    return text if len(text) <= limit else text[:limit] + "..."


__all__ = [
    "CHECKPOINT_FORMAT",
    "ENTRIES",
    "RAW_PICKLE",
    "UNSAFE",
    "WEIGHTS_SHA256",
    "check_checkpoint",
    "check_weights",
    "load_state",
    "weights_sha256",
]
