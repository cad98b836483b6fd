"""Run settings: which files to read, which definition to apply, where to write.

An analyst points a settings YAML at their own files without editing code. Relative paths are
resolved against the folder `sna` is run from (the project root for `make run`), so the same file
works from the CLI, from `dg dev` and from tests.

The file is typed: an unknown key, a misspelt key or a value of the wrong type is an error that
names the file and the key and suggests the nearest valid key, before anything is read or
written (a silently ignored `supress_small_counts: true` is worse than a refusal).
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from sources.registry import INPUTS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETTINGS = PROJECT_ROOT / "config" / "settings.yaml"
SETTINGS_ENV = "SNA_SETTINGS"
AUDIENCE_ENV = "SNA_AUDIENCE"  # set by `sna run --audience`; overrides the settings file
Audience = Literal["public", "partner"]
AUDIENCES: tuple[str, ...] = ("public", "partner")
PERIOD_LABEL = re.compile(r"^\d{4}(/\d{2})?$")  # "2023" (calendar) or "2023/24" (financial)

PeriodType = Literal["calendar_year", "financial_year"]
Geography = Literal["lsoa21", "lsoa11"]
INPUT_KEYS = tuple(spec.key for spec in INPUTS)
REQUIRED_INPUTS = tuple(spec.key for spec in INPUTS if spec.required)
POLICE_INPUTS = ("police_extract", "police_uk")
# Hotspot and risk analysis (transforms.hotspots, transforms.risk; defaults documented there).
DEFAULT_PERMUTATIONS = 9999
DEFAULT_SEED = 20240401
DEFAULT_DROP_DIR = "data/drop"
DEFAULT_MODEL_TERMS = ("income", "young_people_share", "asb_rate")


# DuckDB's own default is 80% of memory: a national run then grows past what a 24 GB machine
# can give it (14 GB and still sorting, measured). With a limit it spills to disk instead.
DUCKDB_DEFAULT_MEMORY_GB = 6.0


class SettingsError(ValueError):
    """A settings file that cannot be used, with the file and key named."""


class DateRange(BaseModel):
    """The plausible window for event dates: earlier or later dates stop the run."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


# One optional path or glob per registered input (sources.registry), nothing else.
_Inputs = create_model(
    "Inputs",
    __config__=ConfigDict(extra="forbid"),
    **{key: (str | None, None) for key in INPUT_KEYS},
)


class _SettingsFile(BaseModel):
    """The settings YAML as written (paths not yet resolved)."""

    model_config = ConfigDict(extra="forbid")
    area_name: str
    area_code: str | None = None
    period: PeriodType = "financial_year"
    definition: str
    population_year: int | None = Field(default=None, ge=1990, le=2100)
    max_outside_area_share: float = Field(default=0.10, ge=0, le=1)
    max_reject_share: float = Field(default=0.005, ge=0, le=1)
    date_range: DateRange | None = None
    report_periods: list[str] | None = None
    audience: Audience | None = None  # None: config/disclosure.yaml's default_audience
    geography: Geography | None = None  # None: the boundaries' own vintage
    hotspot_permutations: int = Field(default=DEFAULT_PERMUTATIONS, ge=0)
    hotspot_seed: int = Field(default=DEFAULT_SEED, ge=0)
    hotspot_measures: list[str] = []
    hotspot_grid_cell_m: int | None = Field(default=None, ge=10)
    risk_include_crime_domain: bool = False
    risk_model_terms: list[str] = list(DEFAULT_MODEL_TERMS)
    duckdb_memory_gb: float | None = Field(default=None, gt=0)
    district_packs: bool | list[str] = True
    inputs: _Inputs
    database: str
    output_dir: str
    drop_dir: str = DEFAULT_DROP_DIR

    @field_validator("report_periods", mode="before")
    @classmethod
    def _period_labels(cls, value: Any) -> Any:
        if value is None:
            return value
        labels = [str(v) for v in value] if isinstance(value, list) else value
        if not isinstance(labels, list) or not all(PERIOD_LABEL.match(v) for v in labels):
            raise ValueError("must be a list of period labels such as '2023/24' or '2023'")
        return labels

    @field_validator("district_packs", mode="before")
    @classmethod
    def _districts(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str | int) for v in value):
            return [str(v) for v in value]  # a code or name YAML read as a number stays text
        raise ValueError("must be true, false or a list of district codes or names")

    @field_validator("area_name", "area_code", mode="before")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            kind = {dict: "a mapping", list: "a list", bool: "true/false"}.get(type(value))
            raise ValueError(f"must be plain text, got {kind or type(value).__name__}")
        return None if value is None else str(value)


