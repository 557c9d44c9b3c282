"""Griffe extension for the site: the docstrings' Sphinx roles as Markdown code.

The library's docstrings cross-reference with Sphinx roles (``:func:`fit```, ``:mod:`.memory```),
which Markdown would show verbatim; each becomes an inline code span of its target, written the
way the text meant it (a leading ``~`` keeps only the last dotted part).
"""
from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|meth|class|mod|attr|data|obj|exc|const):`(~?)([^`]+)`")


def _code(match: re.Match) -> str:
    short, target = match.group(1), match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class SphinxRolesAsCode(griffe.Extension):
    """Rewrite every docstring's Sphinx roles as Markdown code spans when griffe loads it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_code, obj.docstring.value)
