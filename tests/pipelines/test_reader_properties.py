"""Property tests: valid files with random lines mangled, fed to every CSV reader (about 10 s,
so they run in `make test`, not `make test-fast`).

Whatever the damage (quotes, separators added or lost, NUL and non-UTF-8 bytes, cut lines, blank
lines, CR / LF / CRLF mixed, lines split, huge fields), a reader either refuses the file with an
InputFormatError naming it, or:
- every line is accounted for: per file, rows + rejected lines == the lines after the header that
  hold anything, counted here from the bytes;
- every loaded row's `_line` is a distinct line of the header's width, without NUL bytes and under
  the line limit, whose text parses (csv module) to the row's text columns; a whole-line reject
  carries its line's raw text;
- nothing is collateral damage: every line left untouched (header intact) is loaded as it was.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sources._csv import MAX_LINE_BYTES, load_spec, match_headers
from sources._result import InputFormatError
from sources.registry import BY_KEY
from tests.bad_inputs import (
    BLANK,
    CLEAN_FILES,
    _extract_rows,
    _police_uk_rows,
    fields,
    record_lines,
)
from tests.helpers import _memory, ingest

pytestmark = pytest.mark.corpus
CON = _memory()  # one database for every example: each load replaces the last
TEMPLATES = {
    "police_uk": [CLEAN_FILES["police_uk"].read_bytes().splitlines()[0], *_police_uk_rows(30)],
    "police_extract": [
        CLEAN_FILES["police_extract"].read_bytes().splitlines()[0],
        *_extract_rows(0, 30),
    ],
    "population": CLEAN_FILES["population"].read_bytes().splitlines(),
}
HUGE = b"x" * 200_000  # over the csv module's default field limit (128 KiB)
GIANT = b"x" * (MAX_LINE_BYTES + 1)  # over the line limit: only as an explicit example
ENDS = (b"\r\n", b"\n", b"\r")


@dataclass(frozen=True)
class Line:
    content: bytes
    end: bytes
    touched: bool = False  # content changed (a changed line end leaves it untouched)


def _mutate(line: Line, kind: str, at: float) -> list[Line]:
    """One damage at relative position `at` of a line; may give two lines (split, blank)."""
    text = line.content
    i = int(at * len(text))
    commas = [j for j, b in enumerate(text) if b == ord(",")]
    if kind in ("crlf", "lf", "cr"):
        return [replace(line, end=ENDS[("crlf", "lf", "cr").index(kind)])]
    if kind == "blank":
        return [line, Line(b" " * (i % 3), line.end)]
    if kind == "split":
        return [Line(text[:i], b"\n", True), Line(text[i:], line.end, True)]
    if kind == "drop_sep" and commas:
        j = commas[i % len(commas)]
        new = text[:j] + text[j + 1 :]
    elif kind == "truncate":
        new = text[:i]
    else:
        insert = {
            "quote": b'"',
            "add_sep": b",",
            "nul": b"\x00",
            "bad_byte": b"\xff",
            "huge": HUGE,
            "giant": GIANT,
            "drop_sep": b"",
        }[kind]
        new = text[:i] + insert + text[i:]
    return [Line(new, line.end, line.touched or new != text)]


KINDS = ["quote", "add_sep", "drop_sep", "nul", "bad_byte", "truncate", "blank", "split"]
KINDS += ["crlf", "lf", "cr", "huge"]


@st.composite
def mangled(draw, key: str) -> tuple[list[Line], bool]:
    """A valid file of the input (3-30 records, maybe one accented) and its lines after 0-6
    damages (the header among the lines that may be hit); whether it has non-ASCII text."""
    template = TEMPLATES[key]
    n = draw(st.integers(3, len(template) - 1))
    accented = draw(st.booleans())
    lines = [Line(content, b"\r\n") for content in template[: n + 1]]
    if accented:  # one location / place name with a non-ASCII (UTF-8) letter
        k = draw(st.integers(1, n))
        lines[k] = Line(
            lines[k].content.replace(b"On or near", "On or near Café".encode()), b"\r\n"
        )
        lines[k] = Line(lines[k].content.replace(b"Street", "Straße".encode()), b"\r\n")
    for kind, at, target in draw(
        st.lists(
            st.tuples(st.sampled_from(KINDS), st.floats(0, 1), st.integers(0, 10**6)),
            max_size=6,
        )
    ):
        k = target % len(lines) if target % 20 == 0 else 1 + target % (len(lines) - 1)
        lines[k : k + 1] = _mutate(lines[k], kind, at)
    if draw(st.booleans()):  # no line end after the last line
        lines[-1] = replace(lines[-1], end=b"")
    return lines, accented and any(b"\xc3" in line.content for line in lines)


def _check(key: str, lines: list[Line], multibyte: bool) -> None:
    data = b"".join(line.content + line.end for line in lines)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mangled.csv"
        path.write_bytes(data)
        try:
            loaded = ingest([path], key, con=CON)
        except InputFormatError as err:
            assert err.file == str(path.resolve())
            bad_byte = b"\xff" in data
            if multibyte and bad_byte:
                assert "mixed encodings" in str(err)
            return
        assert not (multibyte and b"\xff" in data), "a UTF-8 file with a 0xff byte was read"
        _assert_accounted(key, path, data, loaded, lines)


def _assert_accounted(key: str, path: Path, data: bytes, loaded, lines: list[Line]) -> None:
    spec = BY_KEY[key]
    physical = data.removeprefix(
        b"\xef\xbb\xbf"
    ).splitlines()  # CRLF, LF and a lone CR each end one
    header, records = record_lines(physical)
    rows, rejects = loaded.rows, loaded.rejects
    numbers = sorted(set(rows["_line"]))
    assert len(numbers) + rejects["line"].nunique() == records
    assert set(numbers).isdisjoint(rejects["line"])
    assert all(header < n <= len(physical) and physical[n - 1].strip(BLANK) for n in numbers)
    encoding = loaded.loads["encoding"].iloc[0].removesuffix("-sig")

    def text(n: int) -> str:
        return physical[n - 1].decode(encoding)

    for _, reject in rejects[rejects["column"] == "_row"].iterrows():
        assert reject["value"] == text(reject["line"])
    width = len(next(csv.reader([text(header)])))
    for n in numbers:  # a record is one line of the header's width, with no NUL, under 1 MiB
        assert b"\x00" not in physical[n - 1] and len(physical[n - 1]) <= MAX_LINE_BYTES
        assert len(next(csv.reader([text(n)]))) == width, f"line {n} is not {width} fields"
    if key == "population":
        return  # long format; its text columns are codes
    column_map = load_spec(spec.column_map)
    found, _ = match_headers(next(csv.reader([text(header)])), column_map)
    names = [c.name for c in column_map.columns if c.type == "str" and c.name in found]
    by_line = rows.set_index("_line")
    for n in numbers:
        values = next(csv.reader([text(n)]))
        for name in names:
            want = values[found[name]].strip(" ") or None
            got = by_line.at[n, name]
            assert (None if pd.isna(got) else got) == want, f"line {n} {name}"
    if not lines[0].touched:  # no collateral damage: untouched records load as they were
        untouched = {
            n for n, line in enumerate(_physical_origin(lines), start=1) if line is not None
        } - {header}
        assert untouched <= set(numbers), sorted(untouched - set(numbers))[:5]


def _physical_origin(lines: list[Line]) -> list[Line | None]:
    """Per physical line of the file: the untouched non-blank Line it is, else None. A line
    ended by a lone CR followed by an empty one ended by LF is one CRLF line in the file."""
    out: list[Line | None] = []
    for before, line in zip([None, *lines[:-1]], lines, strict=True):
        if before is not None and before.end == b"\r" and not line.content and line.end == b"\n":
            continue
        parts = line.content.splitlines() or [b""]
        for part in parts:
            ok = not line.touched and len(parts) == 1 and part.strip(BLANK)
            out.append(line if ok else None)
    return out


def one(key: str, kind: str, line: int = 3, at: float = 0.3) -> tuple[list[Line], bool]:
    """A valid 10-record file with one damage: the examples every run tries first."""
    lines = [Line(content, b"\r\n") for content in TEMPLATES[key][:11]]
    lines[line : line + 1] = _mutate(lines[line], kind, at)
    return lines, False


FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALONE = ("nul", "quote", "giant", "huge", "cr", "split")


@FAST
@given(mangled("police_uk"))
@example(one("police_uk", "nul", at=0.8)).via("NUL alone takes the fast path")
@example(one("police_uk", "giant")).via("an over-long line alone takes the fast path")
@example(one("police_uk", "huge", at=0.6)).via("a 200 KB field in a well-formed line")
@example(one("police_uk", "quote", line=1, at=0.0)).via("a stray quote on the first record")
def test_police_uk_files_mangled_at_random(case) -> None:
    _check("police_uk", *case)


@FAST
@given(mangled("police_extract"))
@example(one("police_extract", "nul")).via("NUL alone takes the fast path")
@example(one("police_extract", "bad_byte")).via("cp1252 byte in an ASCII file")
@example(([*(cr := one("police_extract", "cr")[0])[:4], Line(b"", b"\n"), *cr[4:]], False)).via(
    "a lone CR, then an empty line's LF: one CRLF line (found by hypothesis)"
)
def test_force_extracts_mangled_at_random(case) -> None:
    _check("police_extract", *case)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled("population"))
@example(one("population", "nul")).via("NUL alone takes the fast path")
def test_population_files_mangled_at_random(case) -> None:
    _check("population", *case)


def test_fields_helper_reads_quoted_commas() -> None:
    assert fields(b'a,"b, c",d') == ["a", "b, c", "d"]
