"""CSV ingestion: bytes in, a parsed :class:`Table` out, or a plain-language :class:`DataError`.

``seqcore`` never opens a user-given path or URL: callers hand over the uploaded *bytes*.
:func:`read_csv` detects the encoding, delimiter, decimal mark and thousands separator
(each can be forced with :class:`CsvOptions`), refuses binary / compressed / oversized
files with a message that says what to do, and parses with pandas' C engine.

Line numbers: messages always use the line number a person sees in a text editor
(1-based, the header is line 1). :func:`line_numbers` maps frame rows back to file lines,
also when the file has blank lines or quoted fields that span lines.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from seqcore.errors import DataError, SpecError

if TYPE_CHECKING:  # pragma: no cover
    from seqcore.config import Limits

DELIMITERS = (",", ";", "\t", "|")
DECIMALS = (".", ",")
THOUSANDS = (",", ".", " ", "'")
# Cells equal to one of these (exactly) are missing values.
MISSING_TOKENS = (
    "", "NA", "N/A", "n/a", "nan", "NaN", "NAN", "-nan", "-NaN", "null", "NULL", "Null",
    "None", "-", "?", "#N/A", "#NA", "<NA>",
)
ATTRS_KEY = "seqcore"          # df.attrs[ATTRS_KEY]: format + row -> line mapping (small, immutable)

_SNIFF_CHARS = 64 * 1024       # sniff on this prefix ...
_SNIFF_MAX_CHARS = 16 * 2**20  # ... extended up to this to see a few whole lines
_SNIFF_RECORDS = 50
_EVIDENCE_CELLS = 20_000

_ENCODING_NAMES = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16", "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE", "utf-32": "UTF-32", "cp1252": "Windows-1252", "latin-1": "Latin-1",
}
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


# ----------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class CsvOptions:
    """User overrides for reading a CSV; ``None`` means "detect".

    ``thousands=""`` forces "no thousands separator" (``None`` detects one).
    """

    encoding: str | None = None      # "utf-8", "utf-8-sig", "utf-16", "cp1252", ...
    delimiter: str | None = None     # one of DELIMITERS
    decimal: str | None = None       # "." or ","
    thousands: str | None = None     # None (detect), "" (none), ",", ".", " ", "'"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "CsvOptions":
        d = d or {}
        return cls(**{k: d.get(k) for k in ("encoding", "delimiter", "decimal", "thousands")})

    def validate(self) -> "CsvOptions":
        """Raise :class:`SpecError` for a value that cannot be used."""
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except (LookupError, TypeError):
                raise SpecError(f"Unknown text encoding {self.encoding!r}; try utf-8, utf-16 or cp1252, "
                                "or leave it on automatic.") from None
        if self.delimiter is not None and self.delimiter not in DELIMITERS:
            raise SpecError(f"delimiter must be one of comma, semicolon, tab or '|'; got {self.delimiter!r}.")
        if self.decimal is not None and self.decimal not in DECIMALS:
            raise SpecError(f"decimal mark must be '.' or ','; got {self.decimal!r}.")
        if self.thousands not in (None, "") and self.thousands not in THOUSANDS:
            raise SpecError(f"thousands separator must be none, ',', '.', ' ' or \"'\"; got {self.thousands!r}.")
        if self.decimal and self.thousands and self.decimal == self.thousands:
            raise SpecError(f"The decimal mark and the thousands separator can't both be {self.decimal!r}.")
        if self.delimiter and self.decimal and self.delimiter == self.decimal:
            raise SpecError(f"The delimiter and the decimal mark can't both be {self.delimiter!r}; "
                            "files with a decimal comma usually use ';' between fields.")
        return self


@dataclass(frozen=True)
class CsvFormat:
    """What was detected (or forced) and used to parse the file."""

    encoding: str
    delimiter: str
    decimal: str
    thousands: str | None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CsvFormat":
        return cls(encoding=d["encoding"], delimiter=d["delimiter"], decimal=d["decimal"],
                   thousands=d.get("thousands"))

    def to_options(self) -> CsvOptions:
        """Options that read another file exactly the same way (e.g. new data for a trained model)."""
        return CsvOptions(self.encoding, self.delimiter, self.decimal,
                          "" if self.thousands is None else self.thousands)

    def describe(self) -> str:
        """Plain words, e.g. ``"UTF-8 with BOM, ';' delimited, decimal comma"``."""
        enc = _ENCODING_NAMES.get(self.encoding.lower(), self.encoding)
        delim = "tab" if self.delimiter == "\t" else repr(self.delimiter)
        parts = [enc, f"{delim} delimited", "decimal comma" if self.decimal == "," else "decimal point"]
        if self.thousands:
            parts.append("thousands separator " + ("space" if self.thousands == " " else repr(self.thousands)))
        return ", ".join(parts)


@dataclass
class Table:
    """A parsed CSV.

    ``df`` has one row per data line (original column order, RangeIndex 0..n-1);
    ``df.attrs["seqcore"]`` carries the format and the row -> file-line mapping.
    """

    df: pd.DataFrame
    fmt: CsvFormat
    name: str                 # display name only (never used as a path)
    n_bytes: int
    sha256: str               # of the raw bytes
    notes: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return int(len(self.df))

    @property
    def n_columns(self) -> int:
        return int(self.df.shape[1])


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(bytes(data)).hexdigest()


# ----------------------------------------------------------------------------- public entry


def read_csv(data: bytes, options: CsvOptions | None = None, *, name: str = "data.csv",
             limits: "Limits | None" = None) -> Table:
    """Parse uploaded CSV bytes into a :class:`Table`.

    Numeric-looking columns become float64/int64; missing tokens (``MISSING_TOKENS``)
    become NaN; columns with a few non-numeric cells, dates and text stay strings so the
    schema report can point at the offending line. Every problem raises :class:`DataError`.
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"read_csv expects the file's bytes, got {type(data).__name__}")
    from seqcore.config import Limits

    limits = limits or Limits.from_env()
    options = (options or CsvOptions()).validate()
    name = _display_name(name)
    notes: list[str] = []

    _check_size(data, name, limits)
    _check_magic(data, name)
    encoding, text = _decode(data, options.encoding, name, notes)
    _check_text(text, name)
    text = text.lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not re.search(r"\S", text):
        raise DataError(f"'{name}' is empty (it has no text). Upload a CSV file with a header line and data rows.")

    line_offset = 0
    sep_hint = re.match(r"sep=(.)[ \t]*\n", text)
    if sep_hint:  # Excel writes "sep=;" as its first line
        text = text[sep_hint.end():]
        line_offset = 1
        if options.delimiter is None and sep_hint.group(1) in DELIMITERS:
            options = CsvOptions(options.encoding, sep_hint.group(1), options.decimal, options.thousands)
        notes.append(f"Skipped the first line 'sep={sep_hint.group(1)}' (a hint written by Excel).")

    sample = _sample(text)
    delimiter = options.delimiter or _sniff_delimiter(sample)
    records = _sample_records(sample, delimiter)
    if not records:
        raise DataError(f"'{name}' has no lines with data. Upload a CSV file with a header line and data rows.")
    header = records[0]
    if len(header) > limits.max_columns:
        raise DataError(
            f"'{name}' has {len(header):,} columns; the limit is {limits.max_columns:,}. Remove columns you "
            f"don't need, or raise the limit with the environment variable SEQSTUDIO_MAX_COLUMNS before "
            f"starting Sequence Studio.")
    decimal, thousands = _detect_numbers(records[1:], delimiter, options, notes)
    fmt = CsvFormat(encoding=encoding, delimiter=delimiter, decimal=decimal, thousands=thousands)
    if options.delimiter is None and len(header) == 1 and len(text) > 0:
        notes.append("Found a single column (no comma, semicolon, tab or '|' between values). If the file has "
                     "several columns, choose the delimiter by hand.")

    has_header = not all(_looks_numeric(h) for h in header) or _numbered_header(header)
    if has_header:
        names = _clean_names(header, notes)
    else:
        names = [f"column_{i + 1}" for i in range(len(header))]
        notes.append("The first line holds numbers, not column names, so it was read as data; "
                     f"the columns are named column_1 ... column_{len(header)}.")

    raw = text.encode("utf-8")
    df = _parse(raw, fmt, names, has_header, name, limits, line_offset)
    layout = None
    if len(df) == 0:
        raise DataError(f"'{name}' has a header line but no data rows. Add the data rows below the header.")
    if not isinstance(df.index, pd.RangeIndex) or df.iloc[:, -1].isna().any():
        # pandas silently pads short rows with NaN and turns an extra first field into an index
        layout = _check_rows(raw, fmt, len(names), len(df) + has_header, name, line_offset)
        if not isinstance(df.index, pd.RangeIndex):
            raise DataError(f"Some rows of '{name}' have more fields than the header ({len(names)}). "
                            "Check the delimiter, and put text that contains the delimiter in double quotes.")
    df = _drop_unnamed_empty(df, header if has_header else None, notes)
    _attach_lines(df, raw, has_header, line_offset, layout, fmt, name)
    if encoding in ("cp1252", "latin-1"):
        notes.append(f"Read the file as {_ENCODING_NAMES.get(encoding, encoding)} text (it is not UTF-8). "
                     "If accented letters look wrong, choose the encoding by hand.")
    if decimal == ",":
        notes.append("Numbers use a decimal comma (1,5 means one and a half).")
    if thousands:
        notes.append(f"Numbers use {'a space' if thousands == ' ' else repr(thousands)} as thousands separator "
                     f"(1{thousands}234 means one thousand two hundred thirty-four).")
    return Table(df=df, fmt=fmt, name=name, n_bytes=len(data), sha256=sha256_bytes(data), notes=notes)


