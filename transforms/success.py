"""The Home Office's three Serious Violence Duty success measures, by year and area.

1. Hospital admissions for assault with a knife or sharp object: HES admissions whose external
   cause is X99 (`knife_admissions`, source hes), per 100,000 residents;
2. police-recorded knife- or sharp-object-enabled serious violence (`knife_enabled_serious_violence`,
   the force extract's knife flag on serious violence), per 1,000;
3. homicides: all (`homicide`: the definition's homicide category), knife-enabled
   (`homicide_knife`) and non-domestic (`homicide_non_domestic`: the domestic abuse flag not set),
   per 100,000. The Home Office counts homicides from the Homicide Index; this is police-recorded
   homicide from the force extract, which the Index later revises.

Each is also given for victims under 25 (`victims` = "under_25", per 100,000 or 1,000 residents
aged under 25). data.police.uk cannot tell homicide, knives or victims' ages, so with only open
police data the police measures are absent (`unavailable` says why).

Every row carries the count, rate and Fingertips interval (Byar / exact, `transforms.rates`), the
previous year's count, the change in count, and the p-value of the exact conditional test for two
Poisson counts (`compare_poisson_counts`), with each year's exposure its months of data (the
population is the same year's for both, so a part year is compared fairly).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from transforms.db import write_table
from transforms.definition import Definition
from transforms.measures import UNDER_25, MeasureSpec, available
from transforms.rates import RATE_COLUMNS, build_rates, compare_poisson_counts, denominators_sql

SUCCESS_TABLE = "build.success_measures"
SUCCESS_COLUMNS: list[str] = [
    "area_level",
    "area_code",
    "area_name",
    "period",
    "months",
    "measure",
    "victims",
    "source",
    "count",
    "population",
    "rate",
    "rate_per",
    "ci_lower",
    "ci_upper",
    "previous_period",
    "previous_count",
    "change",
    "change_p",
    "rate_ratio",
    "label",
    "definition_id",
]


@dataclass(frozen=True)
class SuccessMeasure:
    """One success measure: how it counts incidents of which source, and per how many residents."""

    name: str
    label: str
    source: str  # "hes" or "police" (the force extract)
    kind: str  # MeasureSpec kind: "flag" or "where"
    per: int
    flag: str | None = None
    where: str | None = None
    needs: tuple[str, ...] = ()  # incident columns the source must tell (known somewhere)


SUCCESS_MEASURES: tuple[SuccessMeasure, ...] = (
    SuccessMeasure(
        "knife_admissions",
        "Hospital admissions for assault with a knife or sharp object (ICD-10 X99)",
        "hes",
        "flag",
        100_000,
        flag="knife",
        needs=("knife",),
    ),
    SuccessMeasure(
        "knife_enabled_serious_violence",
        "Police-recorded knife- or sharp-object-enabled serious violence",
        "police",
        "flag",
        1_000,
        flag="knife",
        needs=("knife",),
    ),
    SuccessMeasure(
        "homicide",
        "Homicides (police-recorded)",
        "police",
        "where",
        100_000,
        where="sv_category = 'homicide'",
    ),
    SuccessMeasure(
        "homicide_knife",
        "Knife-enabled homicides (police-recorded)",
        "police",
        "where",
        100_000,
        where="sv_category = 'homicide' AND knife",
        needs=("knife",),
    ),
    SuccessMeasure(
        "homicide_non_domestic",
        "Non-domestic homicides (police-recorded)",
        "police",
        "where",
        100_000,
        where="sv_category = 'homicide' AND NOT domestic_abuse",
        needs=("domestic_abuse",),
    ),
)
VICTIMS = {"all": "", "under_25": "__under_25"}


def _specs(measure: SuccessMeasure) -> list[MeasureSpec]:
    """The all-victims and under-25 versions of a success measure as rates measures."""
    predicate = measure.where or f"sv_category IS NOT NULL AND {measure.flag}"
    return [
        MeasureSpec(measure.name, measure.label, "where", where=predicate),
        MeasureSpec(
            measure.name + VICTIMS["under_25"],
            measure.label + ", victims under 25",
            "where",
            denominator=UNDER_25,
            where=f"({predicate}) AND victim_under_25",
        ),
    ]


def previous_period(period: str) -> str:
    """The period a year earlier: "2022/23" -> "2021/22", "2022" -> "2021"."""
    year = int(str(period)[:4]) - 1
    return f"{year}/{(year + 1) % 100:02d}" if "/" in str(period) else str(year)


def _flag_known(con: duckdb.DuckDBPyConnection, source: str, columns: list[str]) -> bool:
    row = con.execute(
        "SELECT "
        + ", ".join(f"count({c}) > 0" for c in columns)
        + " FROM core.incidents WHERE source = ?",
        [source],
    ).fetchone()
    return bool(row) and all(row)


def success_measures(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    police_source: str,
    year: int,
    population_table: str = "ref.lsoa_population",
) -> tuple[pd.DataFrame, list[str]]:
    """Build `build.success_measures` (SUCCESS_COLUMNS) and return it with notes on the measures
    that could not be made (and why).

    `police_source` is the run's police source: the success measures need the force extract
    ("police"); with data.police.uk only they are left out.
    """
    denominators = denominators_sql(year, population_table)
    notes: list[str] = []
    parts = []
    for measure in SUCCESS_MEASURES:
        source = measure.source
        if source == "police" and police_source != "police":
            notes.append(f"{measure.name}: needs the force extract (data.police.uk cannot tell)")
            continue
        if source == "police" and measure.where and "homicide" not in definition.categories:
            notes.append(f"{measure.name}: the definition has no 'homicide' category")
            continue
        if not con.execute(
            "SELECT count(*) > 0 FROM core.incidents WHERE source = ?", [source]
        ).fetchone()[0]:
            notes.append(f"{measure.name}: no {source} records in this run")
            continue
        if measure.needs and not _flag_known(con, source, list(measure.needs)):
            notes.append(f"{measure.name}: {source} records do not tell {', '.join(measure.needs)}")
            continue
        specs = _specs(measure)
        kept = available(con, specs, source, denominators)
        for spec in specs:
            if spec not in kept:
                notes.append(f"{spec.name}: left out (no victim ages or no under-25 population)")
        if not kept:
            continue
        table = f"temp._success_{measure.name}"
        build_rates(
            con, kept, source, year, definition_id=definition.id, table=table,
            per=measure.per, population_table=population_table,
        )  # fmt: skip
        part = con.execute(f"SELECT * FROM {table}").df()
        con.execute(f"DROP TABLE {table}")
        part["rate_per"] = measure.per
        part["label"] = part["measure"].map({s.name: s.label for s in specs})
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=RATE_COLUMNS)
    table = with_previous_year(frame)
    write_table(con, SUCCESS_TABLE, table)
    return table, notes


def with_previous_year(rates: pd.DataFrame) -> pd.DataFrame:
    """Success-measure rows from build_rates output: victims split from the measure name, the
    rate renamed, and the previous year's count, change and exact-test p-value attached."""
    if rates.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SUCCESS_COLUMNS})
    out = rates.rename(columns={"rate_per_1000": "rate"}).copy()
    under = out["measure"].str.endswith(VICTIMS["under_25"])
    out["victims"] = np.where(under, "under_25", "all")
    out["measure"] = out["measure"].str.removesuffix(VICTIMS["under_25"])
    out["previous_period"] = out["period"].map(previous_period)
    keys = ["area_level", "area_code", "measure", "victims", "source"]
    before = out[[*keys, "period", "count", "months"]].rename(
        columns={
            "period": "previous_period",
            "count": "previous_count",
            "months": "previous_months",
        }
    )
    out = out.merge(before, on=[*keys, "previous_period"], how="left")
    has = out["previous_count"].notna()
    out.loc[~has, "previous_period"] = None
    out["change"] = (out["count"] - out["previous_count"]).where(has)
    tests = [
        compare_poisson_counts(c, p, m, pm) if ok else (np.nan, np.nan)
        for c, p, m, pm, ok in zip(
            out["count"], out["previous_count"].fillna(0), out["months"],
            out["previous_months"].fillna(1), has, strict=True,
        )
    ]  # fmt: skip
    out["rate_ratio"] = [t[0] for t in tests]
    out["change_p"] = [t[1] for t in tests]
    out = out.astype({"previous_count": "Int64", "change": "Int64"})
    order = {"county": 0, "district": 1, "ward": 2, "lsoa": 3}
    out = out.sort_values(
        ["area_level", "area_code", "measure", "victims", "period"],
        key=lambda c: c.map(order) if c.name == "area_level" else c,
        kind="stable",
    )
    return out[SUCCESS_COLUMNS].reset_index(drop=True)
