"""The disclosure checker: re-read every file of a published folder and list every cell that breaks
the audience's rules. Run as a blocking check before the folder is swapped into place.

It reads the files as a partner would (the csv module, openpyxl, GDAL through pyogrio, pypdf for
the numbers printed in the PDF tables) and checks, cell by cell:
- counts in a rule's suppressed range at a governed level are not printed; NHS counts are
  multiples of the rounding base;
- rates, intervals and comparisons on a row whose count is suppressed are suppressed too;
- no text cell in a CSV or workbook starts with =, +, -, @ (a formula), unless it is a number;
- every file says which audience it is for, and GeoPackage layers are in EPSG:27700;
- taken together, the published cells give no suppressed or rounded cell away (`audit_published`:
  totals, the categories of the headline, and the same cell in two tables).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from transforms.disclosure import (
    KEY,
    PDF_COUNT_HEADERS,
    PDF_DERIVED_HEADERS,
    PDF_LEVEL_HEADERS,
    PDF_SOURCE_NAMES,
    AudienceRules,
    SourceRule,
    audit_published,
)

FORMULA_START = ("=", "+", "-", "@")
COUNT_COLUMNS = ("count", "previous_count", "rolling_12m", "numerator", "denominator")
DERIVED = (
    "rate_per_1000", "rate", "ci_lower", "ci_upper", "vs_county", "vs_england", "change",
    "change_p", "rate_ratio", "p_value", "proportion",
)  # fmt: skip
TABLE_CHUNK = 200_000  # rows of a file checked together
PDF_LIMITS = {"stream_parsing_work_maximum_count": 500_000_000,
              "zlib_maximum_output_length": 2_000_000_000}  # fmt: skip
GPKG_LEVELS = {"lsoa": "lsoa", "ward": "ward", "district": "district", "hotspot_grid": "grid"}


@dataclass(frozen=True)
class Violation:
    file: str
    where: str
    rule: str
    detail: str


def _number(value) -> float | None:
    """A cell as a number, or None for text, blanks and markers."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        return None


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _number_or_nan(value) -> float:
    number = _number(value)
    return math.nan if number is None else number


def _runs_as_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START) and _number(value) is None


def _each(values: pd.Series, judge: Callable, dtype: type) -> np.ndarray:
    """`judge` of every value, worked out once per distinct value (a column of a million rows
    has a few thousand), as an array in row order."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    judged = [judge(None if pd.isna(u) else u) for u in uniques]  # a missing value reads as None
    return np.array(judged, dtype=dtype)[codes] if len(codes) else np.array([], dtype=dtype)


def _governs(rules: Mapping[str, SourceRule], source: str, level: str) -> bool:
    return source in rules and rules[source].governs(level)


def _rule_part(rules: Mapping[str, SourceRule], source: str, part: str) -> float:
    """A rule's suppressed range ends (`low`, `high`) or rounding base; NaN when it has none."""
    rule = rules.get(source)
    if rule is None:
        return math.nan
    if part == "round_to":
        return float(rule.round_to) if rule.round_to else math.nan
    if not rule.suppress:
        return math.nan
    return float(rule.suppress[0] if part == "low" else rule.suppress[1])