def line_numbers(df: pd.DataFrame, rows) -> np.ndarray:
    """File line numbers (1-based, header = line 1) of the rows with index labels ``rows``.

    Uses the mapping :func:`read_csv` stores in ``df.attrs``; without it, assumes a header line
    followed by one line per row (label 0 -> line 2). Returns int64 array of ``len(rows)``.
    """
    rows = np.asarray(rows)
    if rows.dtype.kind not in "iu":
        rows = np.asarray([df.index.get_loc(r) for r in rows], dtype=np.int64)
    info = df.attrs.get(ATTRS_KEY) or {}
    first = int(info.get("first_line", 2))
    out = rows.astype(np.int64) + first
    jumps = info.get("jumps")
    if jumps and len(jumps) == 2 and len(jumps[0]):
        at, extra = np.frombuffer(jumps[0], dtype=np.int64), np.frombuffer(jumps[1], dtype=np.int64)
        k = np.searchsorted(at, rows, side="right") - 1
        out = out + np.where(k >= 0, extra[np.clip(k, 0, None)], 0)
    return out


def line_number(df: pd.DataFrame, row) -> int:
    """File line number of one row label (see :func:`line_numbers`)."""
    return int(line_numbers(df, [row])[0])


def csv_format(df: pd.DataFrame) -> CsvFormat | None:
    """The :class:`CsvFormat` a frame from :func:`read_csv` was read with, if still attached."""
    info = df.attrs.get(ATTRS_KEY) or {}
    return CsvFormat.from_dict(info["format"]) if info.get("format") else None


