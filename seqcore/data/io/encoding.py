"""Bytes -> text.

Order: the encoding the user forced; a byte order mark; UTF-16 without BOM; UTF-8. These cover almost
every file and cost one decode. Only when they all fail, ``charset_normalizer`` (imported then) looks at a
bounded sample, the distinct fields that hold non-ASCII bytes, and names a legacy code page (Windows-1251,
Shift-JIS, GBK, ...); when it finds nothing convincing, or a Latin-script page, the text is read as
Windows-1252, or Latin-1, as before.
"""

from __future__ import annotations

import codecs
import collections
import re
import unicodedata

from seqcore.data.io.options import _ENCODING_NAMES
from seqcore.errors import DataError, SpecError


def _decode(data: bytes, forced: str | None, name: str, notes: list[str]) -> tuple[str, str]:
    """(encoding name, decoded text). Detection: BOM, UTF-16 without BOM, UTF-8, a detected legacy code
    page (:func:`_detect_legacy`), cp1252, Latin-1."""
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
    enc = _detect_legacy(data)
    if enc:
        try:
            return enc, data.decode(enc)
        except UnicodeDecodeError:  # the sample decoded, a later line does not: not that code page
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


# ----------------------------------------------------------------------------- legacy code pages

_DETECT_BYTES = 64 * 1024   # sample for charset_normalizer: distinct fields with non-ASCII bytes, about this many
_DETECT_SCAN = 2**20        # ... collected from at most this many bytes of non-ASCII text
_CHUNK = 64 * 1024
# Field ends; all below 0x40, so never the second byte of a Shift-JIS / GBK / Big5 / EUC character.
_FIELD_END = re.compile(rb"[\t\r\n,;]")
_CHAOS_TIE = 0.02           # matches this close to the least "chaos" count as equally clean
_WESTERN_TIE = 0.1          # Windows-1252 (what was used before) wins when this close: short samples are noisy
# How much more likely a code page is, as a bonus on charset_normalizer's coherence (0..1): the pages that
# most non-Latin CSV files are saved in, then other Windows / national pages; Mac, DOS and ISO-8859 variants
# (which read the same bytes as other letters of the same script) get a malus.
_MAJOR = frozenset({"cp1251", "cp932", "shift_jis", "euc_jp", "gb18030", "gbk", "gb2312", "big5", "big5hkscs",
                    "cp949", "euc_kr"})
_COMMON = frozenset({"cp1250", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp874",
                     "koi8_r", "koi8_u"})
_PRIOR = {**dict.fromkeys(_COMMON, 0.05), **dict.fromkeys(_MAJOR, 0.15)}
_OTHER_PRIOR = -0.05
_RARE_CHAOS = 0.05            # a Mac / DOS / ISO-8859 pick must read at least this cleanly
_WORD = re.compile(r"[^\W\d_]+")
# One writing system for words that mix these (Japanese words mix kanji, hiragana and katakana).
# (Korean words are Hangul alone: a word mixing Hangul and Chinese characters is a wrong code page.)
_SCRIPT_ALIASES = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "KATAKANA-HIRAGANA": "CJK", "IDEOGRAPHIC": "CJK",
                   "MODIFIER": "", "COMBINING": ""}  # "": goes with any script


def _detection_sample(data: bytes) -> bytes:
    """The distinct fields that hold non-ASCII bytes, one a line, about ``_DETECT_BYTES`` in all.

    Pure-ASCII stretches are skipped fast, so text far down the file is found; only whole fields are
    taken, so no character is cut in two (bar a field longer than ``_CHUNK``: then the detector finds
    nothing and cp1252 is used, as before).
    """
    seen: dict[bytes, None] = {}
    pos = size = scanned = 0
    while pos < len(data) and size < _DETECT_BYTES and scanned < _DETECT_SCAN:
        end = pos + _CHUNK
        chunk = data[pos:end]
        if chunk.isascii():  # its last byte is ASCII, so ``end`` starts a character
            pos = end
            continue
        fields = _FIELD_END.split(chunk)
        if end < len(data) and len(fields) > 1:
            end -= len(fields.pop())  # a field cut by the chunk end is read with the next chunk
        for f in dict.fromkeys(fields):  # distinct first: CSV columns repeat their values
            if not f.isascii() and f not in seen:
                seen[f] = None
                size += len(f) + 1
        scanned += end - pos
        pos = end
    return b"\n".join(seen)


