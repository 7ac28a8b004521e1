"""The restore extractor on real archives, well-formed and hostile."""

import gzip
import io
import os
import tarfile
from io import StringIO
from pathlib import Path

import pytest

from zizq_server.tools import ToolError, archive
from zizq_server.tools.restore import restore


def _entry(tar, name, data=b"", kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _archive(path, entries) -> str:
    """A tar.gz at ``path`` of ``(name, data[, kind, linkname])`` entries."""
    with tarfile.open(path, "w:gz") as tar:
        for entry in entries:
            _entry(tar, *entry)
    return str(path)


GOOD = (
    ("zizq-root/data", b"", tarfile.DIRTYPE),
    ("zizq-root/data/CURRENT", b"MANIFEST-000001\n"),
    ("zizq-root/data/000001.sst", os.urandom(300_000)),
)


@pytest.fixture
def work(tmp_path):
    """A directory holding the archives, and the target's parent beside it."""
    (tmp_path / "archives").mkdir()
    (tmp_path / "parent").mkdir()
    return tmp_path


def _files(directory) -> dict:
    """Every path under ``directory`` (relative) -> its bytes (None: a dir)."""
    found = {}
    for parent, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(parent, name)
            relative = os.path.relpath(path, directory)
            found[relative] = None if os.path.isdir(path) else Path(path).read_bytes()
    return found


def _refused(work, path, message):
    stderr = StringIO()
    before = _files(work)
    with pytest.raises(ToolError, match=message):
        restore(path, str(work / "parent" / "root"), stderr)
    assert _files(work) == before  # nothing written, nothing left behind
    return stderr.getvalue()


def test_restore_strips_the_prefix_and_skips_entries_outside_it(work):
    entries = GOOD + (
        ("elsewhere/file", b"x"),
        ("/abs/file", b"x"),
        ("zizq-rootx/f", b"y"),
    )
    path = _archive(work / "archives" / "b.tar.gz", entries)
    stderr = StringIO()
    restore(path, str(work / "parent" / "root"), stderr)
    assert _files(work / "parent") == {
        "root": None,
        os.path.join("root", "data"): None,
        os.path.join("root", "data", "CURRENT"): b"MANIFEST-000001\n",
        os.path.join("root", "data", "000001.sst"): GOOD[2][1],
    }
    root = work / "parent" / "root"
    assert (
        stderr.getvalue() == f"Restoring from {path} to {root}...\nRestore complete.\n"
    )


def test_restore_into_an_existing_empty_directory(work):
    path = _archive(work / "archives" / "b.tar.gz", GOOD)
    (work / "parent" / "root").mkdir()
    restore(path, str(work / "parent" / "root"), StringIO())
    assert (work / "parent" / "root" / "data" / "CURRENT").exists()


def test_restore_creates_missing_parents(work):
    path = _archive(work / "archives" / "b.tar.gz", GOOD)
    restore(path, str(work / "parent" / "a" / "b"), StringIO())
    assert (work / "parent" / "a" / "b" / "data" / "CURRENT").exists()


def test_restore_refuses_a_non_empty_target(work):
    path = _archive(work / "archives" / "b.tar.gz", GOOD)
    (work / "parent" / "root").mkdir()
    (work / "parent" / "root" / "keep").write_bytes(b"mine")
    root = work / "parent" / "root"
    message = (
        f"target directory {root} is not empty — remove it first or use "
        "--root-dir to specify a different location"
    )
    with pytest.raises(ToolError) as caught:
        restore(path, str(root), StringIO())
    assert str(caught.value) == message
    assert _files(work / "parent") == {
        "root": None,
        os.path.join("root", "keep"): b"mine",
    }


def test_restore_refuses_a_missing_archive(work):
    missing = str(work / "archives" / "nope.tar.gz")
    with pytest.raises(ToolError) as caught:
        restore(missing, str(work / "parent" / "root"), StringIO())
    assert str(caught.value) == f"backup file not found: {missing}"
    assert not os.listdir(work / "parent")


def test_restore_refuses_a_file_that_is_not_gzip(work):
    path = work / "archives" / "plain.tar"
    with tarfile.open(path, "w") as tar:
        _entry(tar, "zizq-root/data/CURRENT", b"x")
    _refused(work, str(path), "is not a gzip archive")


def test_restore_refuses_an_empty_file(work):
    path = work / "archives" / "empty.tar.gz"
    path.write_bytes(b"")
    _refused(work, str(path), "is not a gzip archive")


def test_restore_refuses_corrupt_compressed_data(work):
    path = _archive(work / "archives" / "b.tar.gz", GOOD)
    data = bytearray(Path(path).read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    Path(path).write_bytes(bytes(data))
    _refused(work, path, "is corrupt")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_restore_refuses_a_truncated_archive(work, keep):
    path = _archive(work / "archives" / "b.tar.gz", GOOD)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep)])
    _refused(work, path, "is truncated|is corrupt")