# ----------------------------------------------------------------------------- checks


def _display_name(name) -> str:
    name = str(name or "data.csv").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "data.csv"
    return name[:120]


def _check_size(data: bytes, name: str, limits: "Limits") -> None:
    if len(data) > limits.max_bytes:
        mb = len(data) / 2**20
        lim = limits.max_bytes / 2**20
        raise DataError(
            f"'{name}' is {mb:,.1f} MB, over the upload limit of {lim:,.4g} MB. Upload a smaller file, or raise "
            f"the limit by setting the environment variable SEQSTUDIO_MAX_UPLOAD_MB (for example "
            f"SEQSTUDIO_MAX_UPLOAD_MB={max(int(mb) + 1, 2 * int(lim))}) before starting Sequence Studio.")
    if not data or not re.search(rb"[^ \t\r\n\x0b\x0c]", data) or data in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE,
                                                                  codecs.BOM_UTF16_BE):
        raise DataError(f"'{name}' is empty. Upload a CSV file with a header line and data rows.")


_COMPRESSED = {
    b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"PK\x05\x06": "zip", b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz", b"7z\xbc\xaf\x27\x1c": "7z", b"\x28\xb5\x2f\xfd": "zstd", b"Rar!": "rar",
}
_BINARY = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) or Office file", b"PAR1": "a Parquet file",
    b"SQLite format 3": "an SQLite database", b"\x7fELF": "a program", b"MZ": "a program",
    b"BM": "a bitmap image", b"II*\x00": "a TIFF image", b"MM\x00*": "a TIFF image",
    b"\x93NUMPY": "a NumPy array file", b"\x89HDF": "an HDF5 file", b"RIFF": "a media file",
}


