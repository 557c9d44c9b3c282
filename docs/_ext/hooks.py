"""MkDocs hooks for the site (mkdocs.yml ``hooks:``).

The README, REPRODUCTION.md, BENCHMARKS.md and LICENSE live at the repository root, where GitHub
shows them, and are included into site pages (``index.md``, ``reproducing.md``, ``benchmarks.md``,
``license.md``);
links to them from any page are pointed at those pages.
"""
from __future__ import annotations

import posixpath
import re
import warnings

#: repository-root file -> the site page that includes it
ROOT_PAGES = {
    "README.md": "index.md",
    "REPRODUCTION.md": "reproducing.md",
    "BENCHMARKS.md": "benchmarks.md",
    "LICENSE": "license.md",
}

_LINK = re.compile(r"\]\(((?:\.\./)+)(" + "|".join(re.escape(k) for k in ROOT_PAGES) + r")(#[^)\s]*)?\)")


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    """Point links that climb out of the docs folder to a root file at the page including it."""
    here = posixpath.dirname(page.file.src_uri)

    def repoint(match: re.Match) -> str:
        target = posixpath.relpath(ROOT_PAGES[match.group(2)], here or ".")
        return f"]({target}{match.group(3) or ''})"

    return _LINK.sub(repoint, markdown)


def on_startup(**kwargs) -> None:
    """The tutorials run in this process while the site builds: the one-off notice that the native
    kernels are being compiled names this machine's cache folder, which no page should show."""
    from fullspike.engine.cbuild import BuildNotice

    warnings.filterwarnings("ignore", category=BuildNotice)
