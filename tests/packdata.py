"""A small synthetic county and every mart table in the shape agreed in TABLES.md, for testing the
map pack, the writers and the disclosure checker without running the pipeline.

Geography (EPSG:27700): a 10 x 8 grid of 2 km rural LSOAs; the cell at column 3, row 4 is a town
split into 4 x 4 LSOAs of 500 m with high rates. Two districts (west: columns 0-4, east: 5-9), two
wards in each (north and south halves). Two complete financial years and a part year of 4 months.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from outputs.pack import Definition
from outputs.publish import Publication, prepare_publication
from pipelines.reporting import MISSING
from transforms.disclosure import AudienceRules, load_disclosure, rate_from_count
from transforms.rates import RATE_COLUMNS

X0, Y0 = 600_000, 280_000
TOWN = (3, 4)
PERIODS = {"2021/22": 12, "2022/23": 12, "2023/24": 4}
MEASURES = ("all_serious_violence", "violence", "robbery")
SUCCESS_U25_KNIFE_ADMISSIONS = {"2021/22": 10, "2022/23": 5, "2023/24": 10}
DEFINITION = Definition(
    id="testshire-2024",
    version="1.0.0",
    title="Serious violence, Testshire test definition",
    hash="0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    categories=("Violence", "Robbery"),
    proxy_caveat="A proxy.",
)


def lsoas() -> gpd.GeoDataFrame:
    rows = []
    n = 0

    def add(geom, col, row, town):
        nonlocal n
        n += 1
        west = col < 5
        north = row >= 4
        district = ("E07900001", "Westmere") if west else ("E07900002", "Eastbrook")
        ward_no = (0 if west else 2) + (1 if north else 0)
        rows.append(
            {
                "lsoa_code": f"E0190{n:04d}",
                "lsoa_name": f"{district[1]} {n:03d}A",
                "lsoa_vintage": "2021",
                "ward_code": f"E0590000{ward_no}",
                "ward_name": [
                    "Westmere South",
                    "Westmere North",
                    "Eastbrook South",
                    "Eastbrook North",
                ][ward_no],  # fmt: skip
                "district_code": district[0],
                "district_name": district[1],
                "county_code": "E10900009",
                "county_name": "Testshire",
                "area_km2": geom.area / 1e6,
                "town": town,
                "geometry": geom,
            }
        )

    for col in range(10):
        for row in range(8):
            x, y = X0 + col * 2000, Y0 + row * 2000
            if (col, row) == TOWN:
                for i in range(4):
                    for j in range(4):
                        add(box(x + i * 500, y + j * 500, x + (i + 1) * 500, y + (j + 1) * 500),
                            col, row, True)  # fmt: skip
            else:
                add(box(x, y, x + 2000, y + 2000), col, row, False)
    return gpd.GeoDataFrame(rows, crs="EPSG:27700")


def sv_rates(areas: gpd.GeoDataFrame, seed: int = 3) -> pd.DataFrame:
    """Exact rates by LSOA, ward, district and county; the headline is violence + robbery."""
    rng = np.random.default_rng(seed)
    population = np.where(areas["town"], 1600, 1500) + rng.integers(-100, 100, len(areas))
    rows = []
    for period, months in PERIODS.items():
        scale = months / 12 * (1.05 if period == "2022/23" else 1.0)
        violence = rng.poisson(np.where(areas["town"], 60, 12) * scale)
        robbery = rng.poisson(np.where(areas["town"], 4, 0.6) * scale)
        for m, counts in (("violence", violence), ("robbery", robbery),
                          ("all_serious_violence", violence + robbery)):  # fmt: skip
            rows.append(
                pd.DataFrame(
                    {
                        "lsoa_code": areas["lsoa_code"],
                        "ward_code": areas["ward_code"],
                        "ward_name": areas["ward_name"],
                        "district_code": areas["district_code"],
                        "district_name": areas["district_name"],
                        "county_code": "E10900009",
                        "county_name": "Testshire",
                        "lsoa_name": areas["lsoa_name"],
                        "period": period,
                        "months": months,
                        "measure": m,
                        "count": counts,
                        "population": population,
                    }
                )
            )
    lsoa = pd.concat(rows, ignore_index=True)
    out = []
    for level in ("lsoa", "ward", "district", "county"):
        g = (
            lsoa.groupby([f"{level}_code", f"{level}_name", "period", "months", "measure"])
            .agg(count=("count", "sum"), population=("population", "sum"))
            .reset_index()
            .rename(columns={f"{level}_code": "area_code", f"{level}_name": "area_name"})
        )
        out.append(g.assign(area_level=level))
    t = pd.concat(out, ignore_index=True)
    rate, lo, hi = rate_from_count(t["count"], t["population"])
    t["rate_per_1000"], t["ci_lower"], t["ci_upper"] = rate, lo, hi
    county = t[t["area_level"] == "county"].set_index(["period", "measure"])["rate_per_1000"]
    ref = pd.MultiIndex.from_frame(t[["period", "measure"]]).map(county.to_dict()).to_numpy()
    vs = np.where(lo > ref, "higher", np.where(hi < ref, "lower", "similar"))
    t["vs_county"] = pd.Series(vs, index=t.index).where(t["area_level"] != "county")
    t["vs_england"] = pd.NA
    t["source"] = "police"
    t["definition_id"] = DEFINITION.id
    t["count"] = t["count"].astype("Int64")
    t["population"] = t["population"].astype("Int64")
    return t[RATE_COLUMNS]


def analytics_tables(areas: gpd.GeoDataFrame, rates: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Hotspots, concentration, trends, success measures, priorities, risk correlations."""
    lsoa = rates[(rates["area_level"] == "lsoa") & (rates["measure"] == "all_serious_violence")]
    town = set(areas.loc[areas["town"], "lsoa_code"])
    hotspots = lsoa[["area_level", "area_code", "area_name", "period", "measure"]].assign(
        value=lsoa["rate_per_1000"].to_numpy(),
        value_type="rate_per_1000",
        gi_z=np.where(lsoa["area_code"].isin(town), 4.0, -0.3),
        gi_p=np.where(lsoa["area_code"].isin(town), 0.0001, 0.7),
        gi_q=np.where(lsoa["area_code"].isin(town), 0.001, 0.9),
        gi_bin=np.where(lsoa["area_code"].isin(town), 3, 0),
        lisa_i=0.1, lisa_p=0.5, lisa_q=0.6, lisa_quadrant="not significant",
        method="Getis-Ord Gi*", weights="queen contiguity, binary", permutations=999,
        seed=12345, alpha=0.05, fdr="Benjamini-Hochberg",
    )  # fmt: skip
    concentration = pd.DataFrame(
        [
            {"period": p, "measure": "all_serious_violence", "top_percent": tp, "lsoas": n,
             "share_of_incidents": s, "share_of_population": tp / 100 * 1.02,
             "share_of_area": tp / 100 * 0.2, "gini": 0.41, "generalised_gini": 0.38,
             "gini_random_baseline": 0.1}
            for p in PERIODS
            for tp, n, s in ((1, 1, 0.05), (5, 5, 0.2), (10, 9, 0.31), (20, 19, 0.45))
        ]
    )  # fmt: skip
    months = pd.date_range("2021-04-01", periods=28, freq="MS")
    trends = pd.concat(
        [
            pd.DataFrame(
                {"source": "police", "measure": "all_serious_violence", "area_level": level,
                 "area_code": code, "month": months,
                 "count": (np.full(28, base) + 5 * np.sin(np.arange(28) / 2)).round().astype(int)}
            )
            for level, code, base in (("county", "E10900009", 140), ("district", "E07900001", 80),
                                      ("district", "E07900002", 60))
        ]
    )  # fmt: skip
    trends["rolling_12m"] = (
        trends.groupby("area_code")["count"]
        .transform(lambda s: s.rolling(12).sum())
        .astype("Int64")
    )
    # under-25 knife admissions: 5 in 2022/23 (an NHS count of 1-7, suppressed in every pack)
    success = pd.DataFrame(
        [
            {"area_level": "county", "area_code": "E10900009", "area_name": "Testshire",
             "period": p, "months": PERIODS[p], "measure": m, "victims": v, "source": src,
             "count": c + (SUCCESS_U25_KNIFE_ADMISSIONS[p] if (m, v) == ("knife_admissions",
                           "under_25") else 0),
             "population": pop, "rate_per": per}
            for p in PERIODS
            for m, v, src, c, pop, per in (
                ("knife_admissions", "all", "hes", 13, 160_000, 100_000),
                ("knife_admissions", "under_25", "hes", 0, 45_000, 100_000),
                ("knife_enabled_serious_violence", "all", "police", 41, 160_000, 1000),
                ("knife_enabled_serious_violence", "under_25", "police", 12, 45_000, 1000),
                ("homicide", "all", "police", 2, 160_000, 100_000),
                ("homicide_knife", "all", "police", 1, 160_000, 100_000),
            )
        ]
    )  # fmt: skip
    success["rate"] = success["count"] / success["population"] * success["rate_per"]
    success["ci_lower"] = success["count"] * 0.8 / success["population"] * success["rate_per"]
    success["ci_upper"] = (success["count"] + 5.5) / success["population"] * success["rate_per"]
    success["previous_count"] = (success["count"] - 2).clip(lower=0)
    success["change"] = 2
    success["change_p"] = 0.6
    priorities = {}
    for name in ("priority_under_25s", "priority_domestic_abuse", "priority_drugs_alcohol",
                 "priority_places"):  # fmt: skip
        p = rates[rates["measure"] == "robbery"].copy()
        p["measure"] = name.removeprefix("priority_")
        priorities[name] = p
    risk = pd.DataFrame(
        [
            {"area_level": "lsoa", "period": p, "measure": "all_serious_violence", "factor": f,
             "method": "spearman", "estimate": e, "ci_lower": e - 0.1, "ci_upper": e + 0.1,
             "p_value": 0.01, "q_value": q, "n": 94, "circular": f == "crime_score"}
            for p in PERIODS
            for f, e, q in (("imd_score", 0.45, 0.01), ("crime_score", 0.6, 0.001),
                            ("young_population_share", 0.05, 0.6))
        ]
    )  # fmt: skip
    return {
        "hotspots": hotspots,
        "concentration": concentration,
        "trends": trends,
        "success_measures": success,
        "risk_correlations": risk,
        **priorities,
    }


