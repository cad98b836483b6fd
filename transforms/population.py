"""Population denominators per LSOA from the long population table."""

from __future__ import annotations

import pandas as pd

UNDER_25_LIMIT = 24  # oldest age counted in "under 25"


def population_year(population: pd.DataFrame, wanted: int | None) -> int:
    """The mid-year estimate to use: the one asked for, else the latest in the file."""
    years = sorted(int(y) for y in population["year"].dropna().unique())
    if not years:
        raise ValueError("the population table is empty")
    if wanted is None:
        return years[-1]
    if wanted not in years:
        raise ValueError(f"population_year {wanted} is not in the population file (has {years})")
    return wanted


def denominators(population: pd.DataFrame, year: int) -> pd.DataFrame:
    """Persons and persons aged under 25 per LSOA for one year.

    Under-25s are only counted where the age bands split at 25 (single years, or five-year
    bands); broad bands such as 16-29 cannot give them, so the column is empty there rather
    than guessed.
    """
    rows = population[population["year"] == year]
    straddles = (rows["age_from"] <= UNDER_25_LIMIT) & (rows["age_to"] > UNDER_25_LIMIT)
    young = rows["age_to"] <= UNDER_25_LIMIT
    out = (
        rows.assign(
            under_25=rows["persons"].where(young, 0),
            straddles=straddles,
        )
        .groupby("lsoa_code", as_index=False)
        .agg(
            persons=("persons", "sum"),
            persons_under_25=("under_25", "sum"),
            split=("straddles", "any"),
        )
    )
    out["persons"] = out["persons"].astype("Int64")
    out["persons_under_25"] = out["persons_under_25"].astype("Int64").mask(out.pop("split"))
    return out
