"""CSV ingestion: bytes in, a parsed :class:`Table` out, or a plain-language :class:`DataError`.

``seqcore`` never opens a user-given path or URL: callers hand over the uploaded *bytes*.
:func:`read_csv` detects the encoding, delimiter, decimal mark and thousands separator
(each can be forced with :class:`CsvOptions`), refuses binary / compressed / oversized
files with a message that says what to do, and parses with pandas' C engine.

Line numbers: messages always use the line number a person sees in a text editor
(1-based, the header is line 1). :func:`line_numbers` maps frame rows back to file lines,
also when the file has blank lines or quoted fields that span lines.

Layout (one job per module): ``options`` (CsvOptions, CsvFormat, Table, shared constants), ``checks``
(size / binary / text checks), ``encoding`` (bytes -> text), ``sniff`` (delimiter, header, number format),
``layout`` (record structure, field-count errors), ``lines`` (row -> file-line mapping in ``df.attrs``),
``read`` (:func:`read_csv`). Every name stays importable from ``seqcore.data.io``.
"""

from __future__ import annotations

from seqcore.data.io.checks import _BINARY, _COMPRESSED, _CONTROL, _check_magic, _check_size, _check_text, \
    _display_name
from seqcore.data.io.encoding import _decode, _utf16_without_bom
from seqcore.data.io.layout import _check_field_counts, _check_rows, _csv_first_bad, _explain_parse_error, _layout, \
    _raise_field_count
from seqcore.data.io.lines import _attach_lines, csv_format, line_number, line_numbers
from seqcore.data.io.options import _DELIM_NAMES, _ENCODING_NAMES, _EVIDENCE_CELLS, _SNIFF_CHARS, _SNIFF_MAX_CHARS, \
    _SNIFF_RECORDS, ATTRS_KEY, DECIMALS, DELIMITERS, MISSING_TOKENS, THOUSANDS, WHITESPACE, CsvFormat, CsvOptions, \
    Table, encoding_label, sha256_bytes
from seqcore.data.io.read import _clean_names, _drop_unnamed_empty, _parse, read_csv
from seqcore.data.io.sniff import _NUM, _RE, _ambiguous, _detect_numbers, _has_header, _looks_numeric, _numbered_header, \
    _sample, _sample_records, _sniff_delimiter, _whitespace_delimited, normalise_whitespace

__all__ = [
    "ATTRS_KEY", "DECIMALS", "DELIMITERS", "MISSING_TOKENS", "THOUSANDS", "WHITESPACE", "CsvFormat", "CsvOptions", "Table",
    "csv_format", "encoding_label", "line_number", "line_numbers", "read_csv", "sha256_bytes",
]
