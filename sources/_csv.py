"""Declarative CSV reading: a column map says which headers mean which canonical column and how
to parse it; pyarrow splits each file into text columns in one call, DuckDB types them in SQL,
and every line of the file ends in exactly one place.

Column map (config/sources/<name>.yaml) keys, per canonical column:
  headers: [literal header variants]   header_regex: [full-match regexes on the normalised header]
  type: str | code | ho_code | flag | int | float | date | month | time | age_band   (default str;
        age_band is text matching `pattern` whose ages are possible: "25-18" or "130+" is not)
  required: a blank or malformed value rejects the whole row (the record cannot be used without it)
  optional: the header may be absent (the column is then all NULL)
  min / max: numeric range                 pattern / pattern_describe: regex the (upper-cased) code or
                                           str value must match (a code has no spaces; a str keeps them)
  invalid_range: [lo, hi] numbers inside min..max that are not valid (HES STARTAGE 121 to 7000)
  max_length: a longer value is malformed (free text pasted into a short field); the quarantine
        keeps its first characters and its length, never all of it
  formats: strptime formats (date/month)   values: {canonical: [accepted spellings]}
  describe: plain-English reason used when a value fails to parse or is out of range
  scale: multiply a parsed number by this (unit conversion, e.g. percent -> proportion)
Map-level keys: source, patterns (dynamic columns: [{regex, type, min, max, required}]),
require_any ([[col, col], ...]: at least one header of each group must be present),
dmy_date ([columns]: day-first dates; a file whose dates only read month-first is refused),
refuse_values ([{column, regex, what, fix}]: a value of `column` that fully matches `regex` (upper-cased,
spaces trimmed) refuses the whole file, naming the column, line and `what`: e.g. a full postcode in
a postcode-sector column, which must never be stored, not even in quarantine).

What happens to each physical line of a file (DESIGN §2, §8a):
- the header line and blank lines are counted as such (a line of only separators, as spreadsheets
  leave, is blank; a line repeating the header, as when files are joined, is a header);
- a line that is not one well-formed record (wrong number of fields, an unbalanced quote, a NUL
  byte, longer than `MAX_LINE_BYTES`) is a row reject with its full raw text; records never span
  lines, so a stray quote costs one line, not the rest of the file;
- in a record, a malformed value of a `required` column rejects the row; any other malformed
  value becomes NULL and is listed in `cell_issues`, and the row is kept.
So loaded + rejected + header + blank == the physical lines counted from the bytes
(`sources._text.count_physical_lines`), which the reconcile checks verify per file.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml

from sources._result import (
    ROW_COLUMN,
    InputFormatError,
    ReadResult,
    concat_results,
    make_loads,
    make_rejects,
)
from sources._text import count_physical_lines, decode, gunzip, line_index

SPEC_DIR = Path(__file__).resolve().parents[1] / "config" / "sources"
TYPES = {"str", "code", "ho_code", "flag", "int", "float", "date", "month", "time", "age_band"}
MAX_AGE = 120  # the oldest age an age band may name
MAX_ISSUE_VALUE = 200  # a longer bad value is kept in quarantine cut short, with its length
MAX_LINE_BYTES = 1 << 20  # a real record is well under 1 KB; longer lines are quarantined
# The csv module refuses fields over 128 KiB by default ("field larger than field limit"): a bad
# line read on its own would then get the wrong reason, so allow what a line may hold.
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES + 1))
# A line of only blanks and separators holds no record (spreadsheets leave ",,,,," rows): blank.
_BLANK = b" \t\x0b\x0c,"
_BLANK_BYTES = np.frombuffer(_BLANK + b"\r\n", dtype=np.uint8)
_FMT_WORDS = {"%d": "dd", "%m": "mm", "%Y": "yyyy", "%H": "HH", "%M": "MM", "%S": "SS", "%y": "yy"}
# Home Office offence codes in one spelling ("008/01" -> "8/1", "034A" -> "34A"): the leading
# zeros of every numeric part go. The single definition of that rule, for SQL and Python alike.
HO_CODE_ZEROS = r"(^|[^0-9])0+([0-9])"


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
    invalid_range: tuple[float, float] | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_describe: str | None = None
    formats: tuple[str, ...] = ()
    values: tuple[tuple[str, tuple[str, ...]], ...] = ()
    describe: str | None = None
    scale: float | None = None


@dataclass(frozen=True)
class RefuseRule:
    """Values that refuse a whole file: `regex` (full match) on the upper-cased `column`."""

    column: str
    regex: str
    what: str
    fix: str = ""


@dataclass(frozen=True)
class Spec:
    """A column map for one input format."""

    source: str
    columns: tuple[ColumnSpec, ...]
    patterns: tuple[ColumnSpec, ...] = ()
    require_any: tuple[tuple[str, ...], ...] = ()
    dmy_date: tuple[str, ...] = ()
    refuse_values: tuple[RefuseRule, ...] = ()


_COLUMN_KEYS = set(ColumnSpec.__dataclass_fields__) - {"name"}
_SPEC_KEYS = {"source", "columns", "patterns", "require_any", "dmy_date", "refuse_values"}


def _column(name: str, d: dict, where: str = "column map") -> ColumnSpec:
    unknown = set(d) - _COLUMN_KEYS - {"regex"}
    if unknown:
        key = sorted(unknown)[0]
        near = difflib.get_close_matches(key, _COLUMN_KEYS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ValueError(f"{where}: column {name!r} has unknown key {key!r}{hint}")
    typ = d.get("type", "str")
    if typ not in TYPES:
        raise ValueError(f"{where}: {name} has unknown type {typ!r} (use one of {sorted(TYPES)})")
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
        invalid_range=tuple(d["invalid_range"]) if d.get("invalid_range") else None,
        max_length=d.get("max_length"),
        pattern=d.get("pattern"),
        pattern_describe=d.get("pattern_describe"),
        formats=tuple(d.get("formats", ())),
        values=values,
        describe=d.get("describe"),
        scale=d.get("scale"),
    )


def spec_from_dict(d: dict, where: str = "column map") -> Spec:
    """Build a Spec from a parsed column-map mapping; unknown keys are errors."""
    unknown = set(d) - _SPEC_KEYS
    if unknown:
        raise ValueError(
            f"{where}: unknown key {sorted(unknown)[0]!r} (allowed: {sorted(_SPEC_KEYS)})"
        )
    columns = tuple(_column(n, c or {}, where) for n, c in (d.get("columns") or {}).items())
    patterns = tuple(
        _column(p["regex"], {**p, "header_regex": [p["regex"]]}, where)
        for p in d.get("patterns") or ()
    )
    require_any = tuple(tuple(g) for g in d.get("require_any") or ())
    names = {c.name for c in columns}
    for col in d.get("dmy_date") or ():
        if col not in names:
            raise ValueError(f"{where}: dmy_date names {col!r}, which is not a column")
    refuse = []
    for rule in d.get("refuse_values") or ():
        keys = set(rule) if isinstance(rule, dict) else set()
        if not {"column", "regex", "what"} <= keys <= {"column", "regex", "what", "fix"} or (
            rule["column"] not in names
        ):
            raise ValueError(
                f"{where}: refuse_values needs column (one of the columns), regex, what and"
                f" optionally fix: {rule}"
            )
        re.compile(rule["regex"])
        refuse.append(RefuseRule(**rule))
    return Spec(
        source=d["source"],
        columns=columns,
        patterns=patterns,
        require_any=require_any,
        dmy_date=tuple(d.get("dmy_date") or ()),
        refuse_values=tuple(refuse),
    )


@cache
def load_spec(name: str) -> Spec:
    """Read config/sources/<name>.yaml."""
    path = SPEC_DIR / f"{name}.yaml"
    with path.open(encoding="utf-8") as fh:
        return spec_from_dict(yaml.safe_load(fh), str(path))


@cache
def _personal_identifier_rules() -> list[tuple[re.Pattern, str]]:
    path = SPEC_DIR / "personal_identifiers.yaml"
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))["refuse"]
    return [(re.compile(r["header_regex"]), r["what"]) for r in rules]


def personal_identifier_columns(header: Sequence[str]) -> list[str]:
    """Headers that would bring personal identifiers (names, dates of birth, NHS numbers, full
    postcodes, addresses) into the database: such files are refused whole."""
    found = []
    for h in header:
        norm = normalise_header(h)
        for rx, what in _personal_identifier_rules():
            if rx.fullmatch(norm):
                found.append(f"{h.strip()} ({what})")
                break
    return found


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
        problem = "required columns are missing"
        if not found:
            problem = (
                "the first line is not a header: none of the expected column names is in it"
                " (was the header row deleted, or is this a different kind of file?)"
            )
        if len(header) == 1 and (sep := next((s for s in ";\t|" if s in header[0]), None)):
            word = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}[sep]
            problem = (
                f"the fields are separated by {word}, not commas: save it as CSV (comma delimited)"
            )
        raise InputFormatError(
            file, missing, [h.replace("\ufeff", "").strip() for h in header], problem=problem
        )
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


def read_header(path: str | Path) -> list[str]:
    """Just the header row (BOM stripped), decoded as the whole file would be."""
    path = Path(path).resolve()
    data = decode(path, *gunzip(path, path.read_bytes())).data
    return _header(path, data)[0]


# ---------------------------------------------------------------- splitting a file into lines


@dataclass(frozen=True)
class ParsedFile:
    """One file split into records: text columns by canonical name plus `_line`, row rejects,
    and the line accounting that must reconcile with `physical_lines`."""

    file: str
    sha256: str
    encoding: str
    reader: str  # pyarrow | pyarrow+csv (bad lines re-read one by one) | csv (whole file)
    header: list[str]
    found: dict[str, int]
    groups: dict[str, dict[str, str | None]]
    text: pa.Table
    rejects: pd.DataFrame
    physical_lines: int
    header_lines: int
    blank_lines: int
    numeric: frozenset[str] = frozenset()  # columns pyarrow parsed as numbers (see `_arrow`)

    @property
    def data_lines(self) -> int:
        return self.physical_lines - self.header_lines - self.blank_lines

    def load_record(self, source: str, **counts: object) -> dict[str, object]:
        """This file's `audit.loads` row: its identity and line accounting, plus `counts`."""
        return {
            "source": source,
            "file": self.file,
            "sha256": self.sha256,
            "encoding": self.encoding,
            "reader": self.reader,
            "physical_lines": self.physical_lines,
            "header_lines": self.header_lines,
            "blank_lines": self.blank_lines,
            "data_lines": self.data_lines,
            **counts,
        }


