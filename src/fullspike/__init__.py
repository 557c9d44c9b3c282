"""fullspike: deep, low-latency spiking neural networks trained from scratch.

Time convention: every sequence tensor is ``[T, B, ...]``; stateless layers fold T into batch.
"""

from . import (
    functional,
    nn,
    surrogate,
    zoo,  # noqa: F401  (registers the zoo as create_model's source of pretrained weights)
)
from ._version import __version__
from .errors import FullspikeError
from .models import create_model, is_model, list_models, register_model
from .train.load import load

__all__ = [
    "create_model",
    "list_models",
    "is_model",
    "register_model",
    "load",
    "functional",
    "nn",
    "surrogate",
    "FullspikeError",
    "__version__",
]
