"""Reference (a): the bare read of the input CSVs, with nothing else done.

One call per file, the way the pipeline must read them (DESIGN §8: a multi-file read loses rows),
timed twice: `pyarrow.csv.read_csv` into an Arrow table, and DuckDB `read_csv` into an in-memory
table. Every column is read as text: typed reading stops at the first bad value (the inputs carry
some, as real files do), and typing, validating, quarantining and storing are exactly what ingest
adds on top, which the 1.5x target allows for. The benchmark compares ingest with the faster of
the two totals. Run in a child process by the harness:
`python -m tests.benchmarks.bare_read FILE_LIST RESULT.json`.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pv


def read_all(files: list[Path]) -> dict[str, object]:
    """Seconds for each reader over every file, and the rows each read (they must agree)."""
    result: dict[str, object] = {"files": len(files)}
    started, rows = time.perf_counter(), 0
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle))
        text = pv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()))
        rows += pv.read_csv(path, convert_options=text).num_rows
    result["pyarrow_s"] = time.perf_counter() - started
    result["pyarrow_rows"] = rows
    con = duckdb.connect()
    started, rows = time.perf_counter(), 0
    for path in files:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE bare AS"
            " SELECT * FROM read_csv(?, header = true, all_varchar = true)",
            [str(path)],
        )
        rows += con.execute("SELECT count(*) FROM bare").fetchone()[0]
    result["duckdb_s"] = time.perf_counter() - started
    result["duckdb_rows"] = rows
    con.close()
    result["faster"] = "pyarrow" if result["pyarrow_s"] <= result["duckdb_s"] else "duckdb"
    result["seconds"] = min(result["pyarrow_s"], result["duckdb_s"])
    return result


def main(file_list: Path, out: Path) -> int:
    files = [Path(line) for line in file_list.read_text(encoding="utf-8").splitlines() if line]
    out.write_text(json.dumps(read_all(files), indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