def _header(path: Path, data: bytes) -> tuple[list[str], int]:
    """The first non-blank line parsed as CSV, and its 1-based line number."""
    offset, number = 0, 1
    while offset < len(data):
        nl = data.find(b"\n", offset)
        end = len(data) if nl < 0 else nl
        line = data[offset:end].rstrip(b"\r")
        if line.strip(_BLANK):
            if b"\r" in line:  # old Mac line ends: the whole file is one "line" here
                line = line.split(b"\r", 1)[0]
            try:
                fields = next(csv.reader([line.decode("utf-8")], strict=True))
            except csv.Error as exc:
                raise InputFormatError(
                    path, problem=f"the header line is not valid CSV ({exc})"
                ) from exc
            return [f.replace("\ufeff", "") for f in fields], number
        offset, number = end + 1, number + 1
    raise InputFormatError(path, problem="the file is empty (no header row)")


def _arrow(
    buffer: bytes, n: int, include: list[int], types: dict[int, pa.DataType] | None = None
) -> tuple[pa.Table, int]:
    """Parse header-less CSV bytes into columns c<i> (strings unless `types` says a number; an
    empty field is NULL); returns the table and the number of invalid rows."""
    invalid = 0

    def count_invalid(_row) -> str:
        nonlocal invalid
        invalid += 1
        return "skip"

    names = [f"c{i}" for i in range(n)]
    table = pacsv.read_csv(
        pa.py_buffer(buffer),
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 20),
        parse_options=pacsv.ParseOptions(invalid_row_handler=count_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={c: (types or {}).get(i, pa.string()) for i, c in enumerate(names)},
            include_columns=[names[i] for i in include],
            null_values=[""],  # only the empty field: never "NA", "NaN" or "N/A"
            strings_can_be_null=True,
        ),
    )
    return table, invalid