def deprivation(areas: gpd.GeoDataFrame) -> pd.DataFrame:
    decile = np.where(areas["town"], 1, (np.arange(len(areas)) % 9) + 2)
    return pd.DataFrame(
        {"lsoa_code": areas["lsoa_code"], "lsoa_vintage": "2021", "imd_decile": decile}
    )


def period_months() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": list(PERIODS),
            "months": list(PERIODS.values()),
            "first_month": pd.to_datetime(["2021-04-01", "2022-04-01", "2023-04-01"]),
            "last_month": pd.to_datetime(["2022-03-01", "2023-03-01", "2023-07-01"]),
        }
    )


def publication(
    *, with_tables: bool = True, audience: str | AudienceRules = "public"
) -> Publication:
    areas = lsoas()
    rates = sv_rates(areas)
    exact: dict[str, pd.DataFrame | None] = {
        "sv_rates": rates,
        "geography_coverage": pd.DataFrame(
            {
                "source": "police",
                "period": ["2022/23", "2022/23"],
                "status": ["no_lsoa", "outside_area"],
                "incidents": [31, 0],
                "serious_violence": [12, 0],
            }
        ),  # fmt: skip
    }
    if with_tables:
        exact |= analytics_tables(areas, rates)
    rules = load_disclosure().audience(audience) if isinstance(audience, str) else audience
    return prepare_publication(
        exact,
        areas.drop(columns="town"),
        audience=rules,
        definition=DEFINITION,
        partitions={"all_serious_violence": ["violence", "robbery"]},
        source="police",
        county_code="E10900009",
        county_name="Testshire",
        population_year=2022,
        period_months=period_months(),
        deprivation=deprivation(areas),
        inputs=pd.DataFrame(
            {
                "source": ["police"],
                "file": ["/drop/police.csv"],
                "sha256": ["ab" * 32],
                "rows_loaded": [1234],
            }
        ),  # fmt: skip
        missing=MISSING,
    )
