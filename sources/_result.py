"""What every reader returns: loaded rows, rejected cells and a per-file load record that reconciles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

REJECT_COLUMNS = ["source", "file", "line", "column", "value", "reason"]
CELL_ISSUE_COLUMNS = REJECT_COLUMNS  # same shape: the row is kept, the cell became NULL
LOAD_COLUMNS = [
    "source",
    "file",
    "sha256",
    "encoding",
    "reader",
    "physical_lines",  # counted from the bytes, independently of any parser (NULL: not text)
    "header_lines",
    "blank_lines",
    "data_lines",
    "rows_loaded",
    "rows_rejected",
    "duplicate_of",  # a file with the same bytes read earlier in this load, not loaded again
]
_LOAD_INTS = ("header_lines", "blank_lines", "data_lines", "rows_loaded", "rows_rejected")
ROW_COLUMN = (
    "_row"  # `column` value for a reject that concerns the whole record (wrong field count)
)


class InputFormatError(ValueError):
    """A file that cannot be read at all (e.g. a required column is missing): fail loudly."""

    def __init__(
        self,
        file: str | Path,
        missing: Sequence[str] = (),
        found: Sequence[str] = (),
        problem: str | None = None,
    ) -> None:
        self.file = str(file)
        self.missing = list(missing)
        self.found = list(found)
        self.problem = problem or "required columns are missing"
        msg = f"{self.file}: {self.problem}"
        if self.missing:
            msg += f"; missing: {', '.join(self.missing)}"
        msg += f"; columns found: {', '.join(self.found) if self.found else '(none)'}"
        super().__init__(msg)


@dataclass(frozen=True)
class ReadResult:
    """rows: canonical columns + _file + _line; rejects: one row per bad cell of a rejected row;
    loads: one row per file; cell_issues: bad optional cells that became NULL in a kept row."""

    rows: pd.DataFrame
    rejects: pd.DataFrame
    loads: pd.DataFrame
    cell_issues: pd.DataFrame = field(default_factory=lambda: empty_rejects())


def empty_rejects() -> pd.DataFrame:
    """A rejects frame with no rows and the standard columns and dtypes."""
    return make_rejects([], [], [], [], [], [])


def make_rejects(source, file, line, column, value, reason) -> pd.DataFrame:
    """Build a rejects frame from equal-length sequences (scalars broadcast)."""
    df = pd.DataFrame(
        {
            "source": source,
            "file": file,
            "line": line,
            "column": column,
            "value": value,
            "reason": reason,
        },
        columns=REJECT_COLUMNS,
    )
    df = df.astype({c: "str" for c in REJECT_COLUMNS if c != "line"})
    df["line"] = df["line"].astype("int64")
    # Raw values may legitimately be missing (e.g. a blank required cell): keep them as "".
    df["value"] = df["value"].fillna("")
    return df.reset_index(drop=True)


def make_loads(records: Iterable[dict]) -> pd.DataFrame:
    """Build a loads frame from dicts keyed by LOAD_COLUMNS (missing keys: header 0, else NA)."""
    records = [{"header_lines": 0, "blank_lines": 0, **r} for r in records]
    df = pd.DataFrame(records, columns=LOAD_COLUMNS)
    for c in _LOAD_INTS:
        df[c] = df[c].astype("int64")
    df["physical_lines"] = df["physical_lines"].astype("Int64")
    for c in ("source", "file", "sha256", "encoding", "reader", "duplicate_of"):
        df[c] = df[c].astype("str")
    return df


def concat_results(results: Sequence[ReadResult]) -> ReadResult:
    """Stack several results (e.g. one per file) into one; keeps GeoDataFrames as GeoDataFrames."""
    results = list(results)
    if not results:
        return ReadResult(pd.DataFrame(), empty_rejects(), make_loads([]))
    rows = pd.concat([r.rows for r in results], ignore_index=True)
    rejects = pd.concat([r.rejects for r in results], ignore_index=True)
    loads = pd.concat([r.loads for r in results], ignore_index=True)
    cells = pd.concat([r.cell_issues for r in results], ignore_index=True)
    return ReadResult(rows, rejects, loads, cells)


def reject_rows(
    result: ReadResult,
    mask: pd.Series,
    column: str,
    reason: str | pd.Series,
    value: pd.Series | None = None,
) -> ReadResult:
    """Move the rows where `mask` is true from `rows` to `rejects` and fix the per-file counts.

    Used for checks that need a whole row (e.g. a total that does not match its breakdown).
    `value` defaults to the row's `column` cell as text.
    """
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return result
    bad = result.rows[mask]
    source = result.loads["source"].iloc[0] if len(result.loads) else ""
    if value is None:
        value = bad[column].astype("str") if column in bad else pd.Series("", index=bad.index)
    else:
        value = value[mask].astype("str")
    if isinstance(reason, pd.Series):
        reason = reason[mask].astype("str").to_numpy()
    new = make_rejects(
        source, bad["_file"].to_numpy(), bad["_line"].to_numpy(), column, value.to_numpy(), reason
    )
    counts = bad["_file"].value_counts()
    loads = result.loads.copy()
    moved = loads["file"].map(counts).fillna(0).astype("int64")
    loads["rows_loaded"] = loads["rows_loaded"] - moved
    loads["rows_rejected"] = loads["rows_rejected"] + moved
    rows = result.rows[~mask].reset_index(drop=True)
    rejects = pd.concat([result.rejects, new], ignore_index=True)
    return ReadResult(rows, rejects, loads, result.cell_issues)
