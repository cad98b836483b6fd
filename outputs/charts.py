"""Charts for the map pack: rate trend by period, monthly counts, rate by deprivation decile and
risk-factor correlations. Each draws on a given Axes and returns nothing."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd

from outputs.findings import PeriodInfo
from transforms.disclosure import rate_from_count

AREA_COLOUR = "#b2182b"
COUNTY_COLOUR = "#6b6b6b"
PART_YEAR_NOTE = "Hollow markers: part year (months noted); not comparable with full years."


def trend_chart(
    ax,
    rates: pd.DataFrame,
    *,
    area: tuple[str, str],
    county: tuple[str, str] | None,
    infos: Mapping[str, PeriodInfo],
    measure: str,
) -> None:
    """Rate per 1,000 with 95% CIs by period for the area (and the county for comparison).

    Complete years are joined by a line; part years are hollow, unjoined and labelled with their
    months, because a part-year rate counts fewer months and is not comparable.
    """
    r = rates[rates["measure"] == measure]
    periods = sorted(set(r["period"]))
    x = {p: i for i, p in enumerate(periods)}
    series = [(area, AREA_COLOUR, 2.0)]
    if county and county != area:
        series.append((county, COUNTY_COLOUR, 1.2))
    for (level, code), colour, width in series:
        s = r[(r["area_level"] == level) & (r["area_code"] == code)].sort_values("period")
        if s.empty:
            continue
        name = str(s["area_name"].iloc[0])
        full = s[[infos.get(p, PeriodInfo(p, 12)).complete for p in s["period"]]]
        part = s[[not infos.get(p, PeriodInfo(p, 12)).complete for p in s["period"]]]
        for frame, face in ((full, colour), (part, "white")):
            if frame.empty:
                continue
            xs = [x[p] for p in frame["period"]]
            y = frame["rate_per_1000"].astype(float).to_numpy()
            err = np.vstack(
                [
                    y - frame["ci_lower"].astype(float).to_numpy(),
                    frame["ci_upper"].astype(float).to_numpy() - y,
                ]
            )
            ax.errorbar(xs, y, yerr=err, fmt="o", color=colour, mfc=face, mec=colour,
                        ms=6, capsize=3, lw=1, zorder=3)  # fmt: skip
        if len(full) > 1:
            ax.plot([x[p] for p in full["period"]], full["rate_per_1000"].astype(float),
                    color=colour, lw=width, label=name, zorder=2)  # fmt: skip
        else:
            ax.plot([], [], color=colour, lw=width, label=name)
        for p, y in zip(part["period"], part["rate_per_1000"].astype(float), strict=True):
            ax.annotate(f"{infos[p].months} months\n({infos[p].month_span})", (x[p], y),
                        xytext=(8, -4), textcoords="offset points", fontsize=7.5,
                        color=colour)  # fmt: skip
    ax.set_xticks(range(len(periods)), periods)
    ax.set_xlim(-0.5, len(periods) - 0.5 + 0.4)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("Offences per 1,000 residents (95% CI)")
    ax.grid(axis="y", color="#e6e6e6", lw=0.6)
    ax.legend(loc="lower left", frameon=False)


def monthly_chart(ax, trends: pd.DataFrame) -> None:
    """Monthly counts (bars) with the 12-month rolling total divided by 12 (line)."""
    t = trends.sort_values("month")
    months = pd.to_datetime(t["month"])
    counts = pd.to_numeric(t["count"], errors="coerce").astype(float)
    ax.bar(months, counts, width=25, color="#fcae91", label="Offences in the month")
    if "rolling_12m" in t:
        rolling = pd.to_numeric(t["rolling_12m"], errors="coerce").astype(float) / 12
        ax.plot(months, rolling, color=AREA_COLOUR, lw=1.6, label="12-month average")
    hidden = t["suppressed"].astype(bool).to_numpy() if "suppressed" in t else counts.isna()
    if hidden.any():
        ax.plot(months[hidden], np.zeros(hidden.sum()), "x", color="#555555",
                label="Suppressed (small number)")  # fmt: skip
    ax.set_ylim(bottom=0)
    ax.set_ylabel("Offences per month")
    ax.grid(axis="y", color="#e6e6e6", lw=0.6)
    ax.legend(loc="lower left", frameon=False, fontsize=7.5)


def rate_by_decile(lsoa_rates: pd.DataFrame, deprivation: pd.DataFrame) -> pd.DataFrame:
    """Rate per 1,000 with 95% CI by IMD decile (1 = most deprived), from exact LSOA counts.

    lsoa_rates: lsoa_code, count, population. Only the chart shows it (no counts are printed), so
    the decile totals cannot be set against published LSOA counts to undo suppression.
    """
    joined = lsoa_rates.merge(
        deprivation[["lsoa_code", "imd_decile"]].drop_duplicates("lsoa_code"), on="lsoa_code"
    )
    joined = joined.dropna(subset=["imd_decile", "population"])
    by = joined.groupby(joined["imd_decile"].astype(int)).agg(
        count=("count", "sum"), population=("population", "sum"), lsoas=("lsoa_code", "size")
    )
    rate, lower, upper = rate_from_count(by["count"], by["population"])
    return by.assign(
        rate_per_1000=rate.to_numpy(), ci_lower=lower.to_numpy(), ci_upper=upper.to_numpy()
    ).reset_index(names="imd_decile")


def decile_chart(ax, profile: pd.DataFrame, area_rate: float | None) -> None:
    """Bars of the rate by IMD decile with 95% CIs, and the area's rate as a dashed line."""
    p = profile.sort_values("imd_decile")
    y = p["rate_per_1000"].astype(float).to_numpy()
    err = np.vstack(
        [y - p["ci_lower"].astype(float).to_numpy(), p["ci_upper"].astype(float).to_numpy() - y]
    )
    ax.bar(p["imd_decile"], y, color="#ef8a62", edgecolor="#b2182b", lw=0.6, yerr=err,
           capsize=2, error_kw={"lw": 0.8}, label="Rate in the decile (95% CI)")  # fmt: skip
    if area_rate is not None and np.isfinite(area_rate):
        ax.axhline(area_rate, color="#333333", ls="--", lw=1, label="Whole area")
    ax.set_xticks(range(1, 11))
    ax.set_xlabel("IMD decile of the LSOA (1 = most deprived 10% in England)")
    ax.set_ylabel("Offences per 1,000 residents")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#e6e6e6", lw=0.6)
    ax.legend(loc="upper right", frameon=False)


