"""The published tables are kept on disk (outputs.store) and every file is written from there a
part at a time: what comes back must be the frame that went in, and a folder written in small parts
must have the bytes of one written in large parts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from outputs import store
from outputs.publish import TABLE_ORDER, write_period
from outputs.store import PublishedTables
from tests import packdata
from tests.unit.conftest import Rendered


def published_like() -> pd.DataFrame:
    """A table with the column types a published table has: nullable counts and rates (some
    hidden), a suppressed flag, text (pandas text and plain objects), dates and WKB geometry."""
    n = 23
    return pd.DataFrame(
        {
            "area_code": pd.Series([f"E0100{i:04d}" for i in range(n)], dtype="str"),
            "vs_county": pd.Series(
                [None if i % 4 else "=higher" for i in range(n)], dtype="object"
            ),
            "count": pd.array([None if i % 5 == 0 else i for i in range(n)], dtype="Int64"),
            "rate_per_1000": pd.array(
                [None if i % 5 == 0 else i / 7 for i in range(n)], dtype="Float64"
            ),
            "kde": [i / 3 if i % 6 else float("nan") for i in range(n)],
            "suppressed": [i % 5 == 0 for i in range(n)],
            "month": pd.date_range("2022-04-01", periods=n, freq="MS"),
            "geometry": [shapely.box(i, 0, i + 1, 1).wkb for i in range(n)],
        }
    )


def test_a_table_comes_back_as_it_went_in_whole_and_in_parts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "PART_ROWS", 5)
    table = published_like().iloc[3:]  # not from row 0: the stored table starts a new index
    tables = PublishedTables()
    tables.put("hotspot_grid", table)
    assert pq.ParquetFile(tables.folder / "hotspot_grid.parquet").num_row_groups == 4
    expected = table.reset_index(drop=True)
    pd.testing.assert_frame_equal(tables["hotspot_grid"], expected)
    parts = list(tables.parts("hotspot_grid"))
    assert [len(p) for p in parts] == [5, 5, 5, 5]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), expected)
    assert (
        "hotspot_grid" in tables and "sv_rates" not in tables and list(tables) == ["hotspot_grid"]
    )
    folder = tables.folder
    tables.close()
    assert not folder.exists()


def test_an_empty_table_gives_one_empty_part_with_its_columns() -> None:
    tables = PublishedTables()
    tables.put("trends", published_like().iloc[:0])
    (part,) = list(tables.parts("trends"))
    assert part.empty and list(part.columns) == list(published_like().columns)
    assert part.dtypes.equals(published_like().dtypes)


def test_a_table_that_cannot_be_stored_is_named() -> None:
    mixed = pd.DataFrame({"value": ["a", 1.5]})
    with pytest.raises(TypeError, match="published table risk_model"):
        PublishedTables().put("risk_model", mixed)


def test_the_publication_keeps_its_tables_on_disk_not_in_memory(rendered: Rendered) -> None:
    tables = rendered.publication.tables
    assert isinstance(tables, PublishedTables)
    assert sorted(p.stem for p in tables.folder.glob("*.parquet")) == sorted(tables)
    assert "sv_rates" in tables and "hotspots" in tables


def test_a_folder_written_a_few_rows_at_a_time_has_the_bytes_of_the_shared_one(
    rendered: Rendered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every part is filtered to the period, given its basis and made a file table on its own:
    none of that may depend on where the parts start."""
    monkeypatch.setattr(store, "PART_ROWS", 37)
    publication = packdata.publication(with_tables=True, audience="public")
    rates = pq.ParquetFile(publication.tables.folder / "sv_rates.parquet")
    assert rates.num_row_groups > 10
    folder = tmp_path / "public" / "2022-23"
    write_period(publication, "2022/23", folder)
    csvs = sorted(p.name for p in rendered.folder.glob("*.csv"))
    assert csvs == sorted(f"{n}.csv" for n in TABLE_ORDER if n in publication.tables)
    for name in csvs:
        assert (folder / name).read_bytes() == (rendered.folder / name).read_bytes(), name
    small, shared = (
        pd.read_excel(f / "sna_tables.xlsx", sheet_name=None, engine="calamine")
        for f in (folder, rendered.folder)
    )
    assert small.keys() == shared.keys()
    for sheet in shared:
        pd.testing.assert_frame_equal(small[sheet], shared[sheet])
