"""Run settings: which files to read, which definition to apply, where to write.

An analyst points a settings YAML at their own files without editing code. Relative paths are
resolved against the folder `sna` is run from (the project root for `make run`), so the same file
works from the CLI, from `dg dev` and from tests.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SETTINGS = PROJECT_ROOT / "config" / "settings.yaml"
SETTINGS_ENV = "SNA_SETTINGS"

PeriodType = Literal["calendar_year", "financial_year"]
INPUT_KEYS = (
    "police_extract",
    "police_uk",
    "lsoa_boundaries",
    "area_lookup",
    "population",
    "deprivation",
)
REQUIRED_INPUTS = ("lsoa_boundaries", "population")
# Hotspot and risk analysis (transforms.hotspots, transforms.risk); defaults documented there.
DEFAULT_PERMUTATIONS = 9999
DEFAULT_SEED = 20240401
DEFAULT_MODEL_TERMS = ("income", "young_people_share", "asb_rate")


class SettingsError(ValueError):
    """A settings file that cannot be used, with the file and key named."""


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
    population_year: int | None = None
    max_outside_area_share: float = 0.10
    base_dir: Path = field(default_factory=Path.cwd)
    # Hotspots: conditional permutations for LISA and Gi* pseudo p-values, and their seed; the
    # measures analysed besides the headline; the point grid's cell size (None: sfhotspot rule).
    hotspot_permutations: int = DEFAULT_PERMUTATIONS
    hotspot_seed: int = DEFAULT_SEED
    hotspot_measures: tuple[str, ...] = ()
    hotspot_grid_cell_m: int | None = None
    # Risk factors: include the circular IMD crime domain (flagged), and the model's terms.
    risk_include_crime_domain: bool = False
    risk_model_terms: tuple[str, ...] = DEFAULT_MODEL_TERMS

    @property
    def rates_source(self) -> str:
        """The police source rates are built from: the force extract when given, else the police.uk proxy."""
        return "police" if self.inputs.get("police_extract") else "police_uk"


def _resolve(value: str, base: Path) -> str:
    """Absolute form of a path or glob, relative ones taken from `base`."""
    expanded = os.path.expanduser(os.path.expandvars(value))
    return expanded if os.path.isabs(expanded) else str(base / expanded)


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

    def required(key: str) -> str:
        value = raw.get(key)
        if value in (None, ""):
            raise SettingsError(f"{path}: required setting '{key}' is missing")
        return str(value)

    period = raw.get("period", "financial_year")
    if period not in ("calendar_year", "financial_year"):
        raise SettingsError(
            f"{path}: 'period' must be calendar_year or financial_year, got {period!r}"
        )

    inputs_raw = raw.get("inputs") or {}
    if not isinstance(inputs_raw, dict):
        raise SettingsError(f"{path}: 'inputs' must be a mapping of input name to path or glob")
    unknown = sorted(set(inputs_raw) - set(INPUT_KEYS))
    if unknown:
        raise SettingsError(
            f"{path}: unknown input(s) {unknown}; expected some of {list(INPUT_KEYS)}"
        )
    inputs = {
        key: _resolve(str(inputs_raw[key]), base) if inputs_raw.get(key) else None
        for key in INPUT_KEYS
    }
    for key in REQUIRED_INPUTS:
        if not inputs[key]:
            raise SettingsError(f"{path}: required input 'inputs.{key}' is missing")
    if not (inputs["police_extract"] or inputs["police_uk"]):
        raise SettingsError(
            f"{path}: give at least one police input: 'inputs.police_extract' or 'inputs.police_uk'"
        )

    year = raw.get("population_year")
    if year is not None and not (isinstance(year, int) and 1990 <= year <= 2100):
        raise SettingsError(f"{path}: 'population_year' must be a year such as 2022, got {year!r}")

    outside = raw.get("max_outside_area_share", 0.10)
    if not (isinstance(outside, int | float) and 0 <= outside <= 1):
        raise SettingsError(
            f"{path}: 'max_outside_area_share' must be a share between 0 and 1, got {outside!r}"
        )

    area_name = required("area_name")
    analysis = _analysis_settings(raw, path)
    return Settings(
        path=path,
        area_name=area_name,
        area_code=str(raw.get("area_code") or area_name),
        period=period,
        definition=Path(_resolve(required("definition"), base)),
        inputs=inputs,
        database=Path(_resolve(required("database"), base)),
        output_dir=Path(_resolve(required("output_dir"), base)),
        population_year=year,
        max_outside_area_share=float(outside),
        base_dir=base,
        **analysis,
    )


def _analysis_settings(raw: dict, path: Path) -> dict:
    """The hotspot and risk keys, validated (absent keys keep their defaults)."""
    out: dict = {}

    def whole(key: str, low: int) -> None:
        if key in raw:
            value = raw[key]
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= low):
                raise SettingsError(
                    f"{path}: '{key}' must be a whole number >= {low}, got {value!r}"
                )
            out[key] = value

    def names(key: str) -> None:
        if key in raw:
            value = raw[key] or []
            if not (isinstance(value, list) and all(isinstance(v, str) and v for v in value)):
                raise SettingsError(f"{path}: '{key}' must be a list of names, got {value!r}")
            out[key] = tuple(value)

    whole("hotspot_permutations", 0)
    whole("hotspot_seed", 0)
    names("hotspot_measures")
    if raw.get("hotspot_grid_cell_m") is not None:
        whole("hotspot_grid_cell_m", 10)
    if "risk_include_crime_domain" in raw:
        if not isinstance(raw["risk_include_crime_domain"], bool):
            raise SettingsError(f"{path}: 'risk_include_crime_domain' must be true or false")
        out["risk_include_crime_domain"] = raw["risk_include_crime_domain"]
    names("risk_model_terms")
    return out
