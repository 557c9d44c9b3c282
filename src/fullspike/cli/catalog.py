"""``fullspike models [PATTERN]`` and ``fullspike datasets``: what can be named in a config."""
from __future__ import annotations

import argparse
import re


def register(sub) -> None:
    p = sub.add_parser("models", help="list the registered models")
    p.add_argument("pattern", nargs="?", help="glob filter, e.g. '*resnet50'")
    p.add_argument("--pretrained", action="store_true",
                   help="list the model zoo instead: trained networks shipped with the package, with their cards")
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

    if args.pretrained:
        return _zoo(args.pattern)
    for name in list_models(args.pattern):
        print(f"{name:24s} {_first_line(model_factory(name))}")
    return 0


def _zoo(pattern: str | None) -> int:
    import fnmatch

    from ..zoo import cards

    entries = {n: c for n, c in cards().items() if pattern is None or fnmatch.fnmatch(n, pattern)}
    if not entries:
        print("no pretrained models" + (f" match '{pattern}'" if pattern else " are shipped"))
        return 0
    w = max(len(n) for n in [*entries, "name"])
    print(f"{'name':{w}s} {'model':14s} {'dataset':14s} {'test acc':>8s} {'T':>3s} {'params':>8s} "
          f"{'energy/sample':>13s}  load with")
    for n, c in entries.items():
        print(f"{n:{w}s} {c['model']:14s} {c['dataset']:14s} {100 * c['test_accuracy']:7.2f}% {c['T'] or '-':>3} "
              f"{c['params'] / 1e6:7.2f}M {c['energy']['energy_mj']:10.4f} mJ  "
              f"fullspike.create_model('{n}', pretrained=True)")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from ..data.registry import dataset_builder, list_datasets

    for name in list_datasets():
        print(f"{name:16s} {_first_line(dataset_builder(name))}")
    return 0
