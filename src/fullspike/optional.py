"""Optional dependencies: the packages of ``pip install 'fullspike[extra]'``, imported on use.

The core (models, training, evaluation, energy counting) needs only the runtime dependencies;
event datasets need the ``events`` extra (tonic, aedat), plots the ``plot`` extra (matplotlib),
TensorBoard logging the ``tensorboard`` extra. A missing one is one clear error naming the extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError


def require(module: str, extra: str, purpose: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`MissingDependencyError` with the install command.

    ``purpose`` says what needs it (default: the module's name), e.g. ``"plotting"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        package = module.split(".")[0]
        what = purpose or package
        raise MissingDependencyError(
            f"{what} needs {package}, which is not installed ({e}): pip install 'fullspike[{extra}]'"
        ) from None