FACTOR_LABELS = {
    "imd_score": "IMD score",
    "income_score": "Income deprivation",
    "employment_score": "Employment deprivation",
    "education_score": "Education deprivation",
    "health_score": "Health deprivation",
    "crime_score": "Crime domain (circular)",
    "barriers_score": "Barriers to housing and services",
    "living_environment_score": "Living environment",
    "asb_rate": "Anti-social behaviour rate",
    "young_population_share": "Share aged under 25",
}


def correlation_chart(ax, correlations: pd.DataFrame) -> None:
    """Spearman correlations with 95% CIs, one row per factor; filled when significant after FDR
    (q < 0.05); the IMD crime domain is marked circular."""
    c = correlations.sort_values("estimate").reset_index(drop=True)
    y = np.arange(len(c))
    est = c["estimate"].astype(float).to_numpy()
    lo = c["ci_lower"].astype(float).to_numpy()
    hi = c["ci_upper"].astype(float).to_numpy()
    sig = pd.to_numeric(c.get("q_value"), errors="coerce").fillna(1).to_numpy() < 0.05
    ax.hlines(y, lo, hi, color="#555555", lw=1.2)
    ax.scatter(est[sig], y[sig], color=AREA_COLOUR, zorder=3, s=28, label="q < 0.05 (FDR)")
    ax.scatter(est[~sig], y[~sig], facecolor="white", edgecolor=AREA_COLOUR, zorder=3, s=28,
               label="not significant")  # fmt: skip
    labels = []
    given = c["label"] if "label" in c else [None] * len(c)
    for factor, circular, text in zip(
        c["factor"], c.get("circular", [False] * len(c)), given, strict=True
    ):
        label = FACTOR_LABELS.get(str(factor), str(factor).replace("_", " "))
        if isinstance(text, str) and text:  # the analysis's own words, shortened for the axis
            label = text.split(" (")[0]
        if bool(circular) and "circular" not in label:
            label += " (circular)"
        labels.append(label)
    ax.set_yticks(y, ["\n".join(textwrap.wrap(label, 30)) for label in labels])
    ax.axvline(0, color="#999999", lw=0.8)
    ax.set_xlim(-1, 1)
    ax.set_xticks([-1, -0.5, 0, 0.5, 1])
    ax.set_xlabel("Spearman correlation with the LSOA rate (95% CI)")
    ax.legend(loc="lower right", frameon=False, fontsize=7.5)


