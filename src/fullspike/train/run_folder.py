"""A run folder's files and how ``--overwrite`` replaces the run in it without ever losing it.

``--overwrite`` moves the old run's files into ``OUT/.replaced-run`` (the *stash*) only once the
new run is built, deletes the stash once the new run has written its first checkpoint, and moves
it back if the new run fails before that. Each step is marked so that a kill at any moment leaves
a state the next ``fullspike train`` in the folder can finish (:func:`recover_folder`):

- the checkpoint is moved first and :data:`COMPLETE` is written last, so a stash without that
  mark that holds the checkpoint, beside a folder without one, is a stash cut short: it is moved
  back (an empty one, cut short before its first move, is deleted; one without marks or
  checkpoint, from an earlier fullspike, is refused in one line: which run it belongs to is
  unknown);
- :data:`RESTORING` is written before any file moves back (once the failed new run's files are
  gone, or when the next start moves back a stash cut short), and the checkpoint moves back last,
  so a stash with it is a move back cut short: it is finished, and it is never dropped;
- a stash is deleted by renaming it to :data:`DROPPED` first, so a half-deleted stash never looks
  like one.

Files are moved (renamed), so a symbolic link moves as a link and is never followed.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from ..errors import ConfigError
from .checkpoint import CHECKPOINT, remove_partial_saves

#: the files of a run in its folder (the checkpoint first: see the module docstring)
RUN_FILES = (CHECKPOINT, "config.json", "metrics.jsonl", "metrics.json", "tb")
#: where ``--overwrite`` keeps the old run until the new one has written its first checkpoint
REPLACED = ".replaced-run"
#: in the stash, once every run file is in it
COMPLETE = ".complete"
#: in the stash, once the failed new run's files are deleted and the old run's are moving back
RESTORING = ".restoring"
#: the name a stash takes while it is deleted
DROPPED = ".replaced-run.dropped"

_LOG = logging.getLogger(__name__)


def has_stash(out: Path) -> bool:
    """Whether ``out`` holds the run an ``--overwrite`` moved aside (:data:`REPLACED`, a folder)."""
    stash = out / REPLACED
    return stash.is_dir() and not stash.is_symlink()


def is_restoring(out: Path) -> bool:
    """Whether the stash of ``out`` is being moved back (:data:`RESTORING`): it must not be dropped."""
    return os.path.lexists(out / REPLACED / RESTORING)


def _remove(path: Path) -> None:
    """Delete a file, a link (never followed) or a folder."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def remove_partial_run_saves(out: Path) -> list[Path]:
    """Delete the temporary files that interrupted atomic saves of the run files of ``out`` left
    (checkpoint, ``config.json``, ``metrics.json``); returns the paths removed."""
    return sorted(tmp for n in (CHECKPOINT, "config.json", "metrics.json") for tmp in remove_partial_saves(out / n))


def clear_run_folder(out: Path) -> None:
    """Delete the run files in ``out``. A symbolic link placed there is removed, never followed."""
    for n in RUN_FILES:
        _remove(out / n)
    remove_partial_run_saves(out)


def drop_stash(out: Path) -> None:
    """Delete the stash of ``out``: renamed to :data:`DROPPED` first (one atomic step), then removed."""
    trash = out / DROPPED
    _remove(trash)
    os.replace(out / REPLACED, trash)
    shutil.rmtree(trash)


def _move_back(out: Path) -> None:
    """Mark the stash :data:`RESTORING`, move its run files into ``out`` (the checkpoint last), then
    drop it. A name that both hold stops everything before any move, with one line naming both;
    a failure to drop the emptied stash is only logged (the next start drops it)."""
    stash = out / REPLACED
    both = [n for n in RUN_FILES if os.path.lexists(stash / n) and os.path.lexists(out / n)]
    if both:
        raise ConfigError(
            f"{out / both[0]} and {stash / both[0]} both exist: fullspike cannot tell which run each belongs to; "
            f"the old run is in {stash}: keep one of the two and delete the other, then start again"
        )
    (stash / RESTORING).touch()
    for n in reversed(RUN_FILES):
        if os.path.lexists(stash / n):
            os.replace(stash / n, out / n)
    try:
        drop_stash(out)
    except OSError as e:
        _LOG.warning(f"the run that was in {out} is back, but its emptied {stash} could not be deleted ({e})")


