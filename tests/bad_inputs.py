"""The bad-input corpus (tests/data/bad/): its manifest, the generators of its big cases, and a
line count written here, independently of the readers, that every case is reconciled against."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parent / "data" / "bad"
CLEAN = CORPUS / "_clean"
CLEAN_FILES = {
    "police_uk": CLEAN / "police_uk" / "2022-01" / "2022-01-norfolk-street.csv",
    "police_extract": CLEAN / "police_extract" / "force_crimes_2021-22.csv",
    "population": CLEAN / "population" / "lsoa_population_2019.csv",
    "lsoa_boundaries": CLEAN / "boundaries" / "lsoa21_norfolk_sample.geojson",
    "ae_attendances": CLEAN / "ae_attendances" / "istv_assaults_2022-01.csv",
    "hes_admissions": CLEAN / "hes_admissions" / "hes_apc_assaults_2022-23.csv",
    "ambulance_callouts": CLEAN / "ambulance_callouts" / "ambulance_assaults_2022-23.csv",
    "asb_council": CLEAN / "asb_council" / "council_asb_2022-23.csv",
}


@dataclass(frozen=True)
class Case:
    """One entry of cases.yaml."""

    name: str
    input: str
    spec: dict[str, Any]

    @property
    def folder(self) -> Path:
        return CORPUS / self.name

    @property
    def expect(self) -> dict[str, Any]:
        return self.spec.get("expect") or {}

    @property
    def changes(self) -> dict[str, Any]:
        return self.spec.get("changes") or {}


def load_cases() -> list[Case]:
    """Every case of the manifest, in its order."""
    raw = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))["cases"]
    return [Case(name, spec["input"], spec) for name, spec in raw.items()]


def line_set(spec: Any, last: int) -> set[int]:
    """Lines named in a manifest: a list, "all" (2..last), or "a-b" / "a-b/step"."""
    if spec == "all":
        return set(range(2, last + 1))
    if isinstance(spec, str):
        m = re.fullmatch(r"(\d+)-(\d+)(?:/(\d+))?", spec)
        assert m, f"bad line range {spec!r}"
        return set(range(int(m[1]), int(m[2]) + 1, int(m[3] or 1)))
    return {int(x) for x in spec}


# ---------------------------------------------------------------- counting lines, independently


def text_lines(path: Path, encoding: str = "utf-8") -> list[bytes]:
    """The file's lines as UTF-8 bytes without their terminators, as a text editor shows them
    (CRLF, LF and a lone CR each end one; bytes.splitlines knows no others)."""
    data = path.read_bytes()
    if encoding != "utf-8":
        data = data.decode(encoding).encode("utf-8")
    data = data.removeprefix(b"\xef\xbb\xbf")
    return data.splitlines()


BLANK = b" \t\x0b\x0c,"  # a line of only these holds no record (spreadsheets leave ",,,,")


def record_lines(lines: list[bytes]) -> tuple[int, int]:
    """(header line number, data lines): lines after the header that hold more than blanks and
    separators and do not repeat the header (files joined with their headers)."""
    header = next(i for i, line in enumerate(lines) if line.strip(BLANK)) + 1
    data = sum(1 for line in lines[header:] if line.strip(BLANK) and line != lines[header - 1])
    return header, data


def fields(line: bytes) -> list[str]:
    """A line's fields as the csv module reads them (lenient, as a spreadsheet would)."""
    return next(csv.reader([line.decode("utf-8")]))


# ---------------------------------------------------------------- generated cases


def _clean_lines(key: str) -> list[bytes]:
    return CLEAN_FILES[key].read_bytes().splitlines()