class _Checker:
    def __init__(self, audience: AudienceRules, default_source: str):
        self.audience = audience
        self.default_source = default_source
        self.violations: list[Violation] = []
        self.shown: list[pd.DataFrame] = []

    def flag(self, file: Path | str, where: str, rule: str, detail: str) -> None:
        self.violations.append(Violation(str(file), where, rule, detail))

    # -- one table (CSV, sheet or layer) --------------------------------------------------------

    def table(
        self,
        file: Path,
        name: str,
        header: Sequence[str],
        rows: Iterable[Sequence],
        *,
        level: str | None = None,
        text_cells: bool = True,
        hidden_column: str | None = None,
    ) -> None:
        """Check one table, its rows taken TABLE_CHUNK at a time. `level` fixes the area level when
        the table has no area_level column; `hidden_column` names a boolean column that marks
        suppressed rows (GeoPackage)."""
        width, rows = len(header), iter(rows)
        batches = iter(lambda: list(itertools.islice(rows, TABLE_CHUNK)), [])
        chunks = (
            pd.DataFrame([list(r)[:width] for r in batch], columns=range(width), dtype=object)
            for batch in batches
        )
        self.frames(file, name, header, chunks, level=level, text_cells=text_cells,
                    hidden_column=hidden_column)  # fmt: skip

    def frames(
        self,
        file: Path,
        name: str,
        header: Sequence[str],
        chunks: Iterable[pd.DataFrame],
        *,
        level: str | None = None,
        text_cells: bool = True,
        hidden_column: str | None = None,
    ) -> None:
        """`table` over frames of rows (columns by position), each rule applied to whole columns:
        a country's files are 15M rows. Values are judged one distinct value at a time, so a
        cell reads exactly as in a row-by-row check."""
        col = {c: i for i, c in enumerate(header)}
        marker, rules = self.audience.marker, self.audience.rules
        keyed = all(c in col for c in ("area_code", "period", "measure", "count")) and (
            "area_level" in col or level is not None
        )
        said_audience = "audience" in col
        if not said_audience:
            self.flag(
                file, name, "audience", "no `audience` column: the file must say who it is for"
            )
        first = 2  # the row number of a chunk's first row (the header is row 1)
        for frame in chunks:
            n = len(frame)
            rows, first = np.arange(first, first + n), first + n

            def get(column: str, frame=frame, n=n) -> pd.Series:
                i = col.get(column)
                return frame[i] if i is not None and i in frame else pd.Series([None] * n)

            def where(i: int, rows=rows) -> str:
                return f"{name} row {rows[i]}"

            if said_audience:
                said = get("audience")
                for i in np.flatnonzero(_each(said, lambda a: a != self.audience.name, bool)):
                    self.flag(file, where(i), "audience",
                              f"says {said.iloc[i]!r}, not {self.audience.name!r}")  # fmt: skip
            if text_cells:
                for j, column in enumerate(header):
                    values = frame[j]
                    for i in np.flatnonzero(_each(values, _runs_as_formula, bool)):
                        self.flag(file, f"{where(i)}, column {column}", "formula",
                                  f"text {values.iloc[i][:30]!r} would run as a formula")  # fmt: skip
            source = _each(get("source"), lambda v: str(v or self.default_source), object)
            lvl = _each(get("area_level"), lambda v: str(v or level or "county"), object)
            ruled = _each(pd.Series(source), lambda v: v in rules, bool)
            codes, pairs = pd.MultiIndex.from_arrays([source, lvl]).factorize()
            governs = np.array([_governs(rules, *p) for p in pairs], dtype=bool)[codes] & ruled
            low = _each(pd.Series(source), lambda v: _rule_part(rules, v, "low"), float)
            high = _each(pd.Series(source), lambda v: _rule_part(rules, v, "high"), float)
            base = _each(pd.Series(source), lambda v: _rule_part(rules, v, "round_to"), float)
            hidden = np.zeros(n, dtype=bool)
            if hidden_column is not None:
                hidden = _each(get(hidden_column), bool, bool)
            numbers = {}
            for column in COUNT_COLUMNS:
                if column not in col:
                    continue
                values = get(column)
                blank = _each(values, _blank, bool)
                is_marker = _each(values, lambda v: v == marker, bool) & ~blank
                if column == "count":
                    hidden |= is_marker
                number = _each(values, _number_or_nan, float)
                numbers[column] = number
                shown = ruled & governs & ~blank & ~is_marker & ~np.isnan(number)
                with np.errstate(invalid="ignore"):
                    small = shown & (number >= low) & (number <= high)
                    off = shown & (np.mod(number, base) != 0) & ~np.isnan(base)
                for i in np.flatnonzero(small):
                    self.flag(file, f"{where(i)}, column {column}", "small count",
                              f"{number[i]:g} printed ({source[i]} {lvl[i]}; {low[i]:g}-"
                              f"{high[i]:g} must be suppressed)")  # fmt: skip
                for i in np.flatnonzero(off):
                    self.flag(file, f"{where(i)}, column {column}", "rounding",
                              f"{number[i]:g} is not a multiple of {base[i]:g} ({source[i]})")  # fmt: skip
            hidden &= ruled
            for column in DERIVED:
                if column not in col or not hidden.any():
                    continue
                values = get(column)
                left = hidden & ~_each(values, lambda v: _blank(v) or v == marker, bool)
                for i in np.flatnonzero(left):
                    self.flag(file, f"{where(i)}, column {column}", "derived",
                              f"{values.iloc[i]!r} shown although the count is suppressed")  # fmt: skip
            if keyed:
                measure = _each(get("measure"), str, object)
                if name == "success_measures" and "victims" in col:
                    measure = measure + "|" + _each(get("victims"), str, object)
                keep = np.flatnonzero(ruled)
                self.shown.append(
                    pd.DataFrame(
                        {
                            "source": source[keep],
                            "area_level": lvl[keep],
                            "area_code": _each(get("area_code"), str, object)[keep],
                            "period": _each(get("period"), str, object)[keep],
                            "measure": measure[keep],
                            "published": numbers["count"][keep],
                            "hidden": hidden[keep],
                        }
                    ).astype({c: "category" for c in ("source", "area_level", "period")})
                )

    # -- files -----------------------------------------------------------------------------------

    def csv_file(self, path: Path) -> None:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            self.table(path, path.stem, header, reader)  # streamed: a national CSV is 3M rows

    def xlsx_file(self, path: Path) -> None:
        from python_calamine import CalamineWorkbook

        # values through calamine (ten times openpyxl's speed: a country's workbook has 3M rows);
        # formulas from the sheets' XML, since a reader of values sees a formula's cached result
        for sheet, cell, formula in _xlsx_formulas(path):
            self.flag(path, f"{sheet}!{cell}", "formula", f"formula {'=' + formula[:29]!r}")
        wb = CalamineWorkbook.from_path(str(path))
        try:
            if "Contents" not in wb.sheet_names:
                self.flag(path, "workbook", "audience", "no Contents sheet")
            else:
                rows = wb.get_sheet_by_name("Contents").to_python(skip_empty_area=False)
                text = " ".join(str(c) for row in rows for c in row if c)
                if self.audience.marking not in text:
                    self.flag(path, "Contents", "audience", "the audience marking is missing")
            for title in wb.sheet_names:
                rows = self._xlsx_rows(path, title, wb.get_sheet_by_name(title))
                if title in ("Contents", "Notes"):
                    for _ in rows:
                        pass
                elif (header := next(rows, None)) is not None:
                    self.table(path, title, [str(c) for c in header], rows)
        finally:
            wb.close()

    def _xlsx_rows(self, path: Path, title: str, sheet) -> Iterator[list]:
        """A sheet's rows, streamed, each checked for text a spreadsheet would run as a formula."""
        top, left = sheet.start or (0, 0)
        for r, values in enumerate(sheet.iter_rows(), start=top + 1):
            for c, v in enumerate(values, start=left + 1):
                if isinstance(v, str) and v.startswith("="):
                    self.flag(path, f"{title}!{get_column_letter(c)}{r}", "formula",
                              f"formula {v[:30]!r}")  # fmt: skip
            if title in ("Contents", "Notes"):
                for v in values:  # unescaped text (a "=" one is flagged above)
                    if isinstance(v, str) and v[:1] in FORMULA_START and v[:1] != "=":
                        self.flag(path, f"{title} row {r}", "formula", f"text {v[:30]!r}")
            yield values

    def gpkg_file(self, path: Path) -> None:
        import pyogrio

        for layer, _ in pyogrio.list_layers(path):
            info = pyogrio.read_info(path, layer=layer)
            if (info.get("crs") or "").upper() != "EPSG:27700":
                self.flag(path, layer, "crs", f"layer is in {info.get('crs')}, not EPSG:27700")
            frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
            header = list(frame.columns)
            rows = (
                frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
            )
            self.table(path, layer, header, rows, level=GPKG_LEVELS.get(layer),
                       hidden_column="suppressed" if "suppressed" in frame else None)  # fmt: skip

    def pdf_file(self, path: Path) -> None:
        from pypdf import PdfReader, apply_configuration

        # pypdf's limits guard against hostile files; ours are our own, and a country's map page
        # (35,672 polygons) has more than its default two million tokens in one stream
        with apply_configuration(**PDF_LIMITS):
            self._pdf_pages(path, PdfReader(path))

    def _pdf_pages(self, path: Path, reader) -> None:
        for number, page in enumerate(reader.pages, start=1):
            parts: dict[tuple[float, float], list[tuple[float, str]]] = {}

            def visit(text, cm, tm, font, size, parts=parts):
                # matplotlib places each text object with the CTM; a text broken into several
                # strings (ligatures, accents) shares it, with offsets in the text matrix
                if text:
                    parts.setdefault((round(cm[4], 2), round(cm[5], 2)), []).append((tm[4], text))

            flat = page.extract_text(visitor_text=visit)
            if self.audience.marking not in flat.replace("\n", " "):
                self.flag(path, f"page {number}", "audience", "the audience marking is missing")
            cells = [
                ("".join(t for _, t in sorted(texts)).strip(), x, y)
                for (x, y), texts in parts.items()
            ]
            self._pdf_tables(path, number, [c for c in cells if c[0]])

    def _pdf_tables(self, path: Path, page: int, cells: list[tuple[str, float, float]]) -> None:
        """Rows are cells sharing a baseline (within 3 pt); a table starts at a row whose first cell
        names a level and which has a count column, and runs while rows keep the header's width."""
        ordered: list[list[tuple[float, str]]] = []
        last_y = None
        for text, x, y in sorted(cells, key=lambda c: (-c[2], c[1])):
            if last_y is None or last_y - y > 3:
                ordered.append([])
                last_y = y
            ordered[-1].append((x, text))
        ordered = [[t for _, t in sorted(row)] for row in ordered]
        i = 0
        while i < len(ordered):
            header = ordered[i]
            counts = [j for j, h in enumerate(header) if h in PDF_COUNT_HEADERS]
            if not header or header[0] not in (*PDF_LEVEL_HEADERS, "Measure") or not counts:
                i += 1
                continue
            level = PDF_LEVEL_HEADERS.get(header[0], "county")
            source_col = header.index("Source") if "Source" in header else None
            derived = [j for j, h in enumerate(header) if h in PDF_DERIVED_HEADERS]
            i += 1
            while i < len(ordered) and len(ordered[i]) == len(header):
                row = ordered[i]
                where = f"page {page}, table '{header[0]}', row '{row[0]}'"
                sources = (
                    (PDF_SOURCE_NAMES.get(row[source_col], row[source_col]),)
                    if source_col is not None
                    else None
                )
                hidden = False
                for j in counts:
                    family = sources or PDF_COUNT_HEADERS[header[j]] or (self.default_source,)
                    if row[j] == self.audience.marker:
                        hidden = True
                        continue
                    number = _number(row[j])
                    if number is None:
                        continue
                    for source in family:
                        rule = self.audience.rules.get(source)
                        if rule is None or not rule.governs(level):
                            continue
                        if rule.suppress and rule.suppress[0] <= number <= rule.suppress[1]:
                            self.flag(path, where, "small count",
                                      f"{header[j]} {number:g} printed ({source} {level})")  # fmt: skip
                        if rule.round_to and number % rule.round_to:
                            self.flag(path, where, "rounding",
                                      f"{header[j]} {number:g} not a multiple of {rule.round_to}")  # fmt: skip
                if hidden:
                    for j in derived:
                        if row[j] not in (self.audience.marker, "–", ""):
                            self.flag(path, where, "derived",
                                      f"{header[j]} {row[j]!r} shown although the count is suppressed")  # fmt: skip
                i += 1

    def text_file(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            if json.loads(text).get("audience") != self.audience.name:
                self.flag(path, "manifest", "audience", "the manifest does not name the audience")
        elif self.audience.marking not in text:
            self.flag(path, "page", "audience", "the audience marking is missing")


_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"[^>]*>\s*<f(?:\s[^>]*)?(?:/>|>([^<]*))')


def _xlsx_formulas(path: Path) -> Iterator[tuple[str, str, str]]:
    """(sheet, cell, formula text) of every formula cell of a workbook, its sheets' XML streamed
    (a country's sheet is hundreds of MB of XML)."""
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "p": "http://schemas.openxmlformats.org/package/2006/relationships",
    }
    with zipfile.ZipFile(path) as z:
        rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels.findall("p:Relationship", ns)}
        book = ElementTree.fromstring(z.read("xl/workbook.xml"))
        for sheet in book.findall("m:sheets/m:sheet", ns):
            member = target[sheet.get(f"{{{ns['r']}}}id")].lstrip("/")
            member = member if member.startswith("xl/") else f"xl/{member}"
            with z.open(member) as handle:
                tail = b""
                while chunk := handle.read(1 << 24):
                    data = tail + chunk
                    cut = max(0, len(data) - 4096)  # a match starting later waits for the rest
                    for m in _FORMULA_CELL.finditer(data, 0, len(data)):
                        if m.start() >= cut:
                            break
                        yield sheet.get("name"), m[1].decode(), (m[2] or b"").decode()
                    tail = data[cut:]
                for m in _FORMULA_CELL.finditer(tail):
                    yield sheet.get("name"), m[1].decode(), (m[2] or b"").decode()