def _numbers_in_range(table: pa.Table, spec: Spec, found: dict[str, int]) -> bool:
    """Whether every number pyarrow parsed is finite and inside its column's min/max."""
    for col in spec.columns:
        if col.type not in NUMERIC or col.name not in found:
            continue
        values = table.column(f"c{found[col.name]}")
        if col.type == "float" and pc.all(pc.is_finite(values)).as_py() is False:
            return False
        low, high = pc.min_max(values).values()
        if col.min is not None and low.is_valid and low.as_py() < col.min:
            return False
        if col.max is not None and high.is_valid and high.as_py() > col.max:
            return False
        if col.invalid_range is not None:
            lo, hi = col.invalid_range
            inside = pc.and_(pc.greater_equal(values, lo), pc.less_equal(values, hi))
            if pc.any(inside).as_py():
                return False
    return True


def _no_odd_bytes(data: bytes) -> bool:
    """Whether pyarrow may read the whole file in one go: no NUL byte and no line longer than
    `MAX_LINE_BYTES` (pyarrow would load both as ordinary text; the line path quarantines them).
    Line length is bounded by the gaps between LFs, checked only for files that could exceed it."""
    if b"\x00" in data:
        return False
    if len(data) <= MAX_LINE_BYTES:
        return True
    lf = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    gaps = np.diff(lf, prepend=-1, append=len(data))
    return int(gaps.max()) - 1 <= MAX_LINE_BYTES


def _reject_reason(text: str, n: int, nul: bool, length: int, odd_quotes: bool) -> str | list[str]:
    """Why a line is not one record, or its fields when the csv module reads it as one."""
    if length > MAX_LINE_BYTES:
        return f"line of {length:,} bytes is longer than the {MAX_LINE_BYTES:,}-byte limit"
    if nul:
        return "contains NUL bytes"
    try:
        fields = next(csv.reader([text], strict=True))
    except csv.Error:
        fields = None
    if fields is not None and len(fields) == n:
        return fields
    if fields is None or odd_quotes:
        return (
            "unbalanced quote: a quoted field opened or closed on this line is not closed or"
            " opened on it (records may not span lines)"
        )
    return f"expected {n} fields, found {len(fields)}"


def _blank_or_header_rows(table: pa.Table, header: list[str], include: list[int]) -> bool:
    """Whether pyarrow read a row whose columns are all blank or all equal to the header's: it
    may be a line of only separators or a repeated header, which the line path tells apart."""
    blank = same = None
    for i in include:  # column by column, stopping as soon as no row can be either
        column = table.column(f"c{i}")
        if pa.types.is_string(column.type):  # an empty field is NULL (see `_arrow`)
            b = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(column), ""), True)
            h = pc.fill_null(pc.equal(column, header[i]), False)
        else:  # parsed as numbers: blank is NULL, and no value can be a header's text
            b = pc.is_null(column)
            h = pc.and_(b, pc.invert(b))  # all false
        blank = b if blank is None else pc.and_(blank, b)
        same = h if same is None else pc.and_(same, h)
        if not pc.any(pc.or_(blank, same)).as_py():
            return False
    return blank is not None


def _repeated_headers(data: bytes, start: int, end: int) -> list[int]:
    """Byte offsets of lines after the header (bytes start:end) that repeat it exactly (files
    joined with their headers, e.g. by `cat`): they are headers, not records."""
    header = data[start:end]
    found = []
    at = data.find(header, end)
    while at >= 0:
        end = at + len(header)
        if data[at - 1 : at] in (b"\n", b"\r") and data[end : end + 1] in (b"", b"\n", b"\r"):
            found.append(at)
        at = data.find(header, end)
    return found