def _check_magic(data: bytes, name: str) -> None:
    head = data[:16]
    for magic, kind in _COMPRESSED.items():
        if head.startswith(magic):
            if kind == "zip" and (b"xl/" in data[:4096] or b"[Content_Types].xml" in data[:4096]):
                raise DataError(f"'{name}' looks like an Excel workbook (.xlsx), not a CSV file. Open it in "
                                "Excel or LibreOffice and use File > Save As > CSV, then upload that file.")
            raise DataError(f"'{name}' looks like a compressed file ({kind}); unzip it and upload the .csv "
                            "inside.")
    for magic, kind in _BINARY.items():
        if head.startswith(magic) and (len(magic) > 2 or b"\x00" in data[:512]):
            raise DataError(f"'{name}' looks like {kind}, not a CSV text file. Export your data as CSV "
                            "(comma-separated values) and upload that.")


def _decode(data: bytes, forced: str | None, name: str, notes: list[str]) -> tuple[str, str]:
    """(encoding name, decoded text). Detection: BOM, UTF-16 without BOM, UTF-8, cp1252, Latin-1."""
    if forced:
        try:
            return forced, data.decode(forced)
        except UnicodeDecodeError as e:
            raise DataError(
                f"'{name}' can't be read as {forced} text (bad byte at position {e.start:,}). Choose another "
                "encoding, or leave the encoding on automatic.") from None
        except LookupError:
            raise SpecError(f"Unknown text encoding {forced!r}; try utf-8, utf-16 or cp1252.") from None
    boms = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
            (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
    for bom, enc in boms:
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as e:
                raise DataError(f"'{name}' starts like {_ENCODING_NAMES.get(enc, enc)} text but has a broken "
                                f"character at byte {e.start:,}. Save it again as UTF-8 CSV and upload it.") from None
            if enc.startswith("utf-16"):
                order = "little" if bom == codecs.BOM_UTF16_LE else "big"
                notes.append(f"The file is UTF-16 text ({order}-endian, with byte order mark).")
            return enc, text
    if b"\x00" in data[:4096]:
        enc = _utf16_without_bom(data)
        if enc:
            try:
                text = data.decode(enc)
                notes.append(f"The file is {_ENCODING_NAMES[enc]} text without a byte order mark.")
                return enc, text
            except UnicodeDecodeError:
                pass
        raise DataError(f"'{name}' contains binary data (zero bytes), so it is not a CSV text file. Export "
                        "your data as CSV (comma-separated values) and upload that.")
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return "cp1252", data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1", data.decode("latin-1")


def _utf16_without_bom(data: bytes) -> str | None:
    head = data[:4096]
    head = head[: len(head) // 2 * 2]
    if len(head) < 4:
        return None
    even = head[0::2].count(0) / (len(head) / 2)
    odd = head[1::2].count(0) / (len(head) / 2)
    if odd > 0.4 and even < 0.05:
        return "utf-16-le"
    if even > 0.4 and odd < 0.05:
        return "utf-16-be"
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _check_text(text: str, name: str) -> None:
    if "\x00" in text:
        raise DataError(f"'{name}' contains binary data (zero bytes), so it is not a CSV text file. Export "
                        "your data as CSV (comma-separated values) and upload that.")
    head = text[:_SNIFF_CHARS]
    n_bad = len(_CONTROL.findall(head))
    if n_bad > max(2, 0.01 * len(head)):
        raise DataError(f"'{name}' does not look like a CSV text file (it contains binary data, like an "
                        "image or a spreadsheet). Export your data as CSV and upload that.")


# ----------------------------------------------------------------------------- sniffing


def _sample(text: str) -> str:
    """A prefix of whole lines: at least ~64 KB or 8 lines, at most ~16 MB."""
    if len(text) <= _SNIFF_CHARS:
        return text
    end = _SNIFF_CHARS
    while text.count("\n", 0, end) < 8 and end < min(len(text), _SNIFF_MAX_CHARS):
        end *= 2
    end = min(end, len(text))
    cut = text.rfind("\n", 0, end)
    return text[: cut + 1] if cut > 0 else text[:end]


def _sample_records(sample: str, delimiter: str, limit: int = _SNIFF_RECORDS) -> list[list[str]]:
    """First ``limit`` non-blank records of the sample, quotes respected (a cut final record is dropped)."""
    out: list[list[str]] = []
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter, quotechar='"', strict=False)
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, len(sample) + 1))
    try:
        for rec in reader:
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            out.append(rec)
            if len(out) >= limit:
                break
    except csv.Error:
        pass
    finally:
        csv.field_size_limit(old)
    return out