def check_published(
    folder: Path,
    audience: AudienceRules,
    *,
    exact: pd.DataFrame,
    rates_source: str,
    geography: pd.DataFrame | None = None,
    partitions: Mapping[str, Sequence[str]] | None = None,
) -> list[Violation]:
    """Every rule broken by any file under `folder` (empty when the folder may be published).

    exact: the true count cells (KEY and `count`) of every count table, for the audit of what the
    published cells give away together.
    """
    checker = _Checker(audience, rates_source)
    readers = {
        ".csv": checker.csv_file,
        ".xlsx": checker.xlsx_file,
        ".gpkg": checker.gpkg_file,
        ".pdf": checker.pdf_file,
        ".html": checker.text_file,
        ".json": checker.text_file,
    }
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        reader = readers.get(path.suffix.lower())
        if reader is None:
            checker.flag(path, "file", "unknown file", "not a file type the checker can read")
            continue
        reader(path)
    if checker.shown and len(exact):
        shown = pd.concat(checker.shown, ignore_index=True).astype({c: "str" for c in KEY})
        checker.shown.clear()
        known = exact[KEY].astype(str).drop_duplicates()
        shown = shown.merge(known, on=KEY, how="inner")  # cells of tables the audit knows
        # one period at a time: no equation ties two periods (see protect_counts_by_period)
        leaked = pd.concat(
            [
                audit_published(
                    shown[shown["period"] == period],
                    cells,
                    audience,
                    geography=geography,
                    partitions=partitions,
                )
                for period, cells in exact.groupby("period", sort=True)
            ]
        )
        for row in leaked.itertuples():
            checker.flag(
                folder,
                f"{row.source} {row.area_level} {row.area_code} {row.period} {row.measure}",
                "recoverable",
                "a suppressed or rounded count can be worked out exactly from the published "
                f"cells (reader's interval {row.reader_lower:g} to {row.reader_upper:g})",
            )
    return checker.violations
