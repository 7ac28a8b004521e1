"""The bottom line: the help bar, or the delete prompt (ADMIN_AND_CLI.md 7.2).

Keys are written key-then-label (`` TabChange Tab iInfo ...``); while
paused ``p`` reads ``Resume``, ``Info`` is struck through, and the edge
of the frozen rows is pointed out. A short note (``No match``) can follow.
"""

from rich.text import Text

_KEY = "bold"
_LABEL = "reverse"


def _item(text: Text, key: str, label: str, label_style: str = _LABEL) -> None:
    text.append(" ")
    text.append(key, style=_KEY)
    text.append(label, style=label_style)


def help_bar(paused: bool, at_frozen_edge: bool, note) -> Text:
    text = Text()
    _item(text, "Tab", "Change Tab")
    _item(text, "i", "Info", _LABEL + " strike" if paused else _LABEL)
    _item(text, "p", "Resume" if paused else "Pause")
    _item(text, "/", "Find")
    _item(text, "D", "Delete")
    _item(text, "q", "Quit")
    if paused and at_frozen_edge:
        text.append("  ↓ Resume to scroll further", style="yellow")
    if note:
        text.append(f"  {note}", style="yellow")
    return text


def delete_prompt(job_id: str) -> Text:
    text = Text(f" Delete job {job_id}? ")
    text.append("y", style=_KEY)
    text.append(" Yes  ")
    text.append("n", style=_KEY)
    text.append(" No")
    return text
