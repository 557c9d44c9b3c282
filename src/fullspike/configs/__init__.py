"""The experiment configs shipped with the package (``<name>.yaml`` in this folder): a config is
named by its file's stem, ``fullspike train --config bntt_vgg9_cifar10``, or given as a path.
``fullspike configs`` lists them."""

from __future__ import annotations

from pathlib import Path

from ..registry import Registry

CONFIGS_DIR = Path(__file__).resolve().parent

#: the shipped configs' files by name (the stem); unknown names suggest the closest
CONFIGS: Registry[Path] = Registry("config")
for _path in sorted(CONFIGS_DIR.glob("*.yaml")):
    CONFIGS.register(_path.stem)(_path)


def list_configs(pattern: str | None = None) -> list[str]:
    """The shipped configs' names, sorted, optionally filtered by a glob ``pattern``."""
    return CONFIGS.names(pattern)


def config_file(name: str) -> Path:
    """The file of the shipped config ``name`` (a trailing ``.yaml`` is allowed); an unknown name
    is one :class:`~fullspike.errors.RegistryError` line with the closest names."""
    return CONFIGS.get(name[: -len(".yaml")] if name.endswith(".yaml") else name)


__all__ = ["CONFIGS", "CONFIGS_DIR", "config_file", "list_configs"]
