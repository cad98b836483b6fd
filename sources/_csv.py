"""Generic declarative CSV reader: a column map in config/sources/<name>.yaml says which headers
mean which canonical column and how to parse it; every bad cell becomes a reject, never a silent loss.

Column map keys, per canonical column:
  headers: [literal header variants]   header_regex: [full-match regexes on the normalised header]
  type: str | code | flag | int | float | date | month | time   (default str)
  required: value must not be blank        optional: header may be absent (column is then all NA)
  min / max: numeric range                 pattern / pattern_describe: regex the (upper-cased) code must match
  formats: strptime formats (date/month)   values: {canonical: [accepted spellings]}
  describe: plain-English reason used when a value fails to parse or is out of range
  scale: multiply a parsed number by this (unit conversion, e.g. percent -> proportion)
Map-level keys: source, patterns (dynamic columns: [{regex, type, min, max}]),
require_any ([[col, col], ...]: at least one header of each group must be present).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from sources._result import (
    ROW_COLUMN,
    InputFormatError,
    ReadResult,
    concat_results,
    make_loads,
    make_rejects,
)

SPEC_DIR = Path(__file__).resolve().parents[1] / "config" / "sources"
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # Excel exports are not always UTF-8
TYPES = {"str", "code", "flag", "int", "float", "date", "month", "time"}
_FMT_WORDS = {"%d": "dd", "%m": "mm", "%Y": "yyyy", "%H": "HH", "%M": "MM", "%S": "SS", "%y": "yy"}
_TIME_RE = r"^(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$"


@dataclass(frozen=True)
class ColumnSpec:
    """How one canonical column is found in a header and parsed."""

    name: str
    headers: tuple[str, ...] = ()
    header_regex: tuple[str, ...] = ()
    type: str = "str"
    required: bool = False
    optional: bool = False
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    pattern_describe: str | None = None
    formats: tuple[str, ...] = ()
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    describe: str | None = None
    scale: float | None = None


@dataclass(frozen=True)
class Spec:
    """A column map for one input format."""

    source: str
    columns: tuple[ColumnSpec, ...]
    patterns: tuple[ColumnSpec, ...] = ()
    require_any: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class CsvFile:
    """One file read: the result plus which original header fed each canonical column."""

    result: ReadResult
    headers: dict[str, str] = field(default_factory=dict)
    groups: dict[str, dict[str, str | None]] = field(default_factory=dict)


def _column(name: str, d: dict) -> ColumnSpec:
    typ = d.get("type", "str")
    if typ not in TYPES:
        raise ValueError(
            f"column map: {name} has unknown type {typ!r} (use one of {sorted(TYPES)})"
        )
    values = tuple(
        (str(k), tuple(str(a) for a in v or ())) for k, v in (d.get("values") or {}).items()
    )
    return ColumnSpec(
        name=name,
        headers=tuple(d.get("headers", ())),
        header_regex=tuple(d.get("header_regex", ())),
        type=typ,
        required=bool(d.get("required", False)),
        optional=bool(d.get("optional", False)),
        min=d.get("min"),
        max=d.get("max"),
        pattern=d.get("pattern"),
        pattern_describe=d.get("pattern_describe"),
        formats=tuple(d.get("formats", ())),
        values=values,
        describe=d.get("describe"),
        scale=d.get("scale"),
    )


def spec_from_dict(d: dict) -> Spec:
    """Build a Spec from a parsed column-map mapping."""
    columns = tuple(_column(n, c or {}) for n, c in (d.get("columns") or {}).items())
    patterns = tuple(
        _column(p["regex"], {**p, "header_regex": [p["regex"]]}) for p in d.get("patterns") or ()
    )
    require_any = tuple(tuple(g) for g in d.get("require_any") or ())
    return Spec(source=d["source"], columns=columns, patterns=patterns, require_any=require_any)


@cache
def load_spec(name: str) -> Spec:
    """Read config/sources/<name>.yaml."""
    path = SPEC_DIR / f"{name}.yaml"
    with path.open(encoding="utf-8") as fh:
        return spec_from_dict(yaml.safe_load(fh))


def normalise_header(text: str) -> str:
    """Lower case, no BOM, single spaces (underscores count as spaces), trimmed."""
    return re.sub(r"[\s_]+", " ", text.replace("\ufeff", "")).strip().lower()


def match_headers(
    header: Sequence[str], spec: Spec, file: str | Path = "?"
) -> tuple[dict[str, int], dict[str, dict[str, str | None]]]:
    """Map canonical names (and pattern columns) to header positions; raise if a required one is missing."""
    norm = [normalise_header(h) for h in header]
    found: dict[str, int] = {}
    groups: dict[str, dict[str, str | None]] = {}
    taken: set[int] = set()
    for col in spec.columns:
        idx = _find(norm, col, taken)
        if idx is not None:
            found[col.name] = idx
            taken.add(idx)
    rxs = [re.compile(p.header_regex[0]) for p in spec.patterns]
    for i, h in enumerate(norm):  # dynamic columns, in file order
        m = next((m for rx in rxs if i not in taken and (m := rx.fullmatch(h))), None)
        if m:
            name = header[i].replace("\ufeff", "").strip()
            found[name] = i
            groups[name] = m.groupdict()
            taken.add(i)
    missing = [_label(c) for c in spec.columns if not c.optional and c.name not in found]
    for group in spec.require_any:
        if not any(g in found for g in group):
            missing.append(" or ".join(group))
    if missing:
        raise InputFormatError(file, missing, [h.replace("\ufeff", "").strip() for h in header])
    return found, groups


def _find(norm: list[str], col: ColumnSpec, taken: set[int]) -> int | None:
    for alias in col.headers:
        a = normalise_header(alias)
        for i, h in enumerate(norm):
            if h == a and i not in taken:
                return i
    for rx in col.header_regex:
        r = re.compile(rx)
        for i, h in enumerate(norm):
            if r.fullmatch(h) and i not in taken:
                return i
    return None


def _label(col: ColumnSpec) -> str:
    return f"{col.name} ({' / '.join(col.headers or col.header_regex)})"


def sha256_file(path: Path) -> str:
    """sha256 of the file's bytes as stored (the compressed bytes for .gz)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _open_text(path: Path, encoding: str):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return path.open(encoding=encoding, newline="")


