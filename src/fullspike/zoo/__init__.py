"""The model zoo: networks trained by the reproduction study (REPRODUCTION.md), shipped with the
package as state dicts (``<name>.pt``) and described by cards (``cards.json``): dataset, test
accuracy, T, parameters, AC/MAC/energy per sample with firing rates, the command that trained
them, date and machine. Weights are checked against the card's SHA-256 before loading, offline.

    model = fullspike.create_model("nmnist_bntt_convnet", pretrained=True)
    model = fullspike.create_model("dst_resnet18", pretrained=True)      # the one trained dst_resnet18
    fullspike.list_models(pretrained=True)                               # the entries
    model, cfg = fullspike.load("zoo:nmnist_bntt_convnet")      # with the config that trained it
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError, RegistryError
from ..models import create_model, is_model, set_pretrained_resolver
from ..registry import unknown_name
from ..safe_load import load_into, load_state

ZOO_DIR = Path(__file__).resolve().parent
PREFIX = "zoo:"


def cards(zoo_dir: Path = ZOO_DIR) -> dict[str, dict]:
    """Every entry's card, by name (an empty zoo: ``{}``)."""
    path = Path(zoo_dir) / "cards.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def names(zoo_dir: Path = ZOO_DIR) -> list[str]:
    """The entries' names, sorted."""
    return sorted(cards(zoo_dir))


def entry_name(name: str, zoo_dir: Path = ZOO_DIR) -> str:
    """The entry ``name`` means (``zoo:`` prefix optional): the entry of that name, else the one
    entry whose architecture is ``name`` (``"dst_resnet18"``). An architecture with several
    entries, or none, and an unknown name are one :class:`RegistryError` line."""
    name = name[len(PREFIX) :] if name.startswith(PREFIX) else name
    all_cards = cards(zoo_dir)
    if name in all_cards:
        return name
    fits = sorted(n for n, c in all_cards.items() if c["model"] == name)
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise RegistryError(
            f"the zoo has {len(fits)} trained '{name}' networks: {', '.join(fits)}; "
            f"name one, e.g. create_model('{fits[0]}', pretrained=True)"
        )
    if is_model(name):
        raise RegistryError(
            f"the zoo has no trained '{name}'; the trained networks are "
            f"{', '.join(sorted(all_cards)) or 'none'} (fullspike models --pretrained)"
        )
    raise unknown_name("pretrained model", name, all_cards, "" if all_cards else " (the zoo is empty)")


def card(name: str, zoo_dir: Path = ZOO_DIR) -> dict:
    """The card of the zoo entry ``name`` means (:func:`entry_name`), with its ``name``."""
    name = entry_name(name, zoo_dir)
    return {"name": name, **cards(zoo_dir)[name]}


def sha256(path: Path) -> str:
    """The SHA-256 hex digest of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_indices(test_set, samples: int) -> list[int]:
    """The test samples a card's accuracy check uses: the class-balanced selection of ``samples``
    samples of ``test_set`` that every analysis of the study uses (:mod:`fullspike.data.selection`),
    so a test set stored class by class is checked on every class alike."""
    from ..data.selection import balanced_selection

    return balanced_selection(test_set, samples)


def weights(name: str, zoo_dir: Path = ZOO_DIR) -> dict[str, torch.Tensor]:
    """The trained state dict of the zoo network ``name`` (as :func:`load`), read only once its
    SHA-256 matches the card's (one CheckpointError line otherwise, and for a missing file)."""
    c, path = card(name, zoo_dir), weights_path(name, zoo_dir)
    if not path.is_file():
        raise CheckpointError(f"zoo weights {path} are missing; reinstall fullspike")
    digest = sha256(path)
    if digest != c["sha256"]:
        raise CheckpointError(
            f"zoo weights {path} are corrupt (SHA-256 {digest[:12]}..., the card says "
            f"{c['sha256'][:12]}...); reinstall fullspike"
        )
    return load_state(path, "zoo weights")


def weights_path(name: str, zoo_dir: Path = ZOO_DIR) -> Path:
    """The file of the zoo network ``name``'s weights."""
    return Path(zoo_dir) / card(name, zoo_dir)["file"]


def load(name: str, zoo_dir: Path = ZOO_DIR) -> nn.Module:
    """The zoo network ``name`` (``"zoo:NAME"``, ``"NAME"`` or an architecture with one entry,
    :func:`entry_name`) with its trained weights (:func:`weights`), in evaluation mode."""
    c = card(name, zoo_dir)
    model = create_model(c["model"], **c["model_kwargs"])
    load_into(model, weights(c["name"], zoo_dir), f"zoo weights {c['file']} do not fit their card's '{c['model']}'")
    return model.eval()


class _Zoo:
    """The zoo as the models layer's source of pretrained weights (:func:`set_pretrained_resolver`)."""

    def names(self) -> list[str]:
        return names()

    def load(self, name: str) -> nn.Module:
        return load(name)


set_pretrained_resolver(_Zoo())  # create_model(..., pretrained=True) and list_models(pretrained=True)

__all__ = [
    "ZOO_DIR",
    "PREFIX",
    "cards",
    "card",
    "check_indices",
    "entry_name",
    "load",
    "names",
    "sha256",
    "weights",
    "weights_path",
]
