"""The validation report: every problem with the data for a task and its roles, as plain-language issues."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from seqcore.errors import DataError
from seqcore.data.schema.columns import infer_columns
from seqcore.data.schema.frequency import _freq_words
from seqcore.data.room import too_few_rows
from seqcore.data.schema.parsing import _fmt, _line, _missing_mask, _short, _to_numbers, labels_as_strings
from seqcore.data.schema.report import Issue, ValidationReport
from seqcore.data.schema.roles import _is_measurement, _looks_like_row_id, _row_id, suggest_roles, suggest_task
from seqcore.data.schema.timeindex import _time_info

if TYPE_CHECKING:  # pragma: no cover
    from seqcore.config import DataSpec


def validate(df: pd.DataFrame, spec: "DataSpec | None" = None) -> ValidationReport:
    """Check ``df`` for the task and roles in ``spec`` (suggested ones when ``spec`` is None)."""
    from seqcore.config import DataSpec

    infos = infer_columns(df)
    by_name = {c.name: c for c in infos}
    explicit = spec is not None
    if spec is None:
        task = suggest_task(df, infos)
        roles = suggest_roles(df, task, infos)
        spec = DataSpec(task=task, time=roles["time"], targets=tuple(roles["targets"]),
                        features=tuple(roles["features"]), label=roles["label"], id=roles["id"],
                        order=roles["order"], text=roles["text"], layout=roles["layout"] or "auto",
                        time_part=roles.get("time_part"), time_format=roles.get("time_format"))
    task = spec.task
    roles = {"time": spec.time, "targets": list(spec.targets), "features": list(spec.features),
             "label": spec.label, "id": spec.id, "order": spec.order, "text": spec.text, "layout": None}
    issues: list[Issue] = []
    report = ValidationReport(n_rows=int(len(df)), n_columns=int(df.shape[1]), columns=infos, issues=issues,
                              task=task, roles=roles)
    if len(df) == 0:
        issues.append(Issue("error", None, "The data has no rows. Upload a file with data rows."))
        return report

    # which columns are used, and how
    if task == "classify":
        layout = spec.layout
        if layout == "auto":
            layout = "long" if spec.id else "wide"
        roles["layout"] = report.layout = layout
        if layout == "wide" and not spec.features:
            roles["features"] = [c.name for c in infos if c.kind == "numeric" and c.name not in
                                 (spec.label, spec.id) and not _row_id(c, len(df))]
        elif not spec.features:
            roles["features"] = [c.name for c in infos if c.kind == "numeric" and c.name not in
                                 (spec.label, spec.id, spec.order)]
    used_numeric = (list(roles["targets"]) + list(roles["features"])) if task in ("forecast", "classify") else []
    named = {"time": roles["time"], "label": roles["label"], "id": roles["id"], "order": roles["order"],
             "text": roles["text"]}
    for role, col in list(named.items()) + [("target", c) for c in roles["targets"]] + \
            [("feature", c) for c in roles["features"]]:
        if col is not None and col not in df.columns:
            issues.append(Issue("error", col, f"The {role} column '{col}' is not in the data. Pick one of the "
                                              "file's columns."))
    missing_cols = {i.column for i in issues}
    used_numeric = [c for c in used_numeric if c not in missing_cols]
    used_other = {c for c in named.values() if c is not None and c not in missing_cols}

    _check_columns(df, infos, used_numeric, used_other, roles, spec, explicit, issues)
    if task == "forecast":
        _check_forecast(df, by_name, roles, spec, explicit, issues, report, missing_cols)
    elif task == "classify":
        _check_classify(df, by_name, roles, spec, issues, report, missing_cols)
    else:
        _check_text(df, by_name, roles, issues, report, missing_cols)
    order = {"error": 0, "warning": 1, "info": 2}
    issues.sort(key=lambda i: order.get(i.level, 3))
    return report


def _check_columns(df, infos, used_numeric, used_other, roles, spec, explicit, issues) -> None:
    for c in infos:
        used = c.name in used_numeric
        in_role = used or c.name in used_other
        if c.kind == "empty":
            if in_role:
                issues.append(Issue("error", c.name, f"Column '{c.name}' has no values at all. Pick another "
                                                     "column or fill it in."))
            else:
                issues.append(Issue("info", c.name, f"Column '{c.name}' is empty and will be ignored."))
            continue
        if used and c.kind != "numeric":
            issues.append(Issue("error", c.name, f"Column '{c.name}' holds {c.kind} values, not numbers "
                                                 f"(e.g. {c.example!r}); pick a numeric column instead."))
            continue
        if c.n_non_numeric:
            line, raw = c.first_bad
            more = f" ({c.n_non_numeric:,} cells)" if c.n_non_numeric > 1 else ""
            issues.append(Issue(
                "error" if used else "warning", c.name,
                f"Column '{c.name}' holds numbers but line {line:,} has {raw!r}{more}. Fix or remove those cells "
                "(leave a cell empty to mark it as missing)."))
        if c.n_inf:
            vals = df[c.name]
            try:
                v, _, _ = _to_numbers(df[c.name], _fmt(df))
                p = int(np.flatnonzero(np.isinf(v))[0])
                where = f" (first on line {_line(df, p):,}: {_short(vals.iloc[p])!r})"
            except (IndexError, DataError):
                where = ""
            issues.append(Issue(
                "error" if used else "warning", c.name,
                f"Column '{c.name}' has {c.n_inf:,} infinite or too-large value{'s' if c.n_inf > 1 else ''}{where}. "
                "Replace them with real values or leave the cells empty."))
        if c.n_missing:
            miss = _missing_mask(df[c.name])
            first = _line(df, int(np.flatnonzero(miss)[0]))
            where = f"{c.n_missing:,} missing value{'s' if c.n_missing > 1 else ''} (first on line {first:,})"
            if used:
                if spec.missing == "error":
                    level = "error" if explicit else "warning"
                    issues.append(Issue(level, c.name, f"Column '{c.name}' has {where}. Choose how to handle them: "
                                                       "interpolate, forward-fill or drop rows."))
                else:
                    how = {"interpolate": "filled by interpolation", "ffill": "filled with the previous value",
                           "drop": "dropped (the whole row)"}[spec.missing]
                    issues.append(Issue("info", c.name, f"Column '{c.name}' has {where}; they will be {how}."))
            elif c.name == roles.get("label"):
                issues.append(Issue("error", c.name, f"Label column '{c.name}' has {where}. Every row needs a "
                                                     "label: fill them in or remove those rows."))
            elif c.name == roles.get("text"):
                issues.append(Issue("warning", c.name, f"Text column '{c.name}' has {where}; they are read as "
                                                       "empty texts."))
            elif c.name not in used_other:
                issues.append(Issue("info", c.name, f"Column '{c.name}' has {where} (not used)."))
        if c.constant and c.name in used_numeric and len(df) > 1:
            issues.append(Issue("warning", c.name, f"Column '{c.name}' has the same value ({c.example}) in every "
                                                   "row, so it tells the model nothing. Consider leaving it out."))


def no_target_reason(df: pd.DataFrame, infos=None) -> str:
    """Why there is nothing to forecast in ``df``, in plain words (for a forecast without a target column):
    an empty column is named, a file without numbers says so, a lone row counter is called what it is."""
    infos = infos if infos is not None else infer_columns(df)
    empty = [c.name for c in infos if c.kind == "empty"]
    numeric = [c.name for c in infos if c.kind == "numeric"]
    by_name = {c.name: c for c in infos}
    values = [n for n in numeric if _is_measurement(df, by_name, n, len(numeric))]
    if values:
        return (f"Forecasting needs a column of numbers to predict. Pick the column(s) to forecast, for example "
                f"'{values[0]}'.")
    if empty:
        names = ", ".join(f"'{n}'" for n in empty[:5])
        one = len(empty) == 1
        return (f"Column {names} {'has' if one else 'have'} no values at all (every cell is empty), so there is "
                f"nothing to forecast. Fill in {'its' if one else 'their'} values, or use a file that has them.")
    if not numeric:
        return ("This file has no column of numbers, so there is nothing to forecast: every column holds text "
                "or dates. Forecasting needs a column of numbers; to sort texts into classes, choose "
                "'Classify texts' and a column that holds the class.")
    if len(numeric) == 1:
        what = ("just counts the rows (1, 2, 3, ...)" if _looks_like_row_id(df, numeric[0])
                else "holds ids or calendar parts (like years), not values")
        return (f"The only column of numbers, '{numeric[0]}', {what}, so there is nothing to forecast. Add a "
                "column with the values to forecast.")
    return ("Forecasting needs a column of numbers to predict, and none of the number columns looks like a "
            "measurement (they count rows or hold ids, years or months). Pick the column to forecast.")


def require_forecast_target(df: pd.DataFrame) -> None:
    """Raise :class:`DataError` (the reason from :func:`no_target_reason`) when no column of ``df`` can be
    forecast: the CLI refuses such a file before building a spec, instead of training on a row counter."""
    infos = infer_columns(df)
    if not suggest_roles(df, "forecast", infos)["targets"]:
        raise DataError(no_target_reason(df, infos))


def _check_forecast(df, by_name, roles, spec, explicit, issues, report, missing_cols) -> None:
    n = len(df)
    if not roles["targets"]:
        issues.append(Issue("error", None, no_target_reason(df, list(by_name.values()))))
    time_col = roles["time"]
    if time_col is None:
        issues.append(Issue("info", None, "No time column: rows are used in file order, one step per row."))
    elif time_col not in missing_cols:
        info, idx, unsorted_pos = _time_info(df, time_col, getattr(spec, "time_format", None),
                                             getattr(spec, "time_part", None))
        report.time = info
        if not info.parsed:
            line, raw = info.first_unparseable or (None, "")
            issues.append(Issue("error", time_col, f"Time column '{time_col}' has {info.n_unparseable:,} value(s) "
                                                   f"that are not dates/times (first on line {line:,}: {raw!r}). "
                                                   "Fix or remove those rows, or choose no time column."))
        elif getattr(spec, "id", None) and spec.id in df.columns:   # a panel: times repeat across series
            _check_panel_times(df, spec, time_col, issues)
        else:
            if info.n_duplicates:
                dup = pd.Index(idx).duplicated()
                p = int(np.flatnonzero(dup)[0])
                issues.append(Issue(
                    "error", time_col, f"Time column '{time_col}' repeats {info.n_duplicates:,} time(s) (first on "
                                       f"line {_line(df, p):,}: {_short(df[time_col].iloc[p])!r}). Forecasting needs "
                                       "one row per time step: remove or combine the repeated rows."))
            if not info.is_sorted:
                issues.append(Issue(
                    "error", time_col, f"Rows are not in time order: line {_line(df, unsorted_pos):,} "
                                       f"({_short(df[time_col].iloc[unsorted_pos])!r}) is earlier than the line above it. "
                                       f"Sort the file by '{time_col}'."))
            if info.irregular:
                issues.append(Issue(
                    "warning", time_col, f"Time steps in '{time_col}' are not evenly spaced (most are "
                                         f"{_freq_words(info.frequency)}); the model treats rows as "
                                         "equally spaced. Fill the gaps (one row per step) for best results."))
    frac_train = 1.0 - spec.val_fraction - spec.test_fraction
    need = spec.window + spec.horizon
    n_train = int(math.floor(n * frac_train))
    if too_few_rows(n):
        issues.append(Issue("error", None, too_few_rows(n)))
    elif n_train < need:
        min_rows = int(math.ceil(need / max(frac_train, 1e-9)))
        issues.append(Issue(
            "error", None, f"Too few rows: {n:,} rows leave {n_train:,} for training, but a window of "
                           f"{spec.window} plus a horizon of {spec.horizon} needs at least {need}. Lower the window "
                           f"or horizon, or use at least {min_rows:,} rows."))
    else:
        for part, frac in (("validation", spec.val_fraction), ("test", spec.test_fraction)):
            if frac > 0 and int(n * frac) < spec.horizon:
                issues.append(Issue("warning", None, f"The {part} part has only {int(n * frac)} rows, fewer than "
                                                     f"the horizon ({spec.horizon}); its scores will be unreliable."))


def _check_panel_times(df, spec, time_col, issues) -> None:
    """Many series in one file: a time may repeat across series, never inside one."""
    from seqcore.data.panel import repeated_times

    try:
        n_dup, p = repeated_times(df, spec.id, time_col)
    except DataError as err:       # an empty id cell
        issues.append(Issue("error", spec.id, err.message))
        return
    if n_dup:
        issues.append(Issue(
            "error", time_col, f"Time column '{time_col}' repeats {n_dup:,} time(s) inside a series (first on line "
                               f"{_line(df, p):,}: {_short(df[spec.id].iloc[p])!r}, {_short(df[time_col].iloc[p])!r}). "
                               "Each series needs one row per time step: remove or combine the repeated rows."))


def _class_counts(labels: pd.Series) -> dict[str, int]:
    counts = labels_as_strings(labels.dropna()).value_counts()   # 1.0 -> "1", as training names them
    counts = counts[counts.index != ""]
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def _check_labels(counts: dict[str, int], label: str, what: str, issues: list[Issue]) -> None:
    if len(counts) < 2:
        only = next(iter(counts), None)
        issues.append(Issue("error", label, f"Label column '{label}' has only one class ({only!r}); a classifier "
                                            "needs at least two. Add examples of the other classes."
                            if only is not None else f"Label column '{label}' has no labels."))
        return
    singles = [k for k, v in counts.items() if v == 1]
    if singles:
        shown = ", ".join(repr(s) for s in singles[:5]) + (" ..." if len(singles) > 5 else "")
        issues.append(Issue("warning", label, f"Class {shown} has a single {what}; it can't be in both the training "
                                              "and test parts. Add more examples or remove it."))
    total = sum(counts.values())
    if total < 2 * len(counts) or total < 10:
        issues.append(Issue("warning", label, f"Only {total:,} {what}s for {len(counts)} classes; results will be "
                                              "unreliable. More examples help."))


def _check_classify(df, by_name, roles, spec, issues, report, missing_cols) -> None:
    label = roles["label"]
    if label is None:
        issues.append(Issue("error", None, "Sequence classification needs a label column (the class of each "
                                           "sequence). Pick it."))
        return
    if label in missing_cols:
        return
    if not roles["features"]:
        issues.append(Issue("error", None, "No numeric value columns were found for the sequences. Pick the "
                                           "feature columns (they must hold numbers)."))
    if report.layout == "long":
        id_col = roles["id"]
        if id_col is None:
            issues.append(Issue("error", None, "Long layout needs a sequence id column (which rows belong to the "
                                               "same sequence). Pick it, or use the wide layout."))
            return
        if id_col in missing_cols:
            return
        g = df[[id_col, label]].dropna()
        per = g.groupby(id_col, sort=False)[label].nunique()
        mixed = per[per > 1]
        if len(mixed):
            sid = mixed.index[0]
            issues.append(Issue("error", label, f"Sequence {sid!r} (column '{id_col}') has more than one label; every "
                                                "row of a sequence needs the same label. Fix the labels."))
        first = g.groupby(id_col, sort=False)[label].first()
        report.class_counts = _class_counts(first)
        lengths = df.groupby(id_col, sort=False).size()
        if len(lengths):
            lo, hi = int(lengths.min()), int(lengths.max())
            span = f"{lo:,}" if lo == hi else f"{lo:,} to {hi:,}"
            issues.append(Issue("info", id_col, f"{len(lengths):,} sequences of {span} steps each."))
        if lengths.max() > spec.max_steps:
            issues.append(Issue("info", id_col, f"Sequences longer than {spec.max_steps:,} steps are cut to their "
                                                "last steps."))
        _check_labels(report.class_counts, label, "sequence", issues)
    else:
        report.class_counts = _class_counts(df[label])
        _check_labels(report.class_counts, label, "sequence", issues)


def _check_text(df, by_name, roles, issues, report, missing_cols) -> None:
    text, label = roles["text"], roles["label"]
    if text is None:
        issues.append(Issue("error", None, "Text classification needs a text column. Pick it."))
    elif text not in missing_cols and by_name[text].kind == "numeric":
        issues.append(Issue("warning", text, f"Column '{text}' holds numbers, not text. Check the text column."))
    if label is None:
        issues.append(Issue("error", None, "Text classification needs a label column (the class of each text). "
                                           "Pick it."))
        return
    if label in missing_cols:
        return
    if text is not None and text == label:
        issues.append(Issue("error", label, "The text column and the label column must be different."))
    report.class_counts = _class_counts(df[label])
    _check_labels(report.class_counts, label, "text", issues)
