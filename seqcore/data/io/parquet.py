"""Parquet files (pyarrow): the row and column counts come from the file's footer, so a file over the limits
is refused before its data is read; then the columns become the frame a CSV read gives
(:mod:`seqcore.data.io.typed`). pyarrow is imported here only, when a Parquet file arrives."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from seqcore.data.io.checks import check_columns, check_rows
from seqcore.data.io.options import CsvFormat
from seqcore.data.io.typed import finish_frame
from seqcore.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from seqcore.config import Limits


def _damaged(name: str) -> DataError:
    return DataError(f"'{name}' can't be read as a Parquet file: it is damaged or incomplete (cut short while "
                     "copying, or not Parquet at all). Save or export it again (or save it as CSV) and upload the "
                     "new file.")


def read_parquet(data: bytes, name: str, limits: "Limits", notes: list[str]) -> tuple[pd.DataFrame, CsvFormat]:
    """Parquet bytes -> (frame, format). Raises :class:`DataError` for a damaged file, one over the row or
    column limit (from the footer, before the data is read), and one with no plain columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(pa.BufferReader(data))
        meta, schema = pf.metadata, pf.schema_arrow
    except (pa.ArrowException, OSError, ValueError, TypeError, IndexError, KeyError, RuntimeError):
        raise _damaged(name) from None
    check_columns(len(schema), name, limits)   # the footer's counts: nothing read yet
    check_rows(int(meta.num_rows), name, limits)
    nested = [f.name for f in schema if pa.types.is_nested(f.type) or pa.types.is_binary(f.type)
              or pa.types.is_large_binary(f.type) or pa.types.is_fixed_size_binary(f.type)]
    keep = [f.name for f in schema if f.name not in nested]
    if not keep:
        raise DataError(f"'{name}' has no columns of plain values (numbers, dates or text): its columns hold "
                        "lists, nested records or raw bytes. Flatten the data into one value per cell and "
                        "save it again.")
    if nested:
        shown = ", ".join(f"'{c}'" for c in nested[:5]) + (" ..." if len(nested) > 5 else "")
        notes.append(f"Left out {len(nested)} column(s) that hold lists, nested records or raw bytes, not one "
                     f"value per cell: {shown}.")
    try:
        table = pf.read(columns=keep, use_pandas_metadata=True)
        df = table.to_pandas(date_as_object=False, strings_to_categorical=False)
    except (pa.ArrowException, OSError, ValueError, TypeError, IndexError, KeyError, RuntimeError):
        raise _damaged(name) from None
    except MemoryError:
        raise DataError(f"'{name}' is too large to load into memory. Upload a smaller file.") from None
    if not isinstance(df.index, pd.RangeIndex):   # a pandas index saved with the data (often the dates)
        index_names = [str(n) for n in df.index.names if n is not None]
        df = df.reset_index()
        if index_names:
            notes.append("Read the file's index (" + ", ".join(f"'{n}'" for n in index_names) + ") as a column.")
    df = df.reset_index(drop=True)
    columns = []
    for c in df.columns:
        col = df[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        columns.append(list(col) if col.dtype == object else col)
    fmt = CsvFormat.typed("parquet")
    return finish_frame(columns, [str(c) for c in df.columns], fmt, name, limits, notes), fmt
