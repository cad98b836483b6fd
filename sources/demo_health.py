"""NHS and council ASB files for the synthetic demo county (helper of `sources.demo`).

Written from the same crimes as the police files, so the health data carry the planted structure:

- **ISTV A&E assault attendances** (ISB 1594 minimum data set, one file per month of arrival):
  a share of the violence with injury attends an Emergency Department (`ATTEND_SHARE` by offence
  code: wounding 55-60%, assault with injury 22%, common assault 2%), raised to at least half for
  knife-flagged crimes; the night-time economy crimes (Friday and Saturday nights in the town and
  city centres) attend at 40%, so **A&E assaults peak on weekend nights in the centres**. Assaults
  never reported to the police are added: `UNREPORTED_SHARE` more attendances copied from the
  reported ones a whole number of weeks earlier or later (same weekday, hour and place). Method:
  sharp object exactly when the crime is knife-flagged, firearm when firearm-flagged, else body
  part, blunt object, other or not known. The assault LSOA is shared for `LSOA_SHARE` of
  attendances, only the postcode sector (synthetic outward codes DC1..DC7, one per district) for
  `SECTOR_ONLY_SHARE`, neither for the rest. Age band and sex from the victim; alcohol and drug
  involvement from the crime's flags (10% not known). Site: the nearest of three hospitals.
- **HES admissions** (HES APC field names, one file per financial year): attendances admitted
  with probability `ADMIT_SHARE` by method (sharp object 30%, firearm 60%, homicide and attempted
  murder 90%), so **knife admissions (X99) track the knife flag**: X99 is the external cause
  exactly when the attendance was by sharp object. The ICD-10 external cause (X99, Y04 bodily
  force, Y00 blunt object, X95 firearm, Y08 other, Y09 unspecified) carries the place of
  occurrence as its fourth character; it is in CAUSE and in one DIAG_4_nn position (02 or 03, or
  only in DIAG_4_03 with CAUSE blank for 10%: "any position"). 5% of admissions have a second
  episode (EPIORDER 2, not an admission), and `NON_ASSAULT_SHARE` rows are accidental injuries
  (W26, not assault). LSOA21 is the patient's residence: the incident's LSOA (65%), another LSOA
  of the same district (25%) or of the county (7%), or outside the county (3%, the neighbouring
  E0199 LSOAs of the police.uk quirks).
- **Ambulance assault call-outs** (optional layer, one file per financial year): 40% of the
  attendances came by ambulance; the call is 3-15 minutes after the assault, at the assault's
  LSOA and a grid reference rounded to 100 m.
- **Council ASB** (one file per financial year): incidents drawn like the police.uk ASB rows
  (more in the centres and deprived areas, summer peak) at `COUNCIL_ASB_SHARE` of their volume,
  with the national category (personal, nuisance, environmental) and a type; 5% have no location.

All draws come from one generator (the demo's eighth seed stream), so the police files stay
byte-identical to a demo written without these. `planted_health.json` records the rules and the
counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sources import demo_geo as dg

ISTV_COLUMNS = [
    "Site Code (of Treatment)",
    "Arrival Date",
    "Arrival Time",
    "Assault Date",
    "Assault Time",
    "Assault Method",
    "Assault Method Other Description",
    "Assault Location Type",
    "Assault Location Description",
    "Assault Location Postcode Sector",
    "Assault Location LSOA",
    "Age Band",
    "Sex",
    "Alcohol or Drug Involvement",
]
HES_COLUMNS = [
    "EPIKEY",
    "ADMIDATE",
    "EPIORDER",
    "ADMIMETH",
    "STARTAGE",
    "SEX",
    "LSOA21",
    "CAUSE",
    "DIAG_4_01",
    "DIAG_4_02",
    "DIAG_4_03",
]
AMBULANCE_COLUMNS = [
    "Incident Number",
    "Call Date",
    "Call Time",
    "Incident LSOA",
    "Easting",
    "Northing",
    "Age Band",
    "Sex",
    "Chief Complaint",
]
COUNCIL_ASB_COLUMNS = [
    "Case Reference",
    "Incident Date",
    "ASB Category",
    "ASB Type",
    "LSOA Code",
    "Easting",
    "Northing",
]

# Share of crimes (by HO code) whose victim attends an Emergency Department.
ATTEND_SHARE = {
    "1": 0.5,
    "4/1": 0.5,
    "2": 0.85,
    "5A": 0.6,
    "5D": 0.55,
    "8N": 0.22,
    "8P": 0.22,
    "105A": 0.02,
    "105B": 0.02,
    "34A": 0.06,
    "34B": 0.06,
}
NTE_ATTEND_SHARE = 0.4  # night-time economy violence (weekend nights in the centres)
KNIFE_ATTEND_SHARE = 0.5  # at least this share of knife-flagged violence attends
UNREPORTED_SHARE = 0.6  # attendances never reported to the police, per reported one
LSOA_SHARE = 0.7
SECTOR_ONLY_SHARE = 0.2
ADMIT_SHARE = {
    "sharp_object": 0.3,
    "firearm": 0.6,
    "blunt_object": 0.08,
    "body_part": 0.03,
    "other": 0.05,
    "not_known": 0.03,
}
ADMIT_SERIOUS = 0.9  # homicide and attempted murder victims who reach hospital
SECOND_EPISODE_SHARE = 0.05
NON_ASSAULT_SHARE = 0.02
AMBULANCE_SHARE = 0.4
COUNCIL_ASB_SHARE = 0.6
HOSPITALS = [  # (site code, settlement whose centre it is at)
    ("R9X01", "Norchester"),
    ("R9Y01", "Yarmere"),
    ("R9Z01", "Lynnford"),
]
METHOD_TEXT = {
    "body_part": "Body part",
    "blunt_object": "Blunt object",
    "sharp_object": "Sharp object",
    "firearm": "Firearm",
    "other": "Other",
    "not_known": "Not known",
}
# force extract location type -> ISTV assault location type
LOCATION_TEXT = {
    "Dwelling": "Home",
    "Street": "Street",
    "Pub/Bar": "Licensed premises",
    "Nightclub": "Licensed premises",
    "Park/Open Space": "Other public place",
    "Car Park": "Other public place",
    "Shop/Retail": "Other public place",
    "Public Transport": "Public transport",
    "Educational Establishment": "School",
    "Commercial Premises": "Workplace",
    "Hospital/Health": "Other",
    "Other": "Other",
}
PUBLIC_LOCATIONS = {"Street", "Licensed premises", "Other public place", "Public transport"}
# ICD-10 external cause by method, and the place-of-occurrence fourth character by location
CAUSE_CODE = {
    "sharp_object": "X99",
    "firearm": "X95",
    "blunt_object": "Y00",
    "body_part": "Y04",
    "other": "Y08",
    "not_known": "Y09",
}
PLACE_DIGIT = {
    "Home": "0",
    "School": "2",
    "Other public place": "8",
    "Street": "4",
    "Licensed premises": "5",
    "Public transport": "4",
    "Workplace": "5",
    "Other": "8",
    "Not known": "9",
}
INJURY_DIAGNOSIS = {
    "sharp_object": ["S21.1", "S31.1", "S51.8", "S01.8"],
    "firearm": ["S21.1", "S71.1"],
    "blunt_object": ["S02.0", "S06.0", "S01.8"],
    "body_part": ["S02.3", "S01.4", "S06.0", "S00.5"],
    "other": ["T20.3", "S01.8"],
    "not_known": ["S09.9", "T14.9"],
}
ASB_TYPES = {
    "personal": ["Harassment or intimidation", "Threatening behaviour", "Hate-related"],
    "nuisance": ["Rowdy behaviour", "Noise", "Nuisance vehicles", "Street drinking"],
    "environmental": ["Fly-tipping", "Graffiti", "Littering"],
}
ASB_CATEGORY_SHARE = {"personal": 0.25, "nuisance": 0.6, "environmental": 0.15}
AGE_BANDS = [(0, 9), (10, 17), (18, 24), (25, 34), (35, 44), (45, 54), (55, 64)]


@dataclass(frozen=True)
class HealthFiles:
    """What `write_health_files` wrote (absolute paths) and its headline counts."""

    ae: tuple[Path, ...]
    hes: tuple[Path, ...]
    ambulance: tuple[Path, ...]
    asb_council: tuple[Path, ...]
    planted: Path
    counts: dict[str, int]


def paths_written(out_dir: Path) -> list[Path]:
    """Every file an earlier demo may have written here (for cleaning up)."""
    return [
        *(out_dir / "nhs" / "ae").glob("istv_assaults_*.csv"),
        *(out_dir / "nhs" / "hes").glob("hes_apc_assaults_*.csv"),
        *(out_dir / "nhs" / "ambulance").glob("ambulance_assaults_*.csv"),
        *(out_dir / "asb").glob("council_asb_*.csv"),
        out_dir / "planted_health.json",
    ]


def age_band(age: np.ndarray) -> np.ndarray:
    """ "18-24"-style bands (65+ at the top); blank for an unknown (negative) age."""
    out = np.full(len(age), "65+", dtype=object)
    for low, high in AGE_BANDS[::-1]:
        out[age <= high] = f"{low}-{high}"
    out[age < 0] = "Not known"
    return out


def postcode_sectors(areas: pd.DataFrame) -> np.ndarray:
    """A synthetic postcode sector per LSOA ("DC1 3"): district d has outward codes DCd, DCd1, ..
    and about four LSOAs share a sector. Never a full postcode, never a real outward code."""
    district = areas["district_code"].str[-2:].astype(int).to_numpy()
    rank = areas.groupby("district_code").cumcount().to_numpy()
    outward = np.where(rank // 40 > 0, (rank // 40).astype(str), "")
    return np.array(
        [f"DC{d}{o} {s}" for d, o, s in zip(district, outward, (rank // 4) % 10, strict=True)],
        dtype=object,
    )


def _fy(date: np.ndarray) -> np.ndarray:
    year = date.astype("datetime64[Y]").astype(int) + 1970
    month = date.astype("datetime64[M]").astype(int) % 12 + 1
    start = np.where(month >= 4, year, year - 1)
    return np.array([f"{y}-{(y + 1) % 100:02d}" for y in start], dtype=object)


def _dmy(d: np.ndarray) -> np.ndarray:
    return pd.Series(d.astype("datetime64[s]")).dt.strftime("%d/%m/%Y").to_numpy(dtype=object)


def _hhmm(minute: np.ndarray) -> np.ndarray:
    hh = pd.Series(minute // 60).astype(str).str.zfill(2)
    mm = pd.Series(minute % 60).astype(str).str.zfill(2)
    return np.where(minute < 0, "", (hh + ":" + mm).to_numpy(dtype=object))


def _sex_text(sex: np.ndarray) -> np.ndarray:
    return (
        pd.Series(sex)
        .map({"M": "Male", "F": "Female", "U": "Not known"})
        .fillna("Not known")
        .to_numpy(dtype=object)
    )


def attendances(
    crimes: pd.DataFrame,
    urban: np.ndarray,
    starts: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One row per A&E assault attendance, from the crimes (see the module docstring).

    Columns: row (crime index, -1 for none), lsoa, x, y, date, minute (of the assault, -1
    unknown), arrival (datetime64[m]), method, location, age, sex, alcohol, drugs, reported,
    serious (homicide or attempted murder), knife, nte, centre.
    """
    code = crimes["code"].to_numpy(dtype=object)
    kind = crimes["kind"].to_numpy(dtype=object)
    p = pd.Series(code).map(ATTEND_SHARE).fillna(0.0).to_numpy(dtype=float, copy=True)
    p[kind == "nte"] = np.where(np.isin(code[kind == "nte"], ["9A"]), 0.0, NTE_ATTEND_SHARE)
    p[kind == "da"] *= 0.7
    knife = crimes["knife"].to_numpy()
    violent = p > 0
    p[knife & violent] = np.maximum(p[knife & violent], KNIFE_ATTEND_SHARE)
    attend = rng.random(len(crimes)) < p
    idx = np.flatnonzero(attend)
    c = crimes.iloc[idx]
    frame = pd.DataFrame(
        {
            "row": idx,
            "lsoa": c["lsoa"].to_numpy(),
            "x": c["x"].to_numpy(),
            "y": c["y"].to_numpy(),
            "date": c["date"].to_numpy().astype("datetime64[D]"),
            "minute": c["minute"].to_numpy(),
            "location_type": c["location_type"].to_numpy(dtype=object),
            "age": c["victim_age"].to_numpy(),
            "sex": c["victim_sex"].to_numpy(dtype=object),
            "alcohol": c["alcohol"].to_numpy(),
            "drugs": c["drugs"].to_numpy(),
            "knife": c["knife"].to_numpy(),
            "firearm": c["firearm"].to_numpy(),
            "serious": np.isin(c["code"].to_numpy(dtype=object), ["1", "4/1", "2"]),
            "nte": (c["kind"] == "nte").to_numpy(),
            "reported": True,
        }
    )
    # assaults never reported to the police: copies of reported ones, whole weeks apart
    n_extra = rng.poisson(UNREPORTED_SHARE * len(frame))
    pick = rng.integers(len(frame), size=n_extra) if len(frame) else np.array([], int)
    extra = frame.iloc[pick].copy()
    extra["row"] = -1
    extra["reported"] = False
    extra["date"] = extra["date"].to_numpy() + (7 * rng.integers(-3, 4, size=n_extra)).astype(
        "timedelta64[D]"
    )
    frame = pd.concat([frame, extra], ignore_index=True)
    window_start, window_end = starts[0], starts[-1]
    inside = (frame["date"] >= window_start) & (frame["date"] < window_end)
    frame = frame[inside].reset_index(drop=True)
    n = len(frame)
    method = np.full(n, "body_part", dtype=object)
    method[rng.random(n) < 0.15] = "blunt_object"
    roll = rng.random(n)
    method[roll < 0.1] = "not_known"
    method[(roll >= 0.1) & (roll < 0.15)] = "other"
    method[frame["firearm"].to_numpy()] = "firearm"
    method[frame["knife"].to_numpy()] = "sharp_object"
    frame["method"] = method
    location = pd.Series(frame["location_type"]).map(LOCATION_TEXT).fillna("Not known")
    frame["location"] = location.to_numpy(dtype=object)
    delay = np.clip(np.round(rng.lognormal(np.log(50), 0.6, n)), 10, 600).astype(int)
    minute = frame["minute"].to_numpy()
    at = frame["date"].to_numpy().astype("datetime64[m]") + np.where(
        minute < 0, 12 * 60, minute
    ).astype("timedelta64[m]")
    frame["arrival"] = at + delay.astype("timedelta64[m]")
    age = frame["age"].to_numpy().copy()
    unknown = age < 0
    age[unknown] = np.clip(np.round(16 + rng.gamma(2.0, 9.0, int(unknown.sum()))), 0, 95)
    age[rng.random(n) < 0.03] = -1  # age not recorded
    frame["age"] = age
    sex = frame["sex"].to_numpy(dtype=object).copy()
    blank = (sex == "") | pd.isna(sex)
    sex[blank] = np.where(rng.random(int(blank.sum())) < 0.7, "M", "F")
    frame["sex"] = sex
    frame["centre"] = np.isin(urban[frame["lsoa"].to_numpy()], ["city_centre", "town_centre"])
    window = frame["arrival"].to_numpy() < window_end.astype("datetime64[m]")
    return frame[window].reset_index(drop=True)