def _is_blank(rec: list[str]) -> bool:
    return not rec or (len(rec) == 1 and not rec[0].strip())


def read_records(path: Path):
    """Header, data records with their first physical line, and records with the wrong field count.

    Blank lines are skipped (they are not data lines). Tries UTF-8 (with or without BOM), then cp1252.
    """
    for enc in ENCODINGS:
        try:
            return _read_records(path, enc)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes anything")  # pragma: no cover


def _read_records(path: Path, encoding: str):
    with _open_text(path, encoding) as fh:
        reader = csv.reader(fh)
        header: list[str] | None = None
        records: list[list[str]] = []
        lines: list[int] = []
        bad: list[tuple[int, list[str]]] = []
        prev = 0
        for rec in reader:
            start, prev = prev + 1, reader.line_num
            if not _is_blank(rec):
                header = rec
                break
        if header is None:
            raise InputFormatError(path, problem="the file is empty (no header row)")
        n = len(header)
        keep, keep_line, other = records.append, lines.append, bad.append
        for rec in reader:  # hot loop: ~1M records; keep it minimal
            start, prev = prev + 1, reader.line_num
            if len(rec) == n and (n > 1 or rec[0].strip()):
                keep(rec)
                keep_line(start)
            elif not _is_blank(rec):
                other((start, rec))
    return header, records, lines, bad


def read_header(path: str | Path) -> list[str]:
    """Just the header row (BOM stripped)."""
    path = Path(path)
    for enc in ENCODINGS:
        try:
            with _open_text(path, enc) as fh:
                for rec in csv.reader(fh):
                    if not _is_blank(rec):
                        return [h.replace("\ufeff", "") for h in rec]
            raise InputFormatError(path, problem="the file is empty (no header row)")
        except UnicodeDecodeError:
            continue
    return []  # pragma: no cover


# ---------------------------------------------------------------- typed parsing (vectorised)


def _fmt_words(formats: Iterable[str]) -> str:
    out = []
    for f in formats:
        for k, v in _FMT_WORDS.items():
            f = f.replace(k, v)
        out.append(f)
    return " or ".join(out)


