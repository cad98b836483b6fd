"""The success-measures line chart: one page, small counts never drawn."""

from __future__ import annotations

import pandas as pd

from outputs.charts import success_measures_chart, success_measures_figure, suppressed
from tests.unit.test_outputs_maps import pdf_page_texts


def rows(measure: str, source: str, counts: list[int]) -> list[dict]:
    periods = ["2021/22", "2022/23", "2023/24"]
    return [
        {
            "area_level": "county", "measure": measure, "victims": victims, "source": source,
            "period": period, "count": n, "rate": n / 10, "ci_lower": n / 12, "ci_upper": n / 8,
            "rate_per": 100_000, "label": measure.replace("_", " "),
        }
        for victims in ("all", "under_25")
        for period, n in zip(periods, counts, strict=True)
    ]  # fmt: skip


def test_nhs_counts_of_1_to_7_and_police_counts_of_1_to_4_are_suppressed():
    counts = pd.Series([0, 1, 4, 5, 7, 8])
    assert suppressed(counts, pd.Series(["hes"] * 6)).tolist() == [
        False, True, True, True, True, False,
    ]  # fmt: skip
    assert suppressed(counts, pd.Series(["police"] * 6)).tolist() == [
        False, True, True, False, False, False,
    ]  # fmt: skip


def test_the_chart_is_one_pdf_page_with_the_suppressed_years_marked(tmp_path):
    table = pd.DataFrame(
        rows("knife_admissions", "hes", [30, 6, 41]) + rows("homicide", "police", [0, 2, 9])
    )
    fig = success_measures_figure(table, area_name="Demo County", definition_id="norfolk-2024")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["knife admissions", "homicide"]
    for ax in panels:  # 6 admissions and 2 homicides are suppressed: their year is marked
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert ticks == ["2021/22", "2022/23 *", "2023/24"]
        drawn = {round(y, 6) for line in ax.get_lines() for y in line.get_ydata()}
        assert 0.6 not in drawn and 0.2 not in drawn  # the suppressed rates are not drawn
    admissions = {round(y, 6) for line in panels[0].get_lines() for y in line.get_ydata()}
    assert {3.0, 4.1} <= admissions
    path = success_measures_chart(
        table, tmp_path / "sm.pdf", area_name="Demo County", definition_id="norfolk-2024"
    )
    pages = pdf_page_texts(path)
    assert len(pages) == 1 and "Demo County" in pages[0] and "suppressed" in pages[0]