def write_health_files(
    out_dir: Path,
    *,
    crimes: pd.DataFrame,
    areas: pd.DataFrame,
    geo: dg.Geography,
    urban: np.ndarray,
    pop: np.ndarray,
    latent: np.ndarray,
    outside_codes: np.ndarray,
    starts: np.ndarray,
    asb_per_month: float,
    rng: np.random.Generator,
) -> HealthFiles:
    """Write the ISTV A&E, HES, ambulance and council ASB files and planted_health.json."""
    codes = areas["lsoa_code"].to_numpy(dtype=object)
    district = areas["district_code"].to_numpy(dtype=object)
    sectors = postcode_sectors(areas)
    att = attendances(crimes, urban, starts, rng)
    ae_paths, shares = _write_istv(out_dir, att, codes, sectors, geo, rng)
    admitted, hes_paths, hes_counts = _write_hes(
        out_dir, att, codes, district, pop, outside_codes, rng
    )
    amb_paths, n_amb = _write_ambulance(out_dir, att, codes, rng)
    asb_paths, n_asb = _write_council_asb(
        out_dir, codes, geo, urban, pop, latent, starts, asb_per_month, rng
    )
    arrival = att["arrival"].to_numpy()
    weekday = (arrival.astype("datetime64[D]").astype(int) + 3) % 7  # 0 = Monday
    hour = (arrival.astype("datetime64[m]").astype(int) // 60) % 24
    weekend_night = ((weekday == 4) & (hour >= 22)) | (weekday == 5) | ((weekday == 6) & (hour < 4))
    counts = {
        "ae_attendances": len(att),
        "ae_reported_to_police": int(att["reported"].sum()),
        "ae_with_lsoa": shares["lsoa"],
        "ae_postcode_sector_only": shares["sector"],
        "ae_no_location": shares["none"],
        "ae_sharp_object": int((att["method"] == "sharp_object").sum()),
        "hes_rows": hes_counts["rows"],
        "hes_admissions": hes_counts["admissions"],
        "hes_assault_admissions": hes_counts["assault"],
        "hes_knife_admissions": hes_counts["knife"],
        "hes_second_episodes": hes_counts["second"],
        "hes_non_assault": hes_counts["non_assault"],
        "hes_resident_outside_county": hes_counts["outside"],
        "ambulance_callouts": n_amb,
        "council_asb": n_asb,
    }
    structure = {
        "generator": "sources.demo_health.write_health_files",
        "ae": {
            "files": "nhs/ae/istv_assaults_YYYY-MM.csv, one per month of arrival",
            "attend_share_by_code": ATTEND_SHARE,
            "night_time_economy_attend_share": NTE_ATTEND_SHARE,
            "knife_attend_share_at_least": KNIFE_ATTEND_SHARE,
            "unreported_per_reported": UNREPORTED_SHARE,
            "method": "Sharp object exactly when the crime is knife-flagged; Firearm when"
            " firearm-flagged",
            "location_shared": {"lsoa": LSOA_SHARE, "postcode_sector_only": SECTOR_ONLY_SHARE},
            "peak": "weekend nights (Friday 22:00 to Sunday 04:00) in the city and town centres",
            "weekend_night_share": round(float(weekend_night.mean()), 4) if len(att) else 0.0,
            "weekend_night_share_in_centres": round(
                float(weekend_night[att["centre"].to_numpy()].mean()), 4
            )
            if att["centre"].any()
            else 0.0,
            "sites": dict(HOSPITALS),
        },
        "hes": {
            "files": "nhs/hes/hes_apc_assaults_YYYY-YY.csv, one per financial year of ADMIDATE",
            "admit_share_by_method": ADMIT_SHARE,
            "admit_share_homicide_attempted_murder": ADMIT_SERIOUS,
            "knife": "X99 exactly when the attendance was by sharp object (= knife flag)",
            "second_episode_share": SECOND_EPISODE_SHARE,
            "non_assault_share": NON_ASSAULT_SHARE,
            "residence": "incident LSOA 65%, same district 25%, county 7%, outside 3%",
            "admitted_knife_flag_rows": int(admitted["knife"].sum()),
        },
        "ambulance": {"share_of_attendances": AMBULANCE_SHARE},
        "council_asb": {
            "share_of_police_uk_asb_volume": COUNCIL_ASB_SHARE,
            "categories": ASB_CATEGORY_SHARE,
            "no_location_share": 0.05,
        },
        "counts": counts,
    }
    planted = out_dir / "planted_health.json"
    planted.write_text(json.dumps(structure, indent=2) + "\n", encoding="utf-8")
    return HealthFiles(
        ae=tuple(ae_paths),
        hes=tuple(hes_paths),
        ambulance=tuple(amb_paths),
        asb_council=tuple(asb_paths),
        planted=planted,
        counts=counts,
    )


def _write_istv(
    out_dir: Path,
    att: pd.DataFrame,
    codes: np.ndarray,
    sectors: np.ndarray,
    geo: dg.Geography,
    rng: np.random.Generator,
) -> tuple[list[Path], dict[str, int]]:
    n = len(att)
    lsoa = att["lsoa"].to_numpy()
    share = rng.random(n)
    with_lsoa = share < LSOA_SHARE
    sector_only = (share >= LSOA_SHARE) & (share < LSOA_SHARE + SECTOR_ONLY_SHARE)
    sites = {s.name: (s.x, s.y) for s in geo.settlements}
    hx = np.array([sites[name][0] for _, name in HOSPITALS])
    hy = np.array([sites[name][1] for _, name in HOSPITALS])
    nearest = np.argmin(
        np.hypot(att["x"].to_numpy()[:, None] - hx, att["y"].to_numpy()[:, None] - hy), axis=1
    )
    minute = att["minute"].to_numpy()
    arrival = att["arrival"].to_numpy()
    arrival_min = (arrival.astype("datetime64[m]").astype(np.int64)) % (24 * 60)
    alcohol, drugs = att["alcohol"].to_numpy(), att["drugs"].to_numpy()
    involvement = np.select(
        [alcohol & drugs, alcohol, drugs], ["Alcohol and drugs", "Alcohol", "Drugs"], "None"
    ).astype(object)
    involvement[rng.random(n) < 0.1] = "Not known"
    method = att["method"].to_numpy(dtype=object)
    other_text = np.where(method == "other", "Corrosive substance", "")
    location = att["location"].to_numpy(dtype=object)
    description = np.where(
        np.isin(location, list(PUBLIC_LOCATIONS)),
        "Near " + location.astype(str).astype(object),
        "",
    )
    frame = pd.DataFrame(
        {
            "Site Code (of Treatment)": np.array([HOSPITALS[k][0] for k in nearest], dtype=object),
            "Arrival Date": _dmy(arrival.astype("datetime64[D]")),
            "Arrival Time": _hhmm(arrival_min),
            "Assault Date": _dmy(att["date"].to_numpy()),
            "Assault Time": _hhmm(minute),
            "Assault Method": pd.Series(method).map(METHOD_TEXT).to_numpy(dtype=object),
            "Assault Method Other Description": other_text,
            "Assault Location Type": location,
            "Assault Location Description": description,
            "Assault Location Postcode Sector": np.where(sector_only, sectors[lsoa], "").astype(
                object
            ),
            "Assault Location LSOA": np.where(with_lsoa, codes[lsoa], "").astype(object),
            "Age Band": age_band(att["age"].to_numpy()),
            "Sex": _sex_text(att["sex"].to_numpy(dtype=object)),
            "Alcohol or Drug Involvement": involvement,
        }
    )
    frame["_month"] = np.datetime_as_string(arrival.astype("datetime64[M]"), unit="M")
    frame["_order"] = arrival
    folder = out_dir / "nhs" / "ae"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for month, rows in frame.sort_values(["_order"], kind="stable").groupby("_month", sort=True):
        path = folder / f"istv_assaults_{month}.csv"
        rows[ISTV_COLUMNS].to_csv(path, index=False)
        paths.append(path)
    shares = {
        "lsoa": int(with_lsoa.sum()),
        "sector": int(sector_only.sum()),
        "none": int((~with_lsoa & ~sector_only).sum()),
    }
    return paths, shares


def _residence(
    lsoa: np.ndarray,
    district: np.ndarray,
    pop: np.ndarray,
    outside_codes: np.ndarray,
    codes: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """The LSOA 2021 code of each patient's residence (see the module docstring)."""
    persons = pop.sum(axis=(1, 2)).astype(float)
    n = len(lsoa)
    out = codes[lsoa].astype(object)
    roll = rng.random(n)
    same_district = (roll >= 0.65) & (roll < 0.9)
    for i in np.flatnonzero(same_district):
        members = np.flatnonzero(district == district[lsoa[i]])
        w = persons[members] / persons[members].sum()
        out[i] = codes[members[rng.choice(len(members), p=w)]]
    county = (roll >= 0.9) & (roll < 0.97)
    out[county] = codes[rng.choice(len(codes), size=int(county.sum()), p=persons / persons.sum())]
    outside = roll >= 0.97
    out[outside] = outside_codes[rng.integers(len(outside_codes), size=int(outside.sum()))]
    return out


def _write_hes(
    out_dir: Path,
    att: pd.DataFrame,
    codes: np.ndarray,
    district: np.ndarray,
    pop: np.ndarray,
    outside_codes: np.ndarray,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, list[Path], dict[str, int]]:
    method = att["method"].to_numpy(dtype=object)
    p = pd.Series(method).map(ADMIT_SHARE).to_numpy(dtype=float, copy=True)
    p[att["serious"].to_numpy()] = ADMIT_SERIOUS
    admitted = att[rng.random(len(att)) < p].reset_index(drop=True)
    n = len(admitted)
    m = admitted["method"].to_numpy(dtype=object)
    place = pd.Series(admitted["location"]).map(PLACE_DIGIT).fillna("9").to_numpy(dtype=object)
    cause = pd.Series(m).map(CAUSE_CODE).to_numpy(dtype=object) + "." + place
    injury = np.array(
        [INJURY_DIAGNOSIS[k][rng.integers(len(INJURY_DIAGNOSIS[k]))] for k in m], dtype=object
    )
    position = rng.random(n)
    diag2 = np.where(position < 0.6, cause, "").astype(object)
    diag3 = np.where(position >= 0.6, cause, "").astype(object)
    cause_col = np.where(position < 0.9, cause, "").astype(object)  # 10%: only in DIAG_4_03
    admidate = admitted["arrival"].to_numpy().astype("datetime64[D]")
    age = admitted["age"].to_numpy()
    age = np.where(age < 0, rng.integers(18, 60, n), age)
    rows = pd.DataFrame(
        {
            "ADMIDATE": pd.Series(admidate.astype("datetime64[s]")).dt.strftime("%Y-%m-%d"),
            "EPIORDER": "1",
            "ADMIMETH": "21",
            "STARTAGE": age.astype(str),
            "SEX": pd.Series(admitted["sex"]).map({"M": "1", "F": "2"}).fillna("9"),
            "LSOA21": _residence(
                admitted["lsoa"].to_numpy(), district, pop, outside_codes, codes, rng
            ),
            "CAUSE": cause_col,
            "DIAG_4_01": injury,
            "DIAG_4_02": diag2,
            "DIAG_4_03": diag3,
            "_date": admidate,
            "_knife": m == "sharp_object",
        }
    )
    second = rows[rng.random(n) < SECOND_EPISODE_SHARE].copy()
    second["EPIORDER"] = "2"
    n_non = rng.binomial(max(n, 1), NON_ASSAULT_SHARE) if n else 0
    non = rows.iloc[rng.integers(n, size=n_non)].copy() if n else rows.iloc[:0].copy()
    non["CAUSE"] = "W26.0"
    non["DIAG_4_01"] = "S61.9"
    non["DIAG_4_02"] = "W26.0"
    non["DIAG_4_03"] = ""
    non["_knife"] = False
    table = pd.concat([rows, second, non], ignore_index=True)
    table = table.sort_values(["_date", "EPIORDER"], kind="stable").reset_index(drop=True)
    table["EPIKEY"] = [f"{900000000000 + k:012d}" for k in range(len(table))]
    table["_fy"] = _fy(table["_date"].to_numpy())
    folder = out_dir / "nhs" / "hes"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fy, part in table.groupby("_fy", sort=True):
        path = folder / f"hes_apc_assaults_{fy}.csv"
        part[HES_COLUMNS].to_csv(path, index=False)
        paths.append(path)
    counts = {
        "rows": len(table),
        "admissions": n + n_non,
        "assault": n,
        "knife": int(rows["_knife"].sum()),
        "second": len(second),
        "non_assault": n_non,
        "outside": int((~pd.Series(rows["LSOA21"]).isin(codes)).sum()),
    }
    return admitted, paths, counts


def _write_ambulance(
    out_dir: Path, att: pd.DataFrame, codes: np.ndarray, rng: np.random.Generator
) -> tuple[list[Path], int]:
    called = att[rng.random(len(att)) < AMBULANCE_SHARE].reset_index(drop=True)
    n = len(called)
    minute = called["minute"].to_numpy()
    known = minute >= 0
    call = called["date"].to_numpy().astype("datetime64[m]") + np.where(
        known, minute + rng.integers(3, 16, n), 0
    ).astype("timedelta64[m]")
    call_minute = np.where(known, call.astype(np.int64) % (24 * 60), -1)
    frame = pd.DataFrame(
        {
            "Call Date": _dmy(call.astype("datetime64[D]")),
            "Call Time": _hhmm(call_minute),
            "Incident LSOA": codes[called["lsoa"].to_numpy()],
            "Easting": (np.round(called["x"].to_numpy() / 100) * 100).astype(int).astype(str),
            "Northing": (np.round(called["y"].to_numpy() / 100) * 100).astype(int).astype(str),
            "Age Band": age_band(called["age"].to_numpy()),
            "Sex": _sex_text(called["sex"].to_numpy(dtype=object)),
            "Chief Complaint": np.where(
                called["method"].to_numpy(dtype=object) == "sharp_object",
                "04 Assault - stab wound",
                "04 Assault",
            ),
            "_date": call.astype("datetime64[D]"),
            "_order": call,
        }
    )
    frame = frame.sort_values("_order", kind="stable").reset_index(drop=True)
    frame["_fy"] = _fy(frame["_date"].to_numpy())
    frame["Incident Number"] = [
        f"AMB{fy[2:4]}{k + 1:06d}"
        for fy, k in zip(frame["_fy"], frame.groupby("_fy").cumcount(), strict=True)
    ]
    folder = out_dir / "nhs" / "ambulance"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fy, part in frame.groupby("_fy", sort=True):
        path = folder / f"ambulance_assaults_{fy}.csv"
        part[AMBULANCE_COLUMNS].to_csv(path, index=False)
        paths.append(path)
    return paths, n


def _write_council_asb(
    out_dir: Path,
    codes: np.ndarray,
    geo: dg.Geography,
    urban: np.ndarray,
    pop: np.ndarray,
    latent: np.ndarray,
    starts: np.ndarray,
    asb_per_month: float,
    rng: np.random.Generator,
) -> tuple[list[Path], int]:
    weight = {"city_centre": 4.0, "city": 1.3, "town_centre": 3.0, "town": 1.2, "rural": 0.6}
    w = pop.sum(axis=(1, 2)) * np.exp(0.4 * latent) * np.array([weight[u] for u in urban])
    moy = starts[:-1].astype("datetime64[M]").astype(int) % 12 + 1
    season = 1 + 0.2 * np.cos(2 * np.pi * (moy - 7) / 12)
    season = season / season.mean()
    lam = (w / w.sum())[:, None] * (COUNCIL_ASB_SHARE * asb_per_month * season)[None, :]
    counts = rng.poisson(lam)
    li, mi = np.nonzero(counts)
    reps = counts[li, mi]
    li, mi = np.repeat(li, reps), np.repeat(mi, reps)
    n = len(li)
    x, y = dg.sample_in_cells(geo.cells, li, rng)
    days = (starts[1:] - starts[:-1]).astype(int)
    date = starts[mi] + (rng.random(n) * days[mi]).astype(int).astype("timedelta64[D]")
    category = rng.choice(
        list(ASB_CATEGORY_SHARE), size=n, p=list(ASB_CATEGORY_SHARE.values())
    ).astype(object)
    kind = np.array([ASB_TYPES[c][rng.integers(len(ASB_TYPES[c]))] for c in category], dtype=object)
    located = rng.random(n) >= 0.05
    frame = pd.DataFrame(
        {
            "Incident Date": _dmy(date),
            "ASB Category": pd.Series(category).str.capitalize().to_numpy(dtype=object),
            "ASB Type": kind,
            "LSOA Code": np.where(located, codes[li], "").astype(object),
            "Easting": np.where(located, np.round(x).astype(int).astype(str), ""),
            "Northing": np.where(located, np.round(y).astype(int).astype(str), ""),
            "_date": date,
        }
    )
    frame = frame.sort_values("_date", kind="stable").reset_index(drop=True)
    frame["_fy"] = _fy(frame["_date"].to_numpy())
    frame["Case Reference"] = [
        f"ASB/{fy[2:4]}/{k + 1:05d}"
        for fy, k in zip(frame["_fy"], frame.groupby("_fy").cumcount(), strict=True)
    ]
    folder = out_dir / "asb"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fy, part in frame.groupby("_fy", sort=True):
        path = folder / f"council_asb_{fy}.csv"
        part[COUNCIL_ASB_COLUMNS].to_csv(path, index=False)
        paths.append(path)
    return paths, n


def planted_counts(planted: Path) -> dict[str, Any]:
    """The counts section of a planted_health.json."""
    return json.loads(planted.read_text(encoding="utf-8"))["counts"]