def _default_reason(col: ColumnSpec) -> str:
    if col.describe:
        return col.describe
    return {
        "int": "not a whole number",
        "float": "not a number",
        "date": f"not a date in {_fmt_words(col.formats or ('%Y-%m-%d',))}",
        "month": f"not a month in {_fmt_words(col.formats or ('%Y-%m',))}",
        "time": "not a time in HH:MM",
    }.get(col.type, "not a valid value")


def _range_reason(col: ColumnSpec) -> str:
    if col.describe:
        return col.describe
    lo = "" if col.min is None else f"{col.min:g}"
    hi = "" if col.max is None else f"{col.max:g}"
    if lo and hi:
        return f"outside the range {lo} to {hi}"
    return f"below {lo}" if lo else f"above {hi}"


def _numbers(text: pd.Series) -> pd.Series:
    cleaned = text.str.replace(",", "", regex=False)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def _dates(text: pd.Series, formats: Sequence[str]) -> pd.Series:
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = out.isna() & text.notna()
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        out[todo] = parsed.astype("datetime64[ns]")
    return out


def parse_column(raw: pd.Series, col: ColumnSpec) -> tuple[pd.Series, pd.Series, str]:
    """Parse one column of raw text. Returns (values, failed mask, reason for failures).

    `failed` covers parse errors, range, pattern and allowed values; blank-but-required is handled
    by the caller so the reason can say so.
    """
    text = raw.str.strip()
    text = text.mask(text == "")
    present = text.notna()
    failed = pd.Series(False, index=raw.index)
    reason = _default_reason(col)
    t = col.type
    if t in ("str", "flag"):
        values = text.astype("str")
    elif t == "code":
        values = text.str.upper()
        if values.str.contains(" ", regex=False).any():
            values = values.str.replace(r"\s+", "", regex=True)
        values = values.astype("str")
        if col.pattern:
            failed = present & ~values.str.fullmatch(col.pattern).fillna(False).astype(bool)
            reason = col.pattern_describe or f"does not match the pattern {col.pattern}"
    elif t in ("int", "float"):
        num = _numbers(text)
        bad = present & ~np.isfinite(num.fillna(0.0))
        num = num.where(~bad)
        bad |= present & num.isna()
        if t == "int":
            bad |= present & num.notna() & (num != np.floor(num))
        failed = bad
        in_range = pd.Series(True, index=raw.index)
        if col.min is not None:
            in_range &= ~(num < col.min)
        if col.max is not None:
            in_range &= ~(num > col.max)
        out_of_range = present & ~bad & ~in_range
        if out_of_range.any() and not bad.any():
            reason = _range_reason(col)
        elif out_of_range.any():
            reason = pd.Series(reason, index=raw.index).where(bad, _range_reason(col))
        failed = bad | out_of_range
        num = num.where(~failed)
        if col.scale is not None:
            num = (num * col.scale).round(12)
        values = num.round().astype("Int64") if t == "int" else num.astype("Float64")
    elif t in ("date", "month"):
        fmts = col.formats or (("%Y-%m",) if t == "month" else ("%Y-%m-%d",))
        dt = _dates(text, fmts)
        if t == "month":
            dt = dt.dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
        else:
            dt = dt.dt.normalize()
        failed = present & dt.isna()
        values = dt
    else:  # time
        parts = text.str.extract(_TIME_RE)
        hh = pd.to_numeric(parts[0], errors="coerce")
        mm = pd.to_numeric(parts[1], errors="coerce")
        ok = (hh >= 0) & (hh <= 23) & (mm >= 0) & (mm <= 59)
        failed = present & ~ok.fillna(False).astype(bool)
        values = (parts[0].str.zfill(2) + ":" + parts[1]).where(~failed).astype("str")
    if col.values:
        lookup = {a.strip().lower(): k for k, aliases in col.values for a in (k, *aliases)}
        mapped = values.str.lower().map(lookup)
        bad = present & mapped.isna()
        values = mapped.astype("str")
        failed = failed | bad
        reason = f"not one of {', '.join(k for k, _ in col.values)}"
    return values, failed, reason


