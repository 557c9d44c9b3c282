"""Open a trained run from Python: :func:`load` (``fullspike.load``)."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import torch

from .. import zoo
from ..errors import CheckpointError
from ..models import create_model
from .checkpoint import CHECKPOINT, RUN_KEYS, check_model_name, load_checkpoint, load_model_state
from .config import Config, apply_overrides, config_from_dict, load_config
from .trainer import resolve_device


class Loaded(NamedTuple):
    """What :func:`~fullspike.train.load` returns: ``model`` (evaluation mode, on the requested
    device) and the run's ``config``."""
    model: torch.nn.Module  # in evaluation mode, on the requested device
    config: Config  # the run's config (``data.root`` absolute as recorded), overrides applied


def checkpoint_file(path: str | Path) -> Path:
    """``path`` itself, or the ``checkpoint.pt`` inside it when it is a run folder; a missing
    file is one :class:`~fullspike.errors.CheckpointError` line."""
    p = Path(path)
    if p.is_dir():
        if not (p / CHECKPOINT).is_file():
            raise CheckpointError(f"run folder {p} has no {CHECKPOINT}; give a run folder written by "
                                  "`fullspike train` or a checkpoint file")
        return p / CHECKPOINT
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} not found; give a run folder or a checkpoint file")
    return p


def load(path: str | Path, *, config: str | Path | None = None, overrides: Sequence[str] = (),
         device: str | torch.device | None = None) -> Loaded:
    """The trained model and its config from a run folder (its ``checkpoint.pt``), a checkpoint,
    or a network of the model zoo (``"zoo:NAME"``, see :mod:`fullspike.zoo`; its card's config).

    ``model, cfg = fullspike.load("runs/quickstart")``. The model is rebuilt from the arguments
    stored in the checkpoint (no dataset needed), with the config's explicit model arguments on
    top. Args: ``config``: a YAML config instead of the stored one; ``overrides``: ``key=value``
    pairs (e.g. ``data.root=/elsewhere``); ``device``: default ``train.device`` of the config.
    """
    if str(path).startswith(zoo.PREFIX):
        stored = zoo.card(str(path))["config"]
        cfg = load_config(config, list(overrides)) if config is not None else \
            config_from_dict(apply_overrides(stored, list(overrides)))
        dev = resolve_device(cfg.train.device) if device is None else torch.device(device)
        return Loaded(zoo.load(str(path)).to(dev), cfg)
    ckpt_path = checkpoint_file(path)
    ckpt = load_checkpoint(ckpt_path, keys=RUN_KEYS)
    if config is not None:
        cfg = load_config(config, list(overrides))
    else:
        cfg = config_from_dict(apply_overrides(ckpt["config"], list(overrides)))
    check_model_name(ckpt, cfg.model_name, ckpt_path)
    model = create_model(cfg.model_name, **{**ckpt["model_kwargs"], **cfg.model_kwargs})
    load_model_state(model, ckpt, cfg.model_name, ckpt_path)
    dev = resolve_device(cfg.train.device) if device is None else torch.device(device)
    return Loaded(model.to(dev).eval(), cfg)
