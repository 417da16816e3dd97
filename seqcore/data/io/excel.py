"""Excel workbooks (.xlsx / .xlsm, read with python-calamine): the first sheet, or the one chosen by name.

Before anything is loaded the zip is checked (how much it unpacks to: a small file can unpack to gigabytes)
and the sheet's XML is streamed once for its size (``<dimension>``, the rows) and for formulas saved without
their result, so a sheet over the limits is refused before it is read whole. Then the rows go through the
same rules as a CSV: title rows above the table are skipped, the header is detected as in a CSV, blank rows
are left out, and messages name cells by the sheet's row numbers (:mod:`seqcore.data.io.typed`)."""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from typing import TYPE_CHECKING
from xml.etree import ElementTree

import pandas as pd

from seqcore.data.io.checks import check_columns, check_rows
from seqcore.data.io.options import CsvFormat
from seqcore.data.io.sniff import _has_header
from seqcore.data.io.typed import cell_text, finish_frame, is_blank
from seqcore.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from seqcore.config import Limits

UNPACK_RATIO = 10        # a workbook may unpack to this many times the upload limit (XML is wordy)
_HEADER_SEARCH = 30      # title rows above the table are looked for among this many first rows
_CHUNK = 1 << 20
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_ROW = re.compile(rb"<row[\s>]")
_FORMULA = re.compile(rb"<f[\s>/]")
_FORMULA_WITH_VALUE = re.compile(rb"<f\b[^>]*(?:/>|>[^<]*</f>)\s*<v>[^<]")
# what a damaged zip or XML part raises while it is read (NotImplementedError, a RuntimeError: an odd zip version)
_BROKEN = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OSError, ValueError, RuntimeError,
           ElementTree.ParseError)


def _damaged(name: str, why: str = "") -> DataError:
    return DataError(f"'{name}' can't be read as an Excel workbook: it is damaged or incomplete{why}. Open it in "
                     "Excel or LibreOffice and save it again as .xlsx (or as CSV), then upload the new file.")


def _open(data: bytes, name: str) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        zf.getinfo("xl/workbook.xml")
    except (KeyError, *_BROKEN):
        raise _damaged(name) from None
    return zf


def _check_unpacked(zf: zipfile.ZipFile, name: str, limits: "Limits") -> None:
    """Refuse a workbook that unpacks to more than UNPACK_RATIO x the upload limit (a zip bomb, or a huge
    sheet), from the sizes the zip declares; reading is bounded by them too."""
    total = sum(i.file_size for i in zf.infolist())
    cap = UNPACK_RATIO * limits.max_bytes
    if total > cap:
        raise DataError(
            f"'{name}' unpacks to {total / 2**20:,.0f} MB of spreadsheet data, over the limit of "
            f"{cap / 2**20:,.0f} MB ({UNPACK_RATIO} times the upload limit). Save only the sheet you need, or "
            "save it as CSV, or raise the limit with the environment variable SEQSTUDIO_MAX_UPLOAD_MB before "
            "starting Sequence Studio.")


