"""Model registry in the style of timm: ``create_model(name, **kwargs)``, ``list_models()``,
``is_model(name)``. Every model is one registered factory function (``@register_model``, or one
line ``name = register_model(variant(...))`` for a variant of a model class), so
``help(fullspike.models.resnet.dst_resnet18)`` and grep find it. A factory's arguments carry their
types and ranges (:mod:`fullspike.params`); :func:`create_model` and configs check them there."""

from __future__ import annotations

import fnmatch
import inspect
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Protocol

import torch
from torch import nn

from ..errors import CheckpointError, ConfigError
from ..params import check_arguments, parameters
from ..registry import Registry, unknown_name
from ..safe_load import CHECKPOINT_FORMAT, check_checkpoint, check_weights, load_into, load_state

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")
_LOG = logging.getLogger(__name__)


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: register a model factory under its function name."""
    return MODELS.register()(fn)


def variant(
    name: str, cls: type[nn.Module], *args: Any, doc: str, drop: tuple[str, ...] = (), **defaults: Any
) -> Callable[..., nn.Module]:
    """A factory ``name(**kwargs) -> cls(*args, **kwargs)``: one variant of a model class (the
    timm idiom). Its signature is the class's keyword arguments, typed as the class types them,
    with ``defaults`` changed and ``drop`` left out, so ``help()``, :func:`create_model` and
    configs see (and check) each variant's own arguments."""
    typed = {n: p for n, p in parameters(cls).items() if n not in drop and p.kind is p.KEYWORD_ONLY}
    written = inspect.signature(cls.__init__).parameters  # the annotations as written, for help()
    params = [
        p.replace(default=defaults.pop(n, p.default), annotation=getattr(written.get(n), "annotation", p.annotation))
        for n, p in typed.items()
    ]
    if defaults:
        raise TypeError(f"{cls.__name__} has no keyword argument(s) {sorted(defaults)}")
    signature = inspect.Signature(params, return_annotation=cls.__name__)

    def create(**kwargs: Any) -> nn.Module:
        bound = signature.bind(**check_arguments(create, kwargs, what=f"model '{name}'"))
        bound.apply_defaults()
        return cls(*args, **bound.arguments)

    create.__name__ = create.__qualname__ = name
    create.__module__ = cls.__module__
    create.__doc__ = f"{doc}\n\nArguments as :class:`{cls.__name__}`."
    create.__signature__ = signature  # type: ignore[attr-defined]
    create.__annotations__ = {n: p.annotation for n, p in typed.items()}  # resolved: what is checked
    return create


def model_factory(name: str) -> Callable[..., nn.Module]:
    """The factory function of a registered model (its signature lists the model's arguments)."""
    return MODELS.get(name)


def is_model(name: str) -> bool:
    """Whether ``name`` is a registered model."""
    return name in MODELS


class PretrainedSource(Protocol):
    """Where ``create_model(..., pretrained=True)`` finds trained weights (the model zoo registers
    itself with :func:`set_pretrained_resolver` when :mod:`fullspike.zoo` is imported)."""

    def names(self) -> list[str]:
        """The names ``create_model(name, pretrained=True)`` accepts as exact entries, sorted."""
        ...

    def load(self, name: str) -> nn.Module:
        """The trained network ``name`` (an entry, or an architecture with one entry) in evaluation mode."""
        ...


_pretrained: PretrainedSource | None = None


def set_pretrained_resolver(source: PretrainedSource | None) -> None:
    """Register where pretrained weights come from (None: unregister). The models layer knows no
    weights of its own; :mod:`fullspike.zoo` calls this when imported (``import fullspike`` does)."""
    global _pretrained
    _pretrained = source


def _pretrained_source() -> PretrainedSource:
    if _pretrained is None:
        raise ConfigError(
            "no source of pretrained weights is registered; `import fullspike.zoo` "
            "(or `import fullspike`) registers the model zoo"
        )
    return _pretrained


def list_models(pattern: str | None = None, pretrained: bool = False) -> list[str]:
    """Registered model names, optionally filtered by a glob pattern (``"*resnet*"``);
    ``pretrained=True``: the names of the networks with trained weights (the model zoo's entries)."""
    if pretrained:
        return [n for n in _pretrained_source().names() if pattern is None or fnmatch.fnmatch(n, pattern)]
    return MODELS.names(pattern)


