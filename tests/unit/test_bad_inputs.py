"""The bad-input corpus, run through the real ingest and the real blocking checks.

For every case of tests/data/bad/cases.yaml whose input is a registry input: load its files as the
input's asset does (`tests.helpers.ingest`), then assert the exact outcome the manifest names AND
that nothing else changed:
- every line is accounted for against a count taken here from the bytes (tests.bad_inputs), not
  from the reader: per file, rows in the table + rejected lines == lines holding a record;
- every loaded row's `_line` is a distinct line whose text parses to that row's text columns, and
  every whole-line reject carries that line's raw text;
- the good rows equal the clean baseline's rows, but for the changes the manifest lists;
- the rejects, cell issues and duplicates are exactly those listed; the blocking checks fail
  exactly where listed, with the listed description, and pass everywhere else.
A refused file must leave the previous good load of that input untouched. Settings and definition
cases go through their real loaders.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from pipelines.factory import (
    date_window,
    dates_within,
    reconcile,
    rejects_below_threshold,
    repeats_warning,
)
from pipelines.settings import SettingsError, load_settings
from sources._csv import load_spec, match_headers
from sources._result import InputFormatError
from sources.registry import BY_KEY
from tests.bad_inputs import (
    CLEAN_FILES,
    CORPUS,
    GENERATORS,
    Case,
    fields,
    line_set,
    load_cases,
    record_lines,
    text_lines,
)
from tests.helpers import Loaded, _memory, ingest
from transforms.definition import DefinitionError, load_definition

REPO = Path(__file__).resolve().parents[2]
CASES = load_cases()
WINDOW = (date(2016, 4, 1), date(2026, 3, 31))
MAX_REJECT_SHARE = 0.005  # the settings' default
CHECKS = ("reconciles", "rejects_below_threshold", "dates_plausible")


def _params(kinds) -> list:
    return [
        pytest.param(
            c,
            id=c.name,
            marks=[pytest.mark.xfail(strict=True, reason=c.spec["xfail"])]
            if c.spec.get("xfail")
            else [],
        )
        for c in CASES
        if c.input in kinds
    ]


def test_the_corpus_is_complete() -> None:
    """At least 30 cases, each saying why it matters; every folder is a case and vice versa."""
    assert len(CASES) >= 30
    assert all(c.spec.get("why") for c in CASES)
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_")}
    with_files = {c.name for c in CASES if c.input in BY_KEY and "generate" not in c.spec}
    assert folders == with_files
    assert all(c.spec["generate"]["function"] in GENERATORS for c in CASES if "generate" in c.spec)


# ---------------------------------------------------------------- the case's files


def case_files(case: Case, tmp: Path) -> tuple[list[Path], list[Path] | str]:
    """(files to load, baseline files or "each" / "none"), in the order a glob gives them."""
    if "generate" in case.spec:
        gen = case.spec["generate"]
        files, baseline = GENERATORS[gen["function"]](tmp, **gen.get("args", {}))
    else:
        names = case.spec.get("files")
        files = (
            [case.folder / n for n in names]
            if names
            else [p for p in case.folder.rglob("*") if p.is_file()]
        )
        baseline = case.spec.get("baseline") or [CLEAN_FILES[case.input]]
    files = sorted(p.resolve() for p in files)
    return files, baseline


def snapshot(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, pd.DataFrame]:
    spec = BY_KEY[key]
    where = f"WHERE source = '{spec.source}'"
    tables = {
        "rows": f"SELECT * EXCLUDE (_load_id) FROM {spec.table}",
        **{
            t: f"SELECT * EXCLUDE (load_id) FROM {t} {where}"
            for t in ("quarantine.rejects", "quarantine.cell_issues", "quarantine.duplicates")
        },
        "audit.loads": f"SELECT * EXCLUDE (load_id, loaded_at) FROM audit.loads {where}",
    }
    return {name: con.execute(f"{sql} ORDER BY ALL").df() for name, sql in tables.items()}


# ---------------------------------------------------------------- comparing rows


def value_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows' values, without where they came from."""
    return frame.drop(columns=["_file", "_line", "_load_id"], errors="ignore")


