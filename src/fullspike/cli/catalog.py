"""``fullspike models [PATTERN]``, ``fullspike datasets`` and ``fullspike configs [PATTERN]``: what
can be named in a config, and the shipped configs ``--config NAME`` takes;
``fullspike models --pretrained`` / ``--card NAME``: the model zoo's entries and one card as text
(its training config and NIR record are in the zoo's cards.json, not printed)."""

from __future__ import annotations

import argparse
import math
import re


def register(sub) -> None:
    p = sub.add_parser("models", help="list the registered models")
    p.add_argument("pattern", nargs="?", help="glob filter, e.g. '*resnet50'")
    p.add_argument(
        "--pretrained",
        action="store_true",
        help="list the model zoo instead: trained networks shipped with the package, with their cards",
    )
    p.add_argument(
        "--card",
        metavar="NAME",
        help="print the card of a zoo entry (or of the one zoo entry of an architecture) as text; its training "
        "config and NIR record are in the zoo's cards.json",
    )
    p.set_defaults(func=_models)
    d = sub.add_parser("datasets", help="list the registered datasets")
    d.set_defaults(func=_datasets)
    c = sub.add_parser("configs", help="list the experiment configs shipped with the package (--config NAME)")
    c.add_argument("pattern", nargs="?", help="glob filter, e.g. 'dst_*'")
    c.set_defaults(func=_configs)


def _first_line(fn) -> str:
    """The docstring's first sentence as plain text (reST roles and literals unwrapped)."""
    text = " ".join((fn.__doc__ or "").split())
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)  # :func:`x` -> x
    text = text.replace("``", "").replace("`", "")
    return re.split(r"(?<!e\.g)(?<!i\.e)\.\s+(?=[A-Z])", text)[0].rstrip(".")


def _matching(names: list[str], pattern: str | None, what: str, command: str, every: list[str]) -> list[str]:
    """``names`` (already filtered by the glob ``pattern``); a pattern that is a ``key=value``
    override, or one that matches nothing, is one :class:`ConfigError` line (a pattern without
    wildcards is a name: the closest of ``every`` suggested, :func:`fullspike.registry.unknown_name`)."""
    from ..errors import ConfigError
    from ..registry import unknown_name

    if pattern and "=" in pattern:
        raise ConfigError(
            f"'{pattern}' looks like a key=value override; `fullspike {command}` takes a glob over "
            f"{what} names (e.g. '*resnet*'), or nothing to list them all"
        )
    if pattern and not names and not set("*?[") & set(pattern):
        raise unknown_name(what, pattern, every)
    if pattern and not names:
        raise ConfigError(f"no {what} matches '{pattern}'; `fullspike {command}` without a pattern lists them all")
    return names


def _models(args: argparse.Namespace) -> int:
    from ..models import list_models, model_factory

    if args.card:
        from ..zoo import card

        print(card_text(card(args.card)))
        return 0
    if args.pretrained:
        return _zoo(args.pattern)
    for name in _matching(list_models(args.pattern), args.pattern, "model", "models", list_models()):
        print(f"{name:24s} {_first_line(model_factory(name))}")
    return 0


def _zoo(pattern: str | None) -> int:
    from ..models import list_models
    from ..zoo import cards

    names = _matching(
        list_models(pattern, pretrained=True),
        pattern,
        "pretrained model",
        "models --pretrained",
        list_models(pretrained=True),
    )
    if not names:
        print("no pretrained models are shipped")
        return 0
    entries = {n: cards()[n] for n in names}
    rows = [
        (
            n,
            c["model"],
            c["dataset"],
            f"{100 * c['test_accuracy']:.2f}%",
            str(c["T"] or "-"),
            f"{c['params'] / 1e6:.2f}M",
            f"{c['energy']['energy_mj']:.4f} mJ",
            f"fullspike.create_model('{n}', pretrained=True)",
        )
        for n, c in entries.items()
    ]
    head = ("name", "model", "dataset", "test acc", "T", "params", "energy/sample", "load with")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
    right = {3, 4, 5, 6}  # the numbers' columns
    for r in [head, *rows]:
        cells = [f"{v:>{w}s}" if i in right else f"{v:{w}s}" for i, (v, w) in enumerate(zip(r, widths))]
        print("  ".join([*cells, r[-1]]))
    return 0