def _write(path: Path, lines: list[bytes], newline: bytes = b"\r\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(newline.join(lines) + newline)
    return path


def _set_field(line: bytes, index: int, value: str) -> bytes:
    row = fields(line)
    row[index] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue().encode("utf-8")


def _police_uk_rows(rows: int) -> list[bytes]:
    """`rows` police.uk records cycling the clean month's, each crime with its own Crime ID."""
    template = _clean_lines("police_uk")[1:]
    out = []
    for i in range(rows):
        line = template[i % len(template)]
        if not line.startswith(b","):  # anti-social behaviour has no Crime ID
            line = _set_field(line, 0, hashlib.sha256(f"crime {i}".encode()).hexdigest())
        out.append(line)
    return out


def stray_quote(
    folder: Path, rows: int, quote_line: int, min_swallowed: int = 0
) -> tuple[list[Path], list[Path]]:
    """A police.uk month of `rows` records with a `"` opening line `quote_line`, followed by more
    than `min_swallowed` characters a CSV parser could read as the quoted field."""
    header = _clean_lines("police_uk")[0]
    good = [header, *_police_uk_rows(rows)]
    bad = list(good)
    bad[quote_line - 1] = b'"' + bad[quote_line - 1]
    swallowed = sum(len(line) + 2 for line in bad[quote_line - 1 :])  # to the end of the file
    if swallowed <= min_swallowed:
        raise ValueError(f"only {swallowed:,} characters follow the quote, not {min_swallowed:,}")
    name = "2022-01-norfolk-street.csv"
    return [_write(folder / "bad" / name, bad)], [_write(folder / "clean" / name, good)]


def huge_line(
    folder: Path, line: int, size: int, quoted: bool = False, extra_field: bool = False
) -> tuple[list[Path], list[Path]]:
    """The clean police.uk month with line `line`'s Location `size` bytes long (quoted, and with
    an extra field, if asked)."""
    good = _clean_lines("police_uk")
    bad = list(good)
    row = fields(bad[line - 1])
    location = "x" * size
    row[6] = f'"{location}"' if quoted else location
    if extra_field:
        row.append("extra")
    bad[line - 1] = ",".join(row).encode("utf-8")
    name = "2022-01-norfolk-street.csv"
    return [_write(folder / "bad" / name, bad)], [CLEAN_FILES["police_uk"]]


def long_field(
    folder: Path, input: str, line: int, column: int, size: int
) -> tuple[list[Path], list[Path]]:
    """The clean file of `input` with field `column` of line `line` `size` characters long."""
    lines = _clean_lines(input)
    lines[line - 1] = _set_field(lines[line - 1], column, "x" * size)
    name = CLEAN_FILES[input].name
    return [_write(folder / "bad" / name, lines, b"\n")], [CLEAN_FILES[input]]


def _extract_rows(start: int, stop: int) -> list[bytes]:
    """Extract records with crime references DC/21/<start>..<stop - 1>, cycling the clean rows."""
    template = _clean_lines("police_extract")[1:]
    return [
        _set_field(template[i % len(template)], 0, f"DC/21/{i:06d}") for i in range(start, stop)
    ]


def repeated_references(
    folder: Path, rows: int, repeated: int, new: int
) -> tuple[list[Path], list[Path]]:
    """An extract of `rows` crimes and a refresh that repeats the last `repeated` of them (each
    reclassified: offence code and description of the next template row) plus `new` new crimes.
    The baseline is what must count: the crimes not repeated, then the whole refresh."""
    header = _clean_lines("police_extract")[0]
    original = _extract_rows(0, rows)
    again = _extract_rows(rows - repeated, rows + new)
    refresh = [
        _set_field(_set_field(line, 4, fields(nxt)[4]), 5, fields(nxt)[5])
        for line, nxt in zip(again, again[1:] + again[:1], strict=True)
    ]
    files = [
        _write(folder / "drop" / "force_crimes_2021-22.csv", [header, *original], b"\n"),
        _write(folder / "drop" / "force_crimes_2021-22_refresh.csv", [header, *refresh], b"\n"),
    ]
    kept = [header, *original[: rows - repeated], *refresh]
    return files, [_write(folder / "baseline" / "kept.csv", kept, b"\n")]


def victim_sex_other(folder: Path, rows: int, every: int) -> tuple[list[Path], list[Path]]:
    """An extract of `rows` crimes, every `every`-th (from the first) with Victim Sex "Other"."""
    header = _clean_lines("police_extract")[0]
    good = _extract_rows(0, rows)
    bad = [_set_field(line, 18, "Other") if i % every == 0 else line for i, line in enumerate(good)]
    name = "force_crimes_2021-22.csv"
    return (
        [_write(folder / "bad" / name, [header, *bad], b"\n")],
        [_write(folder / "clean" / name, [header, *good], b"\n")],
    )


GENERATORS = {
    f.__name__: f
    for f in (stray_quote, huge_line, long_field, repeated_references, victim_sex_other)
}
