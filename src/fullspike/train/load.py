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
    config: Config  # the run's config (``data.root`` absolute as recorded; none for the zoo), overrides applied


class Source(NamedTuple):
    """What a command's checkpoint argument names (:func:`resolve_checkpoint`)."""

    zoo_entry: str | None  # the model zoo's entry, or None for a checkpoint file
    checkpoint: Path | None  # the checkpoint file, or None for a zoo entry
    folder: Path  # where the command writes by default: the run folder, or runs/zoo/<entry>


def resolve_checkpoint(spec: str | Path) -> Source:
    """The one reading of every command's checkpoint argument: ``zoo:NAME`` (an entry of the
    model zoo, or an architecture with one entry), a run folder (its ``checkpoint.pt``) or a
    checkpoint file. Anything else is one :class:`~fullspike.errors.CheckpointError` (or, for an
    unknown zoo name, :class:`~fullspike.errors.RegistryError`) line."""
    if str(spec).startswith(zoo.PREFIX):
        entry = zoo.entry_name(str(spec))
        return Source(entry, None, Path("runs") / "zoo" / entry)
    p = Path(spec)
    if p.is_dir():
        if not (p / CHECKPOINT).is_file():
            raise CheckpointError(
                f"run folder {p} has no {CHECKPOINT}; give a run folder written by "
                "`fullspike train`, a checkpoint file or zoo:NAME"
            )
        return Source(None, p / CHECKPOINT, p)
    if not p.is_file():
        hint = f" (the model zoo's network is zoo:{spec})" if str(spec) in zoo.cards() else ""
        raise CheckpointError(
            f"checkpoint {p} not found; give a run folder, a checkpoint file or zoo:NAME "
            f"(fullspike models --pretrained){hint}"
        )
    return Source(None, p, p.parent)


def load(
    path: str | Path,
    *,
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    device: str | torch.device | None = None,
) -> Loaded:
    """The trained model and its config from a run folder (its ``checkpoint.pt``), a checkpoint,
    or a network of the model zoo (``"zoo:NAME"``, see :mod:`fullspike.zoo`; its card's config).

    ``model, cfg = fullspike.load("runs/quickstart")``. The model is rebuilt from the arguments
    stored in the checkpoint (no dataset needed), with the config's explicit model arguments on
    top. Args: ``config``: a YAML config instead of the stored one; ``overrides``: ``key=value``
    pairs (e.g. ``data.root=/elsewhere``); ``device``: default ``train.device`` of the config.
    """
    source = resolve_checkpoint(path)
    if source.zoo_entry is not None:
        stored = zoo.card(source.zoo_entry)["config"]
        cfg = (
            load_config(config, list(overrides))
            if config is not None
            else config_from_dict(apply_overrides(stored, list(overrides)))
        )
        dev = resolve_device(cfg.train.device) if device is None else torch.device(device)
        return Loaded(zoo.load(source.zoo_entry).to(dev), cfg)
    ckpt_path = source.checkpoint
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
