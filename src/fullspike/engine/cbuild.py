"""Compiling a small C source with the system C compiler into a per-user cache, and loading it.

The ``"native"`` neuron backend (:mod:`.native`) runs plain C kernels through :mod:`ctypes`.
:func:`load` compiles a source once per machine: into the cache folder (:func:`cache_dir`:
``$FULLSPIKE_CACHE_DIR``, else ``$XDG_CACHE_HOME/fullspike``, else ``~/.cache/fullspike``;
the libraries go to its ``native`` subfolder), under a name that is a hash of the source, the
compiler, its flags and the CPU. The library is written to a temporary file there and renamed into place,
so processes that compile the same source at the same time each end with a complete library.
Later processes load the cached library in milliseconds. The first compile of a process says so
once (:class:`BuildNotice`, naming the folder). No compiler, a compile error or an unwritable
folder makes the source *unavailable*, with the reason (:func:`unavailable`); nothing raises
but :func:`load` for an unavailable source.

A cached library is loaded only when it can be trusted and is whole: owned by the current user,
not writable by group or others, and with the SHA-256 recorded beside it at build time
(``<name>.so.sha256``) matching its bytes. Any other file there (another user's, a truncated or
edited one, one of an older fullspike without the record) is replaced by a fresh build, so a
damaged cache never crashes the process. A library without the symbols its user asks for is
unavailable with one line saying so. Temporary ``.building-*`` files that a compile killed midway
left behind are removed once they are older than any compile can run (:data:`TIMEOUT_S`).

The compiler is ``$CC`` if set, else ``cc``, ``gcc`` or ``clang`` on the ``PATH``. The flags keep
float arithmetic exactly as written (no contraction into fused multiply-adds, no fast-math) and
target the machine's own CPU (:data:`TUNING_FLAGS`; the cache key includes the CPU).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import platform
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Union

from .notices import warn_at_caller

#: compiler flags every build has: a shared library; a * b + c stays two roundings (no fused
#: multiply-add), as torch computes it, so the kernels' spikes are the eager reference's; a call
#: of an undeclared function (say, a misspelt one in a surrogate's C form) is a compile error
#: rather than a library that fails to load
FLAGS = ("-O2", "-pipe", "-fPIC", "-shared", "-pthread", "-ffp-contract=off", "-Werror=implicit-function-declaration")
#: added to :data:`FLAGS`, the first set the compiler accepts: vectorise the loops, for the
#: vector instructions of this machine's CPU (the cache key names the CPU, so a home folder
#: shared by different machines keeps one library per kind of CPU); values stay IEEE (no
#: fast-math), only errno and floating-point traps are given up, so that the selects in the
#: loops vectorise; GCC also skips vectorised loop epilogues (blocks are whole vectors anyway).
#: -O2 rather than -O3: -O3 unswitches each loop into a copy per flag combination, which made
#: the compile 4x longer (2 s instead of 0.5 s) for no measurable speed
TUNING_FLAGS = (
    (
        "-ftree-vectorize",
        "-fno-math-errno",
        "-fno-trapping-math",
        "-march=native",
        "--param",
        "vect-epilogues-nomask=0",
    ),
    ("-ftree-vectorize", "-fno-math-errno", "-fno-trapping-math", "-march=native"),
    (),
)
#: seconds one compile may take before the source counts as unavailable
TIMEOUT_S = 120


class BuildNotice(UserWarning):
    """Says once per process that a C kernel is being compiled, and where it is cached."""


class Unavailable(RuntimeError):
    """The source cannot be compiled or loaded here (the message says why)."""


def cache_dir() -> Path:
    """The per-user cache folder of fullspike (the compiled kernels live in its ``native``
    subfolder): ``$FULLSPIKE_CACHE_DIR``, else ``$XDG_CACHE_HOME/fullspike``, else
    ``~/.cache/fullspike``."""
    if os.environ.get("FULLSPIKE_CACHE_DIR"):
        return Path(os.environ["FULLSPIKE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fullspike"


def compiler() -> Optional[list[str]]:
    """The C compiler command (``$CC`` split into words, else the first of cc/gcc/clang on the
    ``PATH``), or None when there is none."""
    if os.environ.get("CC"):
        words = shlex.split(os.environ["CC"])
        return words if words and shutil.which(words[0]) else None
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


@functools.lru_cache(maxsize=None)
def cpu_identity() -> str:
    """What the compiled code depends on of this CPU: its model and instruction-set flags (from
    ``/proc/cpuinfo`` on Linux), else the platform's processor name."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [
                ln
                for ln in f.read(1 << 16).split("\n\n")[0].splitlines()
                if ln.split(":")[0].strip() in ("model name", "flags", "Features", "CPU part")
            ]
        if lines:
            return "\n".join(lines)
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()}"


def library_path(source: str, cc: list[str]) -> Path:
    """Where the library of ``source`` built by ``cc`` is cached."""
    key = "\0".join([source, *cc, *FLAGS, *map(" ".join, TUNING_FLAGS), cpu_identity(), sys.platform])
    return cache_dir() / "native" / f"fs_{hashlib.sha256(key.encode()).hexdigest()[:32]}.so"


