"""Detection on a text sample: the delimiter, whether the first line is a header, the decimal mark and
the thousands separator."""

from __future__ import annotations

import csv
import io
import re

from seqcore.data.io.options import _EVIDENCE_CELLS, _SNIFF_CHARS, _SNIFF_MAX_CHARS, _SNIFF_RECORDS, DELIMITERS, \
    MISSING_TOKENS, WHITESPACE, CsvOptions


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
    if _whitespace_delimited(sample):
        return WHITESPACE
    # one column: pick a delimiter that never occurs, so values like "1,5" stay whole
    return next((d for d in DELIMITERS if d not in sample), ",")


def _whitespace_delimited(sample: str) -> bool:
    """Numbers separated by runs of spaces (the raw UCR / Fortran-style format): every sampled line splits
    into the same number (>= 2) of fields, nearly all of them numbers, and there are no quotes."""
    if '"' in sample:
        return False
    lines = [ln.split() for ln in sample.split("\n")[:_SNIFF_RECORDS + 1] if ln.strip()]
    if len(lines) > 1 and not sample.endswith("\n"):
        lines = lines[:-1]  # a cut final line
    if not lines or len(lines[0]) < 2 or any(len(ln) != len(lines[0]) for ln in lines):
        return False
    cells = [c for ln in lines[1:] or lines for c in ln]
    return sum(bool(_NUM.match(c)) for c in cells) >= 0.8 * len(cells)


def normalise_whitespace(text: str) -> str:
    """Whitespace-delimited text as tab-delimited text, line for line (line numbers stay the same)."""
    return re.sub(r"[ \t]+", "\t", re.sub(r"(?m)^[ \t]+|[ \t]+$", "", text))


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


def _has_header(records: list[list[str]]) -> bool:
    """Whether the first record holds column names.

    All numbers: data, unless they count up by one (0,1,2,... as pandas writes column numbers). Mostly
    numbers with decimals and a few text fields that sit above text in the rows below (a header-less
    sequence file whose class is a word: ``walk,0.12,0.5,...``): data too. Anything else is a header."""
    header = records[0]
    present = [h for h in header if h.strip() and h.strip() not in MISSING_TOKENS]   # NaN-padded rows
    if len(present) >= 0.5 * len(header) and all(_looks_numeric(h) for h in present):
        return _numbered_header(present)
    rows = [r for r in records[1:] if len(r) == len(header)]
    num = [_looks_numeric(h) for h in header]
    if len(header) < 5 or not rows or sum(num) < 0.8 * len(header):
        return True
    values = [h.strip() for h, k in zip(header, num) if k]
    if all(re.fullmatch(r"[+-]?\d+", v) for v in values):
        return True      # whole numbers on top (years, step numbers): column names
    for i, is_num in enumerate(num):
        below = sum(_looks_numeric(r[i]) or not r[i].strip() for r in rows) / len(rows)
        if (is_num and below < 0.9) or (not is_num and below > 0.1):
            return True  # the first row does not look like the rows below it
    return False


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
