"""The synthetic demo county: formats, geography, reconciliation and the planted structure."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from scipy.stats import spearmanr

from sources import demo
from sources import demo_geo as dg
from sources.demo_crime import load_offence_codes
from tests.helpers import ingest, reconciles

N_LSOAS, MONTHS, SEED = 60, 12, 20240401
VSO = "Violence and sexual offences"


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> demo.DemoManifest:
    return demo.write_demo_county(
        tmp_path_factory.mktemp("demo"), seed=SEED, n_lsoas=N_LSOAS, months=MONTHS
    )


@pytest.fixture(scope="module")
def planted(county) -> dict:
    return json.loads(county.planted_structure.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return load_offence_codes(demo.OFFENCE_CODES_PATH)


@pytest.fixture(scope="module")
def lsoas(county) -> gpd.GeoDataFrame:
    return gpd.read_file(county.boundaries, layer="lsoa21")


@pytest.fixture(scope="module")
def extract(county) -> pd.DataFrame:
    frames = []
    for p in county.police_extracts:
        f = pd.read_csv(p, dtype=str, keep_default_na=False)
        f["_file"] = f"police/{p.name}"
        f["_line"] = np.arange(len(f)) + 2
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out["date"] = pd.to_datetime(out["Offence Date From"], format="%d/%m/%Y", errors="coerce")
    out["x"] = pd.to_numeric(out["Easting"], errors="coerce")
    out["y"] = pd.to_numeric(out["Northing"], errors="coerce")
    return out


@pytest.fixture(scope="module")
def police_uk(county) -> pd.DataFrame:
    return pd.concat(
        [pd.read_csv(p, dtype=str, keep_default_na=False) for p in county.police_uk],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def population(county) -> pd.Series:
    pop = pd.read_csv(county.population, dtype=str)
    return pop.set_index("LSOA 2021 Code")["Total"].str.replace(",", "").astype(int)


@pytest.fixture(scope="module")
def deprivation(county) -> pd.DataFrame:
    return pd.read_csv(county.deprivation).set_index("LSOA code (2021)")


def _hashes(manifest: demo.DemoManifest) -> dict[str, str]:
    files = [*manifest.csv_paths, manifest.planted_structure]
    return {
        str(p.relative_to(manifest.out_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files
    }


def _violence_rate(extract, ref, population) -> pd.Series:
    vso = set(ref.loc[ref["police_uk_crime_type"] == VSO, "ho_code"])
    counts = extract[extract["HO Offence Code"].isin(vso)].groupby("LSOA Code").size()
    return counts.reindex(population.index, fill_value=0) / population * 1000


# ----------------------------------------------------------------------------- reproducibility


def test_same_seed_gives_byte_identical_files(county, tmp_path):
    again = demo.write_demo_county(tmp_path / "again", seed=SEED, n_lsoas=N_LSOAS, months=MONTHS)
    assert _hashes(again) == _hashes(county)
    a = gpd.read_file(county.boundaries, layer="lsoa21")
    b = gpd.read_file(again.boundaries, layer="lsoa21")
    assert a["LSOA21CD"].tolist() == b["LSOA21CD"].tolist()
    assert all(x.equals_exact(y, 0) for x, y in zip(a.geometry, b.geometry, strict=True))


def test_another_seed_gives_another_county(county, tmp_path):
    other = demo.write_demo_county(
        tmp_path / "other", seed=SEED + 1, n_lsoas=N_LSOAS, months=MONTHS
    )
    assert _hashes(other).keys() == _hashes(county).keys()
    assert other.population.read_bytes() != county.population.read_bytes()
    assert other.police_extracts[0].read_bytes() != county.police_extracts[0].read_bytes()


def test_rejects_sizes_it_cannot_build(tmp_path):
    with pytest.raises(ValueError, match="n_lsoas"):
        demo.write_demo_county(tmp_path, n_lsoas=5)
    with pytest.raises(ValueError, match="months"):
        demo.write_demo_county(tmp_path, n_lsoas=60, months=0)


# ----------------------------------------------------------------------------- files and headers


def test_file_set_follows_the_contract_layout(county):
    out = county.out_dir
    rel = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    months = [f"2021-{m:02d}" for m in range(4, 13)] + [f"2022-{m:02d}" for m in range(1, 4)]
    expected = sorted(
        [
            "boundaries/demo_lsoa21.gpkg",
            "lookups/LSOA21_WD24_LAD24_EW_LU.csv",
            "population/sapelsoasyoa2022.csv",
            "deprivation/demo_iod2025_file7.csv",
            "police/demo_force_crimes_2021-22.csv",
            "planted_structure.json",
            "planted_health.json",
            "asb/council_asb_2021-22.csv",
            "nhs/hes/hes_apc_assaults_2021-22.csv",
            "nhs/ambulance/ambulance_assaults_2021-22.csv",
        ]
        + [f"police_uk/{m}/{m}-demo-street.csv" for m in months]
        + [f"nhs/ae/istv_assaults_{m}.csv" for m in months]
    )
    assert rel == expected


def test_headers_are_exact(county):
    def first_line(p: Path) -> bytes:
        return p.read_bytes().split(b"\n", 1)[0]

    assert (
        first_line(county.lookup)
        == b"\xef\xbb\xbfLSOA21CD,LSOA21NM,WD24CD,WD24NM,LAD24CD,LAD24NM\r"
    )
    assert b"\r\n" in county.lookup.read_bytes() and county.lookup.read_bytes().count(b"\n") == (
        county.lookup.read_bytes().count(b"\r\n")
    )
    pop_header = next(csv.reader(county.population.open(encoding="utf-8")))
    assert pop_header == (
        ["LAD 2023 Code", "LAD 2023 Name", "LSOA 2021 Code", "LSOA 2021 Name", "Total"]
        + [f"F{a}" for a in range(91)]
        + [f"M{a}" for a in range(91)]
    )
    dep_header = next(csv.reader(county.deprivation.open(encoding="utf-8")))
    assert dep_header == demo.DEPRIVATION_COLUMNS
    assert dep_header[4:7] == [
        "Index of Multiple Deprivation (IMD) Score",
        "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
        "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
    ]
    assert dep_header[-1] == "Living Environment Decile (where 1 is most deprived 10% of LSOAs)"
    for p in county.police_extracts:
        assert next(csv.reader(p.open(encoding="utf-8"))) == demo.FORCE_COLUMNS
    assert demo.FORCE_COLUMNS[:3] == ["Crime Reference", "Offence Date From", "Offence Time From"]
    for p in county.police_uk:
        raw = p.read_bytes()
        assert raw.split(b"\r\n", 1)[0] == (
            b"Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
            b"LSOA code,LSOA name,Crime type,Last outcome category,Context"
        )
        assert raw.count(b"\n") == raw.count(b"\r\n")  # CRLF throughout, as the real files
    info = pyogrio.read_info(county.boundaries, layer="lsoa21")
    assert list(info["fields"]) == ["LSOA21CD", "LSOA21NM"]
    assert pyogrio.list_layers(county.boundaries)[:, 0].tolist() == ["lsoa21"]


def test_population_totals_have_thousands_separators(county):
    rows = list(csv.DictReader(county.population.open(encoding="utf-8")))
    for r in rows:
        total = int(r["Total"].replace(",", ""))
        assert (total >= 1000) == ("," in r["Total"])
        assert total == sum(int(r[f"{s}{a}"]) for s in "FM" for a in range(91))


# ----------------------------------------------------------------------------- geography


def test_lsoa_polygons_are_valid_disjoint_and_tile_the_county(lsoas, planted):
    assert lsoas.crs.to_epsg() == 27700
    assert lsoas.is_valid.all() and not lsoas.is_empty.any()
    assert lsoas["LSOA21CD"].is_unique and len(lsoas) == N_LSOAS
    area = planted["county"]["area_m2"]
    assert lsoas.area.sum() == pytest.approx(area, rel=1e-3)
    assert shapely.union_all(lsoas.geometry.values).area == pytest.approx(area, rel=1e-3)
    left, right = lsoas.sindex.query(lsoas.geometry, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(
        shapely.intersection(
            lsoas.geometry.values[left[pairs]], lsoas.geometry.values[right[pairs]]
        )
    )
    assert overlap.sum() < 1e-6 * area
    minx, miny, maxx, maxy = lsoas.total_bounds
    assert minx >= 555_000 and maxx <= 665_000 and miny >= 275_000 and maxy <= 350_000
    outline = shapely.union_all(lsoas.geometry.values)
    assert outline.area < 0.9 * shapely.box(minx, miny, maxx, maxy).area  # a blob, not a box


def test_urban_lsoas_are_smaller_than_rural_ones(lsoas, planted):
    cls = lsoas["LSOA21CD"].map(planted["lsoa_urban_class"])
    area = lsoas.area / 1e6
    city = cls.isin(["city", "city_centre"])
    assert area[city].mean() * 3 < area[cls == "rural"].mean()
    assert area[cls == "city_centre"].max() < area[cls == "rural"].min()


def test_every_lsoa_is_in_lookup_population_and_deprivation(lsoas, county, population, deprivation):
    lookup = pd.read_csv(county.lookup, encoding="utf-8-sig", dtype=str)
    codes = set(lsoas["LSOA21CD"])
    assert set(lookup["LSOA21CD"]) == codes and lookup["LSOA21CD"].is_unique
    assert set(population.index) == codes
    assert set(deprivation.index) == codes
    assert all(re.fullmatch(r"E019\d{5}", c) for c in codes)
    assert lookup["LAD24CD"].nunique() == 7
    assert all(re.fullmatch(r"E079\d{5}", c) for c in lookup["LAD24CD"])
    assert all(re.fullmatch(r"E059\d{5}", c) for c in lookup["WD24CD"])
    assert (lookup.groupby("WD24CD")["LAD24CD"].nunique() == 1).all()  # wards nest in districts
    names = lsoas.merge(lookup, on="LSOA21CD")
    assert (names["LSOA21NM_x"] == names["LSOA21NM_y"]).all()
    pattern = names["LAD24NM"] + r" \d{3}[A-E]"
    assert all(re.fullmatch(p, n) for p, n in zip(pattern, names["LSOA21NM_x"], strict=True))


def test_districts_and_wards_are_contiguous(lsoas, county):
    lookup = pd.read_csv(county.lookup, encoding="utf-8-sig", dtype=str)
    g = lsoas.merge(lookup[["LSOA21CD", "WD24CD", "LAD24CD"]], on="LSOA21CD")
    for column in ("LAD24CD", "WD24CD"):
        for code, part in g.groupby(column):
            merged = shapely.union_all(part.geometry.values)
            # one piece, unless a coastal cell is itself split in two by a bay
            extra = (shapely.get_num_geometries(part.geometry.values) - 1).sum()
            assert shapely.get_num_geometries(merged) <= 1 + extra, code


def test_population_is_near_target_and_shaped(population, county, planted):
    assert population.sum() == pytest.approx(demo.POP_PER_LSOA * N_LSOAS, rel=0.02)
    assert population.between(1000, 3000).all()
    pop = pd.read_csv(county.population, dtype=str).set_index("LSOA 2021 Code")
    ages = np.array(
        [[int(v) for v in pop[[f"{s}{a}" for s in "FM"]].sum(axis=1)] for a in range(91)]
    )
    share_18_22 = ages[18:23].sum(axis=0) / ages.sum(axis=0)
    share_65 = ages[65:].sum(axis=0) / ages.sum(axis=0)
    cls = pop.index.map(planted["lsoa_urban_class"])
    city = np.isin(cls, ["city", "city_centre"])
    assert share_18_22[city].mean() > share_18_22[~city].mean()  # students in the city
    cromhithe = [s for s in planted["settlements"] if s["name"] == "Cromhithe"][0]["lsoa_codes"]
    assert share_65[pop.index.isin(cromhithe)].mean() > share_65[city].mean()  # older coast


def test_deprivation_ranks_and_deciles_agree_with_scores(deprivation):
    for key, score, stem in demo.DEPRIVATION_DOMAINS:
        rank = deprivation[stem + demo.RANK_SUFFIX]
        decile = deprivation[stem + demo.DECILE_SUFFIX]
        s = deprivation[score]
        assert rank.is_unique and rank.between(1, demo.N_ENGLAND_LSOAS).all(), key
        assert s.loc[rank.sort_values().index].is_monotonic_decreasing, key  # 1 = highest score
        assert (decile == 1 + (rank - 1) * 10 // demo.N_ENGLAND_LSOAS).all(), key
    imd = deprivation["Index of Multiple Deprivation (IMD) Score"]
    income = deprivation["Income Score (rate)"]
    assert spearmanr(imd, income).statistic > 0.7


# ----------------------------------------------------------------------------- crimes


def test_every_valid_crime_point_lies_in_its_lsoa(extract, lsoas, planted):
    ok = extract["x"].notna() & extract["y"].notna()
    unlocated = extract["Easting"] == ""  # no location at all: valid, see the test below
    bad = {(r["file"], r["line"]) for r in planted["malformed_rows"] if r["column"] == "Easting"}
    rows = extract[~ok & ~unlocated]
    assert set(zip(rows["_file"], rows["_line"], strict=True)) == bad
    geoms = lsoas.set_index("LSOA21CD").geometry
    rows = extract[ok]
    assert shapely.contains_xy(geoms.loc[rows["LSOA Code"]].values, rows["x"], rows["y"]).all()


def test_malformed_rows_are_exactly_the_documented_ones(extract, ref, planted):
    failing = set()
    for _, r in extract.iterrows():
        key = (r["_file"], int(r["_line"]))
        if pd.isna(r["date"]):
            failing.add((*key, "Offence Date From"))
        if r["Victim Age"] and not 0 <= int(r["Victim Age"]) <= 120:
            failing.add((*key, "Victim Age"))
        if r["Easting"] and pd.isna(r["x"]):  # blank = no location, a valid row
            failing.add((*key, "Easting"))
        if not r["HO Offence Code"]:
            failing.add((*key, "HO Offence Code"))
    documented = {(m["file"], m["line"], m["column"]) for m in planted["malformed_rows"]}
    assert failing == documented
    assert len(documented) == 5
    assert any(m["value"] == "31/02/2022" for m in planted["malformed_rows"])


def test_codes_come_from_the_reference_except_documented_unknowns(extract, ref, planted):
    codes = extract["HO Offence Code"]
    unknown = codes[~codes.isin(set(ref["ho_code"])) & (codes != "")]
    assert set(unknown) <= set(planted["unknown_offence_codes"]["codes"])
    assert len(unknown) == planted["unknown_offence_codes"]["rows"]
    assert 0 < len(unknown) < 0.005 * len(extract)


def test_flags_dates_and_victims_are_well_formed(extract):
    for flag in demo.FORCE_COLUMNS[10:17]:
        assert set(extract[flag]) <= {"Y", "N"}, flag
    assert set(extract["Victim Sex"]) <= {"M", "F", "U", ""}
    times = extract["Offence Time From"]
    assert times[times != ""].str.fullmatch(r"([01]\d|2[0-3]):[0-5]\d").all()
    recorded = pd.to_datetime(extract["Recorded Date"], format="%d/%m/%Y")
    valid = extract["date"].notna()
    assert (recorded[valid] >= extract.loc[valid, "date"]).all()
    assert extract["Crime Reference"].is_unique
    victimless = extract["HO Offence Code"].isin(["46", "92D", "92A", "10D"])
    assert (extract.loc[victimless, "Victim Sex"] == "").all()


def test_suspect_ages_where_a_suspect_is_identified(extract):
    suspect = pd.to_numeric(extract["Suspect Age"].replace("", None))
    known = suspect.notna()
    assert 0.35 < known.mean() < 0.6  # no suspect identified for most thefts and burglaries
    assert suspect[known].between(10, 90).all()  # the age of criminal responsibility is 10
    code = extract["HO Offence Code"]
    possession = code.isin(["10A", "10C", "10D", "92A"])  # the suspect is the one who had it
    assert known[possession].mean() > 0.9 and known[code == "28E"].mean() < 0.2
    # a domestic abuse suspect is about the victim's age (a partner or family member)
    victim = pd.to_numeric(extract["Victim Age"].replace("", None), errors="coerce")
    da = (extract["Domestic Abuse Flag"] == "Y") & known & victim.between(18, 90)
    assert (suspect[da] - victim[da]).abs().median() <= 5
    under = suspect[known] < 25
    assert 0.2 < under.mean() < 0.45


def test_suspect_ages_change_no_other_value(county, tmp_path, monkeypatch):
    """Suspect ages come from their own seed stream: without them every file is as it was."""
    monkeypatch.setattr(demo.dc, "suspect_ages", lambda rng, crimes: np.full(len(crimes), -1))
    without = demo.write_demo_county(tmp_path / "w", seed=SEED, n_lsoas=N_LSOAS, months=MONTHS)
    a, b = _hashes(county), _hashes(without)
    extracts = {str(p.relative_to(county.out_dir)) for p in county.police_extracts}
    assert {k for k in a if a[k] != b[k]} == extracts
    for mine, other in zip(county.police_extracts, without.police_extracts, strict=True):
        x = pd.read_csv(mine, dtype=str, keep_default_na=False)
        y = pd.read_csv(other, dtype=str, keep_default_na=False)
        assert (y["Suspect Age"] == "").all() and (x["Suspect Age"] != "").any()
        pd.testing.assert_frame_equal(x.drop(columns="Suspect Age"), y.drop(columns="Suspect Age"))


def test_police_uk_reconciles_with_the_force_extract(extract, police_uk, planted):
    month = extract["date"].dt.strftime("%Y-%m")
    for m in planted["malformed_rows"]:
        if m["column"] == "Offence Date From":
            month[extract["Crime Reference"] == m["crime_reference"]] = m["offence_month"]
    crimes = police_uk[police_uk["Crime type"] != "Anti-social behaviour"]
    assert crimes.groupby("Month").size().to_dict() == month.value_counts().sort_index().to_dict()
    assert sum(planted["counts"]["crimes_by_month"].values()) == len(extract)


def test_police_uk_rows_look_like_the_real_ones(police_uk, ref, lsoas, county):
    asb = police_uk["Crime type"] == "Anti-social behaviour"
    assert (police_uk.loc[asb, "Crime ID"] == "").all()
    assert police_uk.loc[~asb, "Crime ID"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert police_uk.loc[~asb, "Crime ID"].is_unique
    assert 0.09 < asb.mean() < 0.15
    assert set(police_uk.loc[~asb, "Crime type"]) <= set(ref["police_uk_crime_type"])
    assert (police_uk[["Reported by", "Falls within"]] == "Demo Constabulary").all().all()
    assert (police_uk["Context"] == "").all()
    assert (police_uk.loc[asb, "Last outcome category"] == "").all()
    assert (police_uk.loc[~asb, "Last outcome category"] != "").all()
    noloc = police_uk["Location"] == "No Location"
    assert 0.005 < noloc.mean() < 0.04
    blank = police_uk.loc[noloc, ["Longitude", "Latitude", "LSOA code", "LSOA name"]]
    assert (blank == "").all().all()
    placed = police_uk[~noloc]
    assert placed["Location"].str.startswith("On or near ").all()
    assert placed["Longitude"].str.fullmatch(r"-?\d+\.\d{6}").all()
    assert placed["Latitude"].str.fullmatch(r"\d+\.\d{6}").all()
    outside = ~placed["LSOA code"].isin(set(lsoas["LSOA21CD"]))  # checked in the next test
    assert outside.sum() == county.n_outside_area
    located = placed[~outside]
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(located["Longitude"].astype(float), located["Latitude"].astype(float))
    geoms = lsoas.set_index("LSOA21CD").geometry
    inside = shapely.contains_xy(geoms.loc[located["LSOA code"]].values, x, y)
    assert inside.mean() > 0.995  # map points sit in their LSOA (6 dp ~ 0.1 m of rounding)
    names = lsoas.set_index("LSOA21CD")["LSOA21NM"]
    assert (names.loc[located["LSOA code"]].to_numpy() == located["LSOA name"].to_numpy()).all()
    assert located.groupby("LSOA code")["Location"].nunique().max() <= demo.MAP_POINTS_PER_LSOA


def test_financial_year_files_follow_the_offence_date(tmp_path):
    m = demo.write_demo_county(tmp_path, seed=7, n_lsoas=30, start="2022-01-01", months=15)
    assert [p.name for p in m.police_extracts] == [
        "demo_force_crimes_2021-22.csv",
        "demo_force_crimes_2022-23.csv",
    ]
    first = pd.read_csv(m.police_extracts[0], dtype=str, keep_default_na=False)
    dates = pd.to_datetime(first["Offence Date From"], format="%d/%m/%Y", errors="coerce")
    assert dates.dropna().between("2022-01-01", "2022-03-31").all()
    assert first["Crime Reference"].str.startswith("DC/21/").all()
    assert [p.parent.name for p in m.police_uk][0] == "2022-01"
    assert [p.parent.name for p in m.police_uk][-1] == "2023-03"


# ----------------------------------------------------------------------------- planted structure


def test_planted_structure_lists_real_codes(planted, population):
    codes = set(population.index)
    for key in ("night_time_economy_hotspots", "high_domestic_abuse", "county_lines"):
        listed = planted[key]["lsoa_codes"]
        assert listed and set(listed) <= codes, key
    assert planted["seed"] == SEED and planted["county"]["code"] == "E10900001"
    assert len(planted["districts"]) == 7
    assert {w["district_code"] for w in planted["wards"]} == {
        d["district_code"] for d in planted["districts"]
    }


def test_hotspots_have_much_higher_violence_rates(extract, ref, population, planted):
    rate = _violence_rate(extract, ref, population)
    hot = planted["night_time_economy_hotspots"]["lsoa_codes"]
    assert (rate[hot] > 3 * rate.median()).all()


def test_hotspot_violence_happens_on_weekend_nights(extract, planted):
    hot = extract[extract["LSOA Code"].isin(planted["night_time_economy_hotspots"]["lsoa_codes"])]
    bars = hot[hot["Location Type"].isin(["Pub/Bar", "Nightclub"]) & hot["date"].notna()]
    hour = bars["Offence Time From"].str[:2].astype(int)
    night = bars["date"] - pd.to_timedelta((hour < 12).astype(int), unit="D")
    weekend_night = night.dt.day_of_week.isin([4, 5]) & ((hour >= 22) | (hour < 3))
    assert weekend_night.mean() > 0.6
    young = pd.to_numeric(bars["Victim Age"], errors="coerce").between(18, 30)
    assert young.mean() > 0.6
    assert (bars["Alcohol Related"] == "Y").mean() > 0.6


def test_deprivation_gradient_shows(extract, ref, population, deprivation):
    rate = _violence_rate(extract, ref, population)
    imd = deprivation.loc[rate.index, "Index of Multiple Deprivation (IMD) Score"]
    assert spearmanr(imd, rate).statistic > 0.3


def test_high_domestic_abuse_lsoas_stand_out(extract, population, planted):
    da = extract[extract["Domestic Abuse Flag"] == "Y"]
    rate = da.groupby("LSOA Code").size().reindex(population.index, fill_value=0) / population
    high = planted["high_domestic_abuse"]["lsoa_codes"]
    assert rate[high].median() > 2 * rate.median()
    assert (da["Victim Sex"] == "F").mean() > 0.7
    assert (da["Location Type"] == "Dwelling").mean() > 0.7


def test_county_lines_flags_sit_in_the_planted_lsoas(extract, planted):
    flagged = extract[extract["County Lines Flag"] == "Y"]
    assert len(flagged) > 0
    assert set(flagged["HO Offence Code"]) <= {"92A", "8Z", "195/94", "99/9", ""}
    assert flagged["LSOA Code"].isin(planted["county_lines"]["lsoa_codes"]).mean() > 0.5


def test_summer_has_more_crime_than_winter(extract):
    month = extract["date"].dt.month
    summer = month.isin([6, 7, 8]).sum()
    winter = month.isin([12, 1, 2]).sum()
    assert summer > 1.1 * winter


def test_knife_flags_are_on_the_right_offences(extract):
    knife = extract[extract["Knife Flag"] == "Y"]
    assert len(knife) > 0
    assert (extract.loc[extract["HO Offence Code"] == "10D", "Knife Flag"] == "Y").all()
    assert not knife["HO Offence Code"].isin(["46", "44", "92D", "58C"]).any()


# ----------------------------------------------------------------------------- location quirks


def test_about_one_percent_of_police_uk_crimes_are_outside_the_county(
    police_uk, lsoas, planted, county, extract
):
    crimes = police_uk[police_uk["Crime type"] != "Anti-social behaviour"]
    county_codes = set(lsoas["LSOA21CD"])
    out = crimes[(crimes["LSOA code"] != "") & ~crimes["LSOA code"].isin(county_codes)]
    assert 0.005 <= len(out) / len(crimes) <= 0.02
    assert len(out) == county.n_outside_area == planted["counts"]["outside_area_rows"]
    assert len(out) == planted["police_uk"]["outside_area"]["rows"]
    asb = police_uk[police_uk["Crime type"] == "Anti-social behaviour"]
    assert asb["LSOA code"].isin(county_codes).all()  # only crime rows are moved
    # real-looking synthetic codes from their own range, named after neighbouring districts
    assert out["LSOA code"].str.fullmatch(r"E0199\d{4}").all()
    assert not any(c.startswith("E0199") for c in county_codes)
    listed = {r["lsoa_code"]: r for r in planted["police_uk"]["outside_area"]["lsoas"]}
    assert set(out["LSOA code"]) <= set(listed) and len(set(out["LSOA code"])) > 5
    assert (out["LSOA name"] == out["LSOA code"].map(lambda c: listed[c]["lsoa_name"])).all()
    neighbours = {n for n, _, _ in dg.NEIGHBOURS}
    districts = {d["district_name"] for d in planted["districts"]}
    assert not neighbours & districts
    pattern = "(" + "|".join(sorted(neighbours)) + r") \d{3}[A-E]"
    assert out["LSOA name"].str.fullmatch(pattern).all()
    assert out["Location"].str.startswith("On or near ").all()
    # points outside the county outline, 5-40 km beyond its bounding box
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(out["Longitude"].astype(float), out["Latitude"].astype(float))
    outline = shapely.union_all(lsoas.geometry.values)
    assert not shapely.intersects_xy(outline, x, y).any()
    minx, miny, maxx, maxy = planted["county"]["bounds"]
    beyond = shapely.distance(shapely.box(minx, miny, maxx, maxy), shapely.points(x, y))
    assert (beyond > 5_000).all() and (beyond < 40_000).all()
    # the same crimes as in the force extract, which places them inside the county
    ids = {
        hashlib.sha256(f"demo:{SEED}:{r}".encode()).hexdigest(): code
        for r, code in zip(extract["Crime Reference"], extract["LSOA Code"], strict=True)
    }
    assert out["Crime ID"].isin(set(ids)).all()
    assert all(ids[i] in county_codes for i in out["Crime ID"])


def test_some_force_extract_rows_have_no_location_yet_load(extract, planted, county, police_uk):
    blank = extract[["Easting", "Northing", "LSOA Code"]] == ""
    unlocated = blank.any(axis=1)
    assert (blank[unlocated].all(axis=1)).all()  # all three blank together, never one alone
    n = int(unlocated.sum())
    assert n > 0 and n == county.n_unlocated == planted["counts"]["unlocated_extract_rows"]
    assert n == planted["force_extract"]["unlocated"]["rows"]
    assert 0.002 < n / len(extract) < 0.01
    rows = extract[unlocated]
    malformed = {m["crime_reference"] for m in planted["malformed_rows"]}
    assert not rows["Crime Reference"].isin(malformed).any()
    assert rows["date"].notna().all() and (rows["HO Offence Code"] != "").all()
    # the reader loads them, with no LSOA: only a malformed required value (the date, the offence
    # code) rejects a row; a malformed age or easting is a cell issue and the crime is kept
    read = ingest(list(county.police_extracts), "police_extract")
    assert reconciles(read.loads)
    assert len(read.rows) + read.rejects["line"].nunique() == len(extract)
    assert set(read.rejects["column"]) == {"offence_date", "ho_offence_code"}
    assert set(read.cell_issues["column"]) == {"victim_age", "easting"}
    assert len(read.rejects) + len(read.cell_issues) == len(malformed)
    no_lsoa = read.rows[read.rows["lsoa_code"].isna() & read.rows["easting"].isna()]
    no_lsoa = no_lsoa[~no_lsoa["crime_ref"].isin(malformed)]
    assert set(no_lsoa["crime_ref"]) == set(rows["Crime Reference"])
    assert no_lsoa[["easting", "northing"]].isna().all().all()
    # police.uk shows the same crimes with "No Location"
    ids = {hashlib.sha256(f"demo:{SEED}:{r}".encode()).hexdigest() for r in rows["Crime Reference"]}
    uk = police_uk[police_uk["Crime ID"].isin(ids)]
    assert len(uk) == n and (uk["Location"] == "No Location").all()