def as_tuples(frame: pd.DataFrame) -> list[tuple]:
    """Rows as comparable tuples (NULL as None), sorted."""
    values = frame.astype(object).where(frame.notna(), None).to_numpy()
    return sorted(map(tuple, values), key=repr)


def effective(loaded: Loaded) -> pd.DataFrame:
    """The rows that count: loaded, less those superseded by a later version (duplicates)."""
    gone = set(zip(loaded.duplicates["file"], loaded.duplicates["line"], strict=True))
    keep = [
        (f, ln) not in gone
        for f, ln in zip(loaded.rows["_file"], loaded.rows["_line"], strict=True)
    ]
    return loaded.rows[pd.Series(keep, index=loaded.rows.index, dtype=bool)]


@cache
def _clean_load(key: str, files: tuple[Path, ...]) -> pd.DataFrame:
    """The rows that count of a clean load (shared: many cases derive from the same files)."""
    return effective(ingest(list(files), key))


def baseline_rows(case: Case, files: list[Path], baseline) -> pd.DataFrame:
    if baseline == "none":
        return _clean_load(case.input, tuple(files)).iloc[0:0]
    if baseline == "each":
        return pd.concat([_clean_load(case.input, (f,)) for f in files], ignore_index=True)
    return _clean_load(case.input, tuple(CORPUS / b if isinstance(b, str) else b for b in baseline))


def expected_rows(case: Case, base: pd.DataFrame) -> tuple[pd.DataFrame, set[int]]:
    """The baseline with the manifest's changes: dropped lines, nulled cells; and the lines whose
    values legitimately differ (left out of the comparison on both sides)."""
    last = int(base["_line"].max()) if len(base) else 1
    drop = line_set(case.changes.get("drop", []), last)
    differ = line_set(case.changes.get("differ", []), last)
    base = base[~base["_line"].isin(drop | differ)].copy()
    nulls = case.changes.get("nulled") or {}
    if "lines" in nulls:
        nulls = {line: nulls["columns"] for line in line_set(nulls["lines"], last)}
    assert {int(line) for line in nulls} <= set(base["_line"]), "nulled lines not in the baseline"
    for column in {c for columns in nulls.values() for c in columns}:
        lines = [int(line) for line, columns in nulls.items() if column in columns]
        base.loc[base["_line"].isin(lines), column] = None
    return base, differ


# ---------------------------------------------------------------- the assertions


