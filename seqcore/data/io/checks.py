"""Checks on the raw upload before parsing: display name, size limit, which format the bytes hold (CSV text,
Parquet, an Excel workbook), binary / compressed files, control characters in the decoded text, and the
row / column limits every format shares. Each failure is a :class:`DataError` that says what to do."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from typing import TYPE_CHECKING

from seqcore.data.io.options import _SNIFF_CHARS
from seqcore.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from seqcore.config import Limits


def _display_name(name) -> str:
    name = str(name or "data.csv").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "data.csv"
    return name[:120]


def check_byte_count(n_bytes: int, name: str, limits: "Limits") -> None:
    """Refuse a file of ``n_bytes`` over the upload limit (the first check for every format; the CLI makes it
    on the file's size before reading it)."""
    if n_bytes > limits.max_bytes:
        mb = n_bytes / 2**20
        lim = limits.max_bytes / 2**20
        raise DataError(
            f"'{name}' is {mb:,.1f} MB, over the upload limit of {lim:,.4g} MB. Upload a smaller file, or raise "
            f"the limit by setting the environment variable SEQSTUDIO_MAX_UPLOAD_MB (for example "
            f"SEQSTUDIO_MAX_UPLOAD_MB={max(int(mb) + 1, 2 * int(lim))}) before starting Sequence Studio.")


def check_rows(n_rows: int, name: str, limits: "Limits", *, over: bool = False) -> None:
    """Refuse more than ``limits.max_rows`` data rows (``over``: the count is a lower bound, "more than")."""
    if n_rows > limits.max_rows:
        count = f"more than {limits.max_rows:,}" if over else f"{n_rows:,}"
        raise DataError(
            f"'{name}' has {count} rows, over the limit of {limits.max_rows:,}. Use fewer rows (for example the "
            "most recent ones), or raise the limit with the environment variable SEQSTUDIO_MAX_ROWS before "
            "starting Sequence Studio.")


def check_columns(n_columns: int, name: str, limits: "Limits") -> None:
    """Refuse more than ``limits.max_columns`` columns."""
    if n_columns > limits.max_columns:
        raise DataError(
            f"'{name}' has {n_columns:,} columns; the limit is {limits.max_columns:,}. Remove columns you "
            f"don't need, or raise the limit with the environment variable SEQSTUDIO_MAX_COLUMNS before "
            f"starting Sequence Studio.")


def _check_size(data: bytes, name: str, limits: "Limits") -> None:
    check_byte_count(len(data), name, limits)
    if not data or not re.search(rb"[^ \t\r\n\x0b\x0c]", data) or data in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE,
                                                                  codecs.BOM_UTF16_BE):
        raise DataError(f"'{name}' is empty. Upload a CSV, Parquet or Excel file with a header line and data "
                        "rows.")


# ----------------------------------------------------------------------------- which format


_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE = b"\xd0\xcf\x11\xe0"


def _suffix(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def detect_kind(data: bytes, name: str) -> str:
    """Which reader the bytes need: ``"parquet"``, ``"xlsx"`` or ``"csv"``.

    The content decides first (Parquet files start with ``PAR1``; a workbook is a zip holding
    ``xl/workbook.xml``); the file name's extension only routes a file that does not start as its format
    says to the reader that can explain what is wrong with it."""
    head, ext = data[:8], _suffix(name)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(_ZIP):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except Exception:  # noqa: BLE001 - any damage (BadZipFile, an odd zip version ...): judge by the first bytes
            names = None
        if names is not None:
            return "xlsx" if "xl/workbook.xml" in names else "csv"   # another zip: the CSV checks explain it
        if ext in ("xlsx", "xlsm") or b"xl/" in data[:4096] or b"[Content_Types].xml" in data[:4096]:
            return "xlsx"
        return "csv"
    if ext in ("parquet", "pq") and not head.startswith(_OLE):
        return "parquet"
    if ext in ("xlsx", "xlsm") and not head.startswith(_OLE):
        return "xlsx"
    return "csv"


_COMPRESSED = {
    b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"PK\x05\x06": "zip", b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz", b"7z\xbc\xaf\x27\x1c": "7z", b"\x28\xb5\x2f\xfd": "zstd", b"Rar!": "rar",
}
_BINARY = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"%PDF": "a PDF document",
    b"SQLite format 3": "an SQLite database", b"\x7fELF": "a program", b"MZ": "a program",
    b"BM": "a bitmap image", b"II*\x00": "a TIFF image", b"MM\x00*": "a TIFF image",
    b"\x93NUMPY": "a NumPy array file", b"\x89HDF": "an HDF5 file", b"RIFF": "a media file",
}


def _check_magic(data: bytes, name: str) -> None:
    """Refuse what is not CSV text (after :func:`detect_kind` sent Parquet files and workbooks elsewhere)."""
    head = data[:16]
    if head.startswith(_OLE):
        if _suffix(name) in ("xlsx", "xlsm"):
            raise DataError(f"'{name}' is a password-protected (encrypted) Excel workbook, which can't be read. "
                            "Open it in Excel, remove the password (File > Info > Protect Workbook), save it "
                            "and upload it again, or save it as CSV.")
        raise DataError(f"'{name}' looks like an old Excel workbook (.xls) or another old Office file, which "
                        "can't be read. Open it in Excel or LibreOffice and use File > Save As > Excel "
                        "Workbook (.xlsx) or CSV, then upload that file.")
    for magic, kind in _COMPRESSED.items():
        if head.startswith(magic):
            if kind == "zip" and b"opendocument.spreadsheet" in data[:200]:
                raise DataError(f"'{name}' looks like an OpenDocument spreadsheet (.ods), which can't be read. "
                                "Open it in LibreOffice and use File > Save As > Excel 2007-365 (.xlsx) or "
                                "CSV, then upload that file.")
            raise DataError(f"'{name}' looks like a compressed file ({kind}); unzip it and upload the .csv "
                            "inside.")
    for magic, kind in _BINARY.items():
        if head.startswith(magic) and (len(magic) > 2 or b"\x00" in data[:512]):
            raise DataError(f"'{name}' looks like {kind}, not a CSV text file. Export your data as CSV "
                            "(comma-separated values), Parquet or Excel (.xlsx) and upload that.")



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
