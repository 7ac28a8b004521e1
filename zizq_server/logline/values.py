"""The field type both twins of the line builders tell apart (``Quoted``).

Its own module so that ``_cy`` and ``_py`` import it without importing
the package that chooses between them.
"""


class Quoted(str):
    """A string field value printed in double quotes by the text formats."""

    __slots__ = ()
