"""``fullspike models [PATTERN]`` and ``fullspike datasets``: what can be named in a config."""
from __future__ import annotations

import argparse
import re


def register(sub) -> None:
    p = sub.add_parser("models", help="list the registered models")
    p.add_argument("pattern", nargs="?", help="glob filter, e.g. '*resnet50'")
    p.set_defaults(func=_models)
    d = sub.add_parser("datasets", help="list the registered datasets")
    d.set_defaults(func=_datasets)


def _first_line(fn) -> str:
    """The docstring's first sentence as plain text (reST roles and literals unwrapped)."""
    text = " ".join((fn.__doc__ or "").split())
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)  # :func:`x` -> x
    text = text.replace("``", "").replace("`", "")
    return re.split(r"(?<!e\.g)(?<!i\.e)\.\s+(?=[A-Z])", text)[0].rstrip(".")


def _models(args: argparse.Namespace) -> int:
    from ..models import list_models, model_factory

    for name in list_models(args.pattern):
        print(f"{name:24s} {_first_line(model_factory(name))}")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from ..data.registry import dataset_builder, list_datasets

    for name in list_datasets():
        print(f"{name:16s} {_first_line(dataset_builder(name))}")
    return 0
