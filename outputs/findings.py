"""Plain sentences generated from the published numbers: periods with their months, key findings,
and what the rates leave out."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from scipy.stats import binomtest

HEADLINE = "all_serious_violence"


@dataclass(frozen=True)
class PeriodInfo:
    """A period label with the months of data it holds."""

    period: str
    months: int
    first_month: pd.Timestamp | None = None
    last_month: pd.Timestamp | None = None

    @property
    def complete(self) -> bool:
        return self.months >= 12

    @property
    def month_span(self) -> str:
        """'Apr–Jul 2024' or 'Apr 2023–Jan 2024'."""
        if self.first_month is None or self.last_month is None:
            return f"{self.months} months"
        a, b = pd.Timestamp(self.first_month), pd.Timestamp(self.last_month)
        first = calendar.month_abbr[a.month]
        last = f"{calendar.month_abbr[b.month]} {b.year}"
        return f"{first}–{last}" if a.year == b.year else f"{first} {a.year}–{last}"

    @property
    def text(self) -> str:
        """The label as printed everywhere: part-year periods carry their months."""
        if self.complete:
            return self.period
        return f"{self.period} (part year: {self.month_span}, {self.months} months)"


HOTSPOT_VALUE_TYPES = (
    "count",
    "rate_per_1000",
)  # Gi* on offence counts first, as police analysts map


def hotspot_rows(
    hotspots: pd.DataFrame, *, period: str, measure: str = HEADLINE, level: str = "lsoa"
) -> pd.DataFrame:
    """One row per area of a period's hotspot results: the offence-count analysis when the table
    holds several value types (count, rate), else whichever it holds."""
    h = hotspots[
        (hotspots["area_level"] == level)
        & (hotspots["period"].astype(str) == period)
        & (hotspots["measure"] == measure)
    ]
    if "value_type" in h.columns and h["value_type"].nunique() > 1:
        present = [v for v in HOTSPOT_VALUE_TYPES if v in set(h["value_type"])]
        h = h[h["value_type"] == (present[0] if present else h["value_type"].iloc[0])]
    return h.drop_duplicates("area_code")


def period_infos(rates: pd.DataFrame, months: pd.DataFrame | None = None) -> dict[str, PeriodInfo]:
    """PeriodInfo per period, from `months` (period, months, first_month, last_month) when given,
    else from the rates' `months` column."""
    out = {}
    if months is not None and len(months):
        for row in months.itertuples():
            out[str(row.period)] = PeriodInfo(
                str(row.period), int(row.months), row.first_month, row.last_month
            )
    for period, n in rates.groupby("period")["months"].max().items():
        out.setdefault(str(period), PeriodInfo(str(period), int(n)))
    return dict(sorted(out.items()))


def previous_complete(period: str, infos: Mapping[str, PeriodInfo]) -> str | None:
    """The period before `period`, when both are complete years (part years are not compared)."""
    ordered = sorted(infos)
    if period not in infos or not infos[period].complete:
        return None
    i = ordered.index(period)
    if i == 0 or not infos[ordered[i - 1]].complete:
        return None
    return ordered[i - 1]


def _n(value) -> str:
    return f"{int(value):,}"


def _rate(row) -> str:
    return f"{float(row['rate_per_1000']):.1f} per 1,000"


