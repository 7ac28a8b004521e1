"""Human-readable sizes of the backup message, and the bar off a terminal."""

from io import StringIO

import pytest

from zizq_server.tools.progress import bar, human_size


@pytest.mark.parametrize(
    "size, text",
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (42 * 1024**2, "42.0 MiB"),
        (3 * 1024**3 + 1, "3.0 GiB"),
        (5 * 1024**6, "5120.0 PiB"),
    ],
)
def test_human_size(size, text):
    assert human_size(size) == text


def test_bar_writes_nothing_off_a_terminal():
    stream = StringIO()
    with bar(stream, 100, "restore") as progress:
        progress.update(60)
    assert stream.getvalue() == ""
