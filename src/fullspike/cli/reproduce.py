"""``fullspike reproduce NAME``: a thin entry to the reproduction study, which lives in the
``studies/`` folder of a source checkout (not in the package). Its code is run only from the
checkout this package itself was installed from (``pip install -e .``): never from the working
directory or a folder above it, where anyone could have put a ``studies/``."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from ..errors import ConfigError


def find_studies(package: Path | None = None) -> Path | None:
    """The ``studies/`` folder (holding ``runner.py``) of the source checkout whose
    ``src/fullspike`` is ``package`` (default: this package), or ``None`` when the package is not
    run from a checkout (an install into site-packages)."""
    package = Path(package or Path(__file__).resolve().parents[1])
    root = package.parents[1]  # CHECKOUT/src/fullspike -> CHECKOUT
    if package.parent.name != "src" or not (root / "pyproject.toml").is_file():
        return None
    return root / "studies" if (root / "studies" / "runner.py").is_file() else None


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
        "fullspike reproduce needs the studies/ folder of a source checkout: install fullspike from a "
        "clone with pip install -e . (the study is run from that clone only)"
    )
