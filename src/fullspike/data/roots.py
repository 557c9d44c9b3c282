"""Where datasets live when a config gives no ``data.root``: ``$FULLSPIKE_DATA/<dataset>``, else
``~/.cache/fullspike/data/<dataset>``. Commands take ``data.root=DIR`` (or ``--data-root DIR``)
first; trained runs and zoo cards never fix a machine's path."""

from __future__ import annotations

import os
from pathlib import Path

#: environment variable naming the folder that holds one sub-folder per dataset
DATA_ENV = "FULLSPIKE_DATA"


def data_home() -> Path:
    """The default parent of dataset folders: ``$FULLSPIKE_DATA``, else ``~/.cache/fullspike/data``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fullspike" / "data"


def default_root(root: str | os.PathLike | None, folder: str) -> Path:
    """The dataset folder: ``root`` when given, else ``data_home() / folder``."""
    return Path(root).expanduser() if root is not None else data_home() / folder


def missing_data_hint(root: str | os.PathLike | None) -> str:
    """What to add to a "data not found" message: how to point at the data when ``root`` was not given."""
    if root is not None:
        return ""
    return (
        f" (no data.root given, so the default location was used: ${DATA_ENV}/<folder>, else "
        "~/.cache/fullspike/data/<folder>; pass data.root=DIR (--data-root DIR where a command has it), or set "
        f"{DATA_ENV})"
    )
