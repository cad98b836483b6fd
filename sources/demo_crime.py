"""Crime generation for the synthetic demo county (helper of `sources.demo`).

One row per recorded crime, built with vectorised numpy: Poisson counts per stream x LSOA x
month, then codes, dates, times, places, flags and victims drawn per crime. The planted
structure is described in the `sources.demo` docstring and in planted_structure.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Urban classes, in the order used by every `urban` tuple below.
CLASSES = ("city_centre", "city", "town_centre", "town", "rural")
VSO = "Violence and sexual offences"

# Background streams: police.uk crime type, annual count for a county of 900k people,
# deprivation gradient beta (intensity x exp(beta * imd_latent)), urban factor per class,
# explicit HO code weights, and the share left for the type's other codes in the reference.
STREAMS: dict[str, dict[str, Any]] = {
    "violence": dict(
        crime_type=VSO,
        sexual=False,
        annual=23_500,
        beta=0.45,
        urban=(2.5, 1.2, 2.0, 1.1, 0.6),
        codes={
            "1": 0.0003,  # ~7 murders a year: Norfolk-like, not a national rate x 10
            "4/1": 0.0001,
            "2": 0.0008,
            "5D": 0.02,
            "5A": 0.002,
            "8N": 0.29,
            "8P": 0.004,
            "105A": 0.33,
            "105B": 0.012,
            "104": 0.02,
            "3B": 0.03,
            "8Q": 0.05,
            "8L": 0.07,
            "8M": 0.004,
            "8R": 0.08,
            "8U": 0.06,
            "11A": 0.008,
            "36": 0.002,
            "4/4": 0.001,
        },
        other=0.002,  # spread evenly over rare codes (infanticide, corporate manslaughter...)
    ),
    "sexual": dict(
        crime_type=VSO,
        sexual=True,
        annual=2_500,
        beta=0.35,
        urban=(2.0, 1.1, 1.6, 1.0, 0.7),
        codes={
            "19C": 0.22,
            "19D": 0.04,
            "19E": 0.02,
            "19F": 0.01,
            "17A": 0.04,
            "20A": 0.32,
            "20B": 0.05,
            "22B": 0.04,
            "88E": 0.08,
            "88A": 0.03,
        },
        other=0.15,
    ),
    "robbery": dict(
        crime_type="Robbery",
        annual=450,
        beta=0.6,
        urban=(4.0, 1.5, 2.0, 0.9, 0.3),
        codes={"34B": 0.88, "34A": 0.12},
        other=0.0,
    ),
    "weapons": dict(
        crime_type="Possession of weapons",
        annual=800,
        beta=0.5,
        urban=(3.0, 1.2, 2.0, 1.0, 0.5),
        codes={"10D": 0.5, "10C": 0.3, "10A": 0.03, "10B": 0.07, "81": 0.03, "90": 0.07},
        other=0.0,
    ),
    "public_order": dict(
        crime_type="Public order",
        annual=7_500,
        beta=0.45,
        urban=(3.0, 1.2, 2.2, 1.1, 0.55),
        codes={"9A": 0.78, "9B": 0.06, "62A": 0.02, "66": 0.14},
        other=0.0,
    ),
    "criminal_damage_arson": dict(
        crime_type="Criminal damage and arson",
        annual=8_000,
        beta=0.4,
        urban=(1.5, 1.2, 1.4, 1.1, 0.7),
        codes={
            "56A": 0.012,
            "56B": 0.06,
            "57": 0.004,
            "58A": 0.25,
            "58B": 0.12,
            "58C": 0.33,
            "58D": 0.2,
            "58E": 0.005,
            "58G": 0.003,
        },
        other=0.016,
    ),
    "burglary": dict(
        crime_type="Burglary",
        annual=2_700,
        beta=0.3,
        urban=(1.3, 1.2, 1.2, 1.0, 0.8),
        codes={
            "28E": 0.48,
            "28F": 0.1,
            "28G": 0.02,
            "29": 0.01,
            "29A": 0.01,
            "30C": 0.3,
            "30D": 0.06,
            "31": 0.005,
            "31A": 0.005,
        },
        other=0.0,
    ),
    "vehicle": dict(
        crime_type="Vehicle crime",
        annual=2_500,
        beta=0.25,
        urban=(1.8, 1.3, 1.4, 1.0, 0.6),
        codes={"45": 0.45, "48": 0.25, "126": 0.27, "37/2": 0.03},
        other=0.0,
    ),
    "shoplifting": dict(
        crime_type="Shoplifting",
        annual=4_000,
        beta=0.2,
        urban=(8.0, 1.0, 6.0, 0.8, 0.25),
        codes={"46": 1.0},
        other=0.0,
    ),
    "other_theft": dict(
        crime_type="Other theft",
        annual=6_000,
        beta=0.15,
        urban=(3.0, 1.2, 2.0, 1.0, 0.7),
        codes={"49": 0.72, "40": 0.08, "41": 0.04, "35": 0.03, "47": 0.02},
        other=0.11,
    ),
    "theft_from_person": dict(
        crime_type="Theft from the person",
        annual=380,
        beta=0.2,
        urban=(8.0, 1.5, 3.0, 0.8, 0.2),
        codes={"39": 1.0},
        other=0.0,
    ),
    "bicycle_theft": dict(
        crime_type="Bicycle theft",
        annual=850,
        beta=0.0,
        urban=(4.0, 2.0, 2.0, 1.0, 0.3),
        codes={"44": 1.0},
        other=0.0,
    ),
    "drugs": dict(
        crime_type="Drugs",
        annual=1_900,
        beta=0.5,
        urban=(3.0, 1.2, 2.0, 1.0, 0.5),
        codes={"92A": 0.17, "92C": 0.01, "92D": 0.62, "92E": 0.2},
        other=0.0,
    ),
    "other_crime": dict(
        crime_type="Other crime",
        annual=2_400,
        beta=0.3,
        urban=(1.8, 1.1, 1.5, 1.0, 0.8),
        codes={
            "33": 0.05,
            "54": 0.08,
            "83": 0.2,
            "99": 0.12,
            "802": 0.1,
            "79": 0.08,
            "61A": 0.05,
            "95": 0.05,
            "96": 0.02,
        },
        other=0.25,
    ),
}

# Planted streams (absolute counts per LSOA per year, not scaled by population).
NTE_CODES = {"8N": 0.45, "105A": 0.38, "5D": 0.05, "9A": 0.12}
NTE_PER_YEAR = {"city": 240.0, "town": 100.0}
DA_CODES = {"8N": 0.35, "105A": 0.35, "8U": 0.15, "8L": 0.1, "5D": 0.03, "3B": 0.02}
DA_PER_YEAR = 30.0
LSOA_EFFECT_SD = 0.3  # unexplained LSOA-level variation: intensity x exp(N(0, sd)), all streams
COUNTY_LINES_PER_YEAR = 10.0
SEASON_AMPLITUDE = 0.12  # 1 + A cos(2 pi (month - 7) / 12): peak in July
TREND_PER_YEAR = 0.04  # intensity x (1 + 0.04 x years since the start)

# Unknown codes planted at ~0.1% (only those absent from the reference are used).
UNKNOWN_CODES = [
    ("8Z", "Assault (force local code, retired)"),
    ("195/94", "Local non-notifiable incident code"),
    ("99/9", "Unmapped legacy offence code"),
]
UNKNOWN_SHARE = 0.001

LOCATION_TYPES: dict[str, dict[str, float]] = {
    "violence": {
        "Street": 0.35,
        "Dwelling": 0.2,
        "Pub/Bar": 0.08,
        "Nightclub": 0.02,
        "Shop/Retail": 0.08,
        "Park/Open Space": 0.05,
        "Educational Establishment": 0.05,
        "Car Park": 0.04,
        "Public Transport": 0.03,
        "Hospital/Health": 0.04,
        "Commercial Premises": 0.03,
        "Other": 0.03,
    },
    "nte": {"Pub/Bar": 0.45, "Nightclub": 0.3, "Street": 0.25},
    "da": {"Dwelling": 0.9, "Street": 0.06, "Other": 0.04},
    "sexual": {
        "Dwelling": 0.55,
        "Street": 0.12,
        "Park/Open Space": 0.08,
        "Pub/Bar": 0.05,
        "Nightclub": 0.03,
        "Educational Establishment": 0.07,
        "Other": 0.1,
    },
    "robbery": {
        "Street": 0.7,
        "Park/Open Space": 0.1,
        "Shop/Retail": 0.1,
        "Car Park": 0.05,
        "Public Transport": 0.05,
    },
    "robbery_business": {"Shop/Retail": 0.6, "Commercial Premises": 0.4},
    "weapons": {
        "Street": 0.55,
        "Dwelling": 0.15,
        "Pub/Bar": 0.05,
        "Educational Establishment": 0.08,
        "Park/Open Space": 0.1,
        "Public Transport": 0.07,
    },
    "public_order": {
        "Street": 0.45,
        "Dwelling": 0.2,
        "Pub/Bar": 0.1,
        "Shop/Retail": 0.1,
        "Park/Open Space": 0.05,
        "Nightclub": 0.03,
        "Other": 0.07,
    },
    "cda": {
        "Dwelling": 0.35,
        "Street": 0.3,
        "Car Park": 0.1,
        "Commercial Premises": 0.12,
        "Educational Establishment": 0.03,
        "Park/Open Space": 0.05,
        "Other": 0.05,
    },
    "burglary_res": {"Dwelling": 1.0},
    "burglary_business": {"Commercial Premises": 0.6, "Shop/Retail": 0.2, "Other": 0.2},
    "vehicle": {"Street": 0.6, "Car Park": 0.25, "Dwelling": 0.15},
    "shoplifting": {"Shop/Retail": 1.0},
    "theft": {
        "Street": 0.2,
        "Dwelling": 0.2,
        "Commercial Premises": 0.15,
        "Shop/Retail": 0.15,
        "Hospital/Health": 0.05,
        "Educational Establishment": 0.05,
        "Park/Open Space": 0.05,
        "Other": 0.15,
    },
    "theft_person": {
        "Street": 0.5,
        "Pub/Bar": 0.15,
        "Nightclub": 0.1,
        "Public Transport": 0.15,
        "Shop/Retail": 0.1,
    },
    "bicycle": {
        "Street": 0.5,
        "Dwelling": 0.2,
        "Educational Establishment": 0.1,
        "Public Transport": 0.1,
        "Car Park": 0.1,
    },
    "drugs": {
        "Street": 0.5,
        "Dwelling": 0.3,
        "Car Park": 0.08,
        "Park/Open Space": 0.07,
        "Pub/Bar": 0.03,
        "Nightclub": 0.02,
    },
    "other": {"Dwelling": 0.3, "Street": 0.3, "Commercial Premises": 0.2, "Other": 0.2},
}

STREAM_KIND = {
    "violence": "violence",
    "sexual": "sexual",
    "robbery": "robbery",
    "weapons": "weapons",
    "public_order": "public_order",
    "criminal_damage_arson": "cda",
    "burglary": "burglary_res",
    "vehicle": "vehicle",
    "shoplifting": "shoplifting",
    "other_theft": "theft",
    "theft_from_person": "theft_person",
    "bicycle_theft": "bicycle",
    "drugs": "drugs",
    "other_crime": "other",
    "nte": "nte",
    "da_hotspot": "da",
    "county_lines": "drugs",
}
# Share of crimes flagged domestic abuse, by code (violence and sexual streams).
DA_SHARE_BY_CODE = {"8U": 1.0, "8Q": 0.6, "8L": 0.45, "8R": 0.3, "3B": 0.4, "11A": 0.3}
DA_SHARE_DEFAULT = {"violence": 0.27, "sexual": 0.3, "cda": 0.06}
KNIFE_SHARE_BY_CODE = {
    "34B": 0.22,
    "34A": 0.3,
    "5D": 0.3,
    "5A": 0.3,
    "8N": 0.06,
    "1": 0.5,
    "2": 0.4,
    "3B": 0.05,
    "10D": 1.0,
    "90": 0.6,
    "10C": 0.35,
    "29": 0.2,
    "29A": 0.2,
}
FIREARM_CODES = {"10A", "10B", "81"}

_H = np.array
HOURS = {
    "general": _H(
        [3, 2, 1.5, 1, 0.7, 0.6, 0.8, 1.5, 2.5, 3, 3.5, 4, 4.5, 4.5, 4.5, 5, 5.5, 5.5]
        + [5.5, 5.5, 5, 4.5, 4.5, 4]
    ),
    "violence": _H(
        [5, 4, 3, 2, 1, 0.7, 0.8, 1.2, 2, 2.5, 3, 3.5, 4, 4, 4, 4.5, 5, 5.5, 6, 6]
        + [6, 6.5, 6.5, 6]
    ),
    "da": _H(
        [3, 2.5, 2, 1.5, 1, 0.8, 0.8, 1.2, 1.8, 2, 2.2, 2.5, 2.8, 3, 3, 3.5, 4, 5, 6, 6.5]
        + [7, 7, 6, 4.5]
    ),
    "shop": _H([0, 0, 0, 0, 0, 0, 0, 0.3, 2, 4, 5, 5.5, 6, 6, 6, 6, 6, 5.5, 5, 4, 2.5, 1, 0.3, 0]),
}
KIND_HOURS = {
    "violence": "violence",
    "public_order": "violence",
    "sexual": "violence",
    "robbery": "violence",
    "weapons": "violence",
    "theft_person": "violence",
    "da": "da",
    "shoplifting": "shop",
    "robbery_business": "shop",
}
OUTCOMES = {
    "Unable to prosecute suspect": 0.46,
    "Investigation complete; no suspect identified": 0.25,
    "Court result unavailable": 0.07,
    "Status update unavailable": 0.06,
    "Formal action is not in the public interest": 0.035,
    "Awaiting court outcome": 0.03,
    "Offender given a caution": 0.02,
    "Action to be taken by another organisation": 0.015,
    "Local resolution": 0.015,
    "Further action is not in the public interest": 0.008,
    "Further investigation is not in the public interest": 0.003,
    "Offender given penalty notice": 0.002,
    "Suspect charged as part of another case": 0.002,
}


@dataclass(frozen=True)
class CodeTable:
    """Codes one stream draws from and their probabilities (summing to 1)."""

    codes: np.ndarray
    probs: np.ndarray


def load_offence_codes(path: Path | str) -> pd.DataFrame:
    """The HO offence code reference (read by column name; extra columns are ignored)."""
    ref = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    ref.columns = [c.strip() for c in ref.columns]
    need = ["ho_code", "offence_description", "offence_group", "police_uk_crime_type"]
    missing = [c for c in need if c not in ref.columns]
    if missing:
        raise ValueError(f"{path}: offence code reference lacks columns {missing}")
    for c in ref.columns:
        ref[c] = ref[c].str.strip()
    ref = ref[ref["ho_code"] != ""].drop_duplicates("ho_code")
    ref["sexual"] = ref["offence_group"].str.contains("sexual", case=False) | ref[
        "offence_description"
    ].str.contains("rape|sexual", case=False)
    return ref.reset_index(drop=True)


def code_tables(ref: pd.DataFrame) -> dict[str, CodeTable]:
    """Per stream: the codes present in the reference and their weights (renormalised)."""
    known = set(ref["ho_code"])
    explicit = {c for s in STREAMS.values() for c in s["codes"]}
    tables = {}
    for name, s in STREAMS.items():
        codes = [c for c in s["codes"] if c in known]
        weights = [s["codes"][c] for c in codes]
        same = ref["police_uk_crime_type"] == s["crime_type"]
        if s["crime_type"] == VSO:
            same &= ref["sexual"] == s.get("sexual", False)
        others = [c for c in ref.loc[same, "ho_code"] if c not in explicit]
        if others and s["other"] > 0:
            codes += others
            weights += [s["other"] / len(others)] * len(others)
        if codes:
            w = np.asarray(weights, float)
            tables[name] = CodeTable(np.asarray(codes, dtype=object), w / w.sum())
    for name, spec in (("nte", NTE_CODES), ("da_hotspot", DA_CODES), ("county_lines", {"92A": 1})):
        codes = [c for c in spec if c in known]
        if codes:
            w = np.asarray([spec[c] for c in codes], float)
            tables[name] = CodeTable(np.asarray(codes, dtype=object), w / w.sum())
    return tables


def month_starts(start: str, months: int) -> np.ndarray:
    """First day of each month in the range, as datetime64[D] (months + 1 values: end bound)."""
    s = np.datetime64(pd.Timestamp(start).strftime("%Y-%m"), "M")
    return (s + np.arange(months + 1)).astype("datetime64[D]")


def season_trend(starts: np.ndarray, months_before: int = 0) -> np.ndarray:
    """Seasonal x trend multiplier per month (peak in July, mild growth).

    `months_before`: months of the same series generated before `starts[0]`, so a period
    generated in chunks keeps one trend rather than restarting it in every chunk.
    """
    moy = starts[:-1].astype("datetime64[M]").astype(int) % 12 + 1
    season = 1 + SEASON_AMPLITUDE * np.cos(2 * np.pi * (moy - 7) / 12)
    trend = 1 + TREND_PER_YEAR * (np.arange(len(moy)) + months_before) / 12
    return season * trend


def _choose(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    keys = np.asarray(list(table), dtype=object)
    p = np.asarray(list(table.values()), float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def generate_crimes(
    rng: np.random.Generator,
    ref: pd.DataFrame,
    population: np.ndarray,
    imd_latent: np.ndarray,
    urban_class: np.ndarray,
    nte: dict[int, str],
    high_da: np.ndarray,
    county_lines: np.ndarray,
    start: str,
    months: int,
    *,
    scale: float | None = None,
    months_before: int = 0,
    recorded_until: np.datetime64 | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """All crimes as a frame (one row per crime) plus the parameters actually used.

    Columns: stream, kind, lsoa (index), date (datetime64[D]), minute (-1 = unknown time),
    recorded (datetime64[D]), code, crime_type, description, location_type, the flags
    (bool), victim_age (-1 = blank), victim_sex ("" = blank).

    For a period generated in chunks (`sources.demo_scale`): `scale` multiplies the background
    streams' annual counts (default: population / 900k, the county's), `months_before` carries the
    trend on, and recorded dates stay before `recorded_until` (default: the end of this chunk).
    """
    tables = code_tables(ref)
    starts = month_starts(start, months)
    mult = season_trend(starts, months_before)
    n_l = len(population)
    cls_idx = np.array([CLASSES.index(c) for c in urban_class])
    pop_scale = population.sum() / 900_000 if scale is None else scale
    parts = []
    used: dict[str, Any] = {"streams": {}}

    def add(name: str, lam: np.ndarray) -> None:
        counts = rng.poisson(lam)
        li, mi = np.nonzero(counts)
        reps = counts[li, mi]
        parts.append((name, np.repeat(li, reps), np.repeat(mi, reps)))

    lsoa_effect = np.exp(rng.normal(0, LSOA_EFFECT_SD, n_l))
    for name, s in STREAMS.items():
        if name not in tables:
            continue
        w = population * np.exp(s["beta"] * imd_latent) * np.asarray(s["urban"])[cls_idx]
        w = w * lsoa_effect
        k = s["annual"] * pop_scale / w.sum()
        add(name, (k * w / 12)[:, None] * mult[None, :])
        used["streams"][name] = {
            "crime_type": s["crime_type"],
            "annual_at_900k": s["annual"],
            "beta": s["beta"],
            "urban_factor": dict(zip(CLASSES, s["urban"], strict=True)),
            "rate_per_1000_at_latent_0_factor_1": round(float(k * 1000), 4),
        }
    if "nte" in tables and nte:
        lam = np.zeros((n_l, months))
        for li, kind in nte.items():
            lam[li] = NTE_PER_YEAR[kind] / 12 * mult
        add("nte", lam)
    if "da_hotspot" in tables and len(high_da):
        lam = np.zeros((n_l, months))
        lam[high_da] = DA_PER_YEAR / 12 * mult
        add("da_hotspot", lam)
    if "county_lines" in tables and len(county_lines):
        lam = np.zeros((n_l, months))
        lam[county_lines] = COUNTY_LINES_PER_YEAR / 12 * mult
        add("county_lines", lam)

    stream = np.concatenate([np.full(len(p[1]), p[0], dtype=object) for p in parts])
    lsoa = np.concatenate([p[1] for p in parts])
    month = np.concatenate([p[2] for p in parts])
    n = len(stream)

    code = np.empty(n, dtype=object)
    for name in np.unique(stream):
        m = stream == name
        t = tables[name]
        code[m] = t.codes[rng.choice(len(t.codes), size=int(m.sum()), p=t.probs)]
    ref_i = ref.set_index("ho_code")
    crime_type = ref_i.loc[code, "police_uk_crime_type"].to_numpy(dtype=object)
    description = ref_i.loc[code, "offence_description"].to_numpy(dtype=object)
    subgroup = (
        ref_i.loc[code, "offence_subgroup"].to_numpy(dtype=object)
        if "offence_subgroup" in ref_i
        else np.full(n, "", dtype=object)
    )

    kind = pd.Series(stream).map(STREAM_KIND).to_numpy(dtype=object)
    kind[(kind == "robbery") & (code == "34A")] = "robbery_business"
    business = np.isin(code, ["30C", "30D", "31", "31A"]) | (
        np.char.find(subgroup.astype(str), "Non-residential") >= 0
    )
    kind[(kind == "burglary_res") & business] = "burglary_business"

    # domestic abuse flag (drives place and victim)
    p_da = np.zeros(n)
    for k, share in DA_SHARE_DEFAULT.items():
        p_da[kind == k] = share
    for c, share in DA_SHARE_BY_CODE.items():
        p_da[(code == c) & np.isin(kind, ["violence", "sexual"])] = share
    p_da[kind == "da"] = 1.0
    da = rng.random(n) < p_da
    kind[da & (kind == "violence")] = "da"

    # dates and times
    dim = (starts[1:] - starts[:-1]).astype(int)
    day = (rng.random(n) * dim[month]).astype(int)
    date = starts[month] + day.astype("timedelta64[D]")
    minute = np.full(n, -1)
    hour_key = pd.Series(kind).map(KIND_HOURS).fillna("general").to_numpy(dtype=object)
    for hk, weights in HOURS.items():
        m = (hour_key == hk) & (kind != "nte")
        hour = rng.choice(24, size=int(m.sum()), p=weights / weights.sum())
        mins = rng.integers(0, 60, size=int(m.sum()))
        mins[rng.random(int(m.sum())) < 0.3] = 0
        minute[m] = hour * 60 + mins
    is_nte = kind == "nte"
    if is_nte.any():
        date[is_nte], minute[is_nte] = _nte_times(rng, starts, month[is_nte])
    property_kinds = np.isin(kind, ["burglary_res", "burglary_business", "vehicle", "cda", "theft"])
    minute[property_kinds & (rng.random(n) < 0.03)] = -1

    lag = np.where(rng.random(n) < 0.7, 0, rng.integers(1, 8, n))
    long_lag = rng.random(n) < np.where(kind == "sexual", 0.2, 0.03)
    lag = np.where(long_lag, rng.integers(8, 120, n), lag)
    until = starts[-1] if recorded_until is None else recorded_until
    recorded = np.minimum(date + lag.astype("timedelta64[D]"), until - np.timedelta64(1, "D"))
    recorded = np.maximum(recorded, date)

    # location type
    loc = np.empty(n, dtype=object)
    for k, table in LOCATION_TYPES.items():
        m = kind == k
        if m.any():
            loc[m] = _choose(rng, table, int(m.sum()))
    sexual_da = da & (kind == "sexual")
    loc[sexual_da] = _choose(rng, {"Dwelling": 0.9, "Other": 0.1}, int(sexual_da.sum()))
    centre = np.isin(cls_idx[lsoa], [0, 2])
    pubs = (kind == "violence") & centre & (rng.random(n) < 0.15)
    loc[pubs] = "Pub/Bar"

    # flags
    u = rng.random((6, n))
    alcohol_p = np.select(
        [
            kind == "nte",
            (kind == "violence") & np.isin(loc, ["Pub/Bar", "Nightclub"]),
            kind == "violence",
            kind == "da",
            kind == "public_order",
        ],
        [0.8, 0.7, 0.12, 0.25, 0.25],
        0.02,
    )
    alcohol = u[0] < alcohol_p
    drugs_flag = u[1] < np.where(kind == "drugs", 1.0, np.where(kind == "violence", 0.05, 0.01))
    knife_p = np.zeros(n)
    for c, share in KNIFE_SHARE_BY_CODE.items():
        knife_p[code == c] = share
    knife_p[kind == "nte"] = np.where(code[kind == "nte"] == "9A", 0.0, 0.03)
    knife = u[2] < knife_p
    firearm = np.isin(code, list(FIREARM_CODES)) | (
        np.isin(kind, ["robbery", "robbery_business"]) & (u[3] < 0.02)
    )
    hate_p = np.select(
        [kind == "violence", kind == "public_order", kind == "cda"], [0.03, 0.08, 0.01], 0
    )
    hate = (u[4] < hate_p) | np.isin(code, ["8P", "105B", "8M", "9B", "58E", "58F", "58G", "58H"])
    in_cl = np.isin(lsoa, county_lines)
    cl_p = np.where(code == "92A", np.where(in_cl, 0.7, 0.05), 0.0)
    cl_p[(stream == "county_lines")] = 0.7
    county_lines_flag = u[5] < cl_p
    drugs_flag |= county_lines_flag

    age, sex = _victims(rng, kind, code, da, n)

    frame = pd.DataFrame(
        {
            "stream": stream,
            "kind": kind,
            "lsoa": lsoa,
            "month": month,
            "date": date,
            "minute": minute,
            "recorded": recorded,
            "code": code,
            "crime_type": crime_type,
            "description": description,
            "location_type": loc,
            "domestic_abuse": da,
            "hate": hate,
            "knife": knife,
            "firearm": firearm,
            "county_lines": county_lines_flag,
            "alcohol": alcohol,
            "drugs": drugs_flag,
            "victim_age": age,
            "victim_sex": sex,
        }
    )
    used["seasonality"] = {"amplitude": SEASON_AMPLITUDE, "peak_month": 7}
    used["trend_per_year"] = TREND_PER_YEAR
    used["lsoa_effect_sd"] = LSOA_EFFECT_SD
    return frame, used


def _nte_times(
    rng: np.random.Generator, starts: np.ndarray, month: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Friday/Saturday nights 22:00-02:59; after midnight the date is the next day."""
    first, end = starts[0], starts[-1]
    days = np.arange(first, end - np.timedelta64(1, "D"))  # a night's next day stays in range
    weekday = (days.astype(int) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    nights = days[(weekday == 4) | (weekday == 5)]
    night_month = nights.astype("datetime64[M]") - starts[0].astype("datetime64[M]")
    night_month = night_month.astype(int)
    count = np.bincount(night_month, minlength=len(starts) - 1)
    offset = np.concatenate([[0], np.cumsum(count)[:-1]])
    pick = offset[month] + (rng.random(len(month)) * count[month]).astype(int)
    date = nights[pick]
    hour = rng.choice([22, 23, 0, 1, 2], size=len(month), p=[0.15, 0.25, 0.28, 0.22, 0.10])
    date = date + (hour < 12).astype("timedelta64[D]")
    return date, hour * 60 + rng.integers(0, 60, len(month))


def _victims(
    rng: np.random.Generator, kind: np.ndarray, code: np.ndarray, da: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Victim age (-1 = blank) and sex ("" = blank) by kind of crime.

    Kinds without a row in `spec` (weapons, drugs, shoplifting, other, business burglary and
    robbery) have no personal victim, so both stay blank.
    """
    age = np.full(n, -1)
    sex = np.full(n, "", dtype=object)
    # (P(M), P(F), P(U)), minimum age, gamma shape, gamma scale
    spec = {
        "violence": ((0.62, 0.35, 0.03), 12, 2.2, 9.0),
        "nte": ((0.7, 0.29, 0.01), 18, 0, 0),
        "da": ((0.17, 0.82, 0.01), 17, 3.0, 7.0),
        "sexual": ((0.1, 0.88, 0.02), 9, 2.0, 9.0),
        "robbery": ((0.75, 0.23, 0.02), 13, 1.8, 8.0),
        "public_order": ((0.5, 0.45, 0.05), 14, 2.5, 10.0),
        "cda": ((0.5, 0.45, 0.05), 18, 3.0, 10.0),
        "burglary_res": ((0.5, 0.45, 0.05), 20, 3.0, 11.0),
        "vehicle": ((0.55, 0.4, 0.05), 18, 3.0, 10.0),
        "theft": ((0.5, 0.45, 0.05), 16, 2.5, 10.0),
        "theft_person": ((0.45, 0.53, 0.02), 15, 2.0, 10.0),
        "bicycle": ((0.65, 0.3, 0.05), 12, 2.0, 10.0),
    }
    for k, (p_sex, lo, shape, scale) in spec.items():
        m = kind == k
        if k == "sexual":
            m = m & ~da
        cnt = int(m.sum())
        if not cnt:
            continue
        sex[m] = _choose(rng, dict(zip("MFU", p_sex, strict=True)), cnt)
        if k == "nte":
            a = np.where(
                rng.random(cnt) < 0.88, rng.integers(18, 31, cnt), rng.integers(31, 46, cnt)
            )
        else:
            a = lo + rng.gamma(shape, scale, cnt)
        age[m] = np.clip(np.round(a), 0, 99).astype(int)
    m = (kind == "sexual") & da
    if m.any():
        cnt = int(m.sum())
        sex[m] = _choose(rng, {"M": 0.06, "F": 0.93, "U": 0.01}, cnt)
        age[m] = np.clip(np.round(16 + rng.gamma(3.0, 7.0, cnt)), 0, 99)
    personal = sex != ""
    age[personal & (rng.random(n) < 0.05)] = -1  # age not recorded
    # the age of a child victim code follows its definition
    for c, (lo, hi) in {"19E": (4, 12), "20B": (4, 12), "19D": (13, 15), "22B": (13, 15)}.items():
        m = (code == c) & personal
        age[m] = rng.integers(lo, hi + 1, int(m.sum()))
    for c in ("19C", "20A", "19D", "19E", "20B"):
        sex[(code == c) & personal] = "F"
    return age, sex


def police_uk_outcomes(
    rng: np.random.Generator, code: np.ndarray, month: np.ndarray, months: int
) -> np.ndarray:
    """Last outcome category: recent months are more often still under investigation."""
    out = _choose(rng, OUTCOMES, len(code))
    warn = np.isin(code, ["92D", "92E"]) & (rng.random(len(code)) < 0.3)
    out[warn] = "Offender given a drugs possession warning"
    recent = (months - 1 - month) < 3
    out[recent & (rng.random(len(code)) < 0.35)] = "Under investigation"
    return out


# Suspect ages: the share of crimes with an identified suspect whose age is recorded, and the
# suspect's age (minimum, gamma shape, scale), by kind of crime. A domestic abuse suspect is about
# the victim's age (a partner or family member); possession and drug offences always have one.
SUSPECT_IDENTIFIED = {
    "violence": 0.55, "nte": 0.45, "da": 0.85, "sexual": 0.5, "robbery": 0.25,
    "robbery_business": 0.2, "weapons": 0.95, "drugs": 0.95, "public_order": 0.6, "cda": 0.2,
    "burglary_res": 0.08, "burglary_business": 0.08, "vehicle": 0.06, "shoplifting": 0.45,
    "theft": 0.08, "theft_person": 0.05, "bicycle": 0.04, "other": 0.3,
}  # fmt: skip
SUSPECT_AGE = {
    "nte": (18, 2.0, 4.5),
    "robbery": (13, 1.6, 5.0),
    "robbery_business": (14, 1.8, 6.0),
    "weapons": (12, 1.7, 6.5),
    "drugs": (14, 2.0, 7.0),
}
SUSPECT_AGE_DEFAULT = (12, 2.2, 8.5)


def suspect_ages(rng: np.random.Generator, crimes: pd.DataFrame) -> np.ndarray:
    """Suspect age per crime (-1 = no identified suspect, left blank), from its own seed stream."""
    n = len(crimes)
    kind = crimes["kind"].to_numpy(dtype=object)
    victim = crimes["victim_age"].to_numpy()
    da = crimes["domestic_abuse"].to_numpy(dtype=bool)
    identified = rng.random(n) < pd.Series(kind).map(SUSPECT_IDENTIFIED).fillna(0.2).to_numpy()
    age = np.full(n, -1)
    for k in np.unique(kind):
        m = kind == k
        lo, shape, scale = SUSPECT_AGE.get(k, SUSPECT_AGE_DEFAULT)
        age[m] = np.round(lo + rng.gamma(shape, scale, int(m.sum()))).astype(int)
    partner = da & (victim >= 16)
    age[partner] = np.round(victim[partner] + rng.normal(2.0, 4.0, int(partner.sum()))).astype(int)
    age = np.clip(age, 10, 90)  # the age of criminal responsibility is 10
    return np.where(identified, age, -1)