def _parse_lines(
    data: bytes, header_line: int, n: int, include: list[int]
) -> tuple[pa.Table, np.ndarray, str, list[tuple[int, str, str]], int, int]:
    """Slow path: locate every line; well-formed ones go to pyarrow together, the rest are read
    one by one. Returns (text table, line numbers, reader, rejects, blank lines after the header,
    repeated header lines)."""
    idx = line_index(data)
    length = idx.end - idx.start
    after_header = np.arange(len(idx)) >= header_line
    ink = np.flatnonzero(~np.isin(np.frombuffer(data, dtype=np.uint8), _BLANK_BYTES))
    blank = (np.searchsorted(ink, idx.end) - np.searchsorted(ink, idx.start)) == 0
    h = header_line - 1
    repeated = np.searchsorted(idx.start, _repeated_headers(data, idx.start[h], idx.end[h]))
    blank[repeated] = False
    after_header[repeated] = False  # counted as headers
    data_line = after_header & ~blank
    good = data_line & (idx.quotes % 2 == 0) & (idx.fields == n) & ~idx.nul
    good &= length <= MAX_LINE_BYTES
    good_idx = np.flatnonzero(good)
    suspect = np.flatnonzero(data_line & ~good)
    reader = "pyarrow+csv" if len(suspect) else "pyarrow"
    starts, ends = idx.start[good_idx].tolist(), idx.end[good_idx].tolist()
    clean = b"".join(data[s:e] + b"\n" for s, e in zip(starts, ends, strict=True))
    try:
        table, invalid = _arrow(clean, n, include)
        if invalid or table.num_rows != len(good_idx):
            raise pa.ArrowInvalid("pyarrow and the line index disagree on the records")
    except pa.ArrowInvalid:  # read every line alone with the csv module
        reader = "csv"
        suspect = np.flatnonzero(data_line)
        good_idx = np.array([], dtype=np.int64)
        table = pa.table({f"c{i}": pa.array([], pa.string()) for i in include})
    rows: list[list[str]] = []
    row_lines: list[int] = []
    rejects: list[tuple[int, str, str]] = []
    for i in suspect.tolist():
        line_text = idx.text(data, i)
        got = _reject_reason(
            line_text, n, bool(idx.nul[i]), int(length[i]), bool(idx.quotes[i] % 2)
        )
        if isinstance(got, str):
            rejects.append((i + 1, line_text, got))
        else:
            rows.append([got[j] for j in include])
            row_lines.append(i + 1)
    if rows:
        columns = list(zip(*rows, strict=True))
        extra = pa.table(
            {f"c{j}": pa.array(col, pa.string()) for j, col in zip(include, columns, strict=True)}
        )
        table = pa.concat_tables([table, extra])
    lines = np.concatenate([good_idx + 1, np.asarray(row_lines, dtype=np.int64)])
    blanks = int((after_header & blank).sum())
    return table, lines.astype(np.int64), reader, rejects, blanks, len(repeated)


@cache
def _empty_rejects() -> pd.DataFrame:
    return make_rejects("", "", [], ROW_COLUMN, [], [])


def _no_rejects() -> pd.DataFrame:
    """An empty rejects frame: building one with pandas costs ~6 ms, once per file otherwise."""
    return _empty_rejects().copy()


def parse_file(path: str | Path, spec: Spec) -> ParsedFile:
    """Split one CSV / CSV.gz file into records with pyarrow (one call), mapping rows to lines.

    Fast path: when pyarrow's rows + the header line equal the physical lines, row i is line
    i + 2. Otherwise every line is located with numpy, the lines that are one well-formed record
    go to pyarrow together, and the others are read one by one with the csv module: each is either
    a record or a reject carrying its full raw text.
    """
    path = Path(path).resolve()
    file = str(path)
    stored = path.read_bytes()
    digest = hashlib.sha256(stored).hexdigest()
    decoded = decode(path, *gunzip(path, stored))
    data = decoded.data
    physical = count_physical_lines(data)
    header, header_line = _header(path, data)
    personal = personal_identifier_columns(header)
    if personal:
        raise InputFormatError(
            path,
            found=header,
            problem="refused: it has personal identifier columns, which are never stored: "
            + "; ".join(personal)
            + ". Remove them (keep an age band, postcode sector or LSOA instead) and drop the file again",
        )
    found, groups = match_headers(header, spec, path)
    n = len(header)
    include = sorted(found.values())
    names = {i: name for name, i in found.items()}

    text, reader, rejects, blank, headers, numeric = None, "pyarrow", [], 0, 1, frozenset()
    if header_line == 1 and _no_odd_bytes(data):
        first_nl = data.find(b"\n")
        first = data if first_nl < 0 else data[:first_nl]
        if b"\r" not in first.rstrip(b"\r"):  # lone CRs: let the line index sort them out
            body = b"" if first_nl < 0 else data[first_nl + 1 :]
            numbers = {found[c.name]: NUMERIC[c.type] for c in spec.columns
                       if c.type in NUMERIC and c.name in found}  # fmt: skip
            try:  # numbers parsed by pyarrow when every one parses and is in range; else text,
                # so that a quarantined value keeps its text exactly as written
                table, invalid = _arrow(body, n, include, numbers)
                if not _numbers_in_range(table, spec, found):
                    raise pa.ArrowInvalid("a number out of range: read the file as text")
                numeric = frozenset(names[i] for i in numbers)
            except pa.ArrowInvalid:
                try:
                    table, invalid = _arrow(body, n, include)
                except pa.ArrowInvalid:
                    table, invalid = None, 1
            if (
                table is not None
                and invalid == 0
                and table.num_rows + 1 == physical
                and not _blank_or_header_rows(table, header, include)
            ):
                lines = np.arange(2, table.num_rows + 2, dtype=np.int64)
                text = table
            else:
                numeric = frozenset()
    if text is None:
        text, lines, reader, rejects, blank, repeats = _parse_lines(data, header_line, n, include)
        headers += repeats
    text = text.rename_columns([names[int(c[1:])] for c in text.column_names])
    text = text.append_column("_line", pa.array(lines, pa.int64()))
    _refuse_values(path, header, found, text, spec, rejects)
    reject_frame = (
        make_rejects(
            spec.source,
            file,
            [r[0] for r in rejects],
            ROW_COLUMN,
            [r[1] for r in rejects],
            [r[2] for r in rejects],
        )
        if rejects
        else _no_rejects()
    )
    return ParsedFile(
        file=file,
        sha256=digest,
        encoding=decoded.encoding + (" (gzip)" if decoded.compressed else ""),
        reader=reader,
        header=header,
        found=found,
        groups=groups,
        text=text,
        rejects=reject_frame,
        physical_lines=physical,
        header_lines=headers,
        blank_lines=blank + (header_line - 1),
        numeric=numeric,
    )


