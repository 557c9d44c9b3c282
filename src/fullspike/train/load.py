"""Open a trained run from Python: :func:`load` (``fullspike.load``)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import torch

from .. import zoo
from ..errors import CheckpointError
from ..models import create_model
from ..safe_load import load_into
from .checkpoint import CHECKPOINT, RUN_KEYS, check_model_name, load_checkpoint
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


def read_files(checkpoint: str | Path | None, config: str | Path | None = None) -> dict[Path, str]:
    """The files a command reads when it opens ``checkpoint`` (its checkpoint argument, read as
    :func:`resolve_checkpoint` does; None: none) with ``config`` (a YAML file, or a bundled
    config's name, which is no file of the user's), each with what it is: what the command's
    outputs must not overwrite (:func:`~fullspike.output_paths.refuse_inputs`)."""
    reads = {}
    if checkpoint is not None:
        source = resolve_checkpoint(checkpoint)
        file = zoo.weights_path(source.zoo_entry) if source.zoo_entry is not None else source.checkpoint
        reads[file] = "the checkpoint"
    if config is not None and Path(config).is_file():
        reads[Path(config)] = "the config"
    return reads


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
    top (a zoo network likewise, from its card). An override or config that builds another model
    than the weights hold (another ``model.name``, or arguments the weights do not fit) is one
    :class:`~fullspike.errors.CheckpointError` line; one the weights fit (``model.T``, say, for a
    network without per-step parameters) runs, and the config returned records it. Args:
    ``config``: a YAML config instead of the stored one; ``overrides``: ``key=value`` pairs (e.g.
    ``data.root=/elsewhere``); ``device``: default ``train.device`` of the config.
    """
    source = resolve_checkpoint(path)
    if source.zoo_entry is not None:
        c = zoo.card(source.zoo_entry)
        stored = {**c, "model_name": c["model"], "model": zoo.weights(source.zoo_entry)}
        where = f"{zoo.PREFIX}{source.zoo_entry}"
    else:
        stored = load_checkpoint(source.checkpoint, keys=RUN_KEYS)
        where = str(source.checkpoint)
    if config is not None:
        cfg = load_config(config, list(overrides))
    else:
        cfg = config_from_dict(apply_overrides(stored["config"], list(overrides)))
    check_model_name(stored, cfg.model_name, where)
    model = create_model(cfg.model_name, **{**stored["model_kwargs"], **cfg.model_kwargs})
    changed = [
        (f"{k}={v!r}", f"{k}={stored['model_kwargs'][k]!r}")
        for k, v in cfg.model_kwargs.items()
        if k in stored["model_kwargs"] and v != stored["model_kwargs"][k]
    ]
    changes = (
        f" with {', '.join(c for c, _ in changed)} where it records {', '.join(r for _, r in changed)}"
        if changed
        else ""
    )
    load_into(
        model, stored["model"], f"checkpoint {where} does not fit the '{cfg.model_name}' the config builds{changes}"
    )
    dev = resolve_device(cfg.train.device) if device is None else torch.device(device)
    return Loaded(model.to(dev).eval(), cfg)
