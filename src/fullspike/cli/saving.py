"""Writing a command's result files: plots skipped with a note when matplotlib is missing,
write failures as one line (:mod:`fullspike.output_paths`), and the closing ``wrote ...`` line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from ..errors import MissingDependencyError
from ..output_paths import writing


def save_plot(draw: Callable[[Path], Path], path: Path) -> Path | None:
    """``draw(path)``; without the ``plot`` extra, a one-line note on stderr and None."""
    try:
        with writing(path, path.name):
            return draw(path)
    except MissingDependencyError as e:
        print(f"note: {path.name} not drawn: {e}", file=sys.stderr)
        return None


def print_wrote(*paths: Path | None) -> None:
    """``wrote a, b and c`` for the files that were written (None: skipped)."""
    names = [str(p) for p in paths if p is not None]
    if names:
        print("wrote " + (", ".join(names[:-1]) + " and " if len(names) > 1 else "") + names[-1])
