"""What a CSV is, in one call: :func:`understand` turns a parsed :class:`~seqcore.data.io.Table` into the
task, the column roles, how times are written and how often they come, how the file was read (header or
not, delimiter, decimal mark), and -- when a guess is weak -- plain-language doubts that say what to check.

Built only from the reader's detected format and the schema's suggestions (``infer_columns``,
``suggest_task``, ``suggest_roles``, ``parse_time``); it adds no rules of its own beyond spotting a panel
(several series stacked in one file) and judging how sure each guess is. It never raises on an odd file:
whatever cannot be worked out becomes a doubt.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from seqcore.data import schema
from seqcore.data.io.options import ATTRS_KEY, CsvFormat, Table
from seqcore.data.schema.roles import _ID_NAME, _LABEL_NAME, _TIME_NAME, _is_integer_valued, _label_ok, \
    _numeric_label
from seqcore.errors import UserError

LOG = logging.getLogger(__name__)


@dataclass
class Understanding:
    """The best reading of a file. ``roles`` has the keys of :func:`seqcore.data.schema.suggest_roles`
    (time, targets, features, label, id, order, text, layout, and time_part / time_format when known).
    ``first_time`` is the first parsed time as an ISO string, or a number for a numeric time column.
    ``confident`` is False when ``doubts`` is not empty."""

    task: str
    roles: dict
    time_format: str | None = None
    frequency: str | None = None
    first_time: str | float | int | None = None
    header: bool = True
    delimiter: str = ","
    decimal: str = "."
    doubts: list[str] = field(default_factory=list)

    @property
    def confident(self) -> bool:
        return not self.doubts

    def to_dict(self) -> dict:
        d = asdict(self)
        d["confident"] = self.confident
        return d


def _quote(names) -> str:
    names = list(names)
    shown = ", ".join(f"'{n}'" for n in names[:4]) + (" ..." if len(names) > 4 else "")
    return shown


def _header(df: pd.DataFrame) -> bool:
    info = df.attrs.get(ATTRS_KEY) or {}
    if "header" in info:
        return bool(info["header"])
    names = [str(c) for c in df.columns]
    return names != [f"column_{i + 1}" for i in range(len(names))]


def understand(table: Table | pd.DataFrame, infos: list | None = None) -> Understanding:
    """Task, roles, time format and frequency, how the file was read, and doubts, for ``table``.

    ``infos``: the table's :func:`~seqcore.data.schema.infer_columns` when the caller has them already
    (they are worked out otherwise)."""
    if isinstance(table, Table):
        df, fmt = table.df, table.fmt
    else:
        df = table
        info = df.attrs.get(ATTRS_KEY) or {}
        fmt = CsvFormat.from_dict(info["format"]) if info.get("format") else CsvFormat("utf-8", ",", ".", None)
    u = Understanding(task="forecast", roles={}, header=_header(df), delimiter=fmt.delimiter, decimal=fmt.decimal)
    try:
        _fill(u, df, infos)
    except Exception as err:  # noqa: BLE001 - an odd file must give doubts, never a crash
        LOG.exception("understand failed")
        u.doubts.append(f"Sequence Studio could not make sense of this file ({type(err).__name__}). Please "
                        "check the column roles and the task by hand.")
    return u


def _fill(u: Understanding, df: pd.DataFrame, infos: list | None) -> None:
    infos = infos if infos is not None else schema.infer_columns(df)
    inf = {c.name: c for c in infos}
    task = schema.suggest_task(df, infos)
    roles = schema.suggest_roles(df, task, infos)
    u.task, u.roles = task, roles
    n = len(df)
    if task == "forecast":
        panel = _panel(df, inf, roles.get("time"))
        if panel is not None:
            id_col, time_col = panel
            roles["id"] = id_col
            if roles.get("time") is None:
                roles["time"] = time_col
                roles["targets"] = [t for t in roles["targets"] if t != time_col]
            k = int(df[id_col].nunique())
            first = df[id_col].iloc[0]
            u.doubts.append(
                f"This file holds {k} series stacked one after another, one for each value of '{id_col}' (for "
                f"example {first!r}). They are forecast together: one model learns from every series and forecasts "
                f"each. Check that '{id_col}' names the series; choose no series id to treat the rows as one series.")
        _time(u, df, inf, roles)
        if not roles["targets"]:
            u.doubts.append(schema.no_target_reason(df, infos))
        if roles.get("time") is None and roles["targets"]:
            u.doubts.append("No column with dates or times was found, so the rows are taken in file order, one "
                            "step per row. Check that the rows are in time order and evenly spaced, or pick the "
                            "time column.")
        return
    label = roles.get("label")
    if task == "text" and roles.get("text") is None:
        u.doubts.append("No column holds longer texts. Pick the text column, or choose another task.")
    if label is None:
        what = "text" if task == "text" else "sequence"
        u.doubts.append(f"No column looks like the class of each {what}. Pick the label column (the one that "
                        "says which class a row belongs to); without one there is nothing to learn.")
        return
    c = inf[label]
    if task == "classify" and roles.get("layout") == "long" and roles.get("id") in df.columns:
        n_items = int(df[roles["id"]].nunique())
        what = "sequences"
    else:
        n_items, what = n, "rows"
    if c.n_unique * 3 > n_items:
        u.doubts.append(f"The class column '{label}' has {c.n_unique:,} different classes for {n_items:,} {what}, "
                        "fewer than three examples per class. Check that it really holds classes; with so few "
                        "examples per class the scores will be low.")
    if c.kind == "numeric" and not _LABEL_NAME.match(label):
        vals = pd.unique(df[label].dropna())[:4]
        shown = ", ".join(_num(v) for v in sorted(vals))
        u.doubts.append(f"The class column '{label}' holds numbers ({shown}{', ...' if c.n_unique > 4 else ''}). "
                        "Check that these are class codes (like 1 = healthy, 2 = ill) and not measurements.")
    rivals = _label_rivals(df, inf, roles)
    if rivals:
        u.doubts.append(f"Besides '{label}', {_quote(rivals)} could also hold the class. Check that "
                        f"'{label}' is the column you want to predict.")


def _num(v) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return repr(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def _label_rivals(df: pd.DataFrame, inf: dict, roles: dict) -> list[str]:
    """Other columns that look as much like a class column as the chosen one."""
    used = {roles.get(k) for k in ("label", "id", "order", "text")}
    n = len(df)
    out = []
    numeric_label = _numeric_label(df, inf, exclude=tuple(u for u in used if u))
    for c in inf.values():
        if c.name in used or not _label_ok(c, n):
            continue
        named = bool(_LABEL_NAME.match(c.name))
        coded = c.kind == "categorical" and not _ID_NAME.search(c.name) and not _TIME_NAME.search(c.name) \
            and c.n_unique <= max(2, min(50, n // 5 or 2)) and not pd.api.types.is_bool_dtype(df[c.name])
        if named or coded or c.name == numeric_label:
            out.append(c.name)
    return out


def _panel(df: pd.DataFrame, inf: dict, time: str | None) -> tuple[str, str] | None:
    """(id column, time column) when the rows are several series stacked in blocks: the time repeats across
    blocks of a grouping column but never inside one."""
    n = len(df)
    if n < 6:
        return None
    times = [time] if time else [c.name for c in inf.values() if c.kind == "datetime" or
                                 (c.kind == "numeric" and _TIME_NAME.search(c.name) and _is_integer_valued(df, c.name))]
    for t in times:
        s = df[t]
        if s.isna().any() or not s.duplicated().any():
            continue
        for c in inf.values():
            if c.name == t or c.n_missing or not 2 <= c.n_unique <= n // 3:
                continue
            if not (c.kind == "categorical" or (c.kind == "numeric" and _ID_NAME.search(c.name))):
                continue
            g = df[c.name]
            runs = int((g != g.shift()).sum())
            if runs == c.n_unique and not df.duplicated([c.name, t]).any():
                return c.name, t
    return None


def _time(u: Understanding, df: pd.DataFrame, inf: dict, roles: dict) -> None:
    col = roles.get("time")
    if col is None or col not in df.columns:
        return
    c = inf[col]
    detected = roles.get("time_format") or getattr(c, "time_format", None)
    part = roles.get("time_part")
    u.time_format = detected or ("text" if c.kind == "datetime" else "number" if c.kind == "numeric" else None)
    kw = {}
    if detected is not None:
        kw["time_format"] = detected
    if part is not None:
        kw["part"] = part
    try:
        idx = schema.parse_time(df, col, **kw)
    except UserError as err:
        u.doubts.append(f"The times in '{col}' could not all be read: {err.message} Check how the dates are "
                        "written (under 'Change how the file is read'), or pick no time column.")
        return
    if len(idx) == 0:
        return
    u.frequency = schema.infer_frequency(idx)
    first = idx[0]
    if isinstance(idx, pd.DatetimeIndex):
        u.first_time = pd.Timestamp(first).isoformat()
    else:
        f = float(first)
        u.first_time = int(f) if np.isfinite(f) and f.is_integer() else f
