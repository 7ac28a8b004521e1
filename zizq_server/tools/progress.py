"""Progress for the byte-moving commands, and the human-readable size.

On a terminal ``backup`` and ``restore`` show a tqdm bar (bytes so far,
rate, and for restore the share of the archive read); off a terminal they
print only the spec's lines, so scripts and logs see exactly those.
"""

from tqdm import tqdm

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def bar(stream, total: int | None = None, description: str = "") -> tqdm:
    """A byte progress bar on ``stream``, disabled unless it is a terminal."""
    return tqdm(
        total=total,
        desc=description or None,
        unit="B",
        unit_scale=True,  # tqdm's prefixes are SI ones: kB, MB (powers of 1000)
        file=stream,
        disable=not _isatty(stream),
        leave=False,
    )


def _isatty(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def human_size(size: int) -> str:
    """``42.0 MiB``: binary units, one decimal, bytes as a whole number."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    if unit == "B":
        return f"{size} B"
    return f"{value:.1f} {unit}"
