"""Model registry in the style of timm: ``create_model(name, **kwargs)``, ``list_models()``."""
from __future__ import annotations

import inspect
from typing import Callable

from torch import nn

from ..errors import ConfigError
from ..registry import Registry

_MODELS: Registry[Callable[..., nn.Module]] = Registry("model")


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: register a model factory under its function name."""
    return _MODELS.register()(fn)


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model; unknown names or keyword arguments fail with one clear line."""
    factory = _MODELS.get(name)
    sig = inspect.signature(factory)
    if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        unknown = sorted(set(kwargs) - set(sig.parameters))
        if unknown:
            raise ConfigError(
                f"model '{name}' has no argument(s) {unknown}; it accepts {sorted(sig.parameters)}"
            )
    model = factory(**kwargs)
    model.model_name = name
    return model


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, optionally filtered by a glob pattern (``"*resnet*"``)."""
    return _MODELS.names(pattern)
