"""The Data page's date widgets: "How are dates written?" (under "Change how the file is read") and the
optional quarter / month column next to a time column of years. The reading itself is
:mod:`seqcore.data.schema.timeformat`; these helpers only draw the widgets and turn them into the
DataSpec's ``time_format`` / ``time_part``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._ui.base import md, seed
from seqcore.data import schema
from seqcore.data.schema import timeformat as tf
from seqcore.errors import UserError

AUTO, PATTERN = "auto", "pattern"
TIME_FORMAT_CHOICES = {
    AUTO: "Detect automatically",
    "text": "Written out: 2024-01-31, 31 Jan 2024, Jan-1-1995, 1991 Jul, 1970 Q1, 2020-W05",
    "dayfirst": "Day first: 31/01/2024 (also 31.01.2024, 31-01-24)",
    "monthfirst": "Month first: 01/31/2024",
    "yyyymmdd": "Digits, year-month-day: 20240131",
    "unix_s": "Unix time in seconds: 1706659200",
    "unix_ms": "Unix time in milliseconds: 1706659200000",
    "excel": "Excel day numbers: 45322",
    "number": "Plain numbers, not dates (years like 1995, step counts)",
    PATTERN: "Other (type a pattern)",
}
HELP = ("How the time column is written. Detect automatically works for most files; pick the way your dates "
        "are written when the chart or the example below reads them wrongly (for example 03/04/2024 is "
        "4 March in the US and 3 April in Europe).")
PATTERN_HELP = ("A pattern with % codes: %Y year (2024), %y year (24), %m month (01), %b month name (Jan), "
                "%d day, %H hour, %M minute, %S second. Example: 31.01.2024 13:45 is %d.%m.%Y %H:%M.")
KEY, PATTERN_KEY, PART_KEY = "data_fmt_time", "data_fmt_time_pattern", "data_role_time_part"


def seed_time_format(value: str | None, detected: str | None) -> None:
    """Seed the widgets from a spec's ``time_format`` (Detect automatically when it is None or what
    detection finds anyway)."""
    if value is None or value == detected:
        seed(KEY, AUTO)
    elif value in TIME_FORMAT_CHOICES:
        seed(KEY, value)
    else:
        seed(KEY, PATTERN)
        seed(PATTERN_KEY, value)


def detected_format(infos, time_col: str | None, time_part: str | None) -> str | None:
    """What "Detect automatically" stands for: the code the role suggestions give this time column (so
    the page's spec equals the suggested one), None with a quarter/month column or no time column."""
    if not time_col or time_part:
        return None
    return tf.column_format(next((c for c in infos if c.name == time_col), None))


def time_format_widgets(box, df: pd.DataFrame, infos, time_col: str | None, time_part: str | None) -> str | None:
    """Draw "How are dates written?" into ``box`` (a container; the page's own when None) and return
    the DataSpec ``time_format``: the detected code (Detect automatically), the chosen code, or a
    %-pattern. Shows how the first time value is read."""
    box = box if box is not None else st.container()
    choice = box.selectbox("How are dates written?", list(TIME_FORMAT_CHOICES), key=KEY,
                           format_func=TIME_FORMAT_CHOICES.get, help=HELP)
    detected = detected_format(infos, time_col, time_part)
    value: str | None = detected if choice == AUTO else choice
    if choice == PATTERN:
        text = box.text_input("Date pattern", key=PATTERN_KEY, placeholder="%d.%m.%Y", help=PATTERN_HELP).strip()
        if not text:
            box.caption("Type a pattern such as %d.%m.%Y; until then dates are detected automatically.")
            value = detected
        elif "%" not in text:
            box.warning("A date pattern needs % codes, for example %d.%m.%Y for 31.01.2024.", icon="⚠️")
            value = detected
        else:
            value = text
    if time_col and time_col in df.columns:
        box.caption(md(example_line(df, time_col, None if choice == AUTO else value, time_part)))
    else:
        box.caption("Used for the time column of a forecast; pick one under Column roles.")
    return value


def example_line(df: pd.DataFrame, time_col: str, time_format: str | None, time_part: str | None) -> str:
    """'Time column 'date': 19580329 is read as 29 March 1958 (detected: digits, year-month-day).'"""
    if time_part and time_part in df.columns:
        try:
            first = schema.parse_time(df.head(50), time_col, time_format, time_part)[0]
            return (f"Time column '{time_col}' with '{time_part}': {df[time_col].iloc[0]} and "
                    f"{df[time_part].iloc[0]} are read as {first.day} {first.strftime('%B %Y')}.")
        except UserError as err:
            return f"Time column '{time_col}' with '{time_part}' cannot be read: {err}"
    detected = tf.detect_time_format(df[time_col], time_col, schema._fmt(df), sample=2000)
    line = tf.describe_first(df[time_col], time_format or detected)
    if line is None:
        return f"Time column '{time_col}': the first value cannot be read as a date or number."
    how = "" if time_format else f" (detected: {TIME_FORMAT_CHOICES.get(detected, detected).split(':')[0].lower()})"
    return f"Time column '{time_col}': {line[:-1]}{how}."


def part_options(df: pd.DataFrame, time_col: str | None) -> list[str]:
    """Columns that can be the quarter / month / week of a time column of years (empty when the time
    column does not hold repeating years)."""
    if not time_col or time_col not in df.columns:
        return []
    years, bad = tf._numbers(df[time_col])
    if bad.any() or not tf._looks_like_years(years) or (len(years) > 1 and (pd.Series(years).diff().dropna() > 0).all()):
        return []
    out = []
    for c in df.columns:
        if c == time_col:
            continue
        kind = tf.part_kind(str(c), df[c])
        vals, badp = tf._numbers(df[c])
        if kind is None and not badp.any() and len(vals) and vals.min() >= 1 and vals.max() <= 53:
            kind = "quarter" if vals.max() <= 4 else "month" if vals.max() <= 12 else "week"
        if kind is not None and not tf.combine_year_part(years, df[c], kind)[1].any():
            out.append(str(c))
    return out


def time_part_widget(box, df: pd.DataFrame, time_col: str | None, none: str) -> str | None:
    """The optional "Quarter / month column" selectbox (drawn only when the time column holds years that
    repeat and a column can hold their quarter / month / week); returns the chosen column or None."""
    options = part_options(df, time_col)
    if not options:
        return None
    if st.session_state.get(PART_KEY) not in [none] + options:
        st.session_state[PART_KEY] = tf.suggest_time_part(df, time_col) or none
    pick = box.selectbox("Quarter / month column", [none] + options, key=PART_KEY,
                         help=f"'{time_col}' holds years that repeat. Pick the column with the quarter (1-4), month "
                              "(1-12) or week (1-53) inside each year, so each row gets its own date.")
    return None if pick == none else pick