def _detect_legacy(data: bytes) -> str | None:
    """The code page of bytes that are not UTF-8, or None when nothing is convincing (then cp1252 is used).

    ``charset_normalizer`` lists the code pages that decode a sample into clean-looking text, with how
    messy it looks ("chaos", at most 0.2) and how much it reads like a language ("coherence"). It tells
    scripts apart well (Cyrillic, Greek, Hebrew, Chinese, Japanese, ...), but on short CSV samples its
    single best guess is often a close relative: French cp1252 as Baltic cp1257, Shift-JIS as GB18030,
    Windows-1251 as KOI8-R (which swaps upper and lower case). So:

    - Windows-1252 almost as clean as the cleanest match, or a pick whose letters are Latin anyway: None,
      Windows-1252 as before (the detector can't tell Latin-script code pages apart on a CSV sample);
    - otherwise, among the equally clean matches, the best coherence plus a bonus for code pages that
      CSV files are usually saved in, less the share of words with odd case (``мОСКВА``) or mixed scripts;
      a Mac, DOS or ISO-8859 pick only when it reads cleanly (the detector sometimes misses the right
      page altogether: Greek Windows-1253 came out as Mac Cyrillic).
    """
    sample = _detection_sample(data)
    try:
        from charset_normalizer import from_bytes  # lazy: only files that are not UTF-8 pay the import

        matches = [m for m in from_bytes(sample, steps=8, chunk_size=1024) if not m.encoding.startswith("utf")]
    except Exception:  # noqa: BLE001 - a detector failure only costs the detection; cp1252 reads anything
        return None
    if not matches:
        return None
    low = min(m.chaos for m in matches)
    if any(m.encoding == "cp1252" and m.chaos <= low + _WESTERN_TIE for m in matches):
        return None
    near = [m for m in matches if m.chaos <= low + _CHAOS_TIE]
    pick = max(near, key=lambda m: m.coherence + _PRIOR.get(m.encoding, _OTHER_PRIOR) - _odd_words(str(m)))
    if pick.encoding not in _PRIOR and pick.chaos > _RARE_CHAOS:
        return None  # a rare code page that doesn't read cleanly is most often a miss (Greek as Mac Cyrillic)
    return None if _mostly_latin(str(pick)) else pick.encoding


def _script(ch: str) -> str:
    word = unicodedata.name(ch, "?").split(" ", 1)[0]
    return _SCRIPT_ALIASES.get(word, word)


def _odd_words(text: str) -> float:
    """Share of the distinct non-ASCII words that no one writes: a lower-case letter followed by a capital,
    or letters of two scripts (what a wrong code page of the right script gives)."""
    words = {w for w in _WORD.findall(text) if not w.isascii()}
    if not words:
        return 0.0
    odd = 0
    for w in words:
        if any(a.islower() and b.isupper() for a, b in zip(w, w[1:])) or len({_script(c) for c in w} - {""}) > 1:
            odd += 1
    return odd / len(words)


def _mostly_latin(text: str) -> bool:
    """Whether most non-ASCII letters of ``text`` are Latin (é, ß, ł, ...), or there are none."""
    latin = other = 0
    for ch, n in collections.Counter(ch for ch in text if ch > "\x7f" and ch.isalpha()).items():
        if unicodedata.name(ch, "").startswith("LATIN"):
            latin += n
        else:
            other += n
    return latin >= other
