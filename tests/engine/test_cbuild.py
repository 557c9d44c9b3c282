"""The compiled-kernel cache trusts only whole libraries of the current user: a truncated,
edited, group-writable or foreign library is rebuilt (never loaded, never a crash), a killed
compile's temporary files go, a library without the asked-for symbols is one line, and the
test session never writes to the user's cache."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fullspike.engine import cbuild

pytestmark = pytest.mark.skipif(cbuild.compiler() is None, reason="no C compiler")

SOURCE = "int fs_answer(void) { return 42; }\n/* %s */"
CHILD = textwrap.dedent(
    """
    import sys
    from fullspike.engine import cbuild
    print(cbuild.load(%r %% sys.argv[1]).fs_answer())
"""
    % SOURCE
)


def _child(cache: Path, tag: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FULLSPIKE_CACHE_DIR": str(cache), "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-c", CHILD, tag], env=env, capture_output=True, text=True, timeout=300)


def _library(cache: Path, tag: str) -> Path:
    old = os.environ.get("FULLSPIKE_CACHE_DIR")
    os.environ["FULLSPIKE_CACHE_DIR"] = str(cache)
    try:
        return cbuild.library_path(SOURCE % tag, cbuild.compiler())
    finally:
        os.environ["FULLSPIKE_CACHE_DIR"] = old


def _damage_truncate(lib: Path) -> None:
    data = lib.read_bytes()
    lib.write_bytes(data[: len(data) // 3])


def _damage_group_writable(lib: Path) -> None:
    lib.chmod(0o777)


def _damage_replace(lib: Path) -> None:
    # another (valid) library under the cached name, as an attacker with write access would put
    # there: its recorded digest no longer matches, so it is never loaded
    other = lib.with_name("other.so")
    subprocess.run(
        [*cbuild.compiler(), "-shared", "-fPIC", "-x", "c", "-", "-o", str(other)],
        input="int fs_answer(void) { return 13; }",
        text=True,
        check=True,
    )
    os.replace(other, lib)


def _damage_no_record(lib: Path) -> None:
    cbuild.digest_path(lib).unlink()  # a cache of a fullspike that recorded no digest


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_group_writable, _damage_replace, _damage_no_record])
def test_a_damaged_or_untrusted_cached_library_is_rebuilt_not_loaded(tmp_path, damage):
    tag = damage.__name__
    first = _child(tmp_path, tag)
    assert first.returncode == 0 and first.stdout.strip() == "42", first.stderr
    lib = _library(tmp_path, tag)
    damage(lib)
    second = _child(tmp_path, tag)  # a crash (SIGBUS on a truncated library) would be rc < 0
    assert second.returncode == 0 and second.stdout.strip() == "42", (second.returncode, second.stderr)
    assert "BuildNotice" in second.stderr  # it was compiled again
    assert cbuild.trusted(lib) and not lib.stat().st_mode & 0o022


def test_a_library_of_another_user_is_not_trusted(tmp_path, monkeypatch):
    assert _child(tmp_path, "owner").returncode == 0
    lib = _library(tmp_path, "owner")
    assert cbuild.trusted(lib)
    uid = os.getuid()
    monkeypatch.setattr(cbuild.os, "getuid", lambda: uid + 1)
    assert not cbuild.trusted(lib)


def test_leftovers_of_a_killed_compile_are_removed_and_running_ones_kept(tmp_path):
    native = tmp_path / "native"
    native.mkdir()
    stale, fresh = native / ".building-dead.so", native / ".building-live.so"
    stale.write_bytes(b"half a library")
    fresh.write_bytes(b"a compile in progress")
    old = time.time() - 3 * cbuild.TIMEOUT_S
    os.utime(stale, (old, old))
    res = _child(tmp_path, "leftovers")
    assert res.returncode == 0 and res.stdout.strip() == "42", res.stderr
    assert not stale.exists() and fresh.exists()


def test_a_library_without_the_expected_symbols_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("FULLSPIKE_CACHE_DIR", str(tmp_path))
    source = SOURCE % f"symbols {tmp_path}"
    why = cbuild.unavailable(source, ("fs_answer", "fs_forward"))
    assert why is not None and "lack fs_forward" in why and "\n" not in why
    with pytest.raises(cbuild.Unavailable, match="lack fs_forward"):
        cbuild.load(source, ("fs_forward",))
    assert cbuild.load(source, ("fs_answer",)).fs_answer() == 42


def test_the_test_session_compiles_into_its_own_cache_not_the_users():
    home = Path(os.path.expanduser("~")) / ".cache" / "fullspike"
    xdg = Path(os.environ.get("XDG_CACHE_HOME", home.parent)) / "fullspike"
    assert os.environ.get("FULLSPIKE_CACHE_DIR")
    assert cbuild.cache_dir() not in (home, xdg)


def test_native_kernels_without_their_symbols_are_one_config_error_line(monkeypatch):
    import torch

    from fullspike import functional as SF
    from fullspike.engine import native
    from fullspike.errors import ConfigError
    from fullspike.surrogate import Triangle

    monkeypatch.setattr(native, "SYMBOLS", (*native.SYMBOLS, "fs_not_in_the_library"))
    with pytest.raises(ConfigError, match="lack fs_not_in_the_library") as err:
        SF.neuron_sequence(torch.randn(3, 2, 4), decay=0.9, backend="native", surrogate=Triangle())
    assert "\n" not in str(err.value)
