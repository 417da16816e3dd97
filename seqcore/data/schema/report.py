"""The records schema inference and validation hand back: ColumnInfo, TimeInfo, Issue, ValidationReport."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from seqcore.data.schema.frequency import _freq_words, _is_number

KINDS = ("numeric", "datetime", "categorical", "text", "empty")


class _Record:
    """``to_dict`` for a flat dataclass: JSON-ready, tuple fields (``(line, raw value)``) become lists."""

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass
class ColumnInfo(_Record):
    """What one column holds.

    ``first_bad`` is ``(file line, raw value)`` of the first cell that is not a number in a
    numeric-ish column, or not a date in a datetime column; ``None`` when there is none.
    """

    name: str
    kind: str                              # one of KINDS
    dtype: str                             # pandas dtype as read
    n_missing: int
    n_unique: int
    n_non_numeric: int                     # non-number cells in a numeric-ish column
    first_bad: tuple[int, str] | None
    n_inf: int
    constant: bool
    example: str
    time_format: str | None = None         # kind "datetime": how the values are written (a timeformat code)


@dataclass
class Issue(_Record):
    level: str                # "error" | "warning" | "info"
    column: str | None
    message: str              # plain language, says what to do


@dataclass
class TimeInfo(_Record):
    column: str
    parsed: bool                             # every value is a date/time (or a number)
    is_sorted: bool
    n_duplicates: int
    n_unparseable: int
    first_unparseable: tuple[int, str] | None
    frequency: str | None                    # pandas alias ("MS", "D", "h", "YS") or numeric step ("1")
    irregular: bool
    start: str
    end: str
    time_format: str | None = None           # how the times are written (a timeformat code or pattern)


@dataclass
class ValidationReport:
    n_rows: int
    n_columns: int
    columns: list[ColumnInfo]
    issues: list[Issue]
    time: TimeInfo | None = None
    class_counts: dict[str, int] | None = None
    layout: str | None = None              # classify: "wide" or "long"
    task: str | None = None
    roles: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "n_rows": self.n_rows, "n_columns": self.n_columns,
            "columns": [c.to_dict() for c in self.columns], "issues": [i.to_dict() for i in self.issues],
            "time": self.time.to_dict() if self.time else None, "class_counts": self.class_counts,
            "layout": self.layout, "task": self.task, "roles": self.roles,
        }

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)

    def summary_lines(self) -> list[str]:
        """Short plain-language lines: size, time axis, classes, then every issue."""
        lines = [f"{self.n_rows:,} rows x {self.n_columns:,} columns."]
        if self.time is not None:
            t = self.time
            freq = _freq_words(t.frequency) if t.frequency else "unknown spacing"
            if t.frequency and not _is_number(t.frequency):
                freq += f" ({t.frequency})"
            if t.irregular:
                freq += ", with gaps or uneven steps"
            written = ""
            if t.time_format not in (None, "text", "number"):
                from seqcore.data.schema.timeformat import FORMAT_WORDS
                written = f" Dates read as: {FORMAT_WORDS.get(t.time_format, 'the pattern ' + t.time_format)}."
            lines.append(f"Time column '{t.column}': {freq}, from {t.start} to {t.end}.{written}")
        if self.class_counts:
            shown = ", ".join(f"{k}: {v:,}" for k, v in list(self.class_counts.items())[:10])
            more = " ..." if len(self.class_counts) > 10 else ""
            lines.append(f"{len(self.class_counts)} classes ({shown}{more}).")
        for i in self.issues:
            lines.append(f"{i.level.capitalize()}: {i.message}")
        return lines
