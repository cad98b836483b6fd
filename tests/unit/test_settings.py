"""Settings: relative paths, required keys and clear errors naming the file and key."""

import os
from pathlib import Path

import pytest

from pipelines.settings import SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
area_name: Testshire
period: calendar_year
definition: config/definitions/norfolk-2024.yaml
inputs:
  police_uk: drop/*/*-street.csv
  lsoa_boundaries: geo/lsoa.gpkg
  population: pop.csv
database: out/sna.duckdb
output_dir: out
"""


def test_relative_paths_resolve_against_the_run_folder(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL), base_dir=tmp_path)
    assert settings.inputs["police_uk"] == str(tmp_path / "drop/*/*-street.csv")
    assert settings.database == tmp_path / "out" / "sna.duckdb"
    assert settings.inputs["police_extract"] is None
    assert settings.rates_source == "police_uk"
    assert settings.area_code == "Testshire"


def test_force_extract_is_the_rates_source_when_given(tmp_path: Path) -> None:
    text = MINIMAL.replace("inputs:\n", "inputs:\n  police_extract: /abs/extract_*.csv\n")
    settings = load_settings(write(tmp_path, text), base_dir=tmp_path)
    assert settings.inputs["police_extract"] == "/abs/extract_*.csv"
    assert settings.rates_source == "police"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("period: calendar_year", "period: quarterly", "'period' must be"),
        ("  population: pop.csv\n", "", "inputs.population"),
        ("  police_uk: drop/*/*-street.csv\n", "", "at least one police input"),
        ("  police_uk:", "  police_ukk:", "unknown input"),
        ("area_name: Testshire\n", "", "'area_name' is missing"),
        (
            "period: calendar_year",
            "period: calendar_year\nmax_outside_area_share: 5",
            "share between 0 and 1",
        ),
        ("period: calendar_year", "period: calendar_year\ngeography: lsoa2021", "lsoa21 or lsoa11"),
    ],
)
def test_bad_settings_name_the_file_and_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = write(tmp_path, MINIMAL.replace(old, new))
    with pytest.raises(SettingsError, match=message) as error:
        load_settings(path, base_dir=tmp_path)
    assert str(path) in str(error.value)


def test_geography_and_the_vintage_lookup_are_optional(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL), base_dir=tmp_path)
    assert settings.geography is None and settings.inputs["lsoa_vintage_lookup"] is None
    text = MINIMAL.replace(
        "inputs:\n", "geography: lsoa11\ninputs:\n  lsoa_vintage_lookup: lu.csv\n"
    )
    settings = load_settings(write(tmp_path, text), base_dir=tmp_path)
    assert settings.geography == "lsoa11"
    assert settings.inputs["lsoa_vintage_lookup"] == str(tmp_path / "lu.csv")


def test_shipped_settings_files_load() -> None:
    for path in sorted((REPO / "config").glob("settings*.yaml")):
        settings = load_settings(path, base_dir=REPO)
        assert settings.definition.is_file(), settings.definition


def test_audience_and_report_periods_are_read_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SNA_AUDIENCE", raising=False)
    path = write(tmp_path, MINIMAL + "audience: partner\nreport_periods: ['2022', 2023]\n")
    settings = load_settings(path, base_dir=tmp_path)
    assert settings.audience == "partner" and settings.report_periods == ("2022", "2023")
    assert load_settings(write(tmp_path, MINIMAL), base_dir=tmp_path).audience is None
    monkeypatch.setenv("SNA_AUDIENCE", "public")  # what `sna run --audience public` sets
    assert load_settings(path, base_dir=tmp_path).audience == "public"
    monkeypatch.delenv("SNA_AUDIENCE")
    with pytest.raises(SettingsError, match="'audience' must be one of"):
        load_settings(write(tmp_path, MINIMAL + "audience: press\n"), base_dir=tmp_path)
    with pytest.raises(SettingsError, match="report_periods"):
        load_settings(write(tmp_path, MINIMAL + "report_periods: ['22/23']\n"), base_dir=tmp_path)


def test_hotspot_and_risk_settings_have_defaults_and_are_validated(tmp_path: Path) -> None:
    from transforms import hotspots, risk

    defaults = load_settings(write(tmp_path, MINIMAL), base_dir=tmp_path)
    assert defaults.hotspot_permutations == hotspots.DEFAULT_PERMUTATIONS
    assert defaults.hotspot_seed == hotspots.DEFAULT_SEED
    assert defaults.risk_model_terms == risk.DEFAULT_MODEL_TERMS
    assert defaults.hotspot_grid_cell_m is None and not defaults.risk_include_crime_domain
    text = MINIMAL + (
        "hotspot_permutations: 999\nhotspot_seed: 7\nhotspot_measures: [robbery]\n"
        "hotspot_grid_cell_m: 250\nrisk_include_crime_domain: true\nrisk_model_terms: [imd]\n"
    )
    chosen = load_settings(write(tmp_path, text), base_dir=tmp_path)
    assert (chosen.hotspot_permutations, chosen.hotspot_seed) == (999, 7)
    assert chosen.hotspot_measures == ("robbery",) and chosen.hotspot_grid_cell_m == 250
    assert chosen.risk_include_crime_domain and chosen.risk_model_terms == ("imd",)
    for bad, message in [
        ("hotspot_permutations: many", "whole number"),
        ("hotspot_grid_cell_m: 5", "whole number of metres >= 10"),
        ("risk_include_crime_domain: maybe", "true or false"),
        ("hotspot_measures: robbery", "list of measure names"),
        ("hotspot_permutation: 999", "did you mean 'hotspot_permutations'"),
    ]:
        path = write(tmp_path, MINIMAL + bad + "\n")
        with pytest.raises(SettingsError, match=message):
            load_settings(path, base_dir=tmp_path)


def test_duckdb_memory_limit_is_set_on_every_run_connection(tmp_path: Path) -> None:
    """A national run must spill to disk, not grow past the machine: the limit reaches DuckDB."""
    from pipelines.resources import build_resources

    default = load_settings(write(tmp_path, MINIMAL), base_dir=tmp_path)
    total_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    assert float(default.duckdb_memory_limit.removesuffix("GB")) == pytest.approx(
        min(6.0, 0.4 * total_gb), abs=0.05
    )
    chosen = load_settings(write(tmp_path, MINIMAL + "duckdb_memory_gb: 1.5\n"), base_dir=tmp_path)
    with build_resources(chosen)["duckdb"].get_connection() as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit in {"1.3 GiB", "1.4 GiB"}  # 1.5 GB as DuckDB prints it
    with pytest.raises(SettingsError, match="number of gigabytes above 0"):
        load_settings(write(tmp_path, MINIMAL + "duckdb_memory_gb: 0\n"), base_dir=tmp_path)


def test_district_packs_default_to_on_and_can_be_turned_off_or_named(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, MINIMAL), base_dir=tmp_path).district_packs
    off = load_settings(write(tmp_path, MINIMAL + "district_packs: false\n"), base_dir=tmp_path)
    assert off.district_packs is False
    some = MINIMAL + "district_packs: [Norwich, E07000145]\n"
    assert load_settings(write(tmp_path, some), base_dir=tmp_path).district_packs == (
        "Norwich",
        "E07000145",
    )
    with pytest.raises(SettingsError, match="'district_packs' must be true, false or a list"):
        load_settings(write(tmp_path, MINIMAL + "district_packs: some\n"), base_dir=tmp_path)