def _sniff_delimiter(sample: str) -> str:
    """Pick the delimiter whose field count is most consistent with the header line."""
    best, best_key = None, None
    for rank, d in enumerate(DELIMITERS):
        if d not in sample:
            continue
        recs = _sample_records(sample, d)
        if not recs or len(recs[0]) < 2:
            continue
        n = len(recs[0])
        rows = recs[1:]
        consistency = sum(len(r) == n for r in rows) / len(rows) if rows else 1.0
        key = (consistency, n, -rank)
        if best_key is None or key > best_key:
            best, best_key = d, key
    if best is not None:
        return best
    # one column: pick a delimiter that never occurs, so values like "1,5" stay whole
    return next((d for d in DELIMITERS if d not in sample), ",")


_NUM = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
_RE = {
    "comma_dec": re.compile(r"^[+-]?(\d*),(\d+)$"),
    "dot_dec": re.compile(r"^[+-]?(\d*)\.(\d+)([eE][+-]?\d+)?$"),
    "comma_th": re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"),
    "dot_th": re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$"),
    "space_th": re.compile(r"^[+-]?\d{1,3}( \d{3})+([.,]\d+)?$"),
    "apos_th": re.compile(r"^[+-]?\d{1,3}('\d{3})+(\.\d+)?$"),
}


def _looks_numeric(s: str) -> bool:
    return bool(_NUM.match(s))


def _numbered_header(header: list[str]) -> bool:
    """Whole numbers counting up by one (0,1,2,... or 2019,2020,...) are column names, not data."""
    if len(header) < 2 or not all(re.fullmatch(r"\s*\d+\s*", h) for h in header):
        return False
    nums = [int(h) for h in header]
    return all(b - a == 1 for a, b in zip(nums, nums[1:]))


def _ambiguous(m: re.Match) -> bool:
    """'1,234' / '1.234': one separator, 1-3 leading digits (not 0), exactly 3 after."""
    ip, fp = m.group(1), m.group(2)
    return len(fp) == 3 and 1 <= len(ip) <= 3 and ip != "0" and not ip.startswith("0")


