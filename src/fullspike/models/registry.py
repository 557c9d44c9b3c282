"""Model registry in the style of timm: ``create_model(name, **kwargs)``, ``list_models()``,
``is_model(name)``. Every model is one decorated factory function (``@register_model``), so
``help(fullspike.models.resnet.dst_resnet18)`` and grep find it."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError
from ..registry import Registry
from ..safe_load import CHECKPOINT_FORMAT, load_state

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: register a model factory under its function name."""
    return MODELS.register()(fn)


def model_factory(name: str) -> Callable[..., nn.Module]:
    """The factory function of a registered model (its signature lists the model's arguments)."""
    return MODELS.get(name)


def is_model(name: str) -> bool:
    """Whether ``name`` is a registered model."""
    return name in MODELS


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, optionally filtered by a glob pattern (``"*resnet*"``)."""
    return MODELS.names(pattern)


def create_model(name: str, checkpoint_path: str | Path | None = None, pretrained: bool = False,
                 **kwargs) -> nn.Module:
    """Build a registered model; unknown names or keyword arguments fail with one clear line.

    ``checkpoint_path``: load weights into it, from a state dict saved with ``torch.save`` or
    from a fullspike training checkpoint (which must hold this model); a checkpoint that does
    not fit raises :class:`~fullspike.errors.CheckpointError`. ``pretrained=True``: ``name`` is
    an entry of the model zoo (``fullspike models --pretrained``), returned with its shipped,
    SHA-256-checked weights in evaluation mode (:func:`fullspike.zoo.load`).
    """
    if pretrained:
        if checkpoint_path is not None or kwargs:
            raise ConfigError(f"create_model('{name}', pretrained=True) builds the zoo entry exactly as trained; "
                              f"drop checkpoint_path and the model arguments {sorted(kwargs)}")
        from ..zoo import load

        return load(name)
    MODELS.check_kwargs(name, kwargs)
    model = MODELS.get(name)(**kwargs)
    if checkpoint_path is not None:
        load_weights(model, checkpoint_path, name)
    return model


def load_weights(model: nn.Module, path: str | Path, name: str) -> None:
    """Load a state dict or a fullspike training checkpoint's model weights into ``model``
    (the registered model ``name``); any problem is one :class:`CheckpointError` line."""
    obj = load_state(path, "checkpoint")  # never runs code from the file (weights_only, no fallback)
    if isinstance(obj, Mapping) and obj.get("format") == CHECKPOINT_FORMAT:
        if obj.get("model_name") != name:
            raise CheckpointError(f"checkpoint {path} holds a '{obj.get('model_name')}' model, not '{name}'; "
                                  f"pass the model name it was trained with")
        obj = obj.get("model")
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds neither a state dict nor a fullspike checkpoint")
    try:
        model.load_state_dict(obj)
    except RuntimeError as e:
        lines = str(e).splitlines()
        detail = lines[1].strip() if len(lines) > 1 else lines[0]
        raise CheckpointError(f"the state dict in {path} does not fit '{name}' (different model "
                              f"arguments?): {detail}") from None
