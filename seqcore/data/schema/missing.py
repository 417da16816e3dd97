"""Missing-value policy: error, interpolate, forward-fill or drop rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqcore.errors import DataError, SpecError
from seqcore.data.schema.columns import numeric_column
from seqcore.data.schema.parsing import _col, _fmt, _is_numeric_dtype, _line, _missing_mask, _to_numbers

POLICIES = ("error", "interpolate", "ffill", "drop")


def apply_missing(df: pd.DataFrame, columns: list[str], policy: str) -> tuple[pd.DataFrame, str | None]:
    """Handle missing values in ``columns`` by ``policy`` (error | interpolate | ffill | drop).

    Numeric-ish columns come back as float64. Returns ``(new frame, plain note or None)``;
    index labels are kept (so line numbers still map after "drop").
    """
    if policy not in POLICIES:
        raise SpecError(f"missing values must be one of {', '.join(POLICIES)}; got {policy!r}.")
    out = df.copy()
    notes: list[str] = []
    numeric: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    for col in dict.fromkeys(columns):
        s = _col(df, col)
        miss = _missing_mask(s)
        if miss.all():
            raise DataError(f"Column '{col}' has no values at all (every cell is empty). Fill it in, remove "
                            "it, or pick another column.")
        is_num = _is_numeric_dtype(s)
        if not is_num and not pd.api.types.is_bool_dtype(s.dtype):
            _, _, bad = _to_numbers(s, _fmt(df))
            is_num = bad.sum() < 0.5 * (~miss).sum()
        if is_num:
            numeric[col] = numeric_column(df, col, allow_inf=True)
        masks[col] = miss
    for col, miss in masks.items():
        n = int(miss.sum())
        if not n:
            continue
        first = _line(df, int(np.flatnonzero(miss)[0]))
        where = f"{n:,} missing value{'s' if n > 1 else ''} (first on line {first:,})"
        if policy == "error":
            raise DataError(f"Column '{col}' has {where}. Choose how to handle them: interpolate, "
                            "forward-fill or drop rows.")
        if policy == "interpolate":
            if col not in numeric:
                raise DataError(f"Column '{col}' holds text, which can't be interpolated; it has {where}. "
                                "Choose forward-fill or drop rows instead.")
            numeric[col] = pd.Series(numeric[col]).interpolate(method="linear", limit_direction="both") \
                .to_numpy(dtype="float64")
            notes.append(f"filled {n:,} missing value{'s' if n > 1 else ''} in '{col}' by straight-line "
                         f"interpolation (first on line {first:,})")
        elif policy == "ffill":
            if col in numeric:
                numeric[col] = pd.Series(numeric[col]).ffill().bfill().to_numpy(dtype="float64")
            else:
                s = out[col].mask(pd.Series(miss, index=out.index))
                out[col] = s.ffill().bfill()
            notes.append(f"filled {n:,} missing value{'s' if n > 1 else ''} in '{col}' with the previous value "
                         f"(first on line {first:,})")
    for col, vals in numeric.items():
        out[col] = vals
    if policy == "drop":
        any_miss = np.zeros(len(df), bool)
        for miss in masks.values():
            any_miss |= miss
        n = int(any_miss.sum())
        if n:
            if n == len(df):
                raise DataError("Every row has a missing value in " + ", ".join(f"'{c}'" for c in masks)
                                + ", so dropping them leaves nothing. Fill in the values or use interpolation.")
            first = _line(df, int(np.flatnonzero(any_miss)[0]))
            out = out.loc[~any_miss]
            cols = ", ".join(f"'{c}'" for c, m in masks.items() if m.any())
            notes.append(f"dropped {n:,} row{'s' if n > 1 else ''} with missing values in {cols} "
                         f"(first on line {first:,})")
    if not notes:
        return out, None
    note = "; ".join(notes)
    return out, note[0].upper() + note[1:] + "."