def test_restore_refuses_an_archive_cut_on_a_tar_block_boundary(work):
    """The tar stream alone looks complete; the missing gzip trailer tells."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for entry in GOOD:
            _entry(tar, *entry)
    tar_bytes = raw.getvalue()
    cut = tar_bytes[: 512 * 3]  # the directory and CURRENT, nothing after
    whole = gzip.compress(tar_bytes)
    compressor_output = gzip.compress(cut)[:-8]  # no CRC and length trailer
    assert whole != compressor_output
    path = work / "archives" / "cut.tar.gz"
    path.write_bytes(compressor_output)
    _refused(work, str(path), "is truncated")


def test_restore_refuses_an_archive_without_zizq_root_entries(work):
    path = _archive(work / "archives" / "other.tar.gz", (("data/CURRENT", b"x"),))
    _refused(work, path, "holds no entries under zizq-root/")


@pytest.mark.parametrize(
    "entry",
    [
        ("zizq-root/../escaped", b"x"),
        ("zizq-root/data/../../escaped", b"x"),
        ("zizq-root/data/link", b"", tarfile.SYMTYPE, "/etc/passwd"),
        ("zizq-root/data/link", b"", tarfile.SYMTYPE, "../../escaped"),
        ("zizq-root/data/link", b"", tarfile.SYMTYPE, "CURRENT"),
        ("zizq-root/data/hard", b"", tarfile.LNKTYPE, "/etc/passwd"),
        ("zizq-root/data/hard", b"", tarfile.LNKTYPE, "zizq-root/data/CURRENT"),
        ("zizq-root/data/fifo", b"", tarfile.FIFOTYPE),
        ("zizq-root/data/dev", b"", tarfile.CHRTYPE),
    ],
)
def test_restore_refuses_hostile_entries(work, entry):
    path = _archive(work / "archives" / "hostile.tar.gz", GOOD + (entry,))
    _refused(work, path, "holds an entry")


def test_restore_refuses_a_write_through_a_planted_link(work):
    """A link followed by a file 'inside' it never reaches the link's target."""
    entries = (
        ("zizq-root/data", b"", tarfile.DIRTYPE),
        ("zizq-root/data/out", b"", tarfile.SYMTYPE, str(work / "archives")),
        ("zizq-root/data/out/planted", b"evil"),
    )
    path = _archive(work / "archives" / "planted.tar.gz", entries)
    _refused(work, path, "holds an entry")
    assert not (work / "archives" / "planted").exists()


def test_restore_reads_what_the_server_writes(work):
    source = work / "source"
    (source / "sub").mkdir(parents=True)
    (source / "CURRENT").write_bytes(b"MANIFEST-000009\n")
    (source / "sub" / "x.sst").write_bytes(os.urandom(1_000_000))
    path = work / "archives" / "server.tar.gz"
    with open(path, "wb") as sink:
        archive.write(str(source), sink)
    with tarfile.open(path) as tar:
        assert all(name.startswith("zizq-root/data") for name in tar.getnames())
    restore(str(path), str(work / "parent" / "root"), StringIO())
    assert _files(work / "parent" / "root" / "data") == _files(source)