def assert_every_line_accounted_for(case: Case, loaded: Loaded, files: list[Path]) -> None:
    """Per file, against a count of the bytes taken here: table rows + rejected lines == lines
    holding a record; each row's line is distinct and parses to the row's text columns; each
    whole-line reject carries that line's raw text."""
    spec = BY_KEY[case.input]
    duplicate = set(loaded.loads.loc[loaded.loads["duplicate_of"].notna(), "file"])
    for path in files:
        file = str(path)
        rows = loaded.rows[loaded.rows["_file"] == file]
        rejects = loaded.rejects[loaded.rejects["file"] == file]
        if file in duplicate:
            assert rows.empty and rejects.empty, f"{path.name} is a duplicate but was loaded"
            continue
        if case.input == "lsoa_boundaries":  # not text: features, counted from the JSON
            features = len(json.loads(path.read_bytes())["features"])
            assert rows["_line"].nunique() + rejects["line"].nunique() == features
            assert set(rows["_line"]).isdisjoint(rejects["line"])
            continue
        lines = text_lines(path, case.spec.get("encoding", "utf-8"))
        header, data = record_lines(lines)
        assert len(rows) + rejects["line"].nunique() == data, f"{path.name}: lines unaccounted"
        assert rows["_line"].is_unique and set(rows["_line"]).isdisjoint(rejects["line"])
        for _, reject in rejects[rejects["column"] == "_row"].iterrows():
            assert reject["value"] == lines[reject["line"] - 1].decode("utf-8")
        if case.input == "population":
            continue  # long format: one row per age band, text columns checked by its own tests
        columns = load_spec(spec.column_map).columns
        found, _ = match_headers(fields(lines[header - 1]), load_spec(spec.column_map))
        text = {c.name: c for c in columns if c.type in ("str", "flag", "age_band")}
        numbers = rows["_line"].tolist()
        assert all(header < n <= len(lines) for n in numbers)
        parsed = list(csv.reader([lines[n - 1].decode("utf-8") for n in numbers]))
        issues = loaded.cell_issues[loaded.cell_issues["file"] == file]
        flagged = set(zip(issues["line"], issues["column"], strict=True))
        for name in (n for n in text if n in found):
            # a coded column holds the canonical value of the spelling on the line (ISTV "Not
            # known" -> not_known); a cell with an issue is NULL, listed in cell_issues
            spelling = {a.lower(): k for k, aliases in text[name].values for a in (k, *aliases)}
            want = [p[found[name]].strip(" ") or None for p in parsed]
            want = [spelling.get(w.lower(), w) if w and spelling else w for w in want]
            got = [None if pd.isna(v) else v for v in rows[name]]
            bad = [
                (n, g, w)
                for n, g, w in zip(numbers, got, want, strict=True)
                if g != w and (n, name) not in flagged
            ]
            assert not bad, f"{path.name}: {name} differs from the line's text: {bad[:3]}"


def assert_issues(frame: pd.DataFrame, want, what: str, with_value: bool) -> None:
    if isinstance(want, dict):  # {count, column, value, reason}: every one alike
        assert len(frame) == want["count"], f"{what}: {len(frame)} rows"
        assert (frame["column"] == want["column"]).all()
        assert (frame["value"] == str(want["value"])).all()
        assert frame["reason"].str.contains(want["reason"], regex=True).all()
        return
    got = sorted(zip(frame["line"], frame["column"], strict=True))
    assert got == sorted((int(w[0]), w[1]) for w in want), f"{what}: {frame.to_string()}"
    for w in want:
        hit = frame[(frame["line"] == int(w[0])) & (frame["column"] == w[1])].iloc[0]
        if with_value:
            assert hit["value"] == str(w[2]), f"{what} line {w[0]}: value {hit['value']!r}"
        assert re.search(w[-1], hit["reason"]), f"{what} line {w[0]}: {hit['reason']!r}"


def assert_checks(case: Case, con: duckdb.DuckDBPyConnection) -> None:
    spec = BY_KEY[case.input]
    results = {
        "reconciles": reconcile(con, spec),
        "rejects_below_threshold": rejects_below_threshold(con, spec, MAX_REJECT_SHARE),
    }
    if spec.event_date:
        results["dates_plausible"] = dates_within(con, spec, *WINDOW)
    fails = case.expect.get("fails") or {}
    assert set(fails) <= set(results)
    for name, result in results.items():
        if name in fails:
            assert not result.passed, f"{spec.key}_{name} passed"
            assert re.search(fails[name], result.description or ""), result.description
        else:
            assert result.passed, f"{spec.key}_{name} failed: {result.description}"


