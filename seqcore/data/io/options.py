"""What a read takes and gives: :class:`CsvOptions` (user overrides), :class:`CsvFormat` (what was
detected and used: a CSV's encoding and delimiters, or a Parquet file, or an Excel workbook and its sheet),
:class:`Table` (the parsed result) and the constants the readers share."""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import asdict, dataclass, field

import pandas as pd

from seqcore.errors import SpecError

DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = " "               # the delimiter code for "one or more spaces" (never sniffed like the others)
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
    # code pages charset_normalizer may name (see encoding._detect_legacy)
    "cp1250": "Windows-1250 (Central European)", "cp1251": "Windows-1251 (Cyrillic)",
    "cp1253": "Windows-1253 (Greek)", "cp1254": "Windows-1254 (Turkish)", "cp1255": "Windows-1255 (Hebrew)",
    "cp1256": "Windows-1256 (Arabic)", "cp1257": "Windows-1257 (Baltic)", "cp1258": "Windows-1258 (Vietnamese)",
    "cp874": "Windows-874 (Thai)", "shift_jis": "Shift-JIS (Japanese)", "cp932": "Shift-JIS (Japanese, Windows-932)",
    "euc_jp": "EUC-JP (Japanese)", "gbk": "GBK (Chinese)", "gb2312": "GB2312 (Chinese)",
    "gb18030": "GB18030 (Chinese, GBK)", "big5": "Big5 (Traditional Chinese)",
    "big5hkscs": "Big5-HKSCS (Traditional Chinese)", "cp949": "Windows-949 (Korean)", "euc_kr": "EUC-KR (Korean)",
    "koi8-r": "KOI8-R (Cyrillic)", "koi8-u": "KOI8-U (Ukrainian)",
}


def encoding_label(encoding: str) -> str:
    """Plain name of a codec, e.g. ``"cp1251"`` -> ``"Windows-1251 (Cyrillic)"``; unknown ones as given."""
    label = _ENCODING_NAMES.get(encoding.lower())
    if label is None:
        try:
            label = _ENCODING_NAMES.get(codecs.lookup(encoding).name)
        except LookupError:
            pass
    return label or encoding


_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", WHITESPACE: "spaces"}


# ----------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class CsvOptions:
    """User overrides for reading a file; ``None`` means "detect".

    ``thousands=""`` forces "no thousands separator" (``None`` detects one). The first four apply to CSV
    text only; ``sheet`` to Excel workbooks only (``None``: the first sheet). A Parquet file takes none.
    """

    encoding: str | None = None      # "utf-8", "utf-8-sig", "utf-16", "cp1252", ...
    delimiter: str | None = None     # one of DELIMITERS
    decimal: str | None = None       # "." or ","
    thousands: str | None = None     # None (detect), "" (none), ",", ".", " ", "'"
    sheet: str | None = None         # an Excel workbook's sheet, by name

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "CsvOptions":
        d = d or {}
        return cls(**{k: d.get(k) for k in ("encoding", "delimiter", "decimal", "thousands", "sheet")})

    def validate(self) -> "CsvOptions":
        """Raise :class:`SpecError` for a value that cannot be used."""
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except (LookupError, TypeError):
                raise SpecError(f"Unknown text encoding {self.encoding!r}; try utf-8, utf-16 or cp1252, "
                                "or leave it on automatic.") from None
        if self.delimiter is not None and self.delimiter not in DELIMITERS + (WHITESPACE,):
            raise SpecError(f"delimiter must be one of comma, semicolon, tab, '|' or spaces; got {self.delimiter!r}.")
        if self.decimal is not None and self.decimal not in DECIMALS:
            raise SpecError(f"decimal mark must be '.' or ','; got {self.decimal!r}.")
        if self.thousands not in (None, "") and self.thousands not in THOUSANDS:
            raise SpecError(f"thousands separator must be none, ',', '.', ' ' or \"'\"; got {self.thousands!r}.")
        if self.decimal and self.thousands and self.decimal == self.thousands:
            raise SpecError(f"The decimal mark and the thousands separator can't both be {self.decimal!r}.")
        if self.delimiter and self.decimal and self.delimiter == self.decimal:
            raise SpecError(f"The delimiter and the decimal mark can't both be {self.delimiter!r}; "
                            "files with a decimal comma usually use ';' between fields.")
        if self.sheet is not None and (not isinstance(self.sheet, str) or not self.sheet.strip()):
            raise SpecError(f"A sheet is chosen by its name, as shown on the workbook's tabs; got {self.sheet!r}.")
        return self


KINDS = ("csv", "parquet", "xlsx")   # the file formats read (CsvFormat.kind)


@dataclass(frozen=True)
class CsvFormat:
    """What was detected (or forced) and used to parse the file.

    ``kind`` is the file format (one of ``KINDS``); a Parquet file or workbook carries the values a CSV
    with a decimal point and no thousands separator would (its cells are typed), and ``sheet`` names the
    workbook's sheet that was read."""

    encoding: str
    delimiter: str
    decimal: str
    thousands: str | None
    kind: str = "csv"
    sheet: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CsvFormat":
        return cls(encoding=d["encoding"], delimiter=d["delimiter"], decimal=d["decimal"],
                   thousands=d.get("thousands"), kind=d.get("kind") or "csv", sheet=d.get("sheet"))

    @classmethod
    def typed(cls, kind: str, sheet: str | None = None) -> "CsvFormat":
        """The format of a file whose cells are typed (``kind`` "parquet" or "xlsx")."""
        return cls("utf-8", ",", ".", None, kind=kind, sheet=sheet)

    def to_options(self) -> CsvOptions:
        """Options that read another file exactly the same way (e.g. new data for a trained model)."""
        if self.kind != "csv":
            return CsvOptions(sheet=self.sheet)
        return CsvOptions(self.encoding, self.delimiter, self.decimal,
                          "" if self.thousands is None else self.thousands)

    def describe(self) -> str:
        """Plain words, e.g. ``"UTF-8 with BOM, ';' delimited, decimal comma"``, ``"a Parquet file"``."""
        if self.kind == "parquet":
            return "a Parquet file"
        if self.kind == "xlsx":
            return f"an Excel workbook, sheet '{self.sheet}'"
        enc = encoding_label(self.encoding)
        delim = {"\t": "tab", WHITESPACE: "space"}.get(self.delimiter, repr(self.delimiter))
        parts = [enc, f"{delim} delimited", "decimal comma" if self.decimal == "," else "decimal point"]
        if self.thousands:
            parts.append("thousands separator " + ("space" if self.thousands == " " else repr(self.thousands)))
        return ", ".join(parts)


@dataclass
class Table:
    """A parsed file (CSV, Parquet or an Excel sheet).

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
