"""Output locations: checked before the work, and write failures as one clear line.

Every command that writes files calls :func:`output_dir` (or :func:`output_file`) before it
computes anything, so an unwritable, read-only or missing location, or one that would overwrite a
file the command reads (its checkpoint, :func:`refuse_inputs`), stops at once, and wraps its
writes in :func:`writing`, which turns an ``OSError`` (full disk, lost permission) into one
:class:`~fullspike.errors.OutputError` that says what could not be written and where.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Iterator

from .errors import FullspikeError, OutputError

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a file of that name is in the way",
    errno.EISDIR: "it is a folder",
    errno.EFBIG: "the file is too large for the file system",
    errno.ELOOP: "a symbolic link is in the way (fullspike does not write through links there)",
}
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def reason(err: OSError) -> str:
    """A short plain-English reason for a failed write."""
    return _REASONS.get(err.errno, err.strerror or type(err).__name__)


def _error(err: OSError, where: Path, what: str, name: Path | None = None) -> OutputError:
    """The one-line error of a failed write to ``where``, naming ``name`` (default: the file the
    error names, else ``where``)."""
    if name is None:
        name = Path(err.filename) if isinstance(err.filename, (str, os.PathLike)) else where
    fix = "free some space or choose another location" if err.errno in _FULL else "choose another location"
    return OutputError(f"cannot write {what} to {name}: {reason(err)}; {fix}")


def _inside(name, folder: Path) -> bool:
    try:
        return Path(name).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


#: the folders :func:`output_dir` creates inside :func:`folders_made` (None outside it)
_MADE: contextvars.ContextVar[list[Path] | None] = contextvars.ContextVar("fullspike_folders_made", default=None)


@contextlib.contextmanager
def folders_made() -> Iterator[list[Path]]:
    """Collect the folders that :func:`output_dir` creates while the block runs (parents too, in
    the order made), so that a command which then fails can remove the ones left empty
    (:func:`remove_empty_folders`). Outside such a block nothing is collected."""
    made: list[Path] = []
    token = _MADE.set(made)
    try:
        yield made
    finally:
        _MADE.reset(token)


def remove_empty_folders(paths: list[Path]) -> None:
    """Remove each folder of ``paths`` (in the order made, as :func:`folders_made` collects them)
    that is empty, the last made first, so a chain of folders a failed command created goes as a
    whole; a folder that holds anything stays."""
    for path in reversed(paths):
        remove_empty_folder(path)


def _make_folder(path: Path, made: list[Path]) -> None:
    """Create folder ``path`` and its missing parents (as ``mkdir -p``), one level at a time,
    appending each folder this call creates to ``made`` as it is created (parents first). Only a
    ``mkdir`` that succeeded counts, so ``new/../old`` adds ``new`` alone, never the ``old`` that
    was there."""
    missing = []  # path and the parents found missing, deepest first
    while True:
        try:
            os.mkdir(path)
            made.append(path)
            break
        except FileExistsError:
            if not path.is_dir():
                raise
            break
        except FileNotFoundError:
            if path.parent == path:
                raise
            missing.append(path)
            path = path.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder)
            made.append(folder)
        except FileExistsError:
            if not folder.is_dir():
                raise


def refuse_inputs(out: str | os.PathLike, reads: Mapping[Path, str], what: str) -> None:
    """One :class:`OutputError` line when ``out``, a file to be written (``what``), is one of the
    files the command reads, ``reads`` (each with what it is, e.g. ``"the checkpoint"``): the same
    path, or the same file through a link, so writing it would destroy the input."""
    for src, name in reads.items():
        try:
            same = os.path.exists(out) and os.path.exists(src) and os.path.samefile(out, src)
        except OSError:  # unreadable: not known to be the same file
            same = False
        if same:
            raise OutputError(
                f"cannot write {what} to {out}: it is {name} {src}, which this command reads (writing "
                f"it would destroy it); write the output elsewhere (another --out or output folder)"
            )


def output_dir(
    path: str | os.PathLike,
    what: str = "outputs",
    target: Path | None = None,
    files: Iterable[str] = (),
    reads: Mapping[Path, str] | None = None,
) -> Path:
    """Create folder ``path`` if needed and check that a file can be written in it (``target``:
    the file to be written there, which an error names; default the folder), and that none of the
    ``files`` to be written there is one of the files the command reads (``reads``,
    :func:`refuse_inputs`).

    Raises :class:`OutputError` (one line: what, where, why) otherwise; returns ``Path(path)``.
    Inside :func:`folders_made`, the folders created are collected.
    """
    path = Path(path)
    for name in files:
        refuse_inputs(path / name, reads or {}, name)
    try:
        made = _MADE.get()
        _make_folder(path, [] if made is None else made)
        with tempfile.TemporaryFile(dir=path, prefix=".fullspike-write-check-") as f:
            f.write(b"\0")
            f.flush()
    except OSError as e:  # the error names the folder (or the file to be written), never the probe file
        raise _error(e, path, what, target or path) from None
    return path


def output_file(path: str | os.PathLike, what: str = "output", reads: Mapping[Path, str] | None = None) -> Path:
    """Check that file ``path`` can be written (its folder is created and checked; an existing
    folder of that name is refused) and is none of the files the command reads (``reads``,
    :func:`refuse_inputs`); returns ``Path(path)``."""
    path = Path(path)
    refuse_inputs(path, reads or {}, what)
    if path.is_dir():
        raise OutputError(f"cannot write {what} to {path}: it is a folder; give a file name")
    output_dir(path.parent, what, target=path)
    return path


@contextlib.contextmanager
def writing(where: str | os.PathLike, what: str = "outputs") -> Iterator[None]:
    """Turn an ``OSError`` raised by writes inside the block into one :class:`OutputError`.

    ``where`` is the output file or folder. Errors that name a file outside it (a dataset file
    that cannot be read, say) and fullspike's own errors pass through unchanged.
    """
    where = Path(where)
    try:
        yield
    except FullspikeError:
        raise
    except OSError as e:
        if isinstance(e.filename, (str, os.PathLike)) and not _inside(e.filename, where):
            raise
        raise _error(e, where, what) from None


@contextlib.contextmanager
def exclusive_folder(path: str | os.PathLike, what: str = "run") -> Iterator[Path]:
    """Hold folder ``path`` (created if needed) for this process while the block runs.

    A second process asking for the same folder meanwhile gets one :class:`OutputError` instead
    of writing into the same files. The hold is an advisory lock on ``path/.lock`` (its content:
    the holder's pid), which the operating system drops when the process ends, however it ends,
    so a killed run never leaves the folder locked. POSIX only: elsewhere the folder is not held.
    A symbolic link placed at ``path/.lock`` is refused, never followed. When the block fails and
    the folder holds nothing but the lock, the lock goes, and so does the folder if this call
    created it: a failed start leaves no empty folder behind.
    """
    created = not os.path.lexists(path)
    path = output_dir(path, what)
    try:
        import fcntl
    except ImportError:  # Windows
        yield path
        return
    try:
        f = os.fdopen(os.open(path / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666), "r+")
    except OSError as e:  # a link there (ELOOP) is named as such, not resolved to its target
        raise _error(e, path, what) from None
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip()
            raise OutputError(
                f"{path} is in use by another process{f' (pid {holder})' if holder else ''} "
                f"writing a {what} there; wait for it to end or choose another folder"
            ) from None
        f.truncate(0)
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield path
        except BaseException:
            if [p.name for p in path.iterdir()] == [".lock"]:
                (path / ".lock").unlink()
                if created:
                    remove_empty_folder(path)
            raise


def remove_empty_folder(path: str | os.PathLike) -> None:
    """Remove folder ``path`` if it is empty (a failed start's leftover); otherwise leave it."""
    with contextlib.suppress(OSError):
        os.rmdir(path)
