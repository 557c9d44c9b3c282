"""Checkpoints: written atomically (temporary file, fsync, rename), validated on load."""
from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CheckpointError

FORMAT = "fullspike-checkpoint"
VERSION = 1


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` so that a crash leaves either the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load and validate a fullspike checkpoint; any problem is one clear :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # truncated zip, wrong format, unpickling errors
        raise CheckpointError(
            f"checkpoint {path} is corrupt or not a PyTorch file ({type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}); use another checkpoint or retrain"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a fullspike checkpoint (no '{FORMAT}' header)")
    return ckpt


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
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        first = str(e).splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise CheckpointError(
            f"checkpoint {path} does not fit this '{expected_name}' (different model arguments?): {detail}"
        ) from None
