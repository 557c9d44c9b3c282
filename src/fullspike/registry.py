"""A tiny name -> factory registry shared by models, datasets and surrogates."""
from __future__ import annotations

import difflib
from typing import Callable, Generic, TypeVar

from .errors import RegistryError

F = TypeVar("F", bound=Callable)


class Registry(Generic[F]):
    """Maps names to factories; unknown names fail with the closest matches suggested."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, F] = {}

    def register(self, name: str | None = None) -> Callable[[F], F]:
        def deco(fn: F) -> F:
            key = name or fn.__name__
            if key in self._items:
                raise RegistryError(f"{self.kind} '{key}' is registered twice")
            self._items[key] = fn
            return fn

        return deco

    def get(self, name: str) -> F:
        try:
            return self._items[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._items, n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise RegistryError(
                f"unknown {self.kind} '{name}'.{hint} Available: {', '.join(sorted(self._items))}"
            ) from None

    def names(self, pattern: str | None = None) -> list[str]:
        import fnmatch

        names = sorted(self._items)
        return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]

    def __contains__(self, name: str) -> bool:
        return name in self._items
