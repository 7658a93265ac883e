"""Text from outside (crawled titles, names, file keys, folder names) made safe to print to a
terminal: control characters, escape sequences among them, and bidirectional overrides are shown
as escapes (`\\x1b`, `\\u202e`) instead of acting on the terminal. JSON output needs none of this:
its encoder escapes them already."""

from __future__ import annotations

import re

__all__ = ["rich_text", "terminal_text"]

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_text(value: object) -> str:
    """`value` as text with every control character shown as an escape."""
    return _UNSAFE.sub(lambda match: match[0].encode("unicode_escape").decode("ascii"), str(value))


def rich_text(value: object) -> str:
    """`terminal_text` for a rich table or console line: its markup (`[red]`) escaped too."""
    from rich.markup import escape

    return escape(terminal_text(value))