@dataclass(frozen=True)
class Settings:
    """Validated settings; every path is absolute, every input a glob or path string."""

    path: Path
    area_name: str
    area_code: str
    period: PeriodType
    definition: Path
    inputs: dict[str, str | None]
    database: Path
    output_dir: Path
    drop_dir: Path = Path(DEFAULT_DROP_DIR)  # where the drop-folder sensor looks for new files
    population_year: int | None = None
    max_outside_area_share: float = 0.10
    max_reject_share: float = 0.005
    date_range: DateRange | None = None
    report_periods: tuple[str, ...] | None = None
    geography: Geography | None = None  # None: the boundaries' own vintage
    base_dir: Path = field(default_factory=Path.cwd)
    audience: str | None = None  # None: config/disclosure.yaml's default_audience
    # Hotspots: Local Moran's conditional permutations and the seed of every permutation and
    # simulation; measures analysed besides the headline; the grid cell (None: the rule in
    # transforms/grid.py).
    hotspot_permutations: int = DEFAULT_PERMUTATIONS
    hotspot_seed: int = DEFAULT_SEED
    hotspot_measures: tuple[str, ...] = ()
    hotspot_grid_cell_m: int | None = None
    # Risk factors: include the circular IMD crime domain (flagged), and the model's terms.
    risk_include_crime_domain: bool = False
    risk_model_terms: tuple[str, ...] = DEFAULT_MODEL_TERMS
    # DuckDB's memory limit; beyond it sorts, joins and aggregates spill to <database>.tmp/.
    # None: DUCKDB_DEFAULT_MEMORY_GB or 40% of this machine's memory, whichever is smaller.
    duckdb_memory_gb: float | None = None
    # Map packs: one for the whole area and, when true, one per district; or one for each district
    # named (code or name). A national or regional run, or quarterly monitoring, may want the
    # whole-area pack only, or a partnership's own districts.
    district_packs: bool | tuple[str, ...] = True

    @property
    def duckdb_memory_limit(self) -> str:
        """The limit as DuckDB reads it, e.g. '6.0GB'."""
        if self.duckdb_memory_gb is not None:
            return f"{self.duckdb_memory_gb:.1f}GB"
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
        return f"{min(DUCKDB_DEFAULT_MEMORY_GB, 0.4 * total):.1f}GB"

    @property
    def rates_source(self) -> str:
        """The police source rates are built from: the force extract when given, else the police.uk proxy."""
        return "police" if self.inputs.get("police_extract") else "police_uk"


def _resolve(value: str, base: Path) -> str:
    """Absolute form of a path or glob, relative ones taken from `base`."""
    expanded = os.path.expanduser(os.path.expandvars(value))
    return expanded if os.path.isabs(expanded) else str(base / expanded)


_MESSAGES = {
    "period": "'period' must be calendar_year or financial_year",
    "max_outside_area_share": "'max_outside_area_share' must be a share between 0 and 1",
    "max_reject_share": "'max_reject_share' must be a share between 0 and 1",
    "population_year": "'population_year' must be a year such as 2022",
    "audience": "'audience' must be one of ['public', 'partner']",
    "geography": "'geography' must be lsoa21 or lsoa11 (the vintage of the boundaries)",
    "hotspot_permutations": "'hotspot_permutations' must be a whole number >= 0",
    "hotspot_seed": "'hotspot_seed' must be a whole number >= 0",
    "hotspot_grid_cell_m": "'hotspot_grid_cell_m' must be a whole number of metres >= 10",
    "risk_include_crime_domain": "'risk_include_crime_domain' must be true or false",
    "hotspot_measures": "'hotspot_measures' must be a list of measure names",
    "risk_model_terms": "'risk_model_terms' must be a list of factor or domain names",
    "duckdb_memory_gb": "'duckdb_memory_gb' must be a number of gigabytes above 0",
    "district_packs": "'district_packs' must be true, false or a list of district codes or names",
}


