"""Many series in one file (a panel): long format, one row per (series id, time step).

The data-level pieces shared by the forecasting task (:mod:`seqcore.modeling.tasks.panel`), the data-fitted
defaults and the validation report: the rows of each series (in the order the ids first appear), the plain
checks on the id column, and the series' lengths.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.errors import DataError


def series_keys(df: pd.DataFrame, id_col: str) -> pd.Series:
    """The id column as clean strings (1.0 -> "1", " a " -> "a"): the keys a panel's series are known by.
    A :class:`DataError` names the first empty id cell."""
    from seqcore.data.schema.parsing import _line, labels_as_strings

    if id_col not in df.columns:
        have = ", ".join(map(str, list(df.columns)[:20]))
        raise DataError(f"The data has no series id column '{id_col}'.",
                        hint=f"Columns found: {have}. Pick the column that says which series each row belongs to.")
    raw = df[id_col]
    empty = raw.isna().to_numpy() | (raw.astype("string").str.strip().fillna("") == "").to_numpy()
    if empty.any():
        p = int(np.argmax(empty))
        raise DataError(f"The series id column '{id_col}' is empty on line {_line(df, p):,}: every row must say "
                        "which series it belongs to.",
                        hint=f"Fill in '{id_col}' on that line or remove the row.")
    return labels_as_strings(raw)


def split_series(df: pd.DataFrame, id_col: str) -> list[tuple[str, np.ndarray]]:
    """[(series key, row positions in ``df``)] in the order the ids first appear in the file."""
    keys = series_keys(df, id_col)
    codes, uniques = pd.factorize(keys, sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return [(str(uniques[i]), order[bounds[i]:bounds[i + 1]]) for i in range(len(uniques))]


def check_series_count(groups: list, id_col: str) -> None:
    """A panel needs two series or more: one series is an ordinary forecast (plain DataError)."""
    if len(groups) < 2:
        only = groups[0][0] if groups else "nothing"
        raise DataError(f"The series id column '{id_col}' holds only one series ({only!r}), so there is nothing "
                        "to tell apart.",
                        hint="Choose no series id column to forecast this one series, or pick the column that "
                             "names each series.")


def series_lengths(df: pd.DataFrame, id_col: str) -> np.ndarray:
    """Rows per series (in first-appearance order)."""
    keys = series_keys(df, id_col)
    return pd.Series(keys).value_counts(sort=False).reindex(pd.unique(keys)).to_numpy()


def repeated_times(df: pd.DataFrame, id_col: str, time_col: str) -> tuple[int, int | None]:
    """(how many rows repeat a time already seen in the same series, position of the first such row)."""
    keys = series_keys(df, id_col)
    dup = pd.DataFrame({"k": keys.to_numpy(), "t": df[time_col].to_numpy()}).duplicated().to_numpy()
    return int(dup.sum()), (int(np.argmax(dup)) if dup.any() else None)


def first_series(df: pd.DataFrame, id_col: str) -> pd.DataFrame:
    """The rows of the first series in the file (for a look at one series, or its frequency)."""
    keys = series_keys(df, id_col)
    return df[(keys == keys.iloc[0]).to_numpy()]


def first_series_view(*frames: pd.DataFrame | None, column: str = "series") -> tuple[list, str | None, int]:
    """A panel run's tables (predictions, forecast: a leading ``series`` column) cut to their first series, for a
    report's charts: (frames without the column, the series' name or None when not a panel, number of series)."""
    first = next((f for f in frames if f is not None and column in f.columns and len(f)), None)
    if first is None:
        return list(frames), None, 0
    name = str(first[column].iloc[0])
    count = int(first[column].nunique())
    cut = [f if f is None or column not in f.columns else
           f[f[column].astype(str) == name].drop(columns=[column]).reset_index(drop=True) for f in frames]
    return cut, name, count


__all__ = ["check_series_count", "first_series_view", "first_series", "repeated_times", "series_keys", "series_lengths",
           "split_series"]
