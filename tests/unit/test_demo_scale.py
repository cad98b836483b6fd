"""Synthetic inputs at any size: formats, files per force, reproducibility and planted structure.

Expectations are computed here from the files with pandas and the csv module, not taken from the
generator's own counts, except where the test is that the two agree.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from scipy.stats import spearmanr
from typer.testing import CliRunner

from pipelines.cli import app
from sources import demo, demo_scale
from sources.demo_crime import load_offence_codes
from sources.population import read_population
from transforms.db import ensure_schema, write_table
from transforms.rates import denominators_sql

VSO = "Violence and sexual offences"
SIZE = {"n_lsoas": 200, "crimes_per_year": 30_000, "years": 2}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> demo_scale.ScaledManifest:
    return demo_scale.write_scaled_demo(tmp_path_factory.mktemp("scaled"), **SIZE)


@pytest.fixture(scope="module")
def two_forces(tmp_path_factory) -> demo_scale.ScaledManifest:
    """Enough LSOAs for two forces (830 a force), few crimes, one year."""
    return demo_scale.write_scaled_demo(
        tmp_path_factory.mktemp("forces"), n_lsoas=1_700, crimes_per_year=60_000, years=1
    )


@pytest.fixture(scope="module")
def extract(small) -> pd.DataFrame:
    frames = []
    for p in small.police_extracts:
        f = pd.read_csv(p, dtype=str, keep_default_na=False)
        f["_file"] = str(p.relative_to(small.out_dir))
        f["_line"] = np.arange(len(f)) + 2
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def police_uk(small) -> pd.DataFrame:
    return pd.concat(
        [pd.read_csv(p, dtype=str, keep_default_na=False) for p in small.police_uk],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def planted(small) -> dict:
    return json.loads(small.planted_structure.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def persons(small) -> pd.Series:
    pop = pd.read_csv(small.population, dtype={"LSOA 2021 Code": str})
    return pop.set_index("LSOA 2021 Code")["Total"]


def _rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for row in csv.reader(handle) if row) - 1


def _violence_rate(extract: pd.DataFrame, persons: pd.Series) -> pd.Series:
    ref = load_offence_codes(demo.OFFENCE_CODES_PATH)
    vso = set(ref.loc[ref["police_uk_crime_type"] == VSO, "ho_code"])
    counts = extract[extract["HO Offence Code"].isin(vso)].groupby("LSOA Code").size()
    return counts.reindex(persons.index, fill_value=0) / persons * 1000


# ----------------------------------------------------------------------------- files


def test_same_arguments_give_byte_identical_files(tmp_path):
    size = {"n_lsoas": 60, "crimes_per_year": 6_000, "years": 1}
    a = demo_scale.write_scaled_demo(tmp_path / "a", **size)
    b = demo_scale.write_scaled_demo(tmp_path / "b", **size)
    c = demo_scale.write_scaled_demo(tmp_path / "c", seed=7, **size)

    def digest(m):
        return {
            str(p.relative_to(m.out_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in m.csv_paths
        }

    assert digest(a) == digest(b)
    assert digest(a) != digest(c)


def test_files_per_force_and_month_and_per_force_and_year(two_forces):
    out = two_forces.out_dir
    assert two_forces.n_forces == 2
    uk = sorted(str(p.relative_to(out)) for p in (out / "police_uk").rglob("*.csv"))
    months = [f"2021-{m:02d}" for m in range(4, 13)] + [f"2022-{m:02d}" for m in range(1, 4)]
    assert uk == sorted(
        f"police_uk/{m}/{m}-force-{f:02d}-street.csv" for m in months for f in (1, 2)
    )
    extracts = sorted(p.name for p in (out / "police").glob("*.csv"))
    assert extracts == ["force-01_crimes_2021-22.csv", "force-02_crimes_2021-22.csv"]
    # each force reports the crimes of its own LSOAs; ~1% are geocoded into the other force
    planted = json.loads(two_forces.planted_structure.read_text(encoding="utf-8"))
    lookup = pd.read_csv(two_forces.lookup, dtype=str, encoding="utf-8-sig")
    for f, force in enumerate(planted["forces"], start=1):
        rows = pd.read_csv(out / "police" / f"force-{f:02d}_crimes_2021-22.csv", dtype=str)
        assert rows["Crime Reference"].str.startswith(f"F{f:02d}/21/").all()
        assert rows["Crime Reference"].is_unique
        located = rows["LSOA Code"].dropna()
        assert located.nunique() <= force["lsoas"]
        uk_rows = pd.concat(
            pd.read_csv(p, dtype=str) for p in (out / "police_uk").rglob(f"*-force-{f:02d}-*.csv")
        )
        assert (uk_rows["Falls within"] == force["name"]).all()
        crimes = uk_rows[uk_rows["Crime ID"].notna() & uk_rows["LSOA code"].notna()]
        theirs = ~crimes["LSOA code"].isin(located.unique())
        assert 0.003 < theirs.mean() < 0.03  # geocoded into the other force, as police.uk does
    assert set(lookup["LSOA21CD"]) >= set(located)


def test_headers_line_endings_and_settings(small):
    for p in small.police_extracts:
        raw = p.read_bytes()
        assert raw.split(b"\n", 1)[0].decode() == ",".join(demo.FORCE_COLUMNS)
        assert b"\r\n" not in raw
    for p in small.police_uk:
        raw = p.read_bytes()
        assert raw.split(b"\r\n", 1)[0].decode() == ",".join(demo.POLICE_UK_COLUMNS)
        assert raw.count(b"\n") == raw.count(b"\r\n")  # CRLF throughout, as published
    settings = yaml.safe_load(small.settings.read_text(encoding="utf-8"))
    for value in [*settings["inputs"].values(), settings["database"], settings["definition"]]:
        assert Path(value).is_absolute()  # works from any folder
    assert Path(settings["inputs"]["lsoa_boundaries"]) == small.boundaries


def test_data_lines_match_what_the_generator_says(small, planted):
    counted = {str(p.relative_to(small.out_dir)): _rows(p) for p in small.police_extracts}
    counted |= {str(p.relative_to(small.out_dir)): _rows(p) for p in small.police_uk}
    assert counted == planted["data_lines"]
    extract_rows = sum(_rows(p) for p in small.police_extracts)
    assert extract_rows == small.n_crimes == planted["counts"]["crimes"]
    assert abs(extract_rows / (SIZE["crimes_per_year"] * SIZE["years"]) - 1) < 0.03
    assert sum(_rows(p) for p in small.police_uk) == small.n_police_uk_rows


def test_every_located_crime_lies_in_its_lsoa(small, extract):
    lsoas = gpd.read_file(small.boundaries).set_index("LSOA21CD")
    ok = extract[extract["LSOA Code"] != ""].copy()
    ok = ok[ok["Easting"].str.fullmatch(r"\d+")]
    cells = lsoas.geometry.reindex(ok["LSOA Code"]).to_numpy()
    inside = shapely.contains_xy(cells, ok["Easting"].astype(float), ok["Northing"].astype(float))
    assert inside.all()


def test_police_uk_rows_look_like_the_real_ones(small, police_uk, extract):
    asb = police_uk["Crime type"] == "Anti-social behaviour"
    assert 0.09 < asb.mean() < 0.15
    assert (police_uk.loc[asb, "Crime ID"] == "").all()
    ids = police_uk.loc[~asb, "Crime ID"]
    assert ids.str.fullmatch(r"[0-9a-f]{64}").all() and ids.is_unique
    assert (~asb).sum() == len(extract)  # the same crimes as the force extract
    no_loc = police_uk["Location"] == "No Location"
    assert 0.015 < no_loc.mean() < 0.04
    assert (police_uk.loc[no_loc, ["Longitude", "Latitude", "LSOA code"]] == "").all().all()
    located = police_uk[~no_loc]
    assert located["Location"].str.startswith("On or near ").all()
    assert located["Longitude"].astype(float).between(-9, 3).all()
    assert located["Latitude"].astype(float).between(49, 61).all()
    lookup = pd.read_csv(small.lookup, dtype=str, encoding="utf-8-sig")
    names = dict(zip(lookup["LSOA21CD"], lookup["LSOA21NM"], strict=True))
    assert (located["LSOA name"] == located["LSOA code"].map(names)).all()


def test_malformed_rows_are_exactly_the_documented_ones(extract, planted):
    listed = planted["malformed_rows"]
    assert {m["reason"] for m in listed} == {
        "impossible date",
        "negative victim age",
        "non-numeric easting (letter O for zero)",
        "victim age out of range",
        "blank offence code",
    }
    for m in listed:
        row = extract[(extract["_file"] == m["file"]) & (extract["_line"] == m["line"])].iloc[0]
        assert row[m["column"]] == m["value"] != m["original_value"]
        assert row["Crime Reference"] == m["crime_reference"]
    dates = pd.to_datetime(extract["Offence Date From"], format="%d/%m/%Y", errors="coerce")
    assert dates.isna().sum() == 1


def test_population_reads_with_the_real_reader_and_splits_under_25(small, persons):
    result = read_population(small.population, 2022)
    assert result.rejects.empty
    con = duckdb.connect()
    ensure_schema(con)
    write_table(con, "ref.population", result.rows.drop(columns=["_file", "_line"]))
    table = con.execute(denominators_sql(2022, "ref.population")).df().set_index("lsoa_code")
    assert table["persons"].astype(int).to_dict() == persons.to_dict()
    share = table["persons_under_25"].sum() / table["persons"].sum()
    assert 0.22 < share < 0.38  # under-25s are countable: the bands split at 25
    assert persons.min() >= 1_000 and persons.max() <= 3_500


# ----------------------------------------------------------------------------- planted structure


def test_hotspots_have_much_higher_violence_rates(extract, persons, planted):
    rate = _violence_rate(extract, persons)
    hot = planted["night_time_economy_hotspots"]["lsoa_codes"]
    assert hot
    assert rate[hot].median() > 2 * rate.drop(hot).median()


def test_deprivation_gradient_shows(small, extract, persons):
    dep = pd.read_csv(small.deprivation).set_index("LSOA code (2021)")
    rate = _violence_rate(extract, persons)
    rho = spearmanr(dep.loc[rate.index, "Index of Multiple Deprivation (IMD) Score"], rate)[0]
    assert rho > 0.3
    ranks = dep["Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"]
    assert sorted(ranks) == list(range(1, len(dep) + 1))
    worst = dep["Index of Multiple Deprivation (IMD) Score"].idxmax()
    assert ranks[worst] == 1


def test_high_domestic_abuse_and_county_lines_sit_where_planted(extract, persons, planted):
    da = extract[extract["Domestic Abuse Flag"] == "Y"].groupby("LSOA Code").size()
    da_rate = da.reindex(persons.index, fill_value=0) / persons
    high = planted["high_domestic_abuse"]["lsoa_codes"]
    assert da_rate[high].median() > 1.5 * da_rate.drop(high).median()
    flagged = extract[extract["County Lines Flag"] == "Y"]
    lines = planted["county_lines"]["lsoa_codes"]
    assert lines and flagged["LSOA Code"].isin(lines).mean() > 0.5


# ----------------------------------------------------------------------------- command line


def test_sna_demo_with_size_options_writes_settings_that_run_from_anywhere(tmp_path):
    out = tmp_path / "tiny"
    result = CliRunner().invoke(
        app,
        ["demo", "--out", str(out), "--lsoas", "40", "--crimes-per-year", "2000", "--years", "1"],
    )
    assert result.exit_code == 0, result.output
    assert "40 LSOAs (synthetic)" in result.output
    assert f"sna run --settings {out.resolve() / 'settings.yaml'}" in result.output.replace(
        "\n", ""
    )
    assert (out / "police" / "force-01_crimes_2021-22.csv").is_file()


def test_sna_demo_without_options_is_still_the_demo_county(tmp_path, monkeypatch):
    called = {}

    class Written:
        def summary(self) -> str:
            return "the demo county"

    def county(out, seed):
        called.update(out=out, seed=seed)
        return Written()

    monkeypatch.setattr(demo, "write_demo_county", county)
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert called == {"out": tmp_path, "seed": 20240401}


def test_england_wales_without_the_shared_file_says_so_and_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # rich wraps at the terminal width; keep lines whole
    missing = tmp_path / "no-shared-data" / "lsoa21"
    monkeypatch.setattr(demo_scale, "SHARED_LSOA21", missing)
    result = CliRunner().invoke(
        app, ["demo", "--out", str(tmp_path / "ew"), "--geography", "england-wales"]
    )
    assert result.exit_code == 2
    assert str(missing / "boundaries" / "LSOA21_EW_BSC_V4.geojson") in result.output
    assert "--geography synthetic" in result.output
    assert not (tmp_path / "ew").exists()


def test_too_few_crimes_for_the_planted_hotspots_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="too few"):
        demo_scale.write_scaled_demo(tmp_path, n_lsoas=200, crimes_per_year=500, years=1)
