"""Where datasets live. ``data.root=DIR`` (``--data-root DIR`` on every command that has it) is the
dataset's own folder, or a folder holding it under its standard name (``DIR/cifar10``,
``DIR/fashion-mnist``, ``DIR/NMNIST-subset``, ...): :func:`default_root` resolves both alike for
every named dataset and command (the generic ``imagefolder`` takes its tree as given: its default
name, ``images``, is too common to look for inside it). Without it: ``$FULLSPIKE_DATA/<dataset>``, else
``~/.cache/fullspike/data/<dataset>``. Trained runs and zoo cards never fix a machine's path."""

from __future__ import annotations

import os
from pathlib import Path

#: environment variable naming the folder that holds one sub-folder per dataset
DATA_ENV = "FULLSPIKE_DATA"

#: what a data root may be, as every command's --help and every "not found" message say it
DATA_ROOT_HELP = (
    "the dataset's own folder, or a folder holding it under its standard name (DIR/cifar10, "
    "DIR/fashion-mnist, DIR/NMNIST-subset, ...)"
)


def data_home() -> Path:
    """The default parent of dataset folders: ``$FULLSPIKE_DATA``, else ``~/.cache/fullspike/data``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fullspike" / "data"


def default_root(root: str | os.PathLike | None, folder: str) -> Path:
    """The dataset folder: given ``root``, ``root / folder`` when that is a folder (``root`` holds
    the dataset under its standard name ``folder``), else ``root`` itself (the dataset's own
    folder); without one, ``data_home() / folder``."""
    if root is None:
        return data_home() / folder
    root = Path(root).expanduser()
    return root / folder if (root / folder).is_dir() else root


def missing_data_hint(root: str | os.PathLike | None) -> str:
    """What to add to a "data not found" message: what a data root may be, or where the data
    were looked for when none was given."""
    if root is not None:
        return f" (data.root / --data-root is {DATA_ROOT_HELP}; got {root})"
    return (
        f" (no data.root given, so the default location was used: ${DATA_ENV}/<folder>, else "
        "~/.cache/fullspike/data/<folder>; pass data.root=DIR (--data-root DIR where a command has it), or set "
        f"{DATA_ENV})"
    )
