"""The generated blocks of ``bench/RESULTS.md``: each benchmark's ``--update-results`` writes its table
between its own begin/end markers and keeps every other line of the file."""

from __future__ import annotations


def marked(begin: str, end: str, body: str) -> str:
    """``body`` between the two marker lines."""
    return f"{begin}\n{body}\n{end}"


def replace_marked(text: str, begin: str, end: str, block: str) -> str | None:
    """``text`` with its ``begin`` ... ``end`` block (markers included) replaced by ``block``; None when the
    markers are not there (each benchmark then decides where a first block goes)."""
    if begin not in text:
        return None
    head, rest = text.split(begin, 1)
    if end not in rest:
        return None
    return head + block + rest.split(end, 1)[1]