def _detect_numbers(rows: list[list[str]], delimiter: str, options: CsvOptions,
                    notes: list[str]) -> tuple[str, str | None]:
    """Decimal mark and thousands separator from evidence in the sampled cells."""
    ev = dict.fromkeys(("comma_dec", "dot_dec", "amb_comma", "amb_dot", "comma_th", "dot_th", "space_th",
                        "apos_th"), 0)
    budget = _EVIDENCE_CELLS
    for row in rows:
        if budget <= 0:
            break
        budget -= len(row)
        for cell in row:
            c = cell.strip()
            if not c or not (c[0].isdigit() or c[0] in "+-."):
                continue
            m = _RE["comma_dec"].match(c)
            if m:
                ev["amb_comma" if _ambiguous(m) else "comma_dec"] += 1
                continue
            m = _RE["dot_dec"].match(c)
            if m:
                ev["amb_dot" if _ambiguous(m) and not m.group(3) else "dot_dec"] += 1
                continue
            if _RE["comma_th"].match(c):
                ev["comma_th"] += 1
            elif _RE["dot_th"].match(c):
                ev["dot_th"] += 1
                if "," in c:
                    ev["comma_dec"] += 1
            elif _RE["space_th"].match(c):
                ev["space_th"] += 1
                ev["comma_dec" if "," in c else "dot_dec"] += 1 if ("," in c or "." in c) else 0
            elif _RE["apos_th"].match(c):
                ev["apos_th"] += 1
    if options.decimal:
        decimal = options.decimal
    elif ev["comma_dec"] + ev["dot_th"] > ev["dot_dec"] + ev["comma_th"]:
        decimal = ","
    elif ev["dot_dec"] + ev["comma_th"] > 0:
        decimal = "."
    elif ev["amb_comma"] and delimiter == ";":
        decimal = ","
    else:
        decimal = "."
    if options.thousands is not None:
        thousands = options.thousands or None
    elif decimal == ",":
        thousands = "." if (ev["dot_th"] or ev["amb_dot"]) else (" " if ev["space_th"] else None)
    else:
        thousands = ("," if (ev["comma_th"] or ev["amb_comma"]) else
                     " " if ev["space_th"] else "'" if ev["apos_th"] else None)
    if thousands == decimal:
        thousands = None
    return decimal, thousands


# ----------------------------------------------------------------------------- names


def _clean_names(header: list[str], notes: list[str]) -> list[str]:
    """Strip names; blank -> column_<n>; duplicates -> name_2, name_3 (each with a note)."""
    names = [h.strip() for h in header]
    blanks = [i for i, h in enumerate(names) if not h]
    taken = set(n for n in names if n)
    for i in blanks:
        cand = f"column_{i + 1}"
        while cand in taken:
            cand += "_"
        names[i] = cand
        taken.add(cand)
    if blanks:
        shown = ", ".join(names[i] for i in blanks[:5]) + (" ..." if len(blanks) > 5 else "")
        notes.append(f"{len(blanks)} column(s) had no name in the header and were named {shown}.")
    seen: dict[str, int] = {}
    renamed: list[str] = []
    for i, n in enumerate(names):
        if n in seen:
            k = seen[n] + 1
            cand = f"{n}_{k}"
            while cand in taken:
                k += 1
                cand = f"{n}_{k}"
            seen[n] = k
            names[i] = cand
            taken.add(cand)
            renamed.append(f"'{n}' -> '{cand}'")
        else:
            seen[n] = 1
    if renamed:
        notes.append("Some column names appear more than once; the copies were renamed: "
                     + ", ".join(renamed[:5]) + (" ..." if len(renamed) > 5 else "") + ".")
    return names


def _drop_unnamed_empty(df: pd.DataFrame, header: list[str] | None, notes: list[str]) -> pd.DataFrame:
    """Drop columns with a blank header that are entirely empty (trailing delimiters)."""
    if header is None:
        return df
    drop = [df.columns[i] for i, h in enumerate(header) if not h.strip() and df.iloc[:, i].isna().all()]
    if drop and len(drop) < df.shape[1]:
        notes.append(f"Dropped {len(drop)} empty column(s) with no name (usually a delimiter at the end of "
                     "each line).")
        return df.drop(columns=drop)
    return df


# ----------------------------------------------------------------------------- parsing