def _refuse_values(
    path: Path,
    header: list[str],
    found: dict[str, int],
    text: pa.Table,
    spec: Spec,
    rejects: list[tuple] = (),
) -> None:
    """Refuse the whole file when a value matches one of the map's `refuse_values` rules (e.g. a
    full postcode where a postcode sector belongs). The error names the column, the line and a
    masked value: the value itself is never printed or stored. A line that is not one record
    (a reject keeps its raw text in quarantine) is searched for the pattern anywhere in it."""
    for rule in spec.refuse_values:
        anywhere = re.compile(rf"(?<![A-Z0-9])(?:{rule.regex})(?![A-Z0-9])")
        raw = [(r[0], str(r[1])) for r in rejects if anywhere.search(str(r[1]).upper())]
        if raw:
            raise InputFormatError(
                path,
                found=header,
                problem=f"refused: line {raw[0][0]} is not one record and holds {rule.what}"
                f" (what column {header[found[rule.column]].strip()!r} must never hold), which"
                f" would be stored in quarantine. Nothing of the file was loaded. {rule.fix}".rstrip(),
            )
        if rule.column not in text.column_names:
            continue
        values = text.column(rule.column).cast(pa.string())
        cleaned = pc.utf8_upper(pc.utf8_trim_whitespace(values))
        hits = pc.fill_null(pc.match_substring_regex(cleaned, f"^(?:{rule.regex})$"), False)
        if not pc.any(hits).as_py():
            continue
        where = pc.indices_nonzero(hits)
        first = where[0].as_py()
        value = cleaned[first].as_py()
        line = text.column("_line")[first].as_py()
        masked = value[: max(1, len(value) - 3)] + "*" * min(3, len(value) - 1)
        raise InputFormatError(
            path,
            found=header,
            problem=f"refused: column {header[found[rule.column]].strip()!r} holds {rule.what}"
            f" on {len(where):,} line(s), first on line {line} ({masked!r}), which is never"
            f" stored. Nothing of the file was loaded. {rule.fix}".rstrip(),
        )


# ---------------------------------------------------------------- typing in SQL


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


