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

import duckdb

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
    con: duckdb.DuckDBPyConnection, definition: Definition, source: str, denominators: str
) -> list[MeasureSpec]:
    """The measures that can be computed from core.incidents: flag measures need the flag known
    for some incident of the source, and every measure needs its denominator with at least one
    value in `denominators` (SQL giving lsoa_code, persons, persons_under_25)."""
    specs = measure_specs(definition, source)
    flags = sorted({s.flag for s in specs if s.kind == "flag"})
    known_flags = {}
    if flags:
        row = con.execute(
            "SELECT "
            + ", ".join(f"count({f}) > 0" for f in flags)
            + " FROM core.incidents WHERE source = ?",
            [source],
        ).fetchone()
        known_flags = dict(zip(flags, row, strict=True))
    has = con.execute(
        f"SELECT count(persons) > 0, count(persons_under_25) > 0 FROM ({denominators})"
    ).fetchone()
    denominator_known = dict(zip(("persons", "persons_under_25"), has, strict=True))
    return [
        spec
        for spec in specs
        if (spec.kind != "flag" or known_flags.get(spec.flag))
        and denominator_known.get(spec.denominator)
    ]