def _explain(error: dict[str, Any]) -> str:
    """One pydantic error in an analyst's words, with the nearest valid key for a typo."""
    loc = [str(p) for p in error["loc"]]
    where = ".".join(loc)
    if error["type"] == "extra_forbidden":
        nested = {"inputs": _Inputs, "date_range": DateRange}
        model = nested.get(loc[0], _SettingsFile) if len(loc) > 1 else _SettingsFile
        valid = list(model.model_fields)
        near = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.6)
        hint = f"; did you mean '{near[0]}'?" if near else f"; expected some of {valid}"
        kind = "unknown input" if loc[0] == "inputs" else "unknown setting"
        return f"{kind} '{where}'{hint}"
    if error["type"] == "missing":
        return f"required setting '{where}' is missing"
    if loc and loc[0] in _MESSAGES and len(loc) == 1:
        return f"{_MESSAGES[loc[0]]}, got {error.get('input')!r}"
    if error["type"] == "value_error":  # our own validators' words already name the value
        return f"'{where}': {error['ctx']['error']}"
    return f"'{where}': {error['msg']} (got {error.get('input')!r})"


def load_settings(path: str | Path | None = None, base_dir: Path | None = None) -> Settings:
    """Read and validate a settings YAML (default: $SNA_SETTINGS, else config/settings.yaml)."""
    path = Path(path or os.environ.get(SETTINGS_ENV) or DEFAULT_SETTINGS).resolve()
    if not path.is_file():
        raise SettingsError(f"settings file not found: {path}")
    base = (base_dir or Path.cwd()).resolve()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: expected a mapping of settings, got {type(raw).__name__}")
    try:
        parsed = _SettingsFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_explain(e) for e in exc.errors())
        raise SettingsError(f"{path}: {problems}") from exc

    given = parsed.inputs.model_dump()
    inputs = {key: _resolve(str(given[key]), base) if given[key] else None for key in INPUT_KEYS}
    for key in REQUIRED_INPUTS:
        if not inputs[key]:
            raise SettingsError(f"{path}: required input 'inputs.{key}' is missing")
    if not any(inputs[key] for key in POLICE_INPUTS):
        raise SettingsError(
            f"{path}: give at least one police input: 'inputs.police_extract' or 'inputs.police_uk'"
        )
    audience = os.environ.get(AUDIENCE_ENV) or parsed.audience
    if audience is not None and audience not in AUDIENCES:
        raise SettingsError(
            f"{path}: 'audience' must be one of {list(AUDIENCES)}, got {audience!r}"
        )
    return Settings(
        path=path,
        area_name=parsed.area_name,
        area_code=parsed.area_code or parsed.area_name,
        period=parsed.period,
        definition=Path(_resolve(parsed.definition, base)),
        inputs=inputs,
        database=Path(_resolve(parsed.database, base)),
        output_dir=Path(_resolve(parsed.output_dir, base)),
        drop_dir=Path(_resolve(parsed.drop_dir, base)),
        population_year=parsed.population_year,
        max_outside_area_share=parsed.max_outside_area_share,
        max_reject_share=parsed.max_reject_share,
        date_range=parsed.date_range,
        report_periods=tuple(parsed.report_periods) if parsed.report_periods else None,
        geography=parsed.geography,
        base_dir=base,
        audience=audience,
        hotspot_permutations=parsed.hotspot_permutations,
        hotspot_seed=parsed.hotspot_seed,
        hotspot_measures=tuple(parsed.hotspot_measures),
        hotspot_grid_cell_m=parsed.hotspot_grid_cell_m,
        risk_include_crime_domain=parsed.risk_include_crime_domain,
        risk_model_terms=tuple(parsed.risk_model_terms),
        duckdb_memory_gb=parsed.duckdb_memory_gb,
        district_packs=(
            tuple(parsed.district_packs)
            if isinstance(parsed.district_packs, list)
            else parsed.district_packs
        ),
    )
