"""Every input the pipeline reads, declared once.

A spec says what the input is, which settings key points at its files, which DuckDB table it
fills, how its files are read (a column map under config/sources/, straight into DuckDB; or a
reader function for small reference files that need reshaping), whether it takes one file or
many, whether a run needs it, how its records are counted against its lines, how repeated
records are recognised, and which date must fall in the plausible window. The Dagster asset and
its blocking checks are generated from the spec (`pipelines.factory`): adding a source is a spec
here, a column map and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sources._result import ReadResult
from sources.boundaries import read_lsoa_boundaries
from sources.deprivation import read_deprivation
from sources.ingest import Dedup
from sources.lookups import read_area_lookup, read_vintage_lookup
from sources.population import read_population


@dataclass(frozen=True)
class InputSpec:
    """One input of the pipeline."""

    key: str  # the settings key `inputs.<key>`, and the asset's name
    table: str  # the DuckDB table it fills, also the asset key ("raw.police_uk")
    description: str
    group: str  # Dagster group: "ingest" (event data: police, NHS, ASB) or "reference"
    column_map: str | None = None  # config/sources/<name>.yaml, loaded straight into DuckDB
    read: Callable[..., ReadResult] | None = None  # small inputs that need reshaping in pandas
    read_settings: tuple[tuple[str, str], ...] = ()  # (keyword of `read`, settings attribute)
    many: bool = True  # a glob of files, or exactly one file
    required: bool = False
    records: str = "count(*)"  # SQL that counts the table's input records (long tables differ)
    dedup: Dedup | None = None
    event_date: str | None = None  # column that must fall inside the plausible date window
    kinds: frozenset[str] = frozenset({"duckdb", "csv"})
    maps: tuple[str, ...] = ()  # column maps a reader function reads headers with

    @property
    def header_maps(self) -> tuple[str, ...]:
        """The column maps that recognise this input's files by their header
        (`sources.recognise`): its own column map, or those its reader uses."""
        return self.maps or ((self.column_map,) if self.column_map else ())

    @property
    def source(self) -> str:
        """The name its rows carry in quarantine.* and audit.loads."""
        return self.key


def _one(reader: Callable[..., ReadResult]) -> Callable[..., ReadResult]:
    """A reader of one file, called with the single-file list the factory passes."""

    def read(paths: list[Path], **options) -> ReadResult:
        return reader(paths[0], **options)

    read.__doc__ = reader.__doc__
    return read


INPUTS: tuple[InputSpec, ...] = (
    InputSpec(
        key="police_extract",
        table="raw.police_extract",
        description="Force crime extract: one row per crime with HO offence code, flags and"
        " victim (optional).",
        group="ingest",
        column_map="police_extract",
        dedup=Dedup("crime_ref", "_file DESC, _line DESC"),
        event_date="offence_date",
    ),
    InputSpec(
        key="police_uk",
        table="raw.police_uk",
        description="data.police.uk monthly street-level CSVs: open data, month only, snapped"
        " points (optional).",
        group="ingest",
        column_map="police_uk",
        dedup=Dedup("crime_id", "month DESC, _file DESC, _line DESC"),
        event_date="month",
    ),
    InputSpec(
        key="ae_attendances",
        table="raw.ae_attendances",
        description="ISTV A&E assault attendances (ISB 1594 minimum data set), monthly CSVs from"
        " each Emergency Department (optional).",
        group="ingest",
        column_map="ae_istv",
        dedup=Dedup("attendance_ref", "_file DESC, _line DESC"),
        event_date="arrival_date",
    ),
    InputSpec(
        key="hes_admissions",
        table="raw.hes_admissions",
        description="HES admitted patient care episodes for assault (ICD-10 X85-Y09 in any"
        " position), with LSOA of residence (optional).",
        group="ingest",
        column_map="hes_apc",
        dedup=Dedup("epikey", "_file DESC, _line DESC"),
        event_date="admidate",
    ),
    InputSpec(
        key="ambulance_callouts",
        table="raw.ambulance_callouts",
        description="Ambulance service call-outs to assaults, with date, time and location"
        " (optional layer).",
        group="ingest",
        column_map="ambulance",
        dedup=Dedup("incident_ref", "_file DESC, _line DESC"),
        event_date="call_date",
    ),
    InputSpec(
        key="asb_council",
        table="raw.asb_council",
        description="Council anti-social behaviour incidents: date, category and location"
        " (optional; police.uk ASB rows are read with police_uk).",
        group="ingest",
        column_map="asb_council",
        dedup=Dedup("incident_ref", "_file DESC, _line DESC"),
        event_date="incident_date",
    ),
    InputSpec(
        key="lsoa_boundaries",
        table="raw.lsoa_boundaries",
        description="LSOA polygons as published (GeoJSON, GeoPackage or shapefile), in EPSG:27700.",
        group="reference",
        read=read_lsoa_boundaries,
        required=True,
        kinds=frozenset({"duckdb", "geopackage"}),
        maps=("lsoa_boundaries",),
    ),
    InputSpec(
        key="area_lookup",
        table="ref.area_lookup",
        description="ONS LSOA -> ward -> district lookup (optional: without it only LSOA and"
        " county rates).",
        group="reference",
        read=read_area_lookup,
        many=False,
        maps=("area_lookup",),
    ),
    InputSpec(
        key="lsoa_vintage_lookup",
        table="ref.lsoa_vintage_lookup",
        description="ONS LSOA 2011 -> LSOA 2021 lookup with CHGIND (optional: places codes of the"
        " other vintage on the analysis geography).",
        group="reference",
        read=_one(read_vintage_lookup),
        many=False,
        maps=("lsoa_vintage_lookup",),
    ),
    InputSpec(
        key="population",
        table="ref.population",
        description="ONS small-area population estimates, long: LSOA x year x sex x age band.",
        group="reference",
        read=_one(read_population),
        read_settings=(("year", "population_year"),),
        many=False,
        required=True,
        records="count(DISTINCT (_file, _line))",  # one input line gives one row per band
        maps=("population",),
    ),
    InputSpec(
        key="deprivation",
        table="ref.deprivation",
        description="Indices of Deprivation scores, ranks and deciles by LSOA (optional input).",
        group="reference",
        read=_one(read_deprivation),
        many=False,
        maps=("deprivation_iod", "deprivation_mysociety"),
    ),
)

BY_KEY: dict[str, InputSpec] = {spec.key: spec for spec in INPUTS}
