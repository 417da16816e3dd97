"""Request and response bodies of the prediction service, without any web framework.

JSON rows become the CSV text ``seqcore predict`` would read (:func:`json_rows_csv`), so they go through the
same reader (:func:`seqcore.data.io.read_csv`), the same column checks and the same plain messages as an
uploaded file; a message about "line N" of that CSV is turned into "row N-1", the row of the request
(:func:`rows_message`). Predictions go back as JSON with the same numbers as ``seqcore predict``'s CSV
(:func:`frame_json`): floats keep every digit (``repr``, as pandas writes them), NaN becomes null.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re

import numpy as np
import pandas as pd

from seqcore.errors import UserError

#: the two JSON forms of a request
FORMS = ('{"rows": [{"column": value, ...}, ...]}', '{"columns": [...], "data": [[value, ...], ...]}')


class BodyError(UserError):
    """The request body cannot be read at all (not JSON, or neither JSON form): HTTP 400."""


def parse_json(body: bytes):
    """The JSON value of ``body``; a plain :class:`BodyError` when it is not UTF-8 JSON."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as err:
        raise BodyError(f"The request body is not UTF-8 text (byte {err.start:,}).",
                        hint="Send JSON encoded as UTF-8.") from err
    except json.JSONDecodeError as err:
        raise BodyError(f"The request body is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno}).",
                        hint=f"Send {FORMS[0]} or {FORMS[1]}.") from err


def _no_constant(name: str):
    raise BodyError(f"The request body holds {name}, which is not JSON.",
                    hint="Leave the value out or send null for a missing value.")


def json_rows_csv(payload) -> bytes:
    """The CSV bytes (header, then one line per row) of a JSON request in either form of :data:`FORMS`."""
    if isinstance(payload, dict) and "rows" in payload and set(payload) <= {"rows"}:
        rows = payload["rows"]
        if not isinstance(rows, list):
            raise BodyError('"rows" must be a list of objects, one per row.', hint=f"Send {FORMS[0]}.")
        columns: dict[str, None] = {}
        for i, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise BodyError(f"Row {i:,} of \"rows\" is not an object of column names and values.",
                                hint=f"Send {FORMS[0]}.")
            columns.update(dict.fromkeys(row))
        names = list(columns)
        table = [[row.get(c) for c in names] for row in rows]
    elif isinstance(payload, dict) and {"columns", "data"} <= set(payload) and set(payload) <= {"columns", "data"}:
        names, table = payload["columns"], payload["data"]
        if not isinstance(names, list) or not all(isinstance(c, str) for c in names):
            raise BodyError('"columns" must be a list of column names (text).', hint=f"Send {FORMS[1]}.")
        if len(set(names)) != len(names):
            dup = next(c for c in names if names.count(c) > 1)
            raise BodyError(f'"columns" names the column {dup!r} twice.', hint="Give every column once.")
        if not isinstance(table, list):
            raise BodyError('"data" must be a list of rows, each a list of values.', hint=f"Send {FORMS[1]}.")
        for i, row in enumerate(table, 1):
            if not isinstance(row, list) or len(row) != len(names):
                got = f"{len(row):,} values" if isinstance(row, list) else "not a list"
                raise BodyError(f"Row {i:,} of \"data\" has {got}; \"columns\" names {len(names):,}.",
                                hint="Give every row one value per column (null for a missing value).")
    else:
        raise BodyError("The JSON body is in neither form this service reads.", hint=f"Send {FORMS[0]} or {FORMS[1]}.")
    if not table:
        raise BodyError("The request has no rows to predict on.", hint="Send at least one row.")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(names)
    for i, row in enumerate(table, 1):
        w.writerow([_cell(v, i, names[j]) for j, v in enumerate(row)])
    return out.getvalue().encode("utf-8")


def _cell(value, row: int, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    kind = "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else type(value).__name__
    raise BodyError(f"Row {row:,}, column {column!r} holds {kind}; a cell is a number, text, true/false or null.",
                    hint="Send one plain value per cell.")


_LINE = re.compile(r"\b(Row on line|on line|line) (\d[\d,]*)")


def rows_message(message: str) -> str:
    """A message about the CSV made from JSON rows, with its "line N" (the header is line 1) told as the
    request's "row N-1"."""
    def swap(m: re.Match) -> str:
        row = int(m.group(2).replace(",", "")) - 1
        lead = {"Row on line": "Row", "on line": "in row", "line": "row"}[m.group(1)]
        return f"{lead} {row:,}"

    return _LINE.sub(swap, message)


def frame_json(frame: pd.DataFrame) -> dict:
    """``{"columns": [...], "predictions": [{column: value}, ...]}``: the numbers ``seqcore predict`` writes
    to CSV (floats exact, dates as pandas writes them), NaN and missing values as null."""
    columns = [str(c) for c in frame.columns]
    values = [_column_values(frame.iloc[:, j]) for j in range(frame.shape[1])]
    return {"columns": columns, "predictions": [dict(zip(columns, row)) for row in zip(*values)] if values else []}


def _column_values(s: pd.Series) -> list:
    missing = s.isna().to_numpy()
    if pd.api.types.is_bool_dtype(s):
        vals = [bool(v) for v in s]
    elif pd.api.types.is_integer_dtype(s):
        vals = [int(v) if not m else None for v, m in zip(s, missing)]
    elif pd.api.types.is_float_dtype(s):
        arr = s.to_numpy()
        # float64 as it is (json writes repr, as to_csv does); narrower floats as to_csv prints them
        vals = [float(v) for v in arr] if arr.dtype == np.float64 else [float(str(v)) for v in arr]
    elif pd.api.types.is_datetime64_any_dtype(s):
        # exactly as to_csv writes them (dates alone when every time is midnight); never a comma or quote
        vals = s.to_csv(index=False, header=False, lineterminator="\n").split("\n")[:len(s)]
    else:
        vals = [_plain(v) for v in s]
    return [None if m or (isinstance(v, float) and not math.isfinite(v)) else v for v, m in zip(vals, missing)]


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (pd.Timestamp, pd.Timedelta)):
        return str(v)
    return v