def wilson_interval(correct: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``correct / n`` (``z=1.96``: 95%), as fractions."""
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _samples_text(samples: int, test_size: int, balanced: bool = True) -> str:
    """The test samples a card's number was measured on: the whole test set, or a class-balanced
    selection of it (``balanced``: :func:`fullspike.data.selection.balanced_selection`)."""
    if samples >= test_size:
        return f"all {test_size} test samples"
    return f"{samples} {'class-balanced ' if balanced else ''}test samples"


def card_text(c: dict) -> str:
    """A zoo card (:func:`fullspike.zoo.card`) as text: every recorded number and where it came from."""
    n, acc = c["test_samples"], c["test_accuracy"]
    lo, hi = wilson_interval(round(acc * n), n)
    e = c["energy"]
    kwargs = ", ".join(f"{k}={v!r}" for k, v in c["model_kwargs"].items())
    lines = [
        f"{c['name']}",
        f"  model          {c['model']}({kwargs})",
        f"  dataset        {c['dataset']} (options {c['data_options'] or 'none'}), test set {n} samples",
        f"  test accuracy  {100 * acc:.2f}% (95% Wilson interval {100 * lo:.2f}-{100 * hi:.2f}% over {n} samples)",
    ]
    for head, a in c.get("test_accuracy_heads", {}).items():
        hl, hh = wilson_interval(round(a * n), n)
        lines.append(f"    head {head:8s} {100 * a:.2f}% (95% Wilson {100 * hl:.2f}-{100 * hh:.2f}%)")
    lines += [
        f"  time steps T   {c['T']}",
        f"  parameters     {c['params']:,}",
        f"  per sample     {e['ac']:.4g} AC, {e['mac']:.4g} MAC, {e['energy_mj']:.4g} mJ (an ANN of the same "
        f"shape: {e['ann_energy_mj']:.4g} mJ; BN folded, {_samples_text(e['samples'], n, 'analysis_set' in e)})",
    ]
    if "fsnn" in e:
        f = e["fsnn"]
        lines.append(
            f"  FSNN           {f['ac']:.4g} AC, {f['mac']:.4g} MAC, {f['energy_mj']:.4g} mJ per sample "
            "(accumulation pathway removed)"
        )
    lines.append("  firing rate    per step " + " ".join(f"{r:.3f}" for r in e["step_firing_rates"]))
    lines += [f"    {layer:24s} {rate:.3f}" for layer, rate in e["firing_rates"].items()]
    check = c.get("check")
    if check:
        lines.append(
            f"  check          {100 * check['accuracy']:.2f}% on {_samples_text(check['test_samples'], n)} "
            "(what tests/zoo re-evaluates)"
        )
    lines += [
        f"  training       {c['epochs']} epochs, {c['train_cpu_seconds'] / 3600:.2f} CPU hours",
        f"  command        {c['command']}",
        f"  run            {c['run']}",
        f"  date           {c['date']}",
        f"  machine        {c['machine']}",
        f"  weights        {c['file']} (SHA-256 {c['sha256']})",
        f"  load with      fullspike.create_model('{c['name']}', pretrained=True); "
        f"fullspike evaluate --checkpoint zoo:{c['name']} data.root=DIR",
    ]
    return "\n".join(lines)


def _configs(args: argparse.Namespace) -> int:
    from ..configs import config_file, list_configs
    from ..train.config import read_yaml

    pattern = args.pattern[: -len(".yaml")] if args.pattern and args.pattern.endswith(".yaml") else args.pattern
    for name in _matching(list_configs(pattern), pattern, "config", "configs", list_configs()):
        data = read_yaml(config_file(name)) or {}
        print(f"{name:32s} {data.get('description', '') if isinstance(data, dict) else ''}")
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from ..data.registry import dataset_builder, list_datasets

    for name in list_datasets():
        print(f"{name:16s} {_first_line(dataset_builder(name))}")
    return 0
