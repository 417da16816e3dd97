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


def write_block(path, begin: str, end: str, body: str, heading: str) -> None:
    """Write ``body`` between the ``begin`` / ``end`` markers of the file at ``path``, keeping every other line;
    the first time (no markers yet), append a new section: ``heading``, then the marked block."""
    from pathlib import Path

    path = Path(path)
    text = path.read_text() if path.exists() else ""
    block = marked(begin, end, body)
    new = replace_marked(text, begin, end, block)
    if new is None:
        new = text.rstrip() + "\n\n" + heading + "\n\n" + block + "\n"
    path.write_text(new)


def table_lines(header, rows) -> list[str]:
    """A markdown table as lines: the header, its separator, one line per row of cells."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
        ["| " + " | ".join(cells) + " |" for cells in rows]
