"""Checkpoints: written atomically (temporary file, fsync, rename), validated on load."""

from __future__ import annotations

import glob
import io
import os
import random
import secrets
from pathlib import Path
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np
import torch

from ..errors import CheckpointError
from ..output_paths import writing
from ..safe_load import CHECKPOINT_FORMAT, check_checkpoint, load_into, load_state

FORMAT = CHECKPOINT_FORMAT
CHECKPOINT = "checkpoint.pt"  # the checkpoint file of a run folder
VERSION = 1


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` so that a crash leaves either the old or the new ``path``, never half.

    The data go to a temporary file beside ``path`` (``.<name>.<random>.tmp``, created with the
    user's umask like any other file), are flushed to disk, and the file is renamed over ``path``:
    a symbolic link placed at ``path`` is replaced, never followed.
    A kill in between leaves that temporary file behind: :func:`remove_partial_saves` removes it.
    A failed write (full disk, lost permission) is one :class:`~fullspike.errors.OutputError`.
    """
    path = Path(path)
    with writing(path.parent, path.name):
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
            try:  # mode 0o666 less the umask, as open() would give; O_EXCL: never reuse a name
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:
                continue
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically (:func:`atomic_write`). The file is serialised in
    memory first, so a failed write (full disk) is the ``OSError`` that ``atomic_write`` turns
    into one :class:`~fullspike.errors.OutputError`, not an error of torch's zip writer."""

    def write(f: BinaryIO) -> None:
        buffer = io.BytesIO()
        torch.save(obj, buffer)
        f.write(buffer.getbuffer())

    atomic_write(path, write)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_write`), never through a
    symbolic link placed at ``path``."""
    atomic_write(path, lambda f: f.write(text.encode()))


def remove_partial_saves(path: str | Path) -> list[Path]:
    """Delete the temporary files an interrupted :func:`atomic_save` to ``path`` left behind
    (call it before saving there again); returns the paths removed."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return sorted(removed)


def rng_state() -> dict:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), *n[2:]))
    random.setstate(tuple(v if not isinstance(v, list) else tuple(v) for v in state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


#: what every fullspike checkpoint holds besides its header: a trainer's state
STATE_KEYS = ("epoch", "model", "optimizer", "rng", "history", "train_seconds", "train_cpu_seconds")
#: what the checkpoint of a run folder (``fullspike train``) holds in addition
RUN_KEYS = (*STATE_KEYS, "model_name", "model_kwargs", "config")


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu", keys: Sequence[str] = STATE_KEYS
) -> dict:
    """Load and validate a fullspike checkpoint, never running code from it
    (:func:`~fullspike.safe_load.load_state`); a file without the header, without one of ``keys``
    (:data:`RUN_KEYS` for a run folder's), with an entry of the wrong type, or whose weights do not
    match their recorded checksum is one clear :class:`CheckpointError`
    (:func:`~fullspike.safe_load.check_checkpoint`)."""
    return check_checkpoint(load_state(path, "checkpoint", map_location), path, keys)


def check_model_name(ckpt: dict, expected_name: str, path: str | Path) -> None:
    """Refuse a checkpoint of another model than ``expected_name``."""
    if ckpt.get("model_name") != expected_name:
        raise CheckpointError(
            f"checkpoint {path} holds a '{ckpt.get('model_name')}' model but the config builds "
            f"'{expected_name}'; pass the config the checkpoint was trained with"
        )


def load_model_state(model: torch.nn.Module, ckpt: dict, expected_name: str, path: str | Path) -> None:
    """Load ``ckpt``'s weights into ``model``, refusing checkpoints of another model."""
    check_model_name(ckpt, expected_name, path)
    load_into(model, ckpt["model"], f"checkpoint {path} does not fit this '{expected_name}'")