def is_partial(out: Path) -> bool:
    """Whether the stash of ``out`` was cut short while being made: no :data:`COMPLETE` mark, the
    checkpoint (moved first) in the stash and not in the folder."""
    stash = out / REPLACED
    return (
        not os.path.lexists(stash / COMPLETE)
        and os.path.lexists(stash / CHECKPOINT)
        and not os.path.lexists(out / CHECKPOINT)
    )


def recover_folder(out: Path) -> None:
    """Finish what an ``--overwrite`` killed halfway left in ``out`` (see the module docstring):
    a restore cut short is finished, a stash cut short is moved back, a stash being dropped is
    deleted; each says so in the log. Any other stash is left to the caller."""
    if os.path.isdir(out / DROPPED) and not os.path.islink(out / DROPPED):
        shutil.rmtree(out / DROPPED)
    if not has_stash(out):
        return
    stash = out / REPLACED
    if not os.path.lexists(stash / COMPLETE) and not any(os.path.lexists(stash / n) for n in RUN_FILES):
        drop_stash(out)  # cut short before its first move: the run never left the folder
    elif is_restoring(out):
        _move_back(out)
        _LOG.info(f"put back the run that was in {out}: an --overwrite that failed was killed while restoring it")
    elif is_partial(out):
        _move_back(out)
        _LOG.info(f"put back the run that was in {out}: an --overwrite was killed while moving it aside")
    elif not os.path.lexists(stash / COMPLETE) and not os.path.lexists(stash / CHECKPOINT):
        raise ConfigError(  # an earlier fullspike's stash (no marks): part of a run, which one is unknown
            f"{stash} holds part of a run without its checkpoint, left by an interrupted --overwrite of an earlier "
            f"fullspike; look at it and move its files back into {out} or delete it, then start again"
        )


def check_stash_name(out: Path) -> None:
    """Refuse a file or link at :data:`REPLACED` (not a stash of ours: never deleted)."""
    stash = out / REPLACED
    if os.path.lexists(stash) and not has_stash(out):
        raise ConfigError(
            f"{stash} is a file or a link, not a run moved aside by fullspike; move it away (fullspike "
            f"keeps a replaced run under that name)"
        )


def stash_run_folder(out: Path) -> Path | None:
    """Move the run files of ``out`` into its stash (``--overwrite``, once the new run's data, model
    and optimiser are built, after :func:`recover_folder`); returns the stash. A complete stash
    beside no checkpoint holds the run a killed ``--overwrite`` was replacing: it is kept, and the
    files of that attempt beside it are deleted. Beside a checkpoint the stash is stale (the run in
    ``out`` started after it): it is dropped, and that run is moved aside. None: no run to move."""
    stash = out / REPLACED
    if has_stash(out):
        if not os.path.lexists(out / CHECKPOINT):
            clear_run_folder(out)
            return stash
        drop_stash(out)
    check_stash_name(out)
    if not any(os.path.lexists(out / n) for n in RUN_FILES):
        return None
    stash.mkdir()
    for n in RUN_FILES:
        if os.path.lexists(out / n):
            os.replace(out / n, stash / n)
    remove_partial_run_saves(out)
    (stash / COMPLETE).touch()
    return stash


def restore_run_folder(out: Path) -> None:
    """Put the stashed run back in ``out``, in place of the files of the new run that failed
    before its first checkpoint (deleted first; the move back is then marked, see :func:`_move_back`)."""
    clear_run_folder(out)
    _move_back(out)
