"""Best-guess task and column roles (time, targets, features, label, id, order, text) from names and kinds."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from seqcore.errors import SpecError
from seqcore.data.schema.columns import infer_columns
from seqcore.data.schema.parsing import _KIND_SAMPLE, _is_numeric_dtype
from seqcore.data.schema.report import ColumnInfo
from seqcore.data.schema.timeformat import suggest_time

_LABEL_NAME = re.compile(r"^(labels?|class(es)?|target|y|category|outcome|sentiment|tag|classe|klasse|"
                         r"ground_?truth|gt)$", re.I)
_ID_NAME = re.compile(r"(^|[_\s-])(id|case|series|sequence|seq|sample|subject|instance|trial|unit|recording|"
                      r"session|participant|episode)"
                      r"([_\s-]|$)|^(case|series|sequence|sample|subject)(_?id)?$|^id$", re.I)
_ORDER_NAME = re.compile(r"^(t|step|steps|time_?step|timestep|time|order|idx|index|position|pos|frame|tick|"
                         r"sample_?index|seq_?index)$", re.I)
_TIME_NAME = re.compile(r"(year|date|time|month|week|day|quarter|period|timestamp|^t$|^step$|^ds$|^idx$|"
                        r"^index$|jahr|datum|annee|fecha)", re.I)


def _infos(df: pd.DataFrame, infos: list[ColumnInfo] | None) -> dict[str, ColumnInfo]:
    return {c.name: c for c in (infos if infos is not None else infer_columns(df))}


def _label_ok(c: ColumnInfo, n_rows: int) -> bool:
    if c.kind in ("empty", "text", "datetime") or c.n_unique < 2:
        return False
    if c.kind == "numeric" and (c.n_non_numeric or c.n_inf):
        return False
    limit = max(2, min(100, n_rows // 2))
    return c.n_unique <= limit


def _numeric_label(df: pd.DataFrame, infos: dict[str, ColumnInfo], exclude=()) -> str | None:
    """A class column written as numbers: the first or last column, whole numbers (1/2, -1/1, 1.0/2.0) with
    few distinct values, next to many numeric value columns (a header-less UCR file: ``column_1``)."""
    cols = list(infos.values())
    numeric = [c for c in cols if c.kind == "numeric"]
    n = len(df)
    if len(numeric) < 9 or n < 4:
        return None
    for c in (cols[0], cols[-1]):
        if c.name in exclude or c.kind != "numeric" or c.n_missing or not _label_ok(c, n) \
                or _TIME_NAME.search(c.name) or _ID_NAME.search(c.name) or not _is_integer_valued(df, c.name):
            continue
        # the value columns vary more than the label does (they are measurements, not codes)
        others = [o for o in numeric if o.name != c.name]
        if sum(o.n_unique > c.n_unique for o in others) >= 0.8 * len(others):
            return c.name
    return None


def _pick_label(df: pd.DataFrame, infos: dict[str, ColumnInfo], exclude=()) -> str | None:
    n = len(df)
    named = [c for c in infos.values() if c.name not in exclude and _LABEL_NAME.match(c.name) and _label_ok(c, n)]
    if named:
        return named[0].name
    numeric_label = _numeric_label(df, infos, exclude)
    if numeric_label is not None:
        return numeric_label
    cats = [c for c in infos.values() if c.name not in exclude and c.kind == "categorical" and _label_ok(c, n)
            and not _ID_NAME.search(c.name) and c.n_unique <= max(2, min(50, n // 5 or 2))]
    if cats:
        return min(cats, key=lambda c: c.n_unique).name
    return None


def _pick_long(df: pd.DataFrame, infos: dict[str, ColumnInfo], label: str | None) -> tuple[str | None, str | None]:
    """(id column, order column) when the data is in long format, else (None, None)."""
    n = len(df)
    ids = [c for c in infos.values() if c.name != label and _ID_NAME.search(c.name)
           and c.kind in ("numeric", "categorical") and 1 <= c.n_unique <= n // 2 and c.n_missing == 0
           and (c.kind == "categorical" or _is_integer_valued(df, c.name))]
    if not ids:
        return None, None
    id_col = ids[0].name
    orders = [c for c in infos.values() if c.name not in (label, id_col) and _ORDER_NAME.match(c.name)
              and c.kind in ("numeric", "datetime")]
    return id_col, orders[0].name if orders else None


def _is_integer_valued(df: pd.DataFrame, col: str) -> bool:
    s = df[col]
    if pd.api.types.is_integer_dtype(s.dtype):
        return True
    if not _is_numeric_dtype(s):
        return False
    v = s.to_numpy(dtype="float64", na_value=np.nan)
    v = v[np.isfinite(v)]
    return bool(v.size and np.all(v == np.round(v)))


def _row_id(c: ColumnInfo, n_rows: int) -> bool:
    """An id-named column with one distinct value per row (not a measurement)."""
    return bool(_ID_NAME.search(c.name)) and c.n_unique == n_rows and n_rows > 1


def _is_increasing_int(df: pd.DataFrame, col: str) -> bool:
    s = df[col]
    if not _is_numeric_dtype(s):
        return False
    v = s.to_numpy(dtype="float64", na_value=np.nan)
    if v.size < 2 or np.isnan(v).any() or not np.isfinite(v).all():
        return False
    return bool(np.all(v == np.round(v)) and np.all(np.diff(v) > 0))


_ROW_ID_NAME = re.compile(r"^(id|idx|index|row|rows|row_?(id|no|nr|num|number|index)|no|nr|num|number|#|n|"
                          r"record|record_?(id|no|number)|key|serial|counter|count_?id|obs|observation|"
                          r"unnamed:?\s*\d*|column_\d+)$|(^|[_\s-])(id|idx|index)$", re.I)


def _looks_like_row_id(df: pd.DataFrame, col: str) -> bool:
    """A row counter or id rather than a measurement: whole numbers counting 0, 1, 2, ... or 1, 2, 3, ...
    down the rows (whatever the name), or strictly increasing whole numbers in a column named like an id
    (id, index, row, no, record, ...)."""
    if not _is_increasing_int(df, col):
        return False
    v = df[col].to_numpy(dtype="float64")
    if v[0] in (0.0, 1.0) and np.all(np.diff(v) == 1):
        return True
    return bool(_ROW_ID_NAME.search(str(col).strip()))


# names that say "this is the series to forecast" (a stock file's Close, Prophet's y)
_TARGET_NAME = re.compile(r"^(close|y|target)$", re.I)


def _is_measurement(df: pd.DataFrame, inf: dict[str, ColumnInfo], name: str, n_numeric: int) -> bool:
    """A column worth forecasting: not a row counter or id, not a calendar part (year, quarter, month ...)."""
    if _looks_like_row_id(df, name) or (_ID_NAME.search(name) and n_numeric > 2):
        return False
    if _TIME_NAME.search(name) and _is_integer_valued(df, name):
        return False
    return True


def _pick_targets(df: pd.DataFrame, inf: dict[str, ColumnInfo], numeric: list[str], time: str | None) -> list[str]:
    """The first numeric column that is a measurement (the usual place of the main series, right after the
    time); columns that never change and 0/1 flags (e.g. "law in force") come last. Never a row counter,
    an id, or a column without values: with none left, nothing is suggested."""
    values = [n for n in numeric if n != time and _is_measurement(df, inf, n, len(numeric))]
    if not values:
        return []
    ranked = sorted(values, key=lambda n: (inf[n].constant, inf[n].n_unique <= 2, not _TARGET_NAME.match(n)))
    return ranked[:1]


def suggest_task(df: pd.DataFrame, infos: list[ColumnInfo] | None = None) -> str:
    """Best guess of the task: "forecast", "classify" or "text"."""
    inf = _infos(df, infos)
    texts = [c.name for c in inf.values() if c.kind == "text"]
    if texts and _pick_label(df, inf, exclude=texts) is not None:
        return "text"
    if texts and not any(c.kind == "numeric" for c in inf.values()):
        return "text"  # nothing to forecast; texts are the only thing to learn from (a label is still missing)
    label = _pick_label(df, inf)
    if label is None:
        return "forecast"
    numeric = [c for c in inf.values() if c.kind == "numeric" and c.name != label]
    id_col, _ = _pick_long(df, inf, label)
    has_time = any(c.kind == "datetime" for c in inf.values())
    if id_col is not None and numeric:
        return "classify"
    if _LABEL_NAME.match(label) and len(numeric) >= 2 and not has_time:
        return "classify"
    if len(numeric) >= 5 and not has_time:
        return "classify"
    return "forecast"


def suggest_roles(df: pd.DataFrame, task: str, infos: list[ColumnInfo] | None = None) -> dict:
    """Suggested column roles for ``task``.

    Keys: time, targets, features, label, id, order, text, layout; values are a column name or
    None, lists of names for targets/features, and "wide"/"long"/None for layout. Forecast roles may
    also carry ``time_format`` (how the time column is written) and ``time_part`` (the quarter/month
    column next to a year column).
    """
    if task not in ("forecast", "classify", "text"):
        raise SpecError(f"task must be one of forecast, classify, text; got {task!r}.")
    inf = _infos(df, infos)
    roles: dict = {"time": None, "targets": [], "features": [], "label": None, "id": None, "order": None,
                   "text": None, "layout": None}
    numeric = [c.name for c in inf.values() if c.kind == "numeric"]
    if task == "forecast":
        # the time: a date column (text or integer dates), a counter named like a time, or year + quarter
        picked = suggest_time(df, list(inf.values()), _TIME_NAME)
        roles["time"] = picked["time"]
        roles.update({k: picked[k] for k in ("time_part", "time_format") if picked[k] is not None})
        roles["targets"] = _pick_targets(df, inf, [n for n in numeric if n != roles.get("time_part")], roles["time"])
    elif task == "classify":
        label = _pick_label(df, inf)
        roles["label"] = label
        id_col, order = _pick_long(df, inf, label)
        if id_col is not None:
            roles.update(layout="long", id=id_col, order=order)
            roles["features"] = [n for n in numeric if n not in (id_col, order, label)]
        else:
            roles["layout"] = "wide"
            roles["features"] = [n for n in numeric if n != label and not _row_id(inf[n], len(df))]
    else:
        texts = [c for c in inf.values() if c.kind == "text"] or \
                [c for c in inf.values() if c.kind == "categorical" and not pd.api.types.is_bool_dtype(df[c.name])]
        if texts:
            def avg_len(c: ColumnInfo) -> float:
                s = df[c.name].dropna().astype(str).iloc[:_KIND_SAMPLE]
                return float(s.str.len().mean()) + (1000.0 if s.str.contains(" ").mean() > 0.5 else 0.0) \
                    if len(s) else 0.0
            roles["text"] = max(texts, key=avg_len).name
        roles["label"] = _pick_label(df, inf, exclude=(roles["text"],))
    return roles
