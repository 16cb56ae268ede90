"""Reading the user's files with bounds: kind, size, time, encoding."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from prgcloud import files


def test_a_regular_file_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("workerPoolSpecs: []\n", encoding="utf-8")
    assert files.read_text(str(path), limit=100) == "workerPoolSpecs: []\n"


@pytest.mark.parametrize(
    ("path", "says"),
    [
        pytest.param("/dev/zero", "a device", id="endless-device"),
        pytest.param("/", "a directory", id="directory"),
    ],
)
def test_what_is_neither_a_file_nor_a_pipe_is_refused(path: str, says: str) -> None:
    with pytest.raises(files.FileRefusedError) as caught:
        files.read_text(path, limit=100)
    assert says in caught.value.strerror


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x" * 101)
    with pytest.raises(files.FileRefusedError) as caught:
        files.read_text(str(path), limit=100)
    assert "larger than" in caught.value.strerror


def test_a_fifo_without_a_writer_is_refused_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(files.FileRefusedError) as caught:
        files.read_text(str(fifo), limit=100)
    assert "said nothing within 1 s" in caught.value.strerror


def test_a_pipe_that_finishes_is_read_like_a_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w", encoding="utf-8") as f:
            f.write("displayName: x\n")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert files.read_text(str(fifo), limit=100) == "displayName: x\n"
    finally:
        writer.join()


def test_bytes_that_are_not_utf8_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "binary"
    path.write_bytes(b"ok\xff\xfe")
    with pytest.raises(files.FileRefusedError) as caught:
        files.read_text(str(path), limit=100)
    assert "not UTF-8" in caught.value.strerror


def test_a_missing_file_is_an_ordinary_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        files.read_text(str(tmp_path / "absent"), limit=100)