def _parse(raw: bytes, fmt: CsvFormat, names: list[str], has_header: bool, name: str,
           limits: "Limits", line_offset: int) -> pd.DataFrame:
    try:
        df = pd.read_csv(
            io.BytesIO(raw), sep=fmt.delimiter, decimal=fmt.decimal, thousands=fmt.thousands,
            quotechar='"', header=0 if has_header else None, names=names, engine="c",
            na_values=list(MISSING_TOKENS), keep_default_na=False, skip_blank_lines=True,
            nrows=limits.max_rows + 1, low_memory=False, encoding="utf-8",
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"'{name}' has no data. Upload a CSV file with a header line and data rows.") from None
    except MemoryError:
        raise DataError(f"'{name}' is too large to load into memory. Upload a smaller file.") from None
    except Exception as e:  # ParserError, ValueError, OverflowError...: explain with line numbers
        _explain_parse_error(raw, fmt.delimiter, len(names), name, line_offset, e)
        raise AssertionError("unreachable")  # pragma: no cover
    if len(df) > limits.max_rows:
        raise DataError(
            f"'{name}' has more than {limits.max_rows:,} rows, the limit. Use fewer rows (for example the most "
            "recent ones), or raise the limit with the environment variable SEQSTUDIO_MAX_ROWS before "
            "starting Sequence Studio.")
    return df


def _explain_parse_error(raw: bytes, delimiter: str, n_fields: int, name: str, line_offset: int,
                         err: Exception):
    """Turn a pandas parser failure into a DataError that names the line."""
    layout = _layout(raw, delimiter)
    if layout["open_quote_line"] is not None:
        # parity says a quote is open at the end; confirm with the csv module (mid-field quotes are literal)
        bad = _csv_first_bad(raw, delimiter, n_fields)
        if bad is None or bad[1] < 0:
            line = bad[0] if bad else layout["open_quote_line"]
            raise DataError(
                f"'{name}' has a double quote (\") opened on line {line + line_offset:,} that is never closed. "
                "Close the quote, or remove it if it is part of the text.") from None
        _raise_field_count(name, bad[0] + line_offset, bad[1], n_fields, 1)
    _check_field_counts(layout, n_fields, name, line_offset)
    msg = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        _raise_field_count(name, int(m.group(2)) + line_offset, int(m.group(3)), int(m.group(1)), 1)
    m = re.search(r"EOF inside string starting at row (\d+)", msg)
    if m:
        raise DataError(f"'{name}' has a double quote (\") that is never closed (near data row "
                        f"{int(m.group(1)):,}). Close the quote, or remove it if it is part of the text.") from None
    raise DataError(f"'{name}' could not be read as CSV: {msg[:200]}. Check that it is a plain CSV file "
                    "(save it again as CSV UTF-8) and try again.") from None


def _csv_first_bad(raw: bytes, delimiter: str, n_fields: int) -> tuple[int, int] | None:
    """Slow exact check with the csv module: (start line, fields) of the first record whose field
    count differs from ``n_fields`` (fields = -1 for a quote still open at the end), or None."""
    text = raw.decode("utf-8")
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, len(text) + 1))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"', strict=False)
    prev = 0
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    try:
        for rec in reader:
            start = prev + 1
            prev = reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            if len(rec) != n_fields:
                if reader.line_num >= n_lines and text.count('"') % 2:
                    return start, -1
                return start, len(rec)
    except csv.Error:
        return prev + 1, -1
    finally:
        csv.field_size_limit(old)
    return None


def _raise_field_count(name: str, line: int, found: int, expected: int, n_bad: int):
    more = f" ({n_bad:,} lines like this)" if n_bad > 1 else ""
    raise DataError(
        f"Line {line:,} of '{name}' has {found} field{'s' if found != 1 else ''} but the header has "
        f"{expected}{more}. Check the delimiter, and put text that contains the delimiter in double quotes.")


