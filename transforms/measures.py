"""Which rates measures exist for a source, and which incidents each one counts.

Besides serious violence (below), anti-social behaviour (`asb_specs`: police.uk rows of crime type
"Anti-social behaviour", or every council ASB record) and the NHS assault measures (`NHS_SPECS`:
ISTV A&E attendances, HES admissions, ambulance call-outs, each with its flag measures) are
measures of their own sources.

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
    kind: str  # "headline" | "category" | "crime_types" | "flag" | "all" | "where"
    denominator: str = "persons"
    category: str | None = None
    crime_types: tuple[str, ...] = ()
    flag: str | None = None
    where: str | None = None  # kind "where": a SQL predicate over core.incidents


ASB_MEASURE = "asb_incidents"
ASB_CRIME_TYPE = "Anti-social behaviour"
UNDER_25 = "persons_under_25"


def asb_specs(source: str) -> list[MeasureSpec]:
    """The anti-social behaviour measure of a source: police.uk ASB rows, or every council record."""
    if source == POLICE_UK:
        return [
            MeasureSpec(
                ASB_MEASURE,
                "Anti-social behaviour incidents (police.uk)",
                "crime_types",
                crime_types=(ASB_CRIME_TYPE,),
            )
        ]
    return [MeasureSpec(ASB_MEASURE, "Anti-social behaviour incidents (council)", "all")]


def _nhs(name: str, label: str, flag: str | None = None, under_25: bool = False) -> MeasureSpec:
    kind = "flag" if flag else "headline"
    return MeasureSpec(name, label, kind, UNDER_25 if under_25 else "persons", flag=flag)


# NHS assault measures per source (core.incidents.source), headline first; rates per 1,000.
NHS_SPECS: dict[str, list[MeasureSpec]] = {
    "ae": [
        _nhs("ae_assault_attendances", "A&E attendances for assault (ISTV)"),
        _nhs("ae_knife_assaults", "A&E attendances for assault by a sharp object", "knife"),
        _nhs("ae_alcohol_related_assaults", "A&E assault attendances involving alcohol", "alcohol"),
        _nhs("ae_drug_related_assaults", "A&E assault attendances involving drugs", "drugs"),
        _nhs("ae_public_place_assaults", "A&E attendances for assault in a public place",
             "public_place"),
        _nhs("ae_night_time_economy_assaults",
             "A&E attendances for assault in the night-time economy", "night_time_economy"),
        _nhs("ae_assaults_victims_under_25",
             "A&E attendances for assault, patients under 25 (per 1,000 aged under 25)",
             "victim_under_25", under_25=True),
    ],
    "hes": [
        _nhs("hes_assault_admissions", "Hospital admissions for assault (X85-Y09)"),
        _nhs("hes_knife_admissions", "Hospital admissions for assault by a sharp object (X99)",
             "knife"),
        _nhs("hes_domestic_abuse_admissions",
             "Hospital admissions for assault by a spouse or partner (Y07.0)", "domestic_abuse"),
        _nhs("hes_assault_admissions_under_25",
             "Hospital admissions for assault, patients under 25 (per 1,000 aged under 25)",
             "victim_under_25", under_25=True),
    ],
    "ambulance": [
        _nhs("ambulance_assault_callouts", "Ambulance call-outs to assaults"),
        _nhs("ambulance_assault_callouts_under_25",
             "Ambulance call-outs to assaults, patients under 25 (per 1,000 aged under 25)",
             "victim_under_25", under_25=True),
    ],
}  # fmt: skip


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
    """The definition's measures that can be computed for a source (see `available`)."""
    return available(con, measure_specs(definition, source), source, denominators)


def available(
    con: duckdb.DuckDBPyConnection, specs: list[MeasureSpec], source: str, denominators: str
) -> list[MeasureSpec]:
    """The measures that can be computed from core.incidents: flag measures need the flag known
    for some incident of the source, and every measure needs its denominator with at least one
    value in `denominators` (SQL giving lsoa_code, persons, persons_under_25)."""
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
