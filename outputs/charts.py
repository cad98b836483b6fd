"""Small line charts of the Serious Violence Duty success measures, one panel per measure.

Each panel shows the county rate by year for all victims and for victims under 25, with its 95%
confidence interval as error bars, so an analyst sees at a glance whether a change is larger
than the noise. Small counts are not plotted (DESIGN §6): NHS counts 1-7 (HES) and police counts
1-4 are left out and marked "*" on the axis, so a rate cannot be turned back into a count.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from outputs.tables import atomic_path

# Smallest and largest count that is suppressed, per source (NHS: 1-7; police: 1-4).
SUPPRESS = {"hes": (1, 7), "ae": (1, 7), "ambulance": (1, 7), "police": (1, 4)}
ORDER = [
    "knife_admissions",
    "knife_enabled_serious_violence",
    "homicide",
    "homicide_knife",
    "homicide_non_domestic",
]
VICTIMS = {"all": ("All victims", "#1f4e79", "o"), "under_25": ("Victims under 25", "#c55a11", "s")}


def suppressed(counts: pd.Series, sources: pd.Series) -> pd.Series:
    """True where a count falls in its source's suppression range (DESIGN §6)."""
    low = sources.map(lambda s: SUPPRESS.get(s, (1, 4))[0])
    high = sources.map(lambda s: SUPPRESS.get(s, (1, 4))[1])
    return (counts >= low) & (counts <= high)


def success_measures_chart(
    table: pd.DataFrame, path: str | Path, *, area_name: str, definition_id: str
) -> Path:
    """Write a one-page PDF of the county success measures (build.success_measures rows) as
    small multiples; returns the path. Measures absent from the table are not drawn."""
    fig = success_measures_figure(table, area_name=area_name, definition_id=definition_id)
    with atomic_path(path) as tmp, PdfPages(tmp) as pdf:
        pdf.savefig(fig)
    return Path(path)


def success_measures_figure(table: pd.DataFrame, *, area_name: str, definition_id: str) -> Figure:
    """The chart of `success_measures_chart` as a matplotlib Figure (one panel per measure)."""
    county = table[table["area_level"] == "county"].copy()
    present = set(county["measure"])
    measures = [m for m in ORDER if m in present] + sorted(present - set(ORDER))
    cols = 3
    rows = max(1, -(-len(measures) // cols))
    fig = Figure(figsize=(11.69, 3.2 * rows + 1.2))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(measures) :]:
        ax.set_visible(False)
    for ax, measure in zip(axes.flat, measures, strict=False):
        rows_of = county[county["measure"] == measure].sort_values("period")
        periods = list(dict.fromkeys(rows_of["period"]))
        hidden = set()
        for victims, (label, colour, marker) in VICTIMS.items():
            part = rows_of[rows_of["victims"] == victims].set_index("period").reindex(periods)
            small = suppressed(part["count"].fillna(0), part["source"].fillna(""))
            hidden |= {p for p, s in small.items() if s}
            shown = part[~small & part["rate"].notna()]
            x = [periods.index(p) for p in shown.index]
            ax.errorbar(
                x,
                shown["rate"],
                yerr=[shown["rate"] - shown["ci_lower"], shown["ci_upper"] - shown["rate"]],
                color=colour,
                marker=marker,
                capsize=3,
                linewidth=1.5,
                label=label,
            )
        ax.set_xticks(range(len(periods)))
        ax.set_xticklabels([p + (" *" if p in hidden else "") for p in periods], fontsize=8)
        per = int(rows_of["rate_per"].iloc[0])
        ax.set_ylabel(f"per {per:,} residents", fontsize=8)
        ax.set_ylim(bottom=0)
        label = str(rows_of["label"].iloc[0]) if "label" in rows_of else measure
        ax.set_title(textwrap.fill(label, 48), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    if measures:
        axes.flat[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Serious Violence Duty success measures, {area_name}", fontsize=13)
    fig.text(
        0.01,
        0.01,
        "Rates with 95% confidence intervals (Byar; exact below 10 events). * some values not"
        " shown: counts of 1-7 (NHS) or 1-4 (police) are suppressed. Knife admissions: HES,"
        " ICD-10 X99, by patient's residence. Police measures: force crime extract, definition "
        f"{definition_id}; homicide is police-recorded, not the Homicide Index.",
        fontsize=7,
        wrap=True,
    )
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    return fig
