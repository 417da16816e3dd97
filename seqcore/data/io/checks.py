"""Checks on the raw upload before parsing: display name, size limit, binary / compressed files, control
characters in the decoded text. Each failure is a :class:`DataError` that says what to do."""

from __future__ import annotations

import codecs
import re
from typing import TYPE_CHECKING

from seqcore.data.io.options import _SNIFF_CHARS
from seqcore.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from seqcore.config import Limits


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
