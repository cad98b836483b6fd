"""One page style for every map pack: A4 landscape, DejaVu Sans (shipped with matplotlib), a header
that says what, where, when and for whom, a footer with definition, source and licences, tables
drawn cell by cell (so their numbers can be re-read from the PDF), and the plain panel shown when a
section's table was not built in this run.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

A4_LANDSCAPE = (11.69, 8.27)  # inches
FONT = "DejaVu Sans"
INK = "#1a1a1a"
MUTED = "#555555"
ACCENT = "#1f3b73"
RULE = "#bdbdbd"
OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0"
)
OS_ATTRIBUTION = "Contains OS data © Crown copyright and database right"
PROXY_BANNER = (
    "Proxy: data.police.uk open data (Violence and sexual offences + Robbery + Possession of "
    "weapons); not the local definition"
)
AUDIENCE_COLOURS = {"public": ("#e5f5e0", "#238b45"), "partner": ("#fee0d2", "#b2182b")}
BODY_TOP, BODY_BOTTOM = 0.845, 0.095
RC_PARAMS = {
    "font.family": FONT,
    # Type 3: DejaVu glyphs embedded as vector procedures with a Unicode map, so text can be
    # searched, copied and re-read; twice as fast to write as TrueType (Type 42) subsets
    "pdf.fonttype": 3,
    "svg.hashsalt": "sna",
    "hatch.linewidth": 0.4,
    "axes.titlesize": 10,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True)
class PageMeta:
    """What every page of a pack says: which area, period, definition, source and audience."""

    area_name: str
    period_text: str
    definition_id: str
    definition_hash: str
    source_note: str
    is_proxy: bool
    audience: str
    audience_marking: str
    run_id: str = ""  # the pipeline run that made the page (audit.runs)

    @property
    def short_hash(self) -> str:
        return (self.definition_hash or "")[:12]


def wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) if text else ""


def new_page(meta: PageMeta, title: str, subtitle: str = "") -> Figure:
    """An A4 landscape page with the pack's header: area and period, audience tag, title, proxy."""
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.text(
        0.03,
        0.972,
        f"{meta.area_name}  ·  {meta.period_text}  ·  Serious Violence Duty needs assessment",
        ha="left",
        va="center",
        fontsize=8.5,
        color=MUTED,
    )
    face, edge = AUDIENCE_COLOURS.get(meta.audience, ("#eeeeee", INK))
    fig.text(
        0.97,
        0.972,
        meta.audience_marking,
        ha="right",
        va="center",
        fontsize=8.5,
        fontweight="bold",
        color=edge,
        bbox={"boxstyle": "square,pad=0.35", "fc": face, "ec": edge, "lw": 1},
        gid="audience",
    )
    fig.text(0.03, 0.932, title, ha="left", va="center", fontsize=15, fontweight="bold", color=INK)
    if subtitle:
        fig.text(0.03, 0.896, subtitle, ha="left", va="center", fontsize=10, color="#333333")
    if meta.is_proxy:
        fig.text(
            0.03,
            0.862,
            PROXY_BANNER,
            ha="left",
            va="center",
            fontsize=8.5,
            fontweight="bold",
            color="#7f0000",
            bbox={"boxstyle": "square,pad=0.3", "fc": "#ffe0c2", "ec": "#c0392b", "lw": 0.8},
            gid="proxy_banner",
        )
    return fig


def add_footer(fig: Figure, meta: PageMeta, page: int, pages: int) -> None:
    """Definition, source and licence lines, the audience and the page number."""
    source = (meta.source_note or "").strip()
    lines = [
        f"Definition: {meta.definition_id} (sha256 {meta.short_hash})    Period: "
        f"{meta.period_text}    Audience: {meta.audience_marking}"
        + (f"    Run: {meta.run_id}" if meta.run_id else ""),
        wrap(source if source.lower().startswith("source") else f"Source: {source}", 200),
        OGL_ATTRIBUTION + ".  " + OS_ATTRIBUTION + ".",
    ]
    fig.add_artist(
        FancyBboxPatch(
            (0.03, 0.083), 0.94, 0.0, boxstyle="square,pad=0", ec=RULE, lw=0.6,
            transform=fig.transFigure,
        )
    )  # fmt: skip
    fig.text(
        0.03,
        0.075,
        "\n".join(line for line in lines if line),
        ha="left",
        va="top",
        fontsize=7,
        color="#333333",
        linespacing=1.35,
    )
    fig.text(0.97, 0.075, f"Page {page} of {pages}", ha="right", va="top", fontsize=7.5)


