"""Published tables as files: CSVs that open cleanly in Excel, written atomically.

A reader (an analyst, Excel, a partner's script) never sees half a file: every writer here writes
to a temporary file in the destination folder and moves it into place with `os.replace`, which is
atomic on one filesystem.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pandas as pd

CSV_ENCODING = (
    "utf-8-sig"  # UTF-8 with a byte-order mark: Excel then reads accents and "£" correctly
)


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success move it onto `path`, on error remove it.

    The temporary file lives in the same folder so `os.replace` is a rename, never a copy.
    The parent folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; published files are readable like any other
    try:
        yield tmp
        with open(tmp, "rb") as fh:  # flush to disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _iso_dates(df: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as ISO 8601 text: dates at midnight as YYYY-MM-DD, others with the time."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not pd.api.types.is_datetime64_any_dtype(s):
            continue
        valid = s.dropna()
        if valid.empty or (valid == valid.dt.normalize()).all():
            text = s.dt.strftime("%Y-%m-%d")
        else:
            text = s.map(lambda v: v.isoformat() if pd.notna(v) else None)
        out[col] = text.astype("string")
    return out


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(text: str) -> str:
    """Text that a spreadsheet would run as a formula, made inert with a leading apostrophe.

    A cell starting with =, +, -, @ (or a tab or carriage return) is what Excel and LibreOffice
    evaluate; a crafted LSOA or location name must never reach a partner's spreadsheet that way.
    """
    return "'" + text if isinstance(text, str) and text.startswith(FORMULA_START) else text


def escape_text_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Every text cell escaped with `escape_formula` (numbers are left as numbers)."""
    out = df.copy()
    for column in out.columns:
        s = out[column]
        if pd.api.types.is_string_dtype(s) or s.dtype == object:
            out[column] = s.map(escape_formula, na_action="ignore")
    return out


def write_csv(df: pd.DataFrame, path: str | Path, *, columns: Sequence[str] | None = None) -> Path:
    """Write `df` as a CSV that Excel opens correctly, atomically; returns the path.

    UTF-8 with BOM, no index, "\\n" line endings, dates as ISO 8601, missing values as empty cells,
    text that a spreadsheet would run as a formula escaped (`escape_formula`).
    Columns come in `columns` order when given (a missing one raises KeyError), else in the frame's
    own order, so the same frame always gives byte-identical files.
    """
    path = Path(path)
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise KeyError(f"write_csv({path.name}): columns not in the frame: {missing}")
        df = df.loc[:, list(columns)]
    frame = escape_text_columns(_iso_dates(df))
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, encoding=CSV_ENCODING, lineterminator="\n")
    return path


def write_csv_parts(parts: Iterable[pd.DataFrame], path: str | Path) -> Path:
    """`write_csv` of the frames of `parts` one after another (the same columns in each), into
    one file, atomically: the same bytes as `write_csv` of them together (a datetime column is
    judged date-only per part), without holding every row's text at once (a country's
    `sv_rates` is 3M rows)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", encoding=CSV_ENCODING, newline="") as handle:
        for i, part in enumerate(parts):
            frame = escape_text_columns(_iso_dates(part))
            frame.to_csv(handle, index=False, header=i == 0, lineterminator="\n")
    return path
