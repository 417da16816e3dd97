"""Record structure of the normalised text (start line and field count of each record, quotes respected)
and the :class:`DataError` that names the first line whose field count is wrong."""

from __future__ import annotations

import csv
import io
import re

import numpy as np

from seqcore.data.io.options import CsvFormat
from seqcore.errors import DataError


def _explain_parse_error(raw: bytes, delimiter: str, n_fields: int, name: str, line_offset: int,
                         err: Exception):
    """Turn a pandas parser failure into a DataError that names the line."""
    layout = _layout(raw, delimiter)
    if layout["open_quote_line"] is not None:
        # parity says a quote is open at the end; confirm with the csv module (mid-field quotes are literal)
        bad = _csv_first_bad(raw, delimiter, n_fields)
        if bad is None or bad[1] < 0:
            line = bad[0] if bad else layout["open_quote_line"]
            raise DataError(
                f"'{name}' has a double quote (\") opened on line {line + line_offset:,} that is never closed. "
                "Close the quote, or remove it if it is part of the text.") from None
        _raise_field_count(name, bad[0] + line_offset, bad[1], n_fields, 1)
    _check_field_counts(layout, n_fields, name, line_offset)
    msg = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        _raise_field_count(name, int(m.group(2)) + line_offset, int(m.group(3)), int(m.group(1)), 1)
    m = re.search(r"EOF inside string starting at row (\d+)", msg)
    if m:
        raise DataError(f"'{name}' has a double quote (\") that is never closed (near data row "
                        f"{int(m.group(1)):,}). Close the quote, or remove it if it is part of the text.") from None
    raise DataError(f"'{name}' could not be read as CSV: {msg[:200]}. Check that it is a plain CSV file "
                    "(save it again as CSV UTF-8) and try again.") from None


def _csv_first_bad(raw: bytes, delimiter: str, n_fields: int) -> tuple[int, int] | None:
    """Slow exact check with the csv module: (start line, fields) of the first record whose field
    count differs from ``n_fields`` (fields = -1 for a quote still open at the end), or None."""
    text = raw.decode("utf-8")
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, len(text) + 1))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"', strict=False)
    prev = 0
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    try:
        for rec in reader:
            start = prev + 1
            prev = reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            if len(rec) != n_fields:
                if reader.line_num >= n_lines and text.count('"') % 2:
                    return start, -1
                return start, len(rec)
    except csv.Error:
        return prev + 1, -1
    finally:
        csv.field_size_limit(old)
    return None


def _raise_field_count(name: str, line: int, found: int, expected: int, n_bad: int):
    more = f" ({n_bad:,} lines like this)" if n_bad > 1 else ""
    raise DataError(
        f"Line {line:,} of '{name}' has {found} field{'s' if found != 1 else ''} but the header has "
        f"{expected}{more}. Check the delimiter, and put text that contains the delimiter in double quotes.")


def _layout(raw: bytes, delimiter: str) -> dict:
    """Vectorised record structure of normalised (\\n) UTF-8 bytes, quotes respected.

    Returns dict with ``lines`` (int64, start line of each non-blank record, header included),
    ``fields`` (int64, field count of each) and ``open_quote_line`` (line of a never-closed quote or None).
    """
    arr = np.frombuffer(raw, dtype=np.uint8)
    n = arr.size
    nl = np.flatnonzero(arr == 10)
    if b'"' in raw:
        par = np.bitwise_xor.accumulate((arr == 34).view(np.uint8))
        outside = par[nl] == 0
        open_quote = bool(par[-1]) if n else False
    else:
        par = None
        outside = np.ones(nl.size, dtype=bool)
        open_quote = False
    idx = np.flatnonzero(outside)
    starts = np.concatenate([[0], nl[idx] + 1]).astype(np.int64)
    lines = np.concatenate([[1], idx + 2]).astype(np.int64)
    keep = starts < n
    starts, lines = starts[keep], lines[keep]
    open_quote_line = None
    if open_quote:
        # the unmatched quote is the last one that turns parity to 1 (it stays 1 up to the end)
        flips = np.flatnonzero((arr == 34) & (par == 1))
        pos = int(flips[-1])
        open_quote_line = int(np.searchsorted(nl, pos, side="left")) + 1
    if starts.size == 0:
        return {"lines": lines, "fields": np.zeros(0, np.int64), "open_quote_line": open_quote_line}
    nonws = (arr > 32).view(np.uint8)
    nonblank = np.maximum.reduceat(nonws, starts) > 0
    is_delim = arr == ord(delimiter)
    if par is not None:
        is_delim &= par == 0
    dpos = np.flatnonzero(is_delim)
    fields = np.bincount(np.searchsorted(starts, dpos, side="right") - 1, minlength=starts.size) + 1
    return {"lines": lines[nonblank], "fields": fields[nonblank].astype(np.int64),
            "open_quote_line": open_quote_line}


def _check_field_counts(layout: dict, n_fields: int, name: str, line_offset: int) -> None:
    bad = np.flatnonzero(layout["fields"] != n_fields)
    if bad.size:
        i = int(bad[0])
        _raise_field_count(name, int(layout["lines"][i]) + line_offset, int(layout["fields"][i]), n_fields,
                           int(bad.size))


def _check_rows(raw: bytes, fmt: CsvFormat, n_fields: int, n_records: int, name: str,
                line_offset: int) -> dict | None:
    """After a successful parse: find rows pandas padded (too few fields) or absorbed (too many).

    Returns the vectorised layout when it agrees with what pandas read (reused for line numbers).
    """
    layout = _layout(raw, fmt.delimiter)
    if layout["open_quote_line"] is None and layout["lines"].size == n_records:
        _check_field_counts(layout, n_fields, name, line_offset)
        return layout
    bad = _csv_first_bad(raw, fmt.delimiter, n_fields)  # quotes inside fields confuse the fast check
    if bad is not None and bad[1] >= 0:
        _raise_field_count(name, bad[0] + line_offset, bad[1], n_fields, 1)
    return None