def parse_frame(
    raw: pd.DataFrame, columns: Sequence[ColumnSpec]
) -> tuple[pd.DataFrame, list[tuple]]:
    """Parse every column. Returns the typed frame and failures as (column, mask, reason) tuples."""
    out = {}
    failures = []
    for col in columns:
        if col.name not in raw:
            out[col.name] = _empty(col, len(raw), raw.index)
            continue
        values, failed, reason = parse_column(raw[col.name], col)
        out[col.name] = values
        if col.required:
            blank = raw[col.name].str.strip() == ""
            if blank.any():
                failures.append((col.name, blank, "required value is blank"))
                failed = failed & ~blank
        if failed.any():
            failures.append((col.name, failed, reason))
    return pd.DataFrame(out, index=raw.index), failures


def _empty(col: ColumnSpec, n: int, index) -> pd.Series:
    dtype = {
        "int": "Int64",
        "float": "Float64",
        "date": "datetime64[ns]",
        "month": "datetime64[ns]",
    }.get(col.type, "str")
    return pd.Series(pd.NA if dtype != "datetime64[ns]" else pd.NaT, index=index, dtype=dtype)


# ---------------------------------------------------------------- files


def read_csv(path: str | Path, spec: Spec) -> CsvFile:
    """Read one CSV / CSV.gz file with a column map."""
    path = Path(path).resolve()
    file = str(path)
    header, records, lines, bad = read_records(path)
    found, groups = match_headers(header, spec, path)
    data_lines = len(records) + len(bad)

    raw = pd.DataFrame(
        {name: _text_column(records, i) for name, i in found.items()},
        index=pd.RangeIndex(len(records)),
    )
    line_arr = np.asarray(lines, dtype="int64")
    pattern_cols = [ColumnSpec(name=name, **_pattern_kwargs(spec, groups, name)) for name in groups]
    typed, failures = parse_frame(raw, [*spec.columns, *pattern_cols])

    rej_parts = []
    if bad:
        n = len(header)
        rej_parts.append(
            make_rejects(
                spec.source,
                file,
                [ln for ln, _ in bad],
                ROW_COLUMN,
                [",".join(rec)[:500] for _, rec in bad],
                [f"expected {n} fields, found {len(rec)}" for _, rec in bad],
            )
        )
    bad_rows = np.zeros(len(records), dtype=bool)
    for name, mask, reason in failures:
        m = mask.to_numpy(dtype=bool)
        bad_rows |= m
        reasons = reason[m].to_numpy() if isinstance(reason, pd.Series) else reason
        rej_parts.append(
            make_rejects(spec.source, file, line_arr[m], name, raw[name][m].to_numpy(), reasons)
        )
    rejects = (
        pd.concat(rej_parts, ignore_index=True)
        if rej_parts
        else make_rejects([], [], [], [], [], [])
    )
    rejects = rejects.sort_values("line", kind="stable", ignore_index=True)

    rows = typed[~bad_rows].reset_index(drop=True)
    rows["_file"] = pd.array([file] * len(rows), dtype="str")
    rows["_line"] = line_arr[~bad_rows]
    load = {
        "source": spec.source,
        "file": file,
        "sha256": sha256_file(path),
        "data_lines": data_lines,
        "rows_loaded": len(rows),
        "rows_rejected": int(bad_rows.sum()) + len(bad),
    }
    headers = {name: header[i].replace("\ufeff", "").strip() for name, i in found.items()}
    return CsvFile(ReadResult(rows, rejects, make_loads([load])), headers, groups)


def _text_column(records: list[list[str]], i: int) -> pd.Series:
    """Column i of the records as a pandas `str` Series (built through Arrow: fast for 1M rows)."""
    arr = pa.array(list(map(itemgetter(i), records)), type=pa.large_string())
    return pd.Series(arr, dtype="str")


def _pattern_kwargs(spec: Spec, groups: dict, name: str) -> dict:
    """Type/range settings for a dynamic (pattern-matched) column, from the pattern that matched it."""
    for pat in spec.patterns:
        if re.fullmatch(pat.header_regex[0], normalise_header(name)):
            return {
                "type": pat.type,
                "min": pat.min,
                "max": pat.max,
                "required": pat.required,
                "describe": pat.describe,
            }
    return {}


def read_csv_files(paths: Iterable[str | Path], spec: Spec | str) -> ReadResult:
    """Read several files with one column map and stack them."""
    if isinstance(spec, str):
        spec = load_spec(spec)
    return concat_results([read_csv(p, spec).result for p in _as_list(paths)])


def _as_list(paths) -> list[Path]:
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    return [Path(p) for p in paths]