def create_model(name: str, checkpoint_path: str | Path | None = None, pretrained: bool = False, **kwargs) -> nn.Module:
    """Build a registered model; unknown names or keyword arguments fail with one clear line.

    ``checkpoint_path``: load weights into it, from a state dict saved with ``torch.save`` or
    from a fullspike training checkpoint (which must hold this model); a checkpoint that does
    not fit raises :class:`~fullspike.errors.CheckpointError`. ``pretrained=True``: ``name`` is
    an entry of the model zoo (``fullspike models --pretrained``), or an architecture with exactly
    one zoo entry, returned with its trained weights in evaluation mode (from the source
    registered with :func:`set_pretrained_resolver`: the zoo, SHA-256-checked).

    Example:
        ```python
        import torch
        import fullspike

        model = fullspike.create_model("bntt_convnet", T=4)  # 8x8 grey images, 10 classes
        logits = model(torch.rand(2, 1, 8, 8))  # images [B, C, H, W] -> logits [B, 10]
        assert logits.shape == (2, 10)
        ```
    """
    if pretrained:
        if checkpoint_path is not None or kwargs:
            raise ConfigError(
                f"create_model('{name}', pretrained=True) builds the zoo entry exactly as trained; "
                f"drop checkpoint_path and the model arguments {sorted(kwargs)}"
            )
        return _pretrained_source().load(name)
    if name not in MODELS and _pretrained is not None and name in _pretrained.names():
        raise unknown_name(
            "model",
            name,
            MODELS.names(),
            f" (it is an entry of the model zoo: create_model('{name}', pretrained=True) or "
            f"fullspike.load('zoo:{name}') gives the trained network)",
        )
    kwargs = MODELS.check_kwargs(name, kwargs)
    model = MODELS.get(name)(**kwargs)
    if checkpoint_path is not None:
        load_weights(model, checkpoint_path, name, _arguments(name, kwargs))
    return model


def _arguments(name: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Every argument the factory of model ``name`` runs with for ``kwargs``: those given and the
    defaults of the others."""
    try:
        bound = inspect.signature(MODELS.get(name)).bind(**kwargs)
    except (TypeError, ValueError):  # a builtin without a signature: only what was given is known
        return dict(kwargs)
    bound.apply_defaults()
    params = bound.signature.parameters
    return {
        k: v
        for n, value in bound.arguments.items()
        for k, v in (value.items() if params[n].kind is inspect.Parameter.VAR_KEYWORD else [(n, value)])
    }


def _plain(value: Any) -> Any:
    """``value`` with tuples as lists (a config's YAML and a checkpoint may hold either)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _warn_other_arguments(recorded: Mapping[str, Any], built: Mapping[str, Any], path: str | Path, name: str) -> None:
    """Log a warning naming each model argument that checkpoint ``path`` records (``recorded``)
    with another value than the model ``name`` was built with (``built``): the weights are loaded
    into a model that is not the one trained (another T, say, computes other logits)."""
    differ = [
        f"{k}={recorded[k]!r} (built with {built[k]!r})" if k in built else f"{k}={recorded[k]!r} (not an argument)"
        for k in recorded
        if k not in built or _plain(recorded[k]) != _plain(built[k])
    ]
    if differ:
        _LOG.warning(
            "checkpoint %s records model arguments other than the '%s' built here: %s; pass them to "
            "create_model, or use fullspike.load(%r) to rebuild the model as recorded",
            path,
            name,
            ", ".join(differ),
            str(path),
        )


def load_weights(model: nn.Module, path: str | Path, name: str, arguments: Mapping[str, Any]) -> None:
    """Load a state dict or a fullspike training checkpoint's model weights into ``model``
    (the registered model ``name``, built with ``arguments``: a checkpoint that records other
    model arguments is a logged warning); any problem is one :class:`CheckpointError` line."""
    obj = load_state(path, "checkpoint")  # never runs code from the file (weights_only, no fallback)
    if isinstance(obj, Mapping) and obj.get("format") == CHECKPOINT_FORMAT:
        check_checkpoint(obj, path, keys=("model",))
        if obj.get("model_name") != name:
            raise CheckpointError(
                f"checkpoint {path} holds a '{obj.get('model_name')}' model, not '{name}'; "
                f"pass the model name it was trained with"
            )
        # the run's model ran with the recorded arguments and the defaults of the others
        _warn_other_arguments(_arguments(name, obj.get("model_kwargs") or {}), arguments, path, name)
        obj = obj["model"]
    elif isinstance(obj, Mapping) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        check_weights(obj, path, None)  # a plain state dict: no checksum, but NaN/inf is said
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds neither a state dict nor a fullspike checkpoint")
    load_into(model, obj, f"the state dict in {path} does not fit '{name}'")