def _layout(raw: bytes, delimiter: str) -> dict:
    """Vectorised record structure of normalised (\\n) UTF-8 bytes, quotes respected.

    Returns dict with ``lines`` (int64, start line of each non-blank record, header included),
    ``fields`` (int64, field count of each) and ``open_quote_line`` (line of a never-closed quote or None).
    """
    arr = np.frombuffer(raw, dtype=np.uint8)
    n = arr.size
    nl = np.flatnonzero(arr == 10)
    if b'"' in raw:
        par = np.bitwise_xor.accumulate((arr == 34).view(np.uint8))
        outside = par[nl] == 0
        open_quote = bool(par[-1]) if n else False
    else:
        par = None
        outside = np.ones(nl.size, dtype=bool)
        open_quote = False
    idx = np.flatnonzero(outside)
    starts = np.concatenate([[0], nl[idx] + 1]).astype(np.int64)
    lines = np.concatenate([[1], idx + 2]).astype(np.int64)
    keep = starts < n
    starts, lines = starts[keep], lines[keep]
    open_quote_line = None
    if open_quote:
        # the unmatched quote is the last one that turns parity to 1 (it stays 1 up to the end)
        flips = np.flatnonzero((arr == 34) & (par == 1))
        pos = int(flips[-1])
        open_quote_line = int(np.searchsorted(nl, pos, side="left")) + 1
    if starts.size == 0:
        return {"lines": lines, "fields": np.zeros(0, np.int64), "open_quote_line": open_quote_line}
    nonws = (arr > 32).view(np.uint8)
    nonblank = np.maximum.reduceat(nonws, starts) > 0
    is_delim = arr == ord(delimiter)
    if par is not None:
        is_delim &= par == 0
    dpos = np.flatnonzero(is_delim)
    fields = np.bincount(np.searchsorted(starts, dpos, side="right") - 1, minlength=starts.size) + 1
    return {"lines": lines[nonblank], "fields": fields[nonblank].astype(np.int64),
            "open_quote_line": open_quote_line}


def _check_field_counts(layout: dict, n_fields: int, name: str, line_offset: int) -> None:
    bad = np.flatnonzero(layout["fields"] != n_fields)
    if bad.size:
        i = int(bad[0])
        _raise_field_count(name, int(layout["lines"][i]) + line_offset, int(layout["fields"][i]), n_fields,
                           int(bad.size))


def _check_rows(raw: bytes, fmt: CsvFormat, n_fields: int, n_records: int, name: str,
                line_offset: int) -> dict | None:
    """After a successful parse: find rows pandas padded (too few fields) or absorbed (too many).

    Returns the vectorised layout when it agrees with what pandas read (reused for line numbers).
    """
    layout = _layout(raw, fmt.delimiter)
    if layout["open_quote_line"] is None and layout["lines"].size == n_records:
        _check_field_counts(layout, n_fields, name, line_offset)
        return layout
    bad = _csv_first_bad(raw, fmt.delimiter, n_fields)  # quotes inside fields confuse the fast check
    if bad is not None and bad[1] >= 0:
        _raise_field_count(name, bad[0] + line_offset, bad[1], n_fields, 1)
    return None


def _attach_lines(df: pd.DataFrame, raw: bytes, has_header: bool, line_offset: int, layout: dict | None,
                  fmt: CsvFormat, name: str) -> None:
    """Store the row -> file-line mapping compactly in ``df.attrs`` (jumps only where it changes)."""
    n_rows = len(df)
    first = (2 if has_header else 1) + line_offset
    # [row positions where the offset changes, extra lines from there on], int64 as bytes: immutable, so
    # pandas' deepcopy / equality checks of attrs stay cheap and never compare arrays
    jumps: list[bytes] = []
    n_newlines = raw.count(b"\n")
    simple = n_newlines in (n_rows + has_header, n_rows + has_header - 1) and not raw.startswith(b"\n")
    if not simple:
        layout = layout or _layout(raw, fmt.delimiter)
        lines = layout["lines"][1:] if has_header else layout["lines"]
        if lines.size == n_rows and n_rows:
            extra = lines - np.arange(n_rows) - (first - line_offset)
            change = np.flatnonzero(np.diff(extra, prepend=0) != 0)
            jumps = [change.astype(np.int64).tobytes(), extra[change].astype(np.int64).tobytes()]
    df.attrs[ATTRS_KEY] = {"format": fmt.to_dict(), "name": name, "first_line": first, "jumps": jumps}
