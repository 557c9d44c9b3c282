"""Output locations: checked up front, write failures as one OutputError naming what and where."""
import errno
import os

import pytest

from fullspike.errors import DatasetError, OutputError
from fullspike.outputs import output_dir, output_file, writing


def test_output_dir_creates_and_returns_a_writable_folder(tmp_path):
    out = output_dir(tmp_path / "a" / "b", "energy.json")
    assert out.is_dir() and list(out.iterdir()) == []  # the write check leaves nothing behind


def test_a_folder_under_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError) as e:
        output_dir(tmp_path / "file" / "out", "energy.json")
    msg = str(e.value)
    assert msg == (f"cannot write energy.json to {tmp_path / 'file' / 'out'}: a part of the path is a file, "
                   f"not a folder; choose another location")


def test_read_only_file_system_is_one_line(tmp_path, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)  # root ignores chmod; fake the mount
    with pytest.raises(OutputError, match=r"cannot write results to .*out: the file system is read-only; "
                                          r"choose another location"):
        output_dir(tmp_path / "out", "results")


def test_output_file_refuses_a_folder(tmp_path):
    with pytest.raises(OutputError, match="it is a folder; give a file name"):
        output_file(tmp_path, "the results")
    assert output_file(tmp_path / "new" / "r.json") == tmp_path / "new" / "r.json"


def test_full_disk_while_writing_is_one_line(tmp_path):
    with pytest.raises(OutputError) as e:
        with writing(tmp_path, "energy.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(e.value) == (f"cannot write energy.json to {tmp_path}: the disk is full; free some space or "
                            f"choose another location")
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
