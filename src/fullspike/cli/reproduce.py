"""``fullspike reproduce NAME``: a thin entry to the reproduction study, which lives in the
``studies/`` folder of a source checkout (not in the package): found by walking up from the
working directory, then from the package's own location."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from ..errors import ConfigError


def find_studies(start: Path | None = None) -> Path | None:
    """The ``studies/`` folder (holding ``runner.py``) of the checkout above ``start`` (default:
    the working directory), else above this package; ``None`` outside a source checkout."""
    for base in [Path(start or Path.cwd()).resolve(), Path(__file__).resolve()]:
        for folder in [base, *base.parents]:
            if (folder / "studies" / "runner.py").is_file():
                return folder / "studies"
    return None


def _studies_cli(folder: Path) -> ModuleType:
    """``studies.cli`` of ``folder``, imported as the package ``studies``."""
    if "studies" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "studies", folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules["studies"] = package
        spec.loader.exec_module(package)
    import studies.cli  # noqa: PLC0415 (found above)

    return studies.cli


def register(sub) -> None:
    folder = find_studies()
    p = sub.add_parser(
        "reproduce",
        help="run an experiment of the reproduction study (REPRODUCTION.md; needs "
        "the studies/ folder of a source checkout)",
    )
    if folder is None:
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_no_checkout)
        return
    cli = _studies_cli(folder)
    cli.add_arguments(p)
    p.set_defaults(func=cli.run)


def _no_checkout(args: argparse.Namespace) -> int:
    raise ConfigError(
        "fullspike reproduce needs a source checkout: run it inside a clone of the fullspike "
        "repository (it reads the studies/ folder there)"
    )
