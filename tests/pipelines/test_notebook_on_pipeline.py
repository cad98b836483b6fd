"""The analyst notebook runs on a database the real pipeline built, not only on a fixture."""

import duckdb

from tests.pipelines.conftest import Run
from tests.unit.test_notebook import cell_output_text, run_notebook


def test_notebook_runs_on_the_demo_database(demo_run: Run) -> None:
    database = demo_run.settings.database
    with duckdb.connect(str(database), read_only=True) as con:
        districts = [
            r[0] for r in con.execute("SELECT DISTINCT district_name FROM ref.lsoa").fetchall()
        ]
        rejects = con.execute("SELECT count(*) FROM quarantine.rejects").fetchone()[0]
    notebook = run_notebook(database)
    table = cell_output_text(notebook, "district-table")
    assert len(districts) == 7 and all(name in table for name in districts)
    assert "norfolk-2024" in cell_output_text(notebook, "definition")
    assert rejects > 0 and "police" in cell_output_text(notebook, "quarantine")
    assert "no_lsoa" in cell_output_text(notebook, "coverage")
    with duckdb.connect(str(database), read_only=True) as con:
        top = con.execute(
            "SELECT area_name FROM marts.hotspots WHERE area_level = 'lsoa' AND gi_bin >= 2"
            " AND value_type = 'rate_per_1000' AND period = '2023/24' ORDER BY gi_z DESC LIMIT 1"
        ).fetchone()[0]
    assert top in cell_output_text(notebook, "hotspots")
    assert "persistent hot spot" in cell_output_text(notebook, "emerging")
    assert "imd_score" in cell_output_text(notebook, "correlations")
    assert "income_score" in cell_output_text(notebook, "correlations")  # the model's terms
