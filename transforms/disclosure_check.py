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
import json
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
from openpyxl.utils import get_column_letter

from transforms.disclosure import (
    KEY,
    PDF_COUNT_HEADERS,
    PDF_DERIVED_HEADERS,
    PDF_LEVEL_HEADERS,
    PDF_SOURCE_NAMES,
    AudienceRules,
    audit_published,
)

FORMULA_START = ("=", "+", "-", "@")
COUNT_COLUMNS = ("count", "previous_count", "rolling_12m", "numerator", "denominator")
DERIVED = (
    "rate_per_1000", "rate", "ci_lower", "ci_upper", "vs_county", "vs_england", "change",
    "change_p", "rate_ratio", "p_value", "proportion",
)  # fmt: skip
SHOWN_CHUNK = 200_000  # keyed cells gathered before they are kept as a compact frame
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
        """Check one table. `level` fixes the area level when the table has no area_level column;
        `hidden_column` names a boolean column that marks suppressed rows (GeoPackage)."""
        col = {c: i for i, c in enumerate(header)}
        marker = self.audience.marker
        keyed = all(c in col for c in ("area_code", "period", "measure", "count")) and (
            "area_level" in col or level is not None
        )
        cells: list[tuple] = []
        said_audience = "audience" in col
        if not said_audience:
            self.flag(
                file, name, "audience", "no `audience` column: the file must say who it is for"
            )
        for n, row in enumerate(rows, start=2):
            where = f"{name} row {n}"

            def get(column: str, row=row):
                i = col.get(column)
                return None if i is None or i >= len(row) else row[i]

            if said_audience and get("audience") != self.audience.name:
                self.flag(
                    file, where, "audience", f"says {get('audience')!r}, not {self.audience.name!r}"
                )
            if text_cells:
                for i, value in enumerate(row):
                    if (
                        isinstance(value, str)
                        and value.startswith(FORMULA_START)
                        and _number(value) is None
                    ):
                        self.flag(file, f"{where}, column {header[i]}", "formula",
                                  f"text {value[:30]!r} would run as a formula")  # fmt: skip
            source = str(get("source") or self.default_source)
            lvl = str(get("area_level") or level or "county")
            try:
                rule = self.audience.rule(source)
            except ValueError:
                continue
            hidden_row = False
            if hidden_column is not None:
                hidden_row = bool(get(hidden_column))
            for column in COUNT_COLUMNS:
                value = get(column)
                if column not in col or _blank(value):
                    continue
                if value == marker:
                    hidden_row |= column == "count"
                    continue
                number = _number(value)
                if number is None or not rule.governs(lvl):
                    continue
                if rule.suppress and rule.suppress[0] <= number <= rule.suppress[1]:
                    self.flag(file, f"{where}, column {column}", "small count",
                              f"{number:g} printed ({source} {lvl}; {rule.suppress[0]}-"
                              f"{rule.suppress[1]} must be suppressed)")  # fmt: skip
                if rule.round_to and number % rule.round_to:
                    self.flag(file, f"{where}, column {column}", "rounding",
                              f"{number:g} is not a multiple of {rule.round_to} ({source})")  # fmt: skip
            if hidden_row:
                for column in DERIVED:
                    value = get(column)
                    if column in col and not _blank(value) and value != marker:
                        self.flag(file, f"{where}, column {column}", "derived",
                                  f"{value!r} shown although the count is suppressed")  # fmt: skip
            if keyed:
                measure = str(get("measure"))
                if name == "success_measures" and "victims" in col:
                    measure = f"{measure}|{get('victims')}"
                count = get("count")
                cells.append(
                    (
                        source,
                        lvl,
                        str(get("area_code")),
                        str(get("period")),
                        measure,
                        _number(count),
                        hidden_row or count == marker,
                    )
                )
                if len(cells) == SHOWN_CHUNK:
                    self._keep_shown(cells)
                    cells = []
        if cells:
            self._keep_shown(cells)

    def _keep_shown(self, cells: list[tuple]) -> None:
        """Keep a table's keyed cells as a frame (a row of tuples costs ten times more)."""
        frame = pd.DataFrame(cells, columns=[*KEY, "published", "hidden"])
        self.shown.append(frame.astype({c: "category" for c in ("source", "area_level", "period")}))

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
        from pypdf import PdfReader

        for number, page in enumerate(PdfReader(path).pages, start=1):
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