def not_available(fig: Figure, rect: Sequence[float], heading: str, reason: str) -> None:
    """The plain panel for a section whose table this run did not build."""
    x0, y0, x1, y1 = rect
    fig.add_artist(
        FancyBboxPatch(
            (x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=0.008",
            fc="#f6f6f6", ec=RULE, lw=0.8, transform=fig.transFigure,
        )
    )  # fmt: skip
    if heading:
        fig.text(x0 + 0.015, y1 - 0.03, heading, ha="left", va="top", fontsize=10,
                 fontweight="bold")  # fmt: skip
    fig.text(
        x0 + 0.015,
        y1 - (0.07 if heading else 0.025),
        wrap(f"Not available in this run: {reason}", int((x1 - x0) * 150)),
        ha="left",
        va="top",
        fontsize=9,
        color=MUTED,
        gid="not_available",
    )


def draw_table(
    fig: Figure,
    left: float,
    top: float,
    widths: Sequence[float],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    align: Sequence[str] | None = None,
    fontsize: float = 8.5,
    row_height: float | None = None,
    shade: Sequence[str | None] | None = None,
    bold_rows: Sequence[int] = (),
) -> float:
    """A table drawn one text per cell, header in bold over a rule; returns the bottom y.

    widths are fractions of the page width; align per column ("left" or "right"); shade an optional
    background colour per row. Every cell is one text object, never split, so the disclosure
    checker can read the numbers back from the PDF row by row.
    """
    align = align or ["left"] + ["right"] * (len(header) - 1)
    height = row_height or fontsize * 2.0 / 72 / A4_LANDSCAPE[1]
    xs = [left]
    for w in widths[:-1]:
        xs.append(xs[-1] + w)
    total = sum(widths)

    def cell_x(i: int) -> float:
        return xs[i] + 0.004 if align[i] == "left" else xs[i] + widths[i] - 0.006

    y = top - height / 2
    for i, text in enumerate(header):
        fig.text(cell_x(i), y, text, ha=align[i], va="center", fontsize=fontsize,
                 fontweight="bold", color=INK)  # fmt: skip
    y -= height / 2
    fig.add_artist(
        FancyBboxPatch((left, y), total, 0, boxstyle="square,pad=0", ec=INK, lw=0.8,
                       transform=fig.transFigure)
    )  # fmt: skip
    for r, row in enumerate(rows):
        y -= height
        colour = shade[r] if shade else None
        if colour:
            fig.add_artist(
                FancyBboxPatch((left, y), total, height, boxstyle="square,pad=0", fc=colour,
                               ec="none", transform=fig.transFigure, zorder=-1)
            )  # fmt: skip
        for i, text in enumerate(row):
            fig.text(cell_x(i), y + height / 2, text, ha=align[i], va="center", fontsize=fontsize,
                     fontweight="bold" if r in bold_rows else "normal", color=INK)  # fmt: skip
    fig.add_artist(
        FancyBboxPatch((left, y), total, 0, boxstyle="square,pad=0", ec=RULE, lw=0.6,
                       transform=fig.transFigure)
    )  # fmt: skip
    return y


def fmt_num(value, decimals: int = 0, marker: str = "*", hidden: bool = False) -> str:
    """A number for a table cell: the suppression marker when hidden, an en dash when missing."""
    if hidden:
        return marker
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if v != v:  # NaN
        return "–"
    return f"{v:,.{decimals}f}"


def fmt_ci(lower, upper, decimals: int = 1, marker: str = "*", hidden: bool = False) -> str:
    if hidden:
        return marker
    lo, hi = fmt_num(lower, decimals), fmt_num(upper, decimals)
    return "–" if "–" in (lo, hi) else f"{lo} to {hi}"
