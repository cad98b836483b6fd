"""data.police.uk street-level crime CSVs (open data; one file per force per month)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sources._csv import load_spec, read_csv_files
from sources._result import ReadResult

SOURCE = "police_uk"


def read_police_uk(paths: Iterable[str | Path] | str | Path) -> ReadResult:
    """Read street-level crime files as published (CRLF, blank Crime ID for ASB, rows without location).

    Rows geocoded outside the force area are loaded: choosing the area is a later step.
    """
    return read_csv_files(paths, load_spec(SOURCE))