@pytest.mark.parametrize("case", _params(BY_KEY), ids=str)
def test_bad_input(case: Case, tmp_path: Path) -> None:
    files, baseline = case_files(case, tmp_path)
    expect = case.expect
    if "refused" in expect:
        assert_refused_leaving_the_last_load(case, files, baseline)
        return
    loaded = ingest(files, case.input)
    assert_every_line_accounted_for(case, loaded, files)
    if "loaded" in expect:
        assert len(loaded.rows) == expect["loaded"]
    if "encoding" in expect:
        assert set(loaded.loads["encoding"]) == {expect["encoding"]}
    if "lines" in expect:
        counted = loaded.loads[["header_lines", "blank_lines"]].sum()
        assert counted.tolist() == [expect["lines"]["header"], expect["lines"]["blank"]]
    assert_issues(loaded.rejects, expect.get("rejects", []), "rejects", with_value=False)
    for line, value in (expect.get("reject_values") or {}).items():
        assert set(loaded.rejects.loc[loaded.rejects["line"] == int(line), "value"]) == {value}
    assert_issues(loaded.cell_issues, expect.get("cell_issues", []), "cell issues", True)
    dups = expect.get("duplicates") or {"count": 0}
    assert len(loaded.duplicates) == dups["count"]
    if dups.get("kept_file"):
        assert loaded.duplicates["kept_file"].str.contains(dups["kept_file"]).all()
    repeats = {
        str(Path(f).relative_to(case.folder)): str(Path(d).relative_to(case.folder))
        for f, d in zip(loaded.loads["file"], loaded.loads["duplicate_of"], strict=True)
        if pd.notna(d)
    }
    assert repeats == (expect.get("duplicate_files") or {})
    if repeats or len(loaded.duplicates):  # the asset warns, naming what it counted once
        said = repeats_warning(loaded.con, BY_KEY[case.input], len(loaded.duplicates))
        for file, original in repeats.items():
            assert f"{case.folder / file} repeats {case.folder / original} byte for byte" in said
        assert (f"{len(loaded.duplicates):,} records repeat a" in said) == bool(dups["count"])
    base, differ = expected_rows(case, baseline_rows(case, files, baseline))
    got = effective(loaded)
    assert differ <= set(got["_line"]), "a changed line was not loaded"
    got = got[~got["_line"].isin(differ)]
    assert as_tuples(value_rows(got)) == as_tuples(value_rows(base))
    assert_checks(case, loaded.con)


def assert_refused_leaving_the_last_load(case: Case, files: list[Path], baseline) -> None:
    """The error names the file and says what is wrong; the previous load stays as it was."""
    con = _memory()
    ingest([CORPUS / b if isinstance(b, str) else b for b in baseline], case.input, con=con)
    before = snapshot(con, case.input)
    with pytest.raises(InputFormatError) as err:
        ingest(files, case.input, con=con)
    assert Path(err.value.file) in files
    assert str(err.value).startswith(f"{err.value.file}: ")
    assert re.search(case.expect["refused"], str(err.value)), str(err.value)
    after = snapshot(con, case.input)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(after[name], frame, obj=name)


# ---------------------------------------------------------------- settings and definitions


@pytest.mark.parametrize("case", _params({"settings"}), ids=str)
def test_bad_settings(case: Case, tmp_path: Path) -> None:
    raw = yaml.safe_load((REPO / "config" / "settings.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    load_settings(path, base_dir=REPO)  # the demo settings load as they are
    path.write_text(yaml.safe_dump({**raw, **case.spec["overrides"]}), encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(path, base_dir=REPO)
    assert str(err.value).startswith(f"{path}: ")
    assert re.search(case.expect["refused"], str(err.value)), str(err.value)


@pytest.mark.parametrize("case", _params({"definition"}), ids=str)
def test_bad_definition(case: Case, tmp_path: Path) -> None:
    text = (REPO / "config" / "definitions" / "norfolk-2024.yaml").read_text(encoding="utf-8")
    old, new = case.spec["replace"]
    assert text.count(old) == 1, f"{old!r} is not in the definition once"
    path = tmp_path / "definition.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(DefinitionError) as err:
        load_definition(path)
    assert err.value.file == str(path)
    assert re.search(case.expect["refused"], str(err.value)), str(err.value)


def test_the_default_date_window_is_ten_years_even_from_29_february() -> None:
    settings = load_settings(REPO / "config" / "settings.yaml", base_dir=REPO)
    assert date_window(settings, today=date(2028, 2, 29)) == (date(2018, 2, 28), date(2028, 2, 29))
    assert date_window(settings, today=date(2026, 11, 29)) == (
        date(2016, 11, 29),
        date(2026, 11, 29),
    )