# One style per series, told apart by line and marker as well as colour, so the chart reads in
# greyscale print: solid with filled circles, dashed with squares, dotted with triangles, dash-dot
# with diamonds.
SERIES_STYLES = (
    ("#1f3b73", "-", "o"),
    ("#d95f02", "--", "s"),
    ("#4d4d4d", ":", "^"),
    ("#7b3294", "-.", "D"),
)
SUPPRESSED_MARK = "x"
SUPPRESSED_LABEL = "x on the axis: suppressed (small number), not plotted"


def success_chart(
    ax,
    rows: pd.DataFrame,
    *,
    periods: list[str],
    series: list[tuple[str, str, str]],
    value: str,
    infos: Mapping[str, PeriodInfo],
) -> bool:
    """A small line chart of one success measure by period, from PUBLISHED rows only.

    rows: `success_measures` rows of one area as the audience may see them (`suppressed` marks a
    hidden count; its rate and CI are already blank). series: (measure, victims, label) per line.
    value: "rate" (with 95% CI whiskers) or "count". Complete years are joined; a part year is a
    hollow, unjoined point. A suppressed value is never plotted: the line has a gap there and an
    x sits on the axis. Nothing prints a value (no data labels): the numbers live in the tables,
    which the disclosure checker re-reads. Returns whether any point was suppressed.
    """
    complete = np.array([infos.get(p, PeriodInfo(p, 12)).complete for p in periods])
    hidden_any = False
    top = 0.0
    width = min(0.3, 0.12 * len(series))
    for i, (measure, victims, label) in enumerate(series):
        colour, style, marker = SERIES_STYLES[i % len(SERIES_STYLES)]
        s = rows[(rows["measure"] == measure) & (rows["victims"] == victims)]
        s = s.drop_duplicates("period").set_index(s["period"].astype(str)).reindex(periods)
        hidden = s["suppressed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        # never plot a suppressed value, whatever the frame holds
        y = np.where(hidden, np.nan, _floats(s[value]))
        xs = np.arange(len(periods)) + (i - (len(series) - 1) / 2) * width / max(len(series), 1)
        ax.plot(
            xs,
            np.where(complete, y, np.nan),
            color=colour,
            ls=style,
            lw=1.6,
            zorder=2,
            clip_on=False,
        )
        err = None
        if value == "rate":
            lo = np.where(hidden, np.nan, _floats(s["ci_lower"]))
            hi = np.where(hidden, np.nan, _floats(s["ci_upper"]))
            err = np.vstack([y - lo, hi - y])
            top = max(top, np.nanmax(hi, initial=0.0))
        top = max(top, np.nanmax(y, initial=0.0))
        for mask, face in ((complete, colour), (~complete, "white")):
            if not np.isfinite(y[mask]).any():
                continue
            ax.errorbar(xs[mask], y[mask], yerr=None if err is None else err[:, mask], fmt=marker,
                        color=colour, mfc=face, mec=colour, ms=5, capsize=2.5, elinewidth=0.9,
                        zorder=3, clip_on=False)  # fmt: skip
        ax.plot([], [], color=colour, ls=style, marker=marker, ms=5, lw=1.6, label=label)
        if hidden.any():
            hidden_any = True
            ax.plot(xs[hidden], np.full(hidden.sum(), 0.03), SUPPRESSED_MARK, color=colour,
                    ms=7, mew=1.6, transform=ax.get_xaxis_transform(), clip_on=False,
                    zorder=4)  # fmt: skip
    if hidden_any:
        ax.plot([], [], SUPPRESSED_MARK, color="#333333", ms=7, mew=1.6, label=SUPPRESSED_LABEL)
    ticks = [
        p if infos.get(p, PeriodInfo(p, 12)).complete else f"{p}\n({infos[p].months} months)"
        for p in periods
    ]
    ax.set_xticks(range(len(periods)), ticks)
    ax.set_xlim(-0.5, len(periods) - 0.5)
    ax.set_ylim(0, top * 1.12 if top > 0 else 1)
    if value == "count":
        ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", color="#e6e6e6", lw=0.6)
    return hidden_any


def _floats(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
