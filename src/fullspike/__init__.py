"""fullspike: deep, low-latency spiking neural networks trained from scratch.

Time convention: every sequence tensor is ``[T, B, ...]``; stateless layers fold T into batch.
"""
__version__ = "0.1.0"

from . import functional, nn, surrogate  # noqa: E402
from .errors import FullspikeError  # noqa: E402
from .models import create_model, is_model, list_models, register_model  # noqa: E402
from .train.load import load  # noqa: E402
from . import zoo  # noqa: E402,F401  (registers the zoo as create_model's source of pretrained weights)

__all__ = ["create_model", "list_models", "is_model", "register_model", "load", "functional", "nn",
           "surrogate",
           "FullspikeError", "__version__"]
