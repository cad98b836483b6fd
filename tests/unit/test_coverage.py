"""The per-period vintage messages: each period on its own, with the cause and the fix."""

import pandas as pd

from transforms.coverage import outside_share_messages, vintage_loss_messages


def coverage(*rows: tuple) -> pd.DataFrame:
    columns = ["source", "period", "months", "incidents", "located", "outside"]
    columns += ["outside_other_vintage", "unplaceable_other_vintage"]
    return pd.DataFrame(rows, columns=columns)


# The case: 2022 (LSOA 2011 codes) fine, 2024 (LSOA 2021 codes) 11.1% outside; pooled
# over both years only 4.9%, which a pooled check would have passed.
MIXED = coverage(
    ("police_uk", "2022", 12, 80_000, 78_000, 780, 0, 0),
    ("police_uk", "2024", 12, 60_000, 58_500, 6_494, 6_300, 6_300),
)


def test_each_period_is_judged_alone() -> None:
    assert (MIXED["outside"].sum() / MIXED["located"].sum()) < 0.10
    [line] = outside_share_messages(MIXED, 0.10, "2011", lookup_given=False)
    assert line == (
        "2024 (police_uk): 11.1% of located incidents (6,494 of 58,500) have LSOA codes or points"
        " outside the boundaries; 97% of those codes are LSOA 2021 codes; give LSOA 2021"
        " boundaries or `inputs.lsoa_vintage_lookup`"
    )


def test_raising_the_threshold_does_not_hide_codes_lost_to_the_boundary_change() -> None:
    assert outside_share_messages(MIXED, 0.15, "2011", lookup_given=False) == []
    [line] = vintage_loss_messages(MIXED, "2011")
    assert line.startswith("2024 (police_uk): 6,300 incidents (10.8% of located) carry LSOA 2021")
    assert line.endswith("give LSOA 2021 boundaries or `inputs.lsoa_vintage_lookup`")


def test_lsoa_2011_codes_on_2021_boundaries_without_a_lookup_say_why_they_look_outside() -> None:
    old = coverage(("police_uk", "2022", 11, 73_818, 72_213, 7_612, 0, 0))
    [line] = outside_share_messages(old, 0.10, "2021", lookup_given=False)
    assert "give LSOA 2011 boundaries or `inputs.lsoa_vintage_lookup`" in line
    assert "cannot be told from codes outside the area" in line


def test_with_the_lookup_the_message_points_at_the_boundaries() -> None:
    [line] = outside_share_messages(MIXED, 0.10, "2011", lookup_given=True)
    assert "do the boundaries cover the whole force area?" in line
