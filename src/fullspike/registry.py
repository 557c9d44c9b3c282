"""One name -> factory registry for everything configs name: models, datasets, surrogates,
neurons, encoders, norms, connect functions, accumulation pools and neuron backends.

Unknown names fail with :class:`~fullspike.errors.RegistryError` (one line, the closest names
suggested); an alias (a former or shorter name) stands for a registered name everywhere.
:meth:`Registry.create` also takes ``{"name": ..., **kwargs}`` mappings, the form
configs use, and checks keyword arguments against the factory's signature and its annotations
(:func:`fullspike.params.check_arguments`, the one argument check of the package).
:meth:`Registry.name_type` and :meth:`Registry.spec_type` are the annotations of an argument
that names an entry (``connect: CONNECTS.name_type()``) or names one with its arguments
(``neuron: NEURONS.spec_type(...)``): validated against whatever is registered when checked.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated, Any, Callable, Generic, TypeVar

from pydantic import AfterValidator, PlainValidator, ValidationInfo
from pydantic_core import PydanticCustomError

from .errors import RegistryError
from .params import check_arguments

F = TypeVar("F", bound=Callable)


def unknown_name(kind: str, name: object, choices, note: str = "") -> RegistryError:
    """The error for an unknown ``name`` of ``kind``: the closest ``choices`` suggested (compared
    without regard to case), all listed; ``note`` follows the name."""
    by_lower = {str(c).lower(): c for c in choices}
    close = [by_lower[c] for c in difflib.get_close_matches(str(name).lower(), list(by_lower), n=3)]
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    return RegistryError(f"unknown {kind} '{name}'{note}; {hint}choose one of {', '.join(sorted(choices))}")


def split_spec(spec: "str | Mapping", kind: str) -> tuple[str, dict]:
    """``"name"`` or ``{"name": "name", **kwargs}`` -> ``(name, kwargs)``."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping) and "name" in spec:
        kwargs = dict(spec)
        return str(kwargs.pop("name")), kwargs
    raise RegistryError(
        f"a {kind} must be a name or a mapping with a 'name' key (e.g. {{name: ..., ...}}); got {spec!r}"
    )


class Registry(Generic[F]):
    """Maps names to factories; unknown names fail with the closest matches suggested.

    ``kind`` names what is registered in messages (``"model"``, ``"neuron backend"``).
    ``lowercase``: names are matched case-insensitively (stored and looked up in lower case).
    """

    def __init__(self, kind: str, lowercase: bool = False) -> None:
        self.kind = kind
        self.lowercase = lowercase
        self._items: dict[str, F] = {}
        self._aliases: dict[str, str] = {}

    def _key(self, name: str) -> str:
        key = str(name).lower() if self.lowercase else str(name)
        return self._aliases.get(key, key)

    def register(self, name: str | None = None, aliases: Iterable[str] = ()) -> Callable[[F], F]:
        """Decorator: register a factory under ``name`` (default: its ``__name__``) and
        ``aliases`` (other names that stand for it)."""

        def deco(fn: F) -> F:
            key = self._key(name or fn.__name__)
            if key in self._items:
                raise RegistryError(f"{self.kind} '{key}' is registered twice")
            self._items[key] = fn
            for alias in aliases:
                self.alias(alias, key)
            return fn

        return deco

    def alias(self, alias: str, name: str) -> None:
        """Let ``alias`` stand for the registered ``name`` (``names()`` lists ``name`` alone)."""
        key, target = self._key(alias), self.canonical(name)
        if key in self._items:
            raise RegistryError(f"{self.kind} '{key}' is registered; it cannot be an alias too")
        self._aliases[key] = target

    def canonical(self, name: str) -> str:
        """The registered name that ``name`` (a name or an alias) stands for."""
        key = self._key(name)
        if key not in self._items:
            raise unknown_name(self.kind, name, self._items)
        return key

    def get(self, name: str) -> F:
        """The factory registered as ``name`` (or the name the alias ``name`` stands for)."""
        try:
            return self._items[self._key(name)]
        except (KeyError, TypeError):
            raise unknown_name(self.kind, name, self._items) from None

    def check_kwargs(
        self, name: str, kwargs: Mapping[str, Any], key: str = "", reserved: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """``kwargs`` validated against the signature and annotations of the factory of ``name``
        (:func:`~fullspike.params.check_arguments`; ``key``: the config key they live under).
        Raises :class:`~fullspike.errors.ConfigError` (one line)."""
        try:
            inspect.signature(self.get(name))
        except (TypeError, ValueError):  # a builtin without a signature: let the call decide
            return dict(kwargs)
        return check_arguments(self.get(name), kwargs, what=f"{self.kind} '{name}'", key=key, reserved=reserved)

    def create(self, spec: "str | Mapping", *args, **kwargs):
        """Call the factory named by ``spec`` (a name or ``{"name": ..., **kw}``) with ``args``
        and ``kw`` updated by ``kwargs``; keyword arguments are checked against its signature."""
        name, kw = split_spec(spec, self.kind)
        kw.update(kwargs)
        return self.get(name)(*args, **self.check_kwargs(name, kw))

    def name_type(self) -> Any:
        """The annotation of an argument naming an entry: a string checked against the names
        registered when it is validated (an unknown one: one line, the closest suggested)."""

        def known(name: str) -> str:
            self.get(name)
            return self._key(name)

        return Annotated[str, AfterValidator(known)]

    def spec_type(self, *instances: type, reserved: tuple[str, ...] = ()) -> Any:
        """The annotation of an argument naming an entry with its arguments: a name, a mapping
        ``{"name": ..., **kwargs}`` whose arguments are checked against that entry's signature
        (a union over the registry, told apart by ``name``), or an object of one of ``instances``
        (passed as it is). ``reserved``: arguments the caller fills in."""

        def check(value: Any, info: ValidationInfo) -> Any:
            if isinstance(value, instances) or (isinstance(value, type) and issubclass(value, instances)):
                return value
            if not isinstance(value, (str, Mapping)):
                raise PydanticCustomError("spec_type", "must be a string or a mapping")
            key = (info.context or {}).get("key", "")
            name, kwargs = split_spec(value, self.kind)
            self.get(name)
            if isinstance(value, str):
                return value
            return {"name": name, **self.check_kwargs(name, kwargs, key, reserved)}

        return Annotated[Any, PlainValidator(check)]

    def names(self, pattern: str | None = None) -> list[str]:
        """Registered names, sorted, optionally filtered by a glob ``pattern``."""
        return [n for n in sorted(self._items) if pattern is None or fnmatch.fnmatch(n, pattern)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self._items

    def __iter__(self) -> Iterator[str]:
        """The registered names, sorted (aliases not included)."""
        return iter(self.names())
