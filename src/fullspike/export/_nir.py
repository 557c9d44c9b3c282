"""The optional ``nir`` dependency, imported only when a graph is built, written or read."""
from __future__ import annotations

from types import ModuleType

from ..errors import ExportError

INSTALL_HINT = 'pip install "fullspike[nir]" (or: pip install nir nirtorch)'


def require_nir() -> ModuleType:
    """The ``nir`` package, or an :class:`~fullspike.errors.ExportError` saying how to install it."""
    try:
        import nir
    except ImportError:
        raise ExportError(f"NIR export needs the 'nir' package, which is not installed; {INSTALL_HINT}") from None
    return nir