@functools.lru_cache(maxsize=None)
def _announce(folder: str) -> None:
    warn_at_caller(
        f"fullspike: compiling the native neuron kernels with the C compiler (once per "
        f"machine, surrogate and neuron form, a fraction of a second); cached in {folder} "
        f"(set FULLSPIKE_CACHE_DIR to move it)",
        BuildNotice,
    )


def _first_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    pick = next((ln for ln in lines if "error" in ln), lines[0] if lines else "no output")
    return pick[:200]


def _compile(source: str, cc: list[str], flags: tuple, out: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [*cc, *flags, "-x", "c", "-", "-o", out, "-lm"],
            input=source,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise Unavailable(f"the C compiler {cc[0]} could not run ({err})") from None


def digest_path(target: Path) -> Path:
    """Where the SHA-256 of the cached library ``target`` is recorded (``<name>.so.sha256``)."""
    return target.with_name(target.name + ".sha256")


def _sha256(path: Union[str, Path]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _owned_and_private(path: Path) -> bool:
    """``path`` is a regular file (not a link) of the current user that group and others cannot write."""
    st = os.lstat(path)
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def trusted(target: Path) -> bool:
    """Whether the cached library ``target`` may be loaded: it and its recorded SHA-256 are the
    current user's own files, private to writes (:func:`_owned_and_private`), and its bytes
    match the record (a truncated or replaced file does not)."""
    record = digest_path(target)
    try:
        if not (_owned_and_private(target) and _owned_and_private(record)):
            return False
        return record.read_text().strip() == _sha256(target)
    except OSError:
        return False


def _remove_stale_builds(folder: Path) -> None:
    """Delete ``.building-*`` files older than a compile can take: a killed compile's leftovers."""
    now = time.time()
    for tmp in folder.glob(".building-*"):
        with contextlib.suppress(OSError):
            if now - tmp.lstat().st_mtime > 2 * TIMEOUT_S:
                tmp.unlink()


def _build(source: str, cc: list[str], target: Path) -> None:
    """Compile ``source`` into ``target`` through a temporary file renamed into place, with the
    first of :data:`TUNING_FLAGS` the compiler accepts; records its SHA-256 beside it first."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".building-", suffix=".so")
    os.close(fd)
    fd, tmp_record = tempfile.mkstemp(dir=target.parent, prefix=".building-", suffix=".sha256")
    os.close(fd)
    try:
        for tuning in TUNING_FLAGS:
            res = _compile(source, cc, FLAGS + tuning, tmp)
            if res.returncode == 0:
                break
        else:
            raise Unavailable(f"the C compiler {cc[0]} failed: {_first_error(res.stderr)}")
        os.chmod(tmp, 0o700)  # whatever the compiler's umask gave: private to writes
        Path(tmp_record).write_text(_sha256(tmp) + "\n")
        os.replace(tmp_record, digest_path(target))
        os.replace(tmp, target)
    finally:
        for path in (tmp, tmp_record):
            if os.path.exists(path):
                os.unlink(path)


@functools.lru_cache(maxsize=None)
def _load(source: str, symbols: tuple[str, ...] = ()) -> Union[ctypes.CDLL, str]:
    cc = compiler()
    if cc is None:
        return "no C compiler found (install gcc or clang, or set CC)"
    target = library_path(source, cc)
    try:
        if target.parent.is_dir():
            _remove_stale_builds(target.parent)
        if not trusted(target):  # missing, another user's, writable by others, truncated or edited
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                return f"the cache folder {target.parent} cannot be created ({err.strerror})"
            if not os.access(target.parent, os.W_OK):
                return (
                    f"the cache folder {target.parent} is not writable (set FULLSPIKE_CACHE_DIR to a writable folder)"
                )
            _announce(str(target.parent))
            try:
                _build(source, cc, target)
            except OSError as err:  # no space left, the folder gone, ...
                return f"the cache folder {target.parent} cannot be written ({err})"
            if not trusted(target):
                return (
                    f"the compiled kernels in {target} cannot be trusted after a fresh build (the "
                    f"cache folder is shared?); set FULLSPIKE_CACHE_DIR to a folder of your own"
                )
        lib = ctypes.CDLL(str(target))
    except Unavailable as err:
        return str(err)
    except OSError as err:
        return f"the compiled kernels in {target} cannot be loaded ({err})"
    missing = [name for name in symbols if not hasattr(lib, name)]
    if missing:
        return (
            f"the compiled kernels in {target} lack {', '.join(missing)} (not built from this "
            f"source); delete that file and its .sha256 to rebuild it"
        )
    return lib


def unavailable(source: str, symbols: tuple[str, ...] = ()) -> Optional[str]:
    """None when ``source`` is compiled (or loaded from the cache) in this process and defines
    ``symbols``, else why it cannot be used; compiles it on first use. Cached per process."""
    lib = _load(source, symbols)
    return lib if isinstance(lib, str) else None


def load(source: str, symbols: tuple[str, ...] = ()) -> ctypes.CDLL:
    """The loaded library of ``source`` (compiled on first use) defining ``symbols``, or
    :class:`Unavailable`."""
    lib = _load(source, symbols)
    if isinstance(lib, str):
        raise Unavailable(lib)
    return lib
