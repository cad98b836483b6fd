"""The reconciliation check: files add up, and the table holds exactly the loaded records."""

from pathlib import Path

import pytest

from pipelines.loading import reconcile
from pipelines.resources import SNADuckDB

LONG = "count(DISTINCT (_file, _line))"


@pytest.fixture
def db(tmp_path: Path) -> SNADuckDB:
    resource = SNADuckDB(database=str(tmp_path / "sna.duckdb"))
    with resource.get_connection() as con:
        con.execute(
            "INSERT INTO audit.loads VALUES ('r', 'population', 'pop.csv', 'x', 3, 2, 1, now())"
        )
        # two input lines loaded, each as two long rows (F and M)
        con.execute(
            "CREATE TABLE ref.population AS SELECT * FROM (VALUES"
            " ('pop.csv', 2, 'F'), ('pop.csv', 2, 'M'), ('pop.csv', 3, 'F'), ('pop.csv', 3, 'M'))"
            " t(_file, _line, sex)"
        )
    return resource


def run(db: SNADuckDB, **kwargs) -> bool:
    return reconcile(db, "ref.population", "population", **kwargs).passed


def test_long_table_reconciles_by_input_record(db: SNADuckDB) -> None:
    assert run(db, records=LONG, required=True)
    assert not run(db)  # counted as rows, four rows are not two loaded lines


def test_a_lost_input_record_fails(db: SNADuckDB) -> None:
    with db.get_connection() as con:
        con.execute("DELETE FROM ref.population WHERE _line = 3")
    assert not run(db, records=LONG, required=True)


def test_files_that_do_not_add_up_fail(db: SNADuckDB) -> None:
    with db.get_connection() as con:
        con.execute("UPDATE audit.loads SET data_lines = 4")
    assert not run(db, records=LONG)


def test_a_required_input_with_no_files_fails(tmp_path: Path) -> None:
    empty = SNADuckDB(database=str(tmp_path / "empty.duckdb"))
    with empty.get_connection() as con:
        con.execute("CREATE TABLE ref.population (_file VARCHAR, _line BIGINT)")
    assert run(empty, records=LONG)  # an optional input left out is fine
    assert not run(empty, records=LONG, required=True)
