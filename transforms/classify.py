"""Classification: every police record becomes one row of core.incidents under the local definition.

Force extracts are classified by Home Office offence code (the definition's categories) and their
flags read as the definition says; data.police.uk rows only carry a broad crime type, so they get
the definition's proxy category and unknown (NA) flags: that source cannot tell.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from transforms.definition import FLAG_NAMES, Definition, normalise_codes

INCIDENT_COLUMNS: list[str] = [
    "source",
    "event_id",
    "occurred_month",
    "occurred_at",
    "lsoa_code",
    "x",
    "y",
    "offence_code",
    "offence_description",
    "offence_group",
    "crime_type",
    "sv_category",
    *FLAG_NAMES,
    "victim_age_band",
    "victim_under_25",
    "victim_sex",
    "definition_id",
    "_file",
    "_line",
]
AGE_BANDS: list[tuple[int, int | None, str]] = [
    (0, 9, "0-9"),
    (10, 17, "10-17"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, None, "65+"),
]
UNKNOWN_CODE_COLUMNS = ["ho_offence_code", "ho_offence_description", "count"]


@lru_cache(maxsize=1)
def _wgs84_to_bng() -> Transformer:
    """WGS84 -> BNG. Without the OSTN15 grid (not shipped; no network at run time) PROJ uses the
    best Helmert transformation, accurate to about 2-5 m: ample for LSOA and hotspot work."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Best transformation is not available")
        return Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


# ---------------------------------------------------------------------------------------------
# Force extract
# ---------------------------------------------------------------------------------------------
def classify_police_extract(
    raw: pd.DataFrame, offence_codes: pd.DataFrame, definition: Definition
) -> pd.DataFrame:
    """Force crime extract rows -> incidents: category by offence code, flags per the definition.

    Codes missing from the reference keep their own description with an empty offence group and
    crime type (they are listed by `unknown_offence_codes`); they are never dropped.
    """
    n = len(raw)
    index = raw.index
    code = normalise_codes(raw["ho_offence_code"])
    ref = _reference(offence_codes)
    known = code.map(ref["offence_description"])
    raw_description = _column(raw, "ho_offence_description")

    dates = pd.to_datetime(raw["offence_date"]).dt.normalize()
    minutes = _minutes(_column(raw, "offence_time"))
    occurred_at = dates + pd.to_timedelta(
        minutes.astype("Float64").to_numpy(na_value=np.nan), unit="min"
    )

    age = pd.to_numeric(_column(raw, "victim_age"), errors="coerce").astype("Int64")
    under_25 = (age < 25).astype("boolean")

    out = pd.DataFrame(index=index)
    out["source"] = pd.Series("police", index=index, dtype="str")
    out["event_id"] = raw["crime_ref"].astype("str")
    out["occurred_month"] = dates.dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
    out["occurred_at"] = occurred_at.astype("datetime64[ns]")
    out["lsoa_code"] = _blank_to_na(_column(raw, "lsoa_code"))
    out["x"] = pd.to_numeric(_column(raw, "easting"), errors="coerce").astype("Float64")
    out["y"] = pd.to_numeric(_column(raw, "northing"), errors="coerce").astype("Float64")
    out["offence_code"] = code
    out["offence_description"] = known.fillna(raw_description).astype("str")
    out["offence_group"] = code.map(ref["offence_group"]).astype("str")
    out["crime_type"] = code.map(ref["police_uk_crime_type"]).astype("str")
    out["sv_category"] = code.map(definition.code_to_category()).astype("str")

    context = _FlagContext(raw=raw, code=code, minutes=minutes, definition=definition)
    context.values["victim_under_25"] = under_25
    for name in FLAG_NAMES:
        spec = definition.flags.get(name)
        value = context.evaluate(spec) if spec is not None else _unknown(index)
        context.values[name] = value
        out[name] = value

    out["victim_age_band"] = age_band(age)
    out["victim_under_25"] = under_25
    out["victim_sex"] = _blank_to_na(_column(raw, "victim_sex")).str.upper()
    out["definition_id"] = pd.Series(definition.id, index=index, dtype="str")
    out["_file"] = _column(raw, "_file").astype("str")
    out["_line"] = pd.to_numeric(_column(raw, "_line"), errors="coerce").astype("Int64")
    assert len(out) == n
    return out[INCIDENT_COLUMNS].reset_index(drop=True)


