"""Frame rows -> file lines: the compact mapping :func:`read_csv` stores in ``df.attrs`` and the functions
that read it back (line numbers for messages, the format a frame was read with)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.data.io.layout import _layout
from seqcore.data.io.options import ATTRS_KEY, CsvFormat


def line_numbers(df: pd.DataFrame, rows) -> np.ndarray:
    """File line numbers (1-based, header = line 1) of the rows with index labels ``rows``.

    Uses the mapping :func:`read_csv` stores in ``df.attrs``; without it, assumes a header line
    followed by one line per row (label 0 -> line 2). Returns int64 array of ``len(rows)``.
    """
    rows = np.asarray(rows)
    if rows.dtype.kind not in "iu":
        rows = np.asarray([df.index.get_loc(r) for r in rows], dtype=np.int64)
    info = df.attrs.get(ATTRS_KEY) or {}
    first = int(info.get("first_line", 2))
    out = rows.astype(np.int64) + first
    jumps = info.get("jumps")
    if jumps and len(jumps) == 2 and len(jumps[0]):
        at, extra = np.frombuffer(jumps[0], dtype=np.int64), np.frombuffer(jumps[1], dtype=np.int64)
        k = np.searchsorted(at, rows, side="right") - 1
        out = out + np.where(k >= 0, extra[np.clip(k, 0, None)], 0)
    return out


def line_number(df: pd.DataFrame, row) -> int:
    """File line number of one row label (see :func:`line_numbers`)."""
    return int(line_numbers(df, [row])[0])


def csv_format(df: pd.DataFrame) -> CsvFormat | None:
    """The :class:`CsvFormat` a frame from :func:`read_csv` was read with, if still attached."""
    info = df.attrs.get(ATTRS_KEY) or {}
    return CsvFormat.from_dict(info["format"]) if info.get("format") else None


def _attach_lines(df: pd.DataFrame, raw: bytes, has_header: bool, line_offset: int, layout: dict | None,
                  fmt: CsvFormat, name: str) -> None:
    """Store the row -> file-line mapping compactly in ``df.attrs`` (jumps only where it changes)."""
    n_rows = len(df)
    first = (2 if has_header else 1) + line_offset
    lines = None
    n_newlines = raw.count(b"\n")
    simple = n_newlines in (n_rows + has_header, n_rows + has_header - 1) and not raw.startswith(b"\n")
    if not simple:
        layout = layout or _layout(raw, fmt.delimiter)
        lines = layout["lines"][1:] if has_header else layout["lines"]
        lines = lines + line_offset if lines.size == n_rows and n_rows else None
    attach_rows(df, fmt, name, first, lines)


def attach_rows(df: pd.DataFrame, fmt: CsvFormat, name: str, first: int, lines: np.ndarray | None = None,
                header: bool | None = None) -> None:
    """Store in ``df.attrs`` the format a frame was read with and its row -> line mapping: row 0 is on line
    ``first`` and each row on the next, unless ``lines`` (one line number per row) says otherwise.

    For an Excel sheet the "lines" are the sheet's row numbers."""
    # [row positions where the offset changes, extra lines from there on], int64 as bytes: immutable, so
    # pandas' deepcopy / equality checks of attrs stay cheap and never compare arrays
    jumps: list[bytes] = []
    if lines is not None and len(lines) == len(df) and len(df):
        extra = np.asarray(lines, dtype=np.int64) - np.arange(len(df)) - first
        change = np.flatnonzero(np.diff(extra, prepend=0) != 0)
        jumps = [change.astype(np.int64).tobytes(), extra[change].astype(np.int64).tobytes()]
    df.attrs[ATTRS_KEY] = {"format": fmt.to_dict(), "name": name, "first_line": first, "jumps": jumps}
    if header is not None:
        df.attrs[ATTRS_KEY]["header"] = header
