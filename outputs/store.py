"""Published tables kept on disk between their protection and the files made from them.

A country's published tables are about 10 million rows: held as data frames together they were
7.5 GB, for the whole of the writing. Each is instead written as it is protected to a Parquet file
in a temporary folder beside the staged outputs, and read back a part (a row group) at a time by
whatever file needs it, so the process holds about one table's part at a time.

Parquet rather than a DuckDB table: pyarrow records each column's pandas type with the file and
restores it on reading (nullable Int64 and Float64 counts and rates, booleans, text), so a file
written from the store has the bytes of one written from the frame; the folder is temporary, so
nothing of it outlives the run, and nothing is added to the run's database.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from transforms.db import release_unused_memory

PART_ROWS = 250_000  # rows of a table read back (and turned into file text) at once


class PublishedTables(Mapping[str, pd.DataFrame]):
    """Published tables by name, each a Parquet file in a temporary folder (under `parent`, else
    the system's), read back whole when asked for or a part at a time with `parts`; the folder is
    removed by `close` (or when the store is garbage-collected)."""

    def __init__(self, parent: Path | None = None):
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True)
        self._folder = tempfile.TemporaryDirectory(prefix="published-tables.", dir=parent)
        self._dtypes: dict[str, pd.Series] = {}

    @property
    def folder(self) -> Path:
        return Path(self._folder.name)

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.parquet"

    def put(self, name: str, table: pd.DataFrame) -> None:
        """Write `table` as `name`, PART_ROWS rows to a row group, without an arrow copy of the
        whole table; the caller can then drop the frame."""
        try:
            schema = pa.Schema.from_pandas(table, preserve_index=False)
            with pq.ParquetWriter(self._path(name), schema) as writer:
                for i in range(0, len(table), PART_ROWS):
                    part = table.iloc[i : i + PART_ROWS]
                    writer.write_table(
                        pa.Table.from_pandas(part, schema=schema, preserve_index=False),
                        row_group_size=PART_ROWS,
                    )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise TypeError(
                f"published table {name}: a column cannot be stored: {error}"
            ) from error
        self._dtypes[name] = table.dtypes
        release_unused_memory()

    def _frame(self, name: str, part: pa.Table) -> pd.DataFrame:
        """A part as the frame it was written from: pyarrow gives text kept in an object column
        back as pandas text (missing as NaN), so such a column is taken as Python objects (missing
        as None), as it was."""
        frame = part.to_pandas()
        dtypes = self._dtypes[name]
        for column in frame.columns:
            if dtypes[column] == np.dtype(object) and frame[column].dtype != dtypes[column]:
                values = part.column(column).to_numpy(zero_copy_only=False)
                frame[column] = pd.Series(values, index=frame.index, dtype=object)
        changed = {c: dtypes[c] for c in frame.columns if frame[c].dtype != dtypes[c]}
        return frame.astype(changed) if changed else frame

    def parts(
        self, name: str, keep: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    ) -> Iterator[pd.DataFrame]:
        """The table `name` a row group at a time (at least one frame, empty for an empty table),
        each passed through `keep` when given (a filter or a change of the part's rows)."""
        if name not in self._dtypes:
            raise KeyError(name)
        file = pq.ParquetFile(self._path(name))
        groups = range(file.num_row_groups) or [None]
        for group in groups:
            part = file.schema_arrow.empty_table() if group is None else file.read_row_group(group)
            frame = self._frame(name, part)
            del part
            yield keep(frame) if keep is not None else frame
            release_unused_memory()

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._dtypes:
            raise KeyError(name)
        return self._frame(name, pq.read_table(self._path(name)))

    def __contains__(self, name: object) -> bool:
        return name in self._dtypes  # without reading the table

    def __iter__(self) -> Iterator[str]:
        return iter(self._dtypes)

    def __len__(self) -> int:
        return len(self._dtypes)

    def close(self) -> None:
        """Remove the folder and its files."""
        self._folder.cleanup()
