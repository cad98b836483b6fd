"""A force's own crime extract: one row per recorded crime, with HO offence code and markers."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from sources._csv import load_spec, read_csv_files
from sources._result import ReadResult

SPEC = "police_extract"


def normalise_ho_code(codes: pd.Series) -> pd.Series:
    """Home Office offence codes in one spelling: trimmed, upper case, no spaces, no leading zeros
    in numeric parts ("008/01" -> "8/1", "034A" -> "34A", " 8 / 1 " -> "8/1")."""
    s = codes.astype("str").str.strip().str.upper().str.replace(r"\s+", "", regex=True)
    return s.str.replace(r"(?<!\d)0+(?=\d)", "", regex=True)


def read_police_extract(paths: Iterable[str | Path] | str | Path) -> ReadResult:
    """Read force crime extract CSVs (dates dd/mm/yyyy or ISO; flags kept as raw text)."""
    result = read_csv_files(paths, load_spec(SPEC))
    rows = result.rows
    rows["ho_offence_code"] = normalise_ho_code(rows["ho_offence_code"])
    return ReadResult(rows, result.rejects, result.loads)