def _worksheets(zf: zipfile.ZipFile, name: str) -> list[tuple[str, str, bool]]:
    """(sheet name, path of its XML in the zip, visible) of every worksheet, in the workbook's tab order."""
    try:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, *_BROKEN):
        raise _damaged(name) from None
    targets = {r.get("Id"): r.get("Target") or "" for r in rels.iter() if r.tag.endswith("Relationship")}
    out = []
    for sheet in book.iter():
        if not sheet.tag.endswith("}sheet"):
            continue
        target = targets.get(sheet.get(_REL), "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        if "worksheets/" in path:   # chart sheets and dialog sheets hold no table
            out.append((sheet.get("name") or "", path, (sheet.get("state") or "visible") == "visible"))
    return out


def sheet_names(data: bytes, name: str = "data.xlsx") -> list[str]:
    """The visible worksheets of a workbook, in tab order; ``[]`` when the bytes are not a readable
    workbook (reading it then explains why)."""
    try:
        return [s for s, _, visible in _worksheets(_open(data, name), name) if visible]
    except DataError:
        return []


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _scan_sheet(zf: zipfile.ZipFile, path: str, where: str, name: str, limits: "Limits") -> int:
    """Stream the sheet's XML once: refuse it over the row / column limits (its ``<dimension>``, then its
    rows as they come) before it is loaded; return how many formulas were saved without their result."""
    row_cap = limits.max_rows + _HEADER_SEARCH   # title and header rows sit above the data
    rows = formulas = with_value = 0
    tail = b""
    try:
        with zf.open(path) as f:
            first = True
            while chunk := f.read(_CHUNK):
                buf = tail + chunk
                if first:
                    first = False
                    m = _DIMENSION.search(buf[:65536])
                    if m and m.group(3):
                        check_columns(_col_number(m.group(3)) - _col_number(m.group(1)) + 1, name, limits)
                        check_rows(int(m.group(4)) - int(m.group(2)) + 1 - _HEADER_SEARCH, name, limits)
                end = buf.rfind(b"</c>")
                cut = end + 4 if len(chunk) == _CHUNK and end >= 0 else len(buf)   # whole cells only
                body, tail = buf[:cut], buf[cut:]
                rows += len(_ROW.findall(body))
                formulas += len(_FORMULA.findall(body))
                with_value += len(_FORMULA_WITH_VALUE.findall(body))
                if rows > row_cap:
                    check_rows(rows - _HEADER_SEARCH, name, limits, over=True)
    except KeyError:
        raise _damaged(name, f" (the sheet {where} is missing)") from None
    except _BROKEN:
        raise _damaged(name) from None
    return formulas - with_value


def _load(data: bytes, book, sheet: str, name: str) -> tuple[list[list], int, object]:
    """The sheet's used range as rows of Python values ('' for empty cells), the row number of the first, and
    the calamine workbook (opened from ``data`` when ``book`` is None, to load its next sheet)."""
    import python_calamine as pc

    try:
        book = book or pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        ws = book.get_sheet_by_name(sheet)
        rows = ws.to_python(skip_empty_area=True)
        start = ws.start
    except MemoryError:
        raise DataError(f"'{name}' is too large to load into memory. Upload a smaller file.") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - CalamineError, XmlError, ZipError, a Rust panic (a BaseException)
        raise _damaged(name, f" (the sheet '{sheet}' can't be read)") from None
    return rows, (start[0] + 1 if start else 1), book


def _table(rows: list[list], first_row: int) -> tuple[list | None, list[tuple[int, list]], int]:
    """(the header row or None, the data rows as (sheet row number, cells) with blank rows left out, how many
    title rows above the table were skipped). Rows among the first ones that fill less than half as many cells
    as the widest of them (a title, a merged banner) are not the table; the header is detected as in a CSV."""
    filled = [sum(not is_blank(v) for v in r) for r in rows[:_HEADER_SEARCH]]
    widest = max(filled, default=0)
    start = next((i for i, n in enumerate(filled) if n and n >= 0.5 * widest), 0)
    body = [(first_row + i, r) for i, r in enumerate(rows) if i >= start and any(not is_blank(v) for v in r)]
    if not body:
        return None, [], 0
    has_header = _has_header([[cell_text(v) for v in r] for _, r in body[:50]])
    return (body[0][1] if has_header else None), (body[1:] if has_header else body), \
        sum(1 for n in filled[:start] if n)


def read_xlsx(data: bytes, sheet: str | None, name: str, limits: "Limits",
              notes: list[str]) -> tuple[pd.DataFrame, CsvFormat]:
    """Workbook bytes -> (frame, format) of ``sheet`` (``None``: the first visible sheet that holds a table)."""
    zf = _open(data, name)
    _check_unpacked(zf, name, limits)
    sheets = _worksheets(zf, name)
    visible = [s for s in sheets if s[2]]
    listed = ", ".join(f"'{s[0]}'" for s in visible[:10]) + (" ..." if len(visible) > 10 else "")
    if sheet is not None:
        chosen = [s for s in sheets if s[0] == sheet] or [s for s in sheets if s[0].strip().lower() == sheet.strip().lower()]
        if not chosen:
            raise DataError(f"'{name}' has no sheet named '{sheet}'. Its sheets are {listed or 'none'}; choose one "
                            "of them.")
        candidates = chosen[:1]
    else:
        candidates = visible
    if not candidates:
        raise DataError(f"'{name}' has no worksheets with data. Open it in Excel, put the table on a sheet, save "
                        "it and upload it again.")
    book = None
    for sheet_name, path, _ in candidates:
        no_result = _scan_sheet(zf, path, f"'{sheet_name}'", name, limits)
        rows, first_row, book = _load(data, book, sheet_name, name)
        header, data_rows, skipped = _table(rows, first_row)
        if data_rows:
            break
        if sheet is not None or len(candidates) == 1:
            what = (f"Its sheets are {listed}; choose the one that holds the data." if len(visible) > 1
                    else "Put the table on it (column names in the first row, data below), save the file and "
                         "upload it again.")
            empty = "is empty" if header is None else "has column names but no data rows"
            raise DataError(f"The sheet '{sheet_name}' of '{name}' {empty}. {what}")
    else:
        raise DataError(f"'{name}' has no table on any of its sheets ({listed}): each is empty or has no rows "
                        "below its first one. Put the table on a sheet (column names in the first row, data "
                        "below), save it and upload it again.")
    if sheet is None and sheet_name != candidates[0][0]:
        notes.append(f"The first sheet '{candidates[0][0]}' holds no table, so the sheet '{sheet_name}' was read.")
    elif sheet is None and len(visible) > 1:
        notes.append(f"Read the first sheet, '{sheet_name}'; the workbook also has "
                     + ", ".join(f"'{s[0]}'" for s in visible[1:6]) + (" ..." if len(visible) > 6 else "")
                     + ". Choose another sheet if the data is there.")
    if skipped:
        notes.append(f"Skipped {skipped} row(s) above the table (a title or notes, not column names or data).")
    columns = [[r[j] for _, r in data_rows] for j in range(len(rows[0]))]
    fmt = CsvFormat.typed("xlsx", sheet_name)
    lines = [n for n, _ in data_rows]
    df = finish_frame(columns, header, fmt, name, limits, notes, first_line=lines[0], lines=lines,
                      where=f"the sheet '{sheet_name}' of '{name}'")
    if no_result:
        notes.append(f"{no_result:,} formula cell(s) were saved without their result (the file was written by a "
                     "program that does not calculate formulas) and were read as empty. Open the file in Excel "
                     "or LibreOffice and save it again to keep their values.")
    if lines[0] != 2 or len(lines) != lines[-1] - 1:
        notes.append("Line numbers in messages are the sheet's row numbers.")
    return df, fmt
