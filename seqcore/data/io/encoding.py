"""Bytes -> text: the forced encoding, a byte order mark, UTF-16 without BOM, UTF-8, then Windows-1252 /
Latin-1."""

from __future__ import annotations

import codecs

from seqcore.data.io.options import _ENCODING_NAMES
from seqcore.errors import DataError, SpecError


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