def key_findings(
    rates: pd.DataFrame,
    *,
    area_level: str,
    area_code: str,
    period: str,
    infos: Mapping[str, PeriodInfo],
    child_level: str | None,
    county_code: str | None = None,
    concentration: pd.DataFrame | None = None,
    hotspots: pd.DataFrame | None = None,
    measure: str = HEADLINE,
    suppressed_lsoas: int = 0,
) -> list[str]:
    """Key findings in plain sentences, from the published rates (suppressed values are skipped).

    The headline count and rate; how it compares with the county (for a district); the highest and
    lowest rates among the areas below it; the change on the previous complete year with an exact
    test for two Poisson counts (same population denominators); the share of offences in the top
    10% of LSOAs (from the concentration table); the number of hot spots (from the hotspot table).
    """
    r = rates[(rates["measure"] == measure)]
    info = infos.get(period, PeriodInfo(period, 12))
    here = r[(r["area_level"] == area_level) & (r["area_code"] == area_code)]
    now = here[here["period"] == period]
    out: list[str] = []
    if now.empty or pd.isna(now.iloc[0]["count"]):
        return [f"No published figures for {period}."]
    row = now.iloc[0]
    out.append(
        f"In {info.text} there were {_n(row['count'])} serious violence offences in "
        f"{row['area_name']}: {_rate(row)} residents (95% CI {float(row['ci_lower']):.1f} to "
        f"{float(row['ci_upper']):.1f})."
    )
    if area_level != "county" and county_code is not None:
        county = r[(r["area_level"] == "county") & (r["period"] == period)]
        if len(county) and isinstance(row.get("vs_county"), str):
            out.append(
                f"That is {row['vs_county']} than the county rate of {_rate(county.iloc[0])}"
                + (" (the 95% intervals do not overlap the county rate)." if row["vs_county"] != "similar" else ".")
            )  # fmt: skip
    if child_level:
        kids = r[(r["area_level"] == child_level) & (r["period"] == period)]
        if area_level != "county":
            kids = kids[
                kids["area_code"].isin(_children(rates, child_level, area_level, area_code))
            ]
        kids = kids.dropna(subset=["rate_per_1000"])
        if len(kids) >= 2:
            hi = kids.loc[kids["rate_per_1000"].astype(float).idxmax()]
            lo = kids.loc[kids["rate_per_1000"].astype(float).idxmin()]
            word = {"district": "district", "ward": "ward", "lsoa": "LSOA"}[child_level]
            out.append(
                f"Highest {word} rate: {hi['area_name']}, {_rate(hi)}"
                + (f" ({hi['vs_county']} than the county)" if isinstance(hi.get("vs_county"), str) else "")
                + f". Lowest: {lo['area_name']}, {_rate(lo)}"
                + (f" ({lo['vs_county']} than the county)" if isinstance(lo.get("vs_county"), str) else "")
                + "."
            )  # fmt: skip
    previous = previous_complete(period, infos)
    if not info.complete:
        out.append(
            f"No comparison with last year: {period} holds only {info.months} months of data "
            f"({info.month_span}); part years are left out of year-on-year comparisons."
        )
    elif previous is None:
        out.append("No comparison with last year: there is no earlier complete year in this run.")
    else:
        before = here[here["period"] == previous]
        if len(before) and pd.notna(before.iloc[0]["count"]):
            a, b = int(before.iloc[0]["count"]), int(row["count"])
            change = (b - a) / a * 100 if a else float("nan")
            p = binomtest(b, a + b, 0.5).pvalue if a + b else 1.0
            direction = "Up" if b > a else "Down" if b < a else "No change"
            verdict = (
                "a change unlikely to be chance (exact test, p < 0.05)"
                if p < 0.05
                else "within what chance alone could give (exact test, p ≥ 0.05)"
            )
            out.append(
                f"{direction} {abs(change):.1f}% on {previous} ({_n(a)} to {_n(b)} offences): {verdict}."
                if b != a
                else f"The same number of offences as in {previous} ({_n(a)})."
            )
    if concentration is not None and len(concentration):
        c = concentration[
            (concentration["period"].astype(str) == period)
            & (concentration["measure"] == measure)
            & (pd.to_numeric(concentration["top_percent"], errors="coerce") == 10)
        ]
        if len(c):
            c = c.iloc[0]
            out.append(
                f"The 10% of LSOAs with the most offences ({int(c['lsoas']):,} LSOAs) hold "
                f"{float(c['share_of_incidents']) * 100:.0f}% of the county's offences and "
                f"{float(c['share_of_population']) * 100:.0f}% of its residents."
            )
    else:
        out.append(
            "Share of offences in the top 10% of LSOAs: not available in this run (the "
            "concentration table was not built)."
        )
    if hotspots is not None and len(hotspots):
        h = hotspot_rows(hotspots, period=period, measure=measure)
        if area_level != "county":
            h = h[h["area_code"].isin(_children(rates, "lsoa", area_level, area_code))]
        hot = int((pd.to_numeric(h["gi_bin"], errors="coerce") >= 2).sum())
        if len(h):
            out.append(
                f"{hot:,} of {len(h):,} LSOAs are hot spots at 95% confidence or more "
                "(Getis-Ord Gi*, after the false discovery rate correction)."
            )
    if suppressed_lsoas:
        out.append(
            f"{suppressed_lsoas:,} LSOA figures in this pack are suppressed to protect small "
            "numbers; they are shown as * and dotted on the maps."
        )
    return out


def _children(rates: pd.DataFrame, child_level: str, level: str, code: str) -> set[str]:
    """Codes of `child_level` areas inside a `level` area, from the rates' `<level>_code` column."""
    column = f"{level}_code"
    if column not in rates:
        return set()
    kids = rates[(rates["area_level"] == child_level) & (rates[column] == code)]
    return set(kids["area_code"])


def coverage_note(coverage: pd.DataFrame | None, source: str, period: str) -> str:
    """What the rates leave out, for the period shown when the table has periods."""
    if coverage is None or coverage.empty:
        return ""
    c = coverage[coverage["source"] == source]
    scope = f"in {period}"
    if "period" in c.columns:
        c = c[c["period"].astype(str) == period]
    else:
        scope = "across all periods (coverage is not split by period in this run)"
    column = "serious_violence" if "serious_violence" in c.columns else "incidents"
    status = "status" if "status" in c.columns else "placement"
    counts = c.groupby(status)[column].sum()
    no_lsoa, outside = int(counts.get("no_lsoa", 0)), int(counts.get("outside_area", 0))
    what = "serious violence offences" if column == "serious_violence" else "incidents"
    if not (no_lsoa or outside):
        return f"Every one of the {what} {scope} was located in the area."
    return (
        f"Not in the rates {scope}: {no_lsoa:,} {what} with no LSOA and {outside:,} located "
        "outside the area (see geography_coverage.csv)."
    )
