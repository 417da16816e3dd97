"""Safe exports: CSV for spreadsheets (formula injection escaped)."""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "|", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Leading characters a spreadsheet skips before it decides a cell is a formula (" =1+1" runs in some):
# spaces, tabs, line breaks, no-break and other Unicode spaces.
_SKIPPED = " \t\r\n\x0b\x0c\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u3000\ufeff"


def escape_cell(value):
    """Prefix text cells that a spreadsheet would run as a formula with a single quote.

    A cell is dangerous when it starts with ``= + - @ |`` (or their full-width forms, or a tab / line
    break) after any leading whitespace. Non-text values (numbers, booleans) are returned unchanged."""
    if isinstance(value, str) and (value.startswith(FORMULA_PREFIXES)
                                   or value.lstrip(_SKIPPED).startswith(FORMULA_PREFIXES)):
        return "'" + value
    return value


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV bytes with text cells and headers escaped; numbers (including negatives) untouched."""
    out = df.copy()
    out.columns = [escape_cell(str(c)) for c in out.columns]
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c]) \
                and not pd.api.types.is_datetime64_any_dtype(out[c]):    # dates cannot start a formula
            out[c] = out[c].map(escape_cell)
    return out.to_csv(index=False).encode("utf-8")
