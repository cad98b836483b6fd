"""Which rates measures exist for a source, and which incidents each one counts.

Measures come from the definition and the source, never from a hard-coded list: the headline
`all_serious_violence` (every incident with a serious-violence category), one measure per category
(the definition's categories for a force extract, the proxy categories for data.police.uk), the
proxy's separate measures (e.g. `public_order_proxy`, outside the headline) and the definition's
thematic measures (serious violence where a flag is true), which are left out when the source
cannot tell the flag or the denominator is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from transforms.definition import HEADLINE_MEASURE, Definition

POLICE_UK = "police_uk"


@dataclass(frozen=True)
class MeasureSpec:
    """One measure: its name, label, how incidents qualify, and its population denominator."""

    name: str
    label: str
    kind: str  # "headline" | "category" | "crime_types" | "flag"
    denominator: str = "persons"
    category: str | None = None
    crime_types: tuple[str, ...] = ()
    flag: str | None = None


def measure_specs(definition: Definition, source: str) -> list[MeasureSpec]:
    """Every measure the definition gives for a source, headline first (before data checks)."""
    if source == POLICE_UK:
        proxy = definition.police_uk_proxy
        specs = [
            MeasureSpec(HEADLINE_MEASURE, "All serious violence (police.uk proxy)", "headline")
        ]
        specs += [
            MeasureSpec(n, c.label, "category", category=n) for n, c in proxy.headline.items()
        ]
        specs += [
            MeasureSpec(n, c.label, "crime_types", crime_types=c.crime_types)
            for n, c in proxy.separate.items()
        ]
    else:
        specs = [
            MeasureSpec(HEADLINE_MEASURE, f"All serious violence ({definition.title})", "headline")
        ]
        specs += [
            MeasureSpec(n, c.label, "category", category=n)
            for n, c in definition.categories.items()
        ]
    specs += [
        MeasureSpec(n, m.label, "flag", denominator=m.denominator, flag=m.flag)
        for n, m in definition.measures.items()
    ]
    return specs


def available_measures(
    incidents: pd.DataFrame,
    definition: Definition,
    source: str,
    population: pd.DataFrame | None = None,
) -> list[MeasureSpec]:
    """The measures that can be computed: flag measures need the flag known for some incident of
    the source, and every measure needs its denominator column with at least one value."""
    out = []
    for spec in measure_specs(definition, source):
        if spec.kind == "flag":
            column = incidents.get(spec.flag)
            if column is None or not column.notna().any():
                continue
        if population is not None and (
            spec.denominator not in population or not population[spec.denominator].notna().any()
        ):
            continue
        out.append(spec)
    return out


def measure_membership(incidents: pd.DataFrame, specs: list[MeasureSpec]) -> pd.DataFrame:
    """A boolean column per measure: does each incident count towards it (unknown flags do not)."""
    serious = incidents["sv_category"].notna().to_numpy(dtype=bool)
    columns = {}
    for spec in specs:
        if spec.kind == "headline":
            member = serious
        elif spec.kind == "category":
            member = (incidents["sv_category"] == spec.category).fillna(False).to_numpy(dtype=bool)
        elif spec.kind == "crime_types":
            member = incidents["crime_type"].isin(spec.crime_types).to_numpy(dtype=bool)
        else:
            flag = incidents[spec.flag].astype("boolean").fillna(False).to_numpy(dtype=bool)
            member = serious & flag
        columns[spec.name] = member
    return pd.DataFrame(columns, index=incidents.index)
