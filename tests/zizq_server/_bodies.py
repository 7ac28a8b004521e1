"""A body both the helper server and its tests can rebuild byte for byte."""


def pattern(size: int) -> bytes:
    """``size`` bytes cycling through 0..250 (a prime period, so a dropped or
    repeated segment of any power-of-two size shows)."""
    return bytes(range(251)) * (size // 251) + bytes(range(size % 251))
