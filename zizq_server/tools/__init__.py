"""Library code of the operator's commands (backup, restore, compact).

The management commands parse options and call these; each module owns one
operation, and every failure a user should see is a ``ToolError`` whose
text the command prints as ``Error: <text>``.
"""


class ToolError(Exception):
    """Raised when an operator command cannot do what it was asked."""
