"""File ingestion: bytes in, a parsed :class:`Table` out, or a plain-language :class:`DataError`.

``seqcore`` never opens a user-given path or URL: callers hand over the uploaded *bytes*.
:func:`read_table` (also called :func:`read_csv`) is the one way in: it checks the size, then reads CSV text,
a Parquet file or an Excel workbook (.xlsx, the first sheet or ``CsvOptions.sheet``), whichever the bytes
hold. For CSV it detects the encoding, delimiter, decimal mark and thousands separator (each can be forced
with :class:`CsvOptions`), refuses binary / compressed / oversized files with a message that says what to
do, and parses with pandas' C engine. Parquet and Excel files are refused over the row / column limits from
their metadata, before their data is read.

Line numbers: messages always use the line number a person sees in a text editor
(1-based, the header is line 1). :func:`line_numbers` maps frame rows back to file lines,
also when the file has blank lines or quoted fields that span lines.

Layout (one job per module): ``options`` (CsvOptions, CsvFormat, Table, shared constants), ``checks``
(size / binary / text checks), ``encoding`` (bytes -> text), ``sniff`` (delimiter, header, number format),
``layout`` (record structure, field-count errors), ``lines`` (row -> file-line mapping in ``df.attrs``),
``read`` (:func:`read_table`, the CSV reader), ``parquet`` and ``excel`` (the other formats), ``typed`` (typed
cells -> the frame a CSV read gives). Every name stays importable from ``seqcore.data.io``.
"""

from __future__ import annotations

from seqcore.data.io.checks import _BINARY, _COMPRESSED, _CONTROL, _check_magic, _check_size, _check_text, \
    _display_name, check_byte_count, detect_kind
from seqcore.data.io.encoding import _decode, _utf16_without_bom
from seqcore.data.io.layout import _check_field_counts, _check_rows, _csv_first_bad, _explain_parse_error, _layout, \
    _raise_field_count
from seqcore.data.io.lines import _attach_lines, csv_format, line_number, line_numbers
from seqcore.data.io.options import _DELIM_NAMES, _ENCODING_NAMES, _EVIDENCE_CELLS, _SNIFF_CHARS, _SNIFF_MAX_CHARS, \
    _SNIFF_RECORDS, ATTRS_KEY, DECIMALS, DELIMITERS, KINDS, MISSING_TOKENS, THOUSANDS, WHITESPACE, CsvFormat, \
    CsvOptions, Table, encoding_label, sha256_bytes
from seqcore.data.io.read import _clean_names, _drop_unnamed_empty, _parse, read_csv, read_table
from seqcore.data.io.sniff import _NUM, _RE, _ambiguous, _detect_numbers, _has_header, _looks_numeric, _numbered_header, \
    _sample, _sample_records, _sniff_delimiter, _whitespace_delimited, normalise_whitespace

__all__ = [
    "ATTRS_KEY", "DECIMALS", "DELIMITERS", "KINDS", "MISSING_TOKENS", "THOUSANDS", "WHITESPACE", "CsvFormat",
    "CsvOptions", "Table", "UPLOAD_TYPES", "check_byte_count", "csv_format", "detect_kind", "encoding_label",
    "line_number", "line_numbers", "read_csv", "read_table", "sha256_bytes", "sheet_names",
]

# the file name extensions uploaders accept (the content decides how a file is read)
UPLOAD_TYPES = ("csv", "tsv", "txt", "parquet", "xlsx", "xlsm")


def sheet_names(data: bytes, name: str = "data.xlsx") -> list[str]:
    """The visible sheets of an Excel workbook in tab order; ``[]`` for any other file."""
    if detect_kind(data, name) != "xlsx":
        return []
    from seqcore.data.io.excel import sheet_names as names

    return names(data, name)
