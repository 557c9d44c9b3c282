"""Output locations: checked up front, write failures as one OutputError naming what and where."""

import errno
import os

import pytest

from fullspike.errors import DatasetError, OutputError
from fullspike.output_paths import (
    exclusive_folder,
    folders_made,
    output_dir,
    output_file,
    remove_empty_folders,
    writing,
)


def test_output_dir_creates_and_returns_a_writable_folder(tmp_path):
    out = output_dir(tmp_path / "a" / "b", "energy.json")
    assert out.is_dir() and list(out.iterdir()) == []  # the write check leaves nothing behind


def test_a_folder_under_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError) as e:
        output_dir(tmp_path / "file" / "out", "energy.json")
    msg = str(e.value)
    assert msg == (
        f"cannot write energy.json to {tmp_path / 'file' / 'out'}: a part of the path is a file, "
        f"not a folder; choose another location"
    )


def test_read_only_file_system_is_one_line(tmp_path, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)  # root ignores chmod; fake the mount
    with pytest.raises(
        OutputError,
        match=r"cannot write results to .*out: the file system is read-only; "
        r"choose another location",
    ):
        output_dir(tmp_path / "out", "results")


def test_a_failed_write_check_names_the_output_not_the_probe_file(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, dir=None, prefix="", **kwargs):  # what a folder without write permission answers
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.path.join(dir, prefix + "x1y2"))

    monkeypatch.setattr(tempfile, "TemporaryFile", denied)
    with pytest.raises(OutputError) as e:
        output_file(tmp_path / "r.json", "the results")
    assert str(e.value).startswith(f"cannot write the results to {tmp_path / 'r.json'}: ")
    with pytest.raises(OutputError) as e:
        output_dir(tmp_path / "out", "results")
    assert str(e.value).startswith(f"cannot write results to {tmp_path / 'out'}: ")
    assert "write-check" not in str(e.value)


def test_output_file_refuses_a_folder(tmp_path):
    with pytest.raises(OutputError, match="it is a folder; give a file name"):
        output_file(tmp_path, "the results")
    assert output_file(tmp_path / "new" / "r.json") == tmp_path / "new" / "r.json"


def test_full_disk_while_writing_is_one_line(tmp_path):
    with pytest.raises(OutputError) as e:
        with writing(tmp_path, "energy.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(e.value) == (
        f"cannot write energy.json to {tmp_path}: the disk is full; free some space or choose another location"
    )
    with pytest.raises(OutputError, match=r"to .*x\.json: the disk is full"):  # names the file when known
        with writing(tmp_path, "x.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "x.json"))


def test_writing_passes_other_errors_through(tmp_path):
    with pytest.raises(DatasetError):  # fullspike's own errors (DatasetError is an OSError too)
        with writing(tmp_path):
            raise DatasetError("train-images not found")
    elsewhere = tmp_path.parent / "data.bin"
    with pytest.raises(PermissionError):  # a file outside the output location: not a write failure
        with writing(tmp_path / "out"):
            raise PermissionError(errno.EACCES, "Permission denied", str(elsewhere))


@pytest.mark.skipif(os.name != "posix", reason="folders are held with POSIX advisory locks")
def test_a_held_folder_is_refused_until_its_holder_ends(tmp_path):
    import signal
    import subprocess
    import sys

    run = tmp_path / "run"
    with exclusive_folder(run):
        with pytest.raises(
            OutputError,
            match=rf"^{run} is in use by another process \(pid {os.getpid()}\) "
            r"writing a run there; wait for it to end",
        ):
            with exclusive_folder(run):
                pass
    with exclusive_folder(run):  # released when the block ended
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import sys, time
from fullspike.output_paths import exclusive_folder
with exclusive_folder({str(run)!r}):
    print("held", flush=True)
    time.sleep(60)
""",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match=f"pid {holder.pid}"):
            with exclusive_folder(run):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)  # killed, not ended cleanly: the lock goes with it
        holder.wait()
    with exclusive_folder(run) as held:
        assert held == run and (run / ".lock").read_text() == str(os.getpid())


def test_folders_made_collects_what_output_dir_creates_and_removes_only_empty_ones(tmp_path):
    (tmp_path / "there").mkdir()
    with folders_made() as made:
        output_dir(tmp_path / "there" / "a" / "b")
        output_dir(tmp_path / "there")  # existed: not collected
        output_dir(tmp_path / "c")
    first = [tmp_path / "there" / "a", tmp_path / "there" / "a" / "b", tmp_path / "c"]
    assert made == first
    (tmp_path / "c" / "result.json").write_text("{}")
    remove_empty_folders(made)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["c", "result.json", "there"]
    output_dir(tmp_path / "d")  # outside the block nothing is collected, nor removed
    assert (tmp_path / "d").is_dir() and made == first


def test_only_the_folders_a_call_made_are_collected_whatever_the_path_says(tmp_path):
    (tmp_path / "kept").mkdir()
    with folders_made() as made:
        output_dir(tmp_path / "new" / ".." / "kept")  # kept was there: only new is made
        output_dir(tmp_path / "kept" / "inner")
    assert made == [tmp_path / "new", tmp_path / "kept" / "inner"]
    remove_empty_folders(made)
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and not any((tmp_path / "kept").iterdir())


def test_a_folder_chain_made_before_a_failure_is_collected(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "file").write_text("x")
    with folders_made() as made, pytest.raises(OutputError):
        output_dir(tmp_path / "b" / "c" / ".." / ".." / "a" / "file" / "d")  # b and b/c made, then a file is in the way
    assert made == [tmp_path / "b", tmp_path / "b" / "c"]


def test_folders_are_removed_in_the_reverse_of_the_order_made(tmp_path):
    with folders_made() as made:
        output_dir(tmp_path / "q" / "r" / ".." / "t")  # q, q/r, q/t: q/r/.. has more parts than q/t
        output_dir(tmp_path / "q" / "t" / "u")
    remove_empty_folders(made)
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_a_file_the_command_reads_is_refused(tmp_path):
    ckpt = tmp_path / "run" / "checkpoint.pt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"weights")
    (tmp_path / "link.json").symlink_to(ckpt)
    os.link(ckpt, tmp_path / "hard.json")
    reads = {ckpt: "the checkpoint"}
    for out in (
        ckpt,
        tmp_path / "run" / ".." / "run" / "checkpoint.pt",
        tmp_path / "link.json",
        tmp_path / "hard.json",
    ):
        with pytest.raises(OutputError, match="it is the checkpoint .*which this command reads") as err:
            output_file(out, "the results", reads=reads)
        assert "\n" not in str(err.value) and "--out" in str(err.value)
    with pytest.raises(OutputError, match="cannot write checkpoint.pt"):
        output_dir(ckpt.parent, files=("energy.json", "checkpoint.pt"), reads=reads)
    assert ckpt.read_bytes() == b"weights"
    assert output_file(tmp_path / "run" / "results.json", reads=reads) == tmp_path / "run" / "results.json"
    assert output_dir(ckpt.parent, files=("energy.json",), reads=reads) == ckpt.parent