def unknown_offence_codes(raw: pd.DataFrame, offence_codes: pd.DataFrame) -> pd.DataFrame:
    """Offence codes in the extract that the reference does not know, with their row counts.

    One row per code (its most frequent description), most frequent code first.
    """
    code = normalise_codes(raw["ho_offence_code"]).fillna("<blank>")
    known = set(_reference(offence_codes).index)
    unknown = ~code.isin(known)
    if not unknown.any():
        return pd.DataFrame(
            {c: pd.Series(dtype="Int64" if c == "count" else "str") for c in UNKNOWN_CODE_COLUMNS}
        )
    frame = pd.DataFrame(
        {
            "ho_offence_code": code[unknown],
            "ho_offence_description": _column(raw, "ho_offence_description")[unknown].fillna(""),
        }
    )
    counts = frame.groupby("ho_offence_code").size().rename("count")
    description = (
        frame.groupby(["ho_offence_code", "ho_offence_description"])
        .size()
        .sort_values(ascending=False, kind="stable")
        .reset_index()
        .drop_duplicates("ho_offence_code")
        .set_index("ho_offence_code")["ho_offence_description"]
    )
    out = pd.concat([description, counts], axis=1).reset_index()
    out["ho_offence_description"] = out["ho_offence_description"].replace("", pd.NA).astype("str")
    out["count"] = out["count"].astype("Int64")
    out = out.sort_values(["count", "ho_offence_code"], ascending=[False, True], kind="stable")
    return out[UNKNOWN_CODE_COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# data.police.uk
# ---------------------------------------------------------------------------------------------
def classify_police_uk(raw: pd.DataFrame, definition: Definition) -> pd.DataFrame:
    """data.police.uk street-level rows -> incidents under the definition's proxy.

    Points go from WGS84 longitude/latitude to British National Grid (always_xy). Rows without a
    Crime ID (anti-social behaviour) get "<file name>:<line>" as their event id.
    """
    index = raw.index
    crime_id = _blank_to_na(_column(raw, "crime_id"))
    files = _column(raw, "_file").astype("str")
    lines = pd.to_numeric(_column(raw, "_line"), errors="coerce").astype("Int64")
    fallback_id = (
        files.map(lambda f: Path(f).name if isinstance(f, str) else "") + ":" + lines.astype("str")
    )
    lon = pd.to_numeric(_column(raw, "longitude"), errors="coerce").astype("Float64")
    lat = pd.to_numeric(_column(raw, "latitude"), errors="coerce").astype("Float64")
    x, y = to_british_national_grid(lon, lat)
    crime_type = _blank_to_na(_column(raw, "crime_type"))
    month = pd.to_datetime(raw["month"]).dt.to_period("M").dt.to_timestamp()

    out = pd.DataFrame(index=index)
    out["source"] = pd.Series("police_uk", index=index, dtype="str")
    out["event_id"] = crime_id.fillna(fallback_id).astype("str")
    out["occurred_month"] = month.astype("datetime64[ns]")
    out["occurred_at"] = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    out["lsoa_code"] = _blank_to_na(_column(raw, "lsoa_code"))
    out["x"] = x
    out["y"] = y
    out["offence_code"] = pd.Series(pd.NA, index=index, dtype="str")
    out["offence_description"] = pd.Series(pd.NA, index=index, dtype="str")
    out["offence_group"] = pd.Series(pd.NA, index=index, dtype="str")
    out["crime_type"] = crime_type
    out["sv_category"] = crime_type.map(definition.police_uk_proxy.category_of_crime_type()).astype(
        "str"
    )
    for name in FLAG_NAMES:
        out[name] = _unknown(index)
    out["victim_age_band"] = pd.Series(pd.NA, index=index, dtype="str")
    out["victim_under_25"] = _unknown(index)
    out["victim_sex"] = pd.Series(pd.NA, index=index, dtype="str")
    out["definition_id"] = pd.Series(definition.id, index=index, dtype="str")
    out["_file"] = files
    out["_line"] = lines
    return out[INCIDENT_COLUMNS].reset_index(drop=True)


def to_british_national_grid(lon: pd.Series, lat: pd.Series) -> tuple[pd.Series, pd.Series]:
    """WGS84 longitude/latitude -> BNG easting/northing (EPSG:27700), NA where either is missing."""
    lon = pd.to_numeric(lon, errors="coerce").astype("Float64")
    lat = pd.to_numeric(lat, errors="coerce").astype("Float64")
    ok = (lon.notna() & lat.notna()).to_numpy(dtype=bool)
    x = np.full(len(lon), np.nan)
    y = np.full(len(lon), np.nan)
    if ok.any():
        x[ok], y[ok] = _wgs84_to_bng().transform(
            lon.to_numpy(dtype=float, na_value=np.nan)[ok],
            lat.to_numpy(dtype=float, na_value=np.nan)[ok],
        )
    bad = ~np.isfinite(x) | ~np.isfinite(y)
    x[bad] = np.nan
    y[bad] = np.nan
    as_series = lambda v: pd.Series(v, index=lon.index, dtype="Float64").mask(bad)  # noqa: E731
    return as_series(x), as_series(y)


def age_band(age: pd.Series) -> pd.Series:
    """Victim age -> band label (0-9, 10-17, 18-24, 25-34, ..., 65+); NA when age is unknown."""
    age = pd.to_numeric(age, errors="coerce").astype("Float64")
    out = pd.Series(pd.NA, index=age.index, dtype="str")
    for low, high, label in AGE_BANDS:
        inside = (age >= low) & ((age <= high) if high is not None else True)
        out = out.mask(inside.fillna(False).astype(bool), label)
    return out


# ---------------------------------------------------------------------------------------------
# Flags
# ---------------------------------------------------------------------------------------------
class _FlagContext:
    """What a flag spec is evaluated against: the raw extract plus flags already computed."""

    def __init__(
        self, raw: pd.DataFrame, code: pd.Series, minutes: pd.Series, definition: Definition
    ):
        self.raw = raw
        self.code = code
        self.minutes = minutes
        self.definition = definition
        self.values: dict[str, pd.Series] = {}

    def evaluate(self, spec: dict) -> pd.Series:
        """Three-valued (nullable boolean) result of one spec for every row."""
        index = self.raw.index
        if "column" in spec:
            return read_flag_column(
                self.raw.get(spec["column"]),
                index,
                spec["true_values"],
                spec.get("false_values", []),
                blank=spec.get("blank", "unknown"),
                other=spec.get("other", "unknown"),
            )
        if "location_types" in spec:
            return self._location(spec["location_types"])
        if "offence_codes" in spec:
            wanted = set(normalise_codes(pd.Series(spec["offence_codes"], dtype="str")))
            return self.code.isin(wanted).astype("boolean").mask(self.code.isna())
        if "flag" in spec:
            return self.values.get(spec["flag"], _unknown(index)).astype("boolean")
        if "hour_between" in spec:
            start, end = (_hhmm_minutes(t) for t in spec["hour_between"])
            m = self.minutes
            inside = (m >= start) & (m < end) if start < end else (m >= start) | (m < end)
            return inside.astype("boolean")
        parts = [self.evaluate(sub) for sub in spec.get("any_of", spec.get("all_of", []))]
        result = parts[0]
        for part in parts[1:]:
            result = (result | part) if "any_of" in spec else (result & part)
        return result.astype("boolean")

    def _location(self, types: str | list[str]) -> pd.Series:
        index = self.raw.index
        if "location_type" not in self.raw:
            return _unknown(index)
        value = location_key(_blank_to_na(self.raw["location_type"]))
        if types == "public_place":
            true_set = set(location_key(pd.Series(self.definition.public_place_location_types)))
            false_set = set(location_key(pd.Series(self.definition.private_location_types)))
            out = pd.Series(pd.NA, index=index, dtype="boolean")
            out = out.mask(value.isin(false_set), False).mask(value.isin(true_set), True)
            return out.astype("boolean")
        true_set = set(location_key(pd.Series([str(t) for t in types])))
        return value.isin(true_set).astype("boolean").mask(value.isna())


def location_key(types: pd.Series) -> pd.Series:
    """Location type compared loosely: case-folded, single spaces, no spaces around "/"."""
    text = types.astype("str").str.strip().str.casefold()
    return text.str.replace(r"\s*/\s*", "/", regex=True).str.replace(r"\s+", " ", regex=True)


def read_flag_column(
    column: pd.Series | None,
    index: pd.Index,
    true_values: list,
    false_values: list,
    blank: object = "unknown",
    other: object = "unknown",
) -> pd.Series:
    """Read a raw flag column: true/false by value sets (case-insensitive), blanks and other values
    as the definition says (false or unknown). A missing column is unknown for every row."""
    if column is None:
        return _unknown(index)
    value = column.astype("str").str.strip().str.upper()
    is_blank = value.isna() | (value == "")
    is_true = value.isin({str(v).strip().upper() for v in true_values})
    is_false = value.isin({str(v).strip().upper() for v in false_values})
    out = pd.Series(pd.NA, index=index, dtype="boolean")
    if other in (False, "false"):
        out = out.mask(~is_blank, False)
    if blank in (False, "false"):
        out = out.mask(is_blank, False)
    out = out.mask(is_false & ~is_blank, False).mask(is_true & ~is_blank, True)
    return out.astype("boolean")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _reference(offence_codes: pd.DataFrame) -> pd.DataFrame:
    """The offence-code reference indexed by normalised code (first row wins on duplicates)."""
    ref = offence_codes.copy()
    ref["ho_code"] = normalise_codes(ref["ho_code"])
    ref = ref.dropna(subset=["ho_code"]).drop_duplicates("ho_code").set_index("ho_code")
    for column in (
        "offence_description",
        "offence_group",
        "offence_subgroup",
        "police_uk_crime_type",
    ):
        if column not in ref:
            ref[column] = pd.NA
        ref[column] = _blank_to_na(ref[column])
    return ref


def _column(raw: pd.DataFrame, name: str) -> pd.Series:
    """A raw column, or all-NA when the input does not have it."""
    if name in raw:
        return raw[name]
    return pd.Series(pd.NA, index=raw.index, dtype="object")


def _blank_to_na(values: pd.Series) -> pd.Series:
    """Text with surrounding spaces removed; empty strings become missing."""
    text = values.astype("str").str.strip()
    return text.mask(text == "").astype("str")


def _unknown(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="boolean")


def _hhmm_minutes(text: str) -> int:
    hours, minutes = str(text).split(":")[:2]
    return int(hours) * 60 + int(minutes)


def _minutes(times: pd.Series) -> pd.Series:
    """'HH:MM' (or 'HH:MM:SS') -> minutes after midnight as Int64; NA when missing or malformed."""
    parts = times.astype("str").str.extract(r"^\s*(\d{1,2}):(\d{2})")
    hours = pd.to_numeric(parts[0], errors="coerce")
    minutes = pd.to_numeric(parts[1], errors="coerce")
    total = (hours * 60 + minutes).astype("Float64")
    valid = (hours < 24) & (minutes < 60)
    return total.where(valid).round().astype("Int64")
