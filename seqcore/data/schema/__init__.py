"""Column kinds, role suggestions and the validation report for a parsed CSV.

Works on the frame from :func:`seqcore.data.io.read_csv` (it reads the decimal mark and the
row -> file-line mapping from ``df.attrs``; any DataFrame works, with line = row + 2).
Every problem a person can fix raises :class:`DataError` naming the line and the value,
or shows up as an :class:`Issue` in the :class:`ValidationReport`.

Modules (each imports only the ones above it; none imports tensorflow, keras or streamlit):

- ``parsing``    cell-level reading: missing cells, numbers, dates, file line of a row
- ``frequency``  time-step alias / numeric step of an index, its words, future stamps
- ``timeformat`` how a time column is written: detect its format code, parse with a code or pattern
- ``report``     the records: ColumnInfo, TimeInfo, Issue, ValidationReport
- ``columns``    column kinds (infer_columns) and a column as numbers (numeric_column)
- ``timeindex``  the time column as an index (parse_time) and its summary for the report
- ``missing``    missing-value policy (apply_missing)
- ``roles``      suggested task and column roles
- ``checks``     validate: the plain-language issues for a task and its roles

This package re-exports the whole surface of the former single module, private helpers
included, so ``from seqcore import schema; schema.X`` keeps working.
"""

from seqcore.data.schema.parsing import (  # noqa: F401
    _DATE,
    _KIND_SAMPLE,
    _MISSING,
    _MONTHS,
    _col,
    _fmt,
    _is_numeric_dtype,
    _line,
    _looks_dates,
    _missing_mask,
    _numeric_share,
    _parse_dates,
    _short,
    _to_numbers,
)
from seqcore.data.schema.frequency import (  # noqa: F401
    _alias_from_diffs,
    _fmt_step,
    _freq_words,
    _is_number,
    _norm_alias,
    future_index,
    infer_frequency,
)
from seqcore.data.schema.report import KINDS, ColumnInfo, Issue, TimeInfo, ValidationReport  # noqa: F401
from seqcore.data.schema.columns import _first_present, _infer_other, _numeric_stats, infer_columns, numeric_column  # noqa: F401
from seqcore.data.schema.timeindex import _time_info, parse_time  # noqa: F401
from seqcore.data.schema.missing import POLICIES, apply_missing  # noqa: F401
from seqcore.data.schema.roles import (  # noqa: F401
    _ID_NAME,
    _LABEL_NAME,
    _ORDER_NAME,
    _ROW_ID_NAME,
    _TIME_NAME,
    _infos,
    _is_increasing_int,
    _is_integer_valued,
    _is_measurement,
    _numeric_label,
    _pick_targets,
    _label_ok,
    _looks_like_row_id,
    _pick_label,
    _pick_long,
    _row_id,
    suggest_roles,
    suggest_task,
)
from seqcore.data.schema.checks import (  # noqa: F401
    _check_classify,
    _check_columns,
    _check_forecast,
    _check_labels,
    _check_text,
    _class_counts,
    no_target_reason,
    require_forecast_target,
    validate,
)

__all__ = [
    "KINDS", "POLICIES", "ColumnInfo", "Issue", "TimeInfo", "ValidationReport",
    "infer_columns", "numeric_column", "parse_time", "infer_frequency", "future_index",
    "apply_missing", "suggest_task", "suggest_roles", "validate", "no_target_reason",
    "require_forecast_target",
]