def _lit(value: object) -> str:
    """A SQL literal for a Python value (text is quoted with '' escaping)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(float(value)) if isinstance(value, float) else str(value)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


NUMERIC = {"int": pa.int64(), "float": pa.float64()}  # column types pyarrow may parse itself
SQL_TYPES = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "month": "DATE",
}


def ho_code_sql(expr: str) -> str:
    """SQL that spells a Home Office offence code one way (see HO_CODE_ZEROS)."""
    return f"regexp_replace(upper(regexp_replace({expr}, '\\s+', '', 'g')), {_lit(HO_CODE_ZEROS)}, '\\1\\2', 'g')"


def normalise_ho_code_text(code: object) -> str:
    """The same rule as `ho_code_sql`, for codes written in config (definitions, references)."""
    s = re.sub(r"\s+", "", str(code)).upper()
    return re.sub(HO_CODE_ZEROS, r"\1\2", s)


@dataclass(frozen=True)
class ColumnSql:
    """How one column is typed, in stages over the text relation (each stage only refers to the
    one before, which keeps DuckDB's expressions small even for files with 200 columns):
    `parse` reads `§T` (the trimmed text, NULL when blank); `bad` and `reason` read `§T` and
    `§P` (the parsed value); `value` reads `§P` and `§BAD`."""

    parse: str
    bad: str
    reason: str
    value: str
    sql_type: str


def column_sql(col: ColumnSpec) -> ColumnSql:
    """The staged SQL that types one column (see ColumnSql).

    `bad` is true for a present value that does not parse, is out of range, does not match the
    pattern or is not an accepted spelling; blank values are never bad here (required blanks are
    the caller's concern).
    """
    sql_type = SQL_TYPES.get(col.type, "VARCHAR")
    reason = _lit(_default_reason(col))
    bad = "false"
    value = "§P"
    if col.type in ("str", "flag", "age_band"):
        parse = "§T"
        if col.pattern and col.type in ("str", "age_band"):  # the value as written, upper-cased
            bad = f"(§T IS NOT NULL AND NOT regexp_full_match(upper(§P), {_lit(col.pattern)}))"
            reason = _lit(col.pattern_describe or f"does not match the pattern {col.pattern}")
        if col.type == "age_band":
            bad, reason = _age_band_sql(bad, reason)
    elif col.type in ("code", "ho_code"):
        parse = (
            ho_code_sql("§T")
            if col.type == "ho_code"
            else "upper(regexp_replace(§T, '\\s+', '', 'g'))"
        )
        if col.pattern:
            bad = f"(§T IS NOT NULL AND NOT regexp_full_match(§P, {_lit(col.pattern)}))"
            reason = _lit(col.pattern_describe or f"does not match the pattern {col.pattern}")
    elif col.type in ("int", "float"):
        parse = "TRY_CAST(replace(§T, ',', '') AS DOUBLE)"
        parse_bad = "(§P IS NULL OR NOT isfinite(§P)" + (
            " OR §P <> floor(§P))" if col.type == "int" else ")"
        )
        conds = []
        if col.min is not None:
            conds.append(f"§P < {_lit(float(col.min))}")
        if col.max is not None:
            conds.append(f"§P > {_lit(float(col.max))}")
        if col.invalid_range is not None:
            lo, hi = col.invalid_range
            conds.append(f"§P BETWEEN {_lit(float(lo))} AND {_lit(float(hi))}")
        range_bad = " OR ".join(conds) or "false"
        bad = f"(§T IS NOT NULL AND ({parse_bad} OR {range_bad}))"
        if conds:
            reason = f"CASE WHEN {parse_bad} THEN {reason} ELSE {_lit(_range_reason(col))} END"
        value = f"§P * {_lit(float(col.scale))}" if col.scale is not None else "§P"
        if col.type == "int":
            value = f"CAST(round({value}) AS BIGINT)"
    elif col.type in ("date", "month"):
        fmts = col.formats or (("%Y-%m",) if col.type == "month" else ("%Y-%m-%d",))
        parse = f"try_strptime(§T, [{', '.join(_lit(f) for f in fmts)}])"
        value = (
            "CAST(date_trunc('month', §P) AS DATE)" if col.type == "month" else "CAST(§P AS DATE)"
        )
        bad = "(§T IS NOT NULL AND §P IS NULL)"
    else:  # time: §P is a struct of the hour and minute text
        parse = "regexp_extract(§T, '^(\\d{1,2}):(\\d{2})(?::\\d{2}(?:\\.\\d+)?)?$', ['h', 'm'])"
        ok = "(TRY_CAST(§P.h AS INT) BETWEEN 0 AND 23 AND TRY_CAST(§P.m AS INT) BETWEEN 0 AND 59)"
        bad = f"(§T IS NOT NULL AND NOT coalesce({ok}, false))"
        value = "lpad(§P.h, 2, '0') || ':' || §P.m"
    if col.values:
        cases = " ".join(
            f"WHEN {_lit(a.strip().lower())} THEN {_lit(k)}"
            for k, aliases in col.values
            for a in dict.fromkeys((k, *aliases))
        )
        parse = f"CASE lower({parse}) {cases} END"
        bad = "(§T IS NOT NULL AND §P IS NULL)"
        reason = _lit(f"not one of {', '.join(k for k, _ in col.values)}")
        value = "§P"
    if col.max_length is not None:
        long = f"(length(§T) > {int(col.max_length)})"
        too_long = (
            f"longer than {int(col.max_length):,} characters: text pasted into the wrong field?"
        )
        reason = f"CASE WHEN {long} THEN {_lit(too_long)} ELSE {reason} END"
        bad = f"(§T IS NOT NULL AND ({long} OR {bad}))"
    if bad != "false":
        value = f"CASE WHEN §BAD THEN NULL ELSE {value} END"
    return ColumnSql(parse, bad, reason, value, sql_type)


def band_bounds_sql(band: str) -> tuple[str, str]:
    """SQL for the lowest and highest age of an age band text ("18-24", "65+", "under 18"); the
    highest is NULL for an open band, both are NULL when the text is not a band."""
    b = f"upper(trim({band}))"
    under = f"regexp_matches({b}, '^(UNDER|<) *\\d')"
    closed = f"regexp_matches({b}, '^\\d{{1,3}} *(-|TO) *\\d{{1,3}}$')"
    first = f"TRY_CAST(regexp_extract({b}, '(\\d{{1,3}})', 1) AS INTEGER)"
    last = f"TRY_CAST(regexp_extract({b}, '(\\d{{1,3}})$', 1) AS INTEGER)"
    low = f"CASE WHEN {under} THEN 0 WHEN regexp_matches({b}, '^\\d') THEN {first} END"
    high = f"CASE WHEN {under} THEN {first} - 1 WHEN {closed} THEN {last} END"
    return low, high


def _age_band_sql(bad: str, reason: str) -> tuple[str, str]:
    """An age band that matches the pattern but cannot be: its ages do not rise ("25-18",
    "under 0") or pass MAX_AGE ("130+"). Such a band would put a patient in the wrong age group
    (a "25-18" band reads as under 25), so it is a cell issue, not a value."""
    low, high = band_bounds_sql("§P")
    impossible = (
        f"coalesce(({low}) > ({high}) OR ({low}) > {MAX_AGE} OR ({high}) > {MAX_AGE}, false)"
    )
    return (
        f"({bad} OR (§T IS NOT NULL AND {impossible}))",
        f"CASE WHEN {bad} THEN {reason} ELSE"
        f" {_lit(f'an impossible age band: its ages must rise, within 0 to {MAX_AGE}')} END",
    )


def typed_columns(spec: Spec, groups: dict) -> list[ColumnSpec]:
    """The spec's columns plus one ColumnSpec per dynamic (pattern-matched) header."""
    return [*spec.columns, *(ColumnSpec(name=n, **_pattern_kwargs(spec, n)) for n in groups)]


def _pattern_kwargs(spec: Spec, name: str) -> dict:
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


# Whitespace a value may be padded with (NBSP comes from Excel). Only padded values are trimmed:
# trimming every cell costs more than the rest of the typing put together.
_PAD_CHARS = "chr(32) || chr(9) || chr(13) || chr(10) || chr(160)"
TYPED_COLUMNS = ("_ok", "_rejects", "_cells")  # verdict columns dropped once issues are moved out


def _trimmed(expr: str) -> str:
    """The value with surrounding whitespace removed, NULL when nothing is left; only values that
    start or end with whitespace are trimmed (checking the first and last character is cheap).

    Plain comparisons, not `IN (...)`: DuckDB plans an IN list as a join, and a 200-column file
    took minutes to plan."""
    first, last = f"ascii({expr})", f"ascii({expr}[-1])"  # [-1]: no reversed copy of the value
    padded = f"{first} <= 32 OR {first} = 160 OR {last} <= 32 OR {last} = 160"
    return (
        f"CASE WHEN {expr} = '' THEN NULL WHEN {padded}"
        f" THEN nullif(trim({expr}, {_PAD_CHARS}), '') ELSE {expr} END"
    )


def _stage(expr: str, name: str) -> str:
    """Point a staged expression's §T, §P and §BAD at column `name`'s stage columns."""
    for token, suffix in (("§BAD", "bad"), ("§T", "t"), ("§P", "p")):
        expr = expr.replace(token, _q(f"{name}__{suffix}"))
    return expr


def typing_sql(
    spec: Spec,
    columns: Sequence[ColumnSpec],
    present: set[str],
    numeric: frozenset[str] = frozenset(),
) -> str:
    """One SELECT over `_text` (text columns by canonical name, `_file`, `_line`) that types every
    column under the column map, in one pass, and gives each row its verdicts:

    - `_ok`: no required value is blank or malformed (otherwise the row is a reject);
    - `_rejects`: one {column, value, reason} per bad required cell (NULL when none);
    - `_cells`: one {column, value, reason} per bad optional cell, whose value became NULL.

    `numeric`: columns pyarrow already parsed as numbers (their text is their value as text).
    """
    trims, parses, bads, values, oks, rejects, cells, flags = [], [], [], [], [], [], [], []
    for col in columns:
        name = col.name
        sql = column_sql(col)
        if name not in present:
            values.append(f"NULL::{sql.sql_type} AS {_q(name)}")
            continue
        raw, t, bad = _q(name), _q(f"{name}__t"), _q(f"{name}__bad")
        if name in numeric:
            trims.append(f"{raw} AS {t}")
            parse = "§T"
            text = f"CAST({raw} AS VARCHAR)"
        else:
            trims.append(f"{_trimmed(raw)} AS {t}")
            parse = sql.parse
            text = raw
        parses.append(f"{_stage(parse, name)} AS {_q(f'{name}__p')}")
        bads.append(f"{_stage(sql.bad, name)} AS {bad}")
        values.append(f"{_stage(sql.value, name)} AS {_q(name)}")
        reason = _stage(sql.reason, name)
        shown = (
            f"CASE WHEN length({text}) > {MAX_ISSUE_VALUE} THEN left({text}, 60) || '… ('"
            f" || format('{{:,}}', length({text})) || ' characters)' ELSE {text} END"
        )
        issue = f"{{'column': {_lit(name)}, 'value': coalesce({shown}, ''), 'reason': §R}}"
        if col.required:
            oks.append(f"NOT ({t} IS NULL OR {bad})")
            why = f"CASE WHEN {t} IS NULL THEN 'required value is blank' ELSE {reason} END"
            rejects.append(f"CASE WHEN {t} IS NULL OR {bad} THEN {issue.replace('§R', why)} END")
        elif sql.bad != "false":
            flags.append(bad)
            cells.append(f"CASE WHEN {bad} THEN {issue.replace('§R', reason)} END")
    ok = " AND ".join(oks) or "true"
    verdicts = [f"{ok} AS _ok"]
    verdicts.append(
        f"CASE WHEN NOT ({ok}) THEN list_filter([{', '.join(rejects)}], x -> x IS NOT NULL) END AS _rejects"
        if rejects
        else 'NULL::STRUCT("column" VARCHAR, value VARCHAR, reason VARCHAR)[] AS _rejects'
    )
    verdicts.append(
        f"CASE WHEN {' OR '.join(flags)} THEN list_filter([{', '.join(cells)}], x -> x IS NOT NULL) END AS _cells"
        if cells
        else 'NULL::STRUCT("column" VARCHAR, value VARCHAR, reason VARCHAR)[] AS _cells'
    )
    staged = (
        f"SELECT *, {', '.join(bads) or 'NULL AS _nothing'} FROM (SELECT *,"
        f" {', '.join(parses) or 'NULL AS _nothing2'} FROM (SELECT _file, _line"
        f"{''.join(', ' + t for t in trims)}, {', '.join(_q(c.name) for c in columns if c.name in present) or 'NULL AS _nothing3'} FROM _text))"
    )
    return f"SELECT {', '.join(values)}, _file, _line, {', '.join(verdicts)} FROM ({staged})"


def issues_sql(table: str, source: str) -> tuple[str, str]:
    """SQL selecting the rejects and the cell issues recorded in a typed table's verdicts."""
    base = f'SELECT {_lit(source)} AS source, _file AS file, _line AS line, i.column AS "column", i.value AS value, i.reason AS reason FROM (SELECT _file, _line, unnest({{}}) AS i FROM {table} WHERE {{}})'
    return base.format("_rejects", "NOT _ok"), base.format("_cells", "_ok AND _cells IS NOT NULL")


def batch_text(parsed: Sequence[ParsedFile], names: Sequence[str]) -> pa.Table:
    """Stack parsed files into one text table with `_file`; columns a file lacks are NULL."""
    tables = []
    for p in parsed:
        n = p.text.num_rows
        cols = {
            name: p.text.column(name) if name in p.text.column_names else pa.nulls(n, pa.string())
            for name in names
        }
        cols["_line"] = p.text.column("_line")
        cols["_file"] = pa.repeat(pa.scalar(p.file, pa.string()), n)
        tables.append(pa.table(cols))
    return pa.concat_tables(tables)


def refuse_us_dates(
    con: duckdb.DuckDBPyConnection, spec: Spec, parsed: Sequence[ParsedFile]
) -> None:
    """Refuse a file whose day-first date column only reads month-first: some second parts above
    12 and no first part above 12 (a whole file exported in US format)."""
    for c in spec.dmy_date:
        parts = f"regexp_extract(trim({_q(c)}), '^(\\d{{1,2}})[/.-](\\d{{1,2}})[/.-]\\d{{2,4}}', ['a', 'b'])"
        rows = con.execute(
            f"SELECT _file, count(*) FILTER (TRY_CAST({parts}.a AS INT) > 12),"
            f" count(*) FILTER (TRY_CAST({parts}.b AS INT) > 12),"
            f" arg_min({_q(c)} || ' on line ' || _line, _line) FILTER (TRY_CAST({parts}.b AS INT) > 12)"
            f" FROM _text WHERE {_q(c)} IS NOT NULL GROUP BY _file"
        ).fetchall()
        for file, day_first, month_first, example in rows:
            if day_first == 0 and month_first > 0:
                header = next(p.header for p in parsed if p.file == file)
                raise InputFormatError(
                    file,
                    found=header,
                    problem=f"dates in column {c!r} only read as month/day/year (US format), e.g."
                    f" {example}: {month_first:,} dates have a second part above 12 and none a first"
                    " part above 12. Export the dates as dd/mm/yyyy or yyyy-mm-dd",
                )


# ---------------------------------------------------------------- small files, as data frames

_PANDAS_TYPES = {
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.string(): pd.StringDtype("pyarrow", na_value=np.nan),
    pa.large_string(): pd.StringDtype("pyarrow", na_value=np.nan),
    pa.bool_(): pd.BooleanDtype(),
}


@dataclass(frozen=True)
class CsvFile:
    """One file read: the result plus which original header fed each canonical column."""

    result: ReadResult
    headers: dict[str, str] = field(default_factory=dict)
    groups: dict[str, dict[str, str | None]] = field(default_factory=dict)


def _frame(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    table = relation.arrow()
    if isinstance(table, pa.RecordBatchReader):
        table = table.read_all()
    df = table.to_pandas(types_mapper=_PANDAS_TYPES.get)
    for c in df.columns:
        if pa.types.is_date32(table.schema.field(c).type):
            df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    return df


def read_csv(path: str | Path, spec: Spec) -> CsvFile:
    """Read one small CSV / CSV.gz file (reference data) into data frames with a column map.

    Big inputs (police, NHS, ASB) go straight into DuckDB through `sources.ingest`; this is the
    same parse and the same SQL typing, for tables small enough to post-process in pandas.
    """
    parsed = parse_file(path, spec)
    columns = typed_columns(spec, parsed.groups)
    typed, rejected, cells = _type_in_memory(spec, columns, [parsed])
    rejects = _issues(spec.source, parsed.rejects, rejected)
    load = parsed.load_record(
        spec.source,
        rows_loaded=len(typed),
        rows_rejected=int(rejects["line"].nunique()),
        duplicate_of=None,
    )
    headers = {name: parsed.header[i].strip() for name, i in parsed.found.items()}
    result = ReadResult(typed, rejects, make_loads([load]), _issues(spec.source, None, cells))
    return CsvFile(result, headers, parsed.groups)


def _type_in_memory(
    spec: Spec, columns: Sequence[ColumnSpec], parsed: Sequence[ParsedFile]
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Type parsed files in a throwaway DuckDB: (rows kept, rejects, cell issues) as frames."""
    names = [c.name for c in columns]
    present = {n for p in parsed for n in p.text.column_names}
    sql = typing_sql(spec, columns, present, parsed[0].numeric)
    con = duckdb.connect()
    try:
        con.register("_text", batch_text(parsed, [n for n in names if n in present]))
        refuse_us_dates(con, spec, parsed)
        con.execute(f"CREATE TEMP TABLE _typed AS {sql}")
        rejects_sql, cells_sql = issues_sql("_typed", spec.source)
        rejected = con.sql(rejects_sql).df()
        cells = con.sql(cells_sql).df()
        keep = ", ".join(_q(n) for n in names)
        typed = _frame(
            con.sql(f"SELECT {keep}, _file, _line FROM _typed WHERE _ok ORDER BY _file, _line")
        )
    finally:
        con.close()
    typed["_line"] = typed["_line"].astype("int64")
    typed["_file"] = typed["_file"].astype("str")
    return typed, rejected, cells


def _issues(source: str, rows: pd.DataFrame | None, cells: pd.DataFrame | None) -> pd.DataFrame:
    parts = [p for p in (rows, cells) if p is not None and len(p)]
    if not parts:
        return make_rejects([], [], [], [], [], [])
    frame = pd.concat(
        [p.drop(columns="load_id", errors="ignore") for p in parts], ignore_index=True
    )
    out = make_rejects(
        source, frame["file"], frame["line"], frame["column"], frame["value"], frame["reason"]
    )
    return out.sort_values(["line", "column"], kind="stable", ignore_index=True)


def type_frame(
    raw: pd.DataFrame, spec: Spec, file: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Type a frame of text columns (canonical names, plus `_line`) from a non-CSV source, e.g.
    GeoPackage attributes. Returns (typed rows kept, row rejects, cell issues)."""
    text = pa.Table.from_pandas(
        raw.astype({c: "str" for c in raw.columns if c != "_line"}), preserve_index=False
    )
    parsed = ParsedFile(file, "", "", "", list(raw.columns), {}, {}, text, pd.DataFrame(), 0, 0, 0)
    typed, rejected, cells = _type_in_memory(spec, spec.columns, [parsed])
    return typed, _issues(spec.source, None, rejected), _issues(spec.source, None, cells)


def read_csv_files(paths: Iterable[str | Path], spec: Spec | str) -> ReadResult:
    """Read several small files with one column map and stack them."""
    if isinstance(spec, str):
        spec = load_spec(spec)
    return concat_results([read_csv(p, spec).result for p in _as_list(paths)])


def _as_list(paths) -> list[Path]:
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    return [Path(p) for p in paths]
