"""Disclosure control on crafted tables whose right answers are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transforms.disclosure import (
    DEFAULT_DISCLOSURE,
    KEY,
    AudienceRules,
    DisclosureError,
    SourceRule,
    apply_protection,
    audit_published,
    equations,
    load_disclosure,
    protect_counts,
)

POLICE_PUBLIC = AudienceRules(
    "public", "Public", "PUBLIC", "*", {"police": SourceRule((1, 4), None, frozenset({"lsoa"}))}
)
NHS = AudienceRules("public", "Public", "PUBLIC", "*", {"hes": SourceRule((1, 7), 5, None)})
GEO = pd.DataFrame(
    {
        "lsoa_code": ["A", "B", "C", "D", "E"],
        "ward_code": ["W1", "W1", "W1", "W2", "W2"],
        "district_code": "D1",
    }
)


def cells(rows: list[tuple], source: str = "police", period: str = "2023/24") -> pd.DataFrame:
    """(level, code, measure, count) tuples as a cell table."""
    return pd.DataFrame(
        [
            {
                "source": source,
                "area_level": lv,
                "area_code": c,
                "period": period,
                "measure": m,
                "count": n,
            }
            for lv, c, m, n in rows
        ]
    )


def status_of(protected: pd.DataFrame) -> dict[tuple[str, str], str]:
    return {(r.area_code, r.measure): r.status for r in protected.itertuples()}


def shown_from(protected: pd.DataFrame) -> pd.DataFrame:
    """What a reader sees of one protected table."""
    return protected[KEY].assign(
        published=protected["published"], hidden=protected["status"].isin(["primary", "secondary"])
    )


def test_the_shipped_rules_load_with_the_issue_defaults() -> None:
    config = load_disclosure(DEFAULT_DISCLOSURE)
    public = config.audience("public")
    assert public.rule("police").suppress == (1, 4) and public.rule("police").governs("lsoa")
    assert public.rule("hes").suppress == (1, 7) and public.rule("hes").round_to == 5
    assert public.rule("hes").governs("county")
    assert config.audience(None).name == config.default_audience
    assert "PARTNER" in config.audience("partner").marking


def test_bad_rules_are_refused_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        "default_audience: public\naudiences:\n  public:\n    rules:\n"
        "      police: {suppress: [4, 1]}\n"
    )
    with pytest.raises(DisclosureError, match=r"audiences.public.rules.police.*suppress"):
        load_disclosure(path)
    path.write_text(
        "default_audience: public\naudiences:\n  public:\n    rules:\n"
        "      polise: {suppress: [1, 4]}\n"
    )
    with pytest.raises(DisclosureError, match="unknown source"):
        load_disclosure(path)


def test_primary_police_rule_hides_1_to_4_at_lsoa_only() -> None:
    table = cells(
        [
            ("lsoa", "A", "m", 0),
            ("lsoa", "B", "m", 4),
            ("lsoa", "C", "m", 5),
            ("ward", "W1", "m", 9),
        ]
    )
    out = protect_counts(table, POLICE_PUBLIC)  # no geography: no equations
    assert out["status"].tolist() == ["shown", "primary", "shown", "shown"]
    assert out["published"].tolist()[0] == 0 and pd.isna(out["published"][1])


def test_nhs_rule_stars_1_to_7_and_rounds_the_rest_to_5_at_every_level() -> None:
    table = cells(
        [("county", "K", m, n) for m, n in zip("abcdefg", [0, 1, 7, 8, 12, 13, 102], strict=True)],
        source="hes",
    )
    out = protect_counts(table, NHS)
    assert out["status"].tolist() == [
        "shown", "primary", "primary", "rounded", "rounded", "rounded", "rounded"
    ]  # fmt: skip
    assert out["published"].tolist()[3:] == [10, 10, 15, 100]
    assert out["published"][0] == 0


def test_a_single_suppressed_lsoa_takes_its_smallest_sibling_with_it() -> None:
    """Ward W1 = 38 = A 3 + B 10 + C 25: A alone would be 38 - 10 - 25. B (the smaller) goes too."""
    table = cells([("lsoa", "A", "m", 3), ("lsoa", "B", "m", 10), ("lsoa", "C", "m", 25)])
    table = pd.concat([table, cells([("ward", "W1", "m", 38)])], ignore_index=True)
    out = status_of(protect_counts(table, POLICE_PUBLIC, geography=GEO))
    assert out == {
        ("A", "m"): "primary",
        ("B", "m"): "secondary",
        ("C", "m"): "shown",
        ("W1", "m"): "shown",
    }


def test_an_only_child_takes_its_total_with_it() -> None:
    """Ward W2 holds D and E; E is 0, so hiding D (2) must hide the ward total as well... or E."""
    table = cells([("lsoa", "D", "m", 2), ("lsoa", "E", "m", 0), ("ward", "W2", "m", 2)])
    out = protect_counts(table, POLICE_PUBLIC, geography=GEO)
    hidden = out["status"].isin(["primary", "secondary"])
    assert hidden.sum() >= 2 and out.loc[out["area_code"] == "D", "status"].item() == "primary"
    reader = audit_published(shown_from(out), table, POLICE_PUBLIC, geography=GEO)
    assert reader.empty


def bridge_rows(ward: str, total: str) -> list[tuple]:
    """Four LSOAs A-D of categories w-z in one ward, with their totals (measure `total`): the
    counts of the bridge-of-two-rectangles case."""
    counts = {
        "A": [3, 4, 20, 30], "B": [2, 9, 3, 40], "C": [20, 30, 2, 3], "D": [25, 35, 4, 1],
    }  # fmt: skip
    rows = []
    for lsoa, values in counts.items():
        rows += [("lsoa", lsoa, m, v) for m, v in zip("wxyz", values, strict=True)]
        rows.append(("lsoa", lsoa, total, sum(values)))
    for i, m in enumerate("wxyz"):
        rows.append(("ward", ward, m, sum(v[i] for v in counts.values())))
    rows.append(("ward", ward, total, sum(map(sum, counts.values()))))
    return rows


def test_a_cell_bridging_two_rectangles_is_found_by_the_algebra_and_protected() -> None:
    """Four LSOAs (rows, each the sum of categories w-z) in one ward (columns, each the sum of its
    LSOAs). Hiding two rectangles, A-B x w-x and C-D x y-z, plus the bridge cell (B, y) leaves
    every row and column with two or more hidden cells, yet the bridge is the sum of rows A and B
    minus columns w and x. The audit must see it; protection must hide more."""
    table = cells(bridge_rows("W1", "all"))
    geo = pd.DataFrame({"lsoa_code": list("ABCD"), "ward_code": "W1"})
    parts = {"all": list("wxyz")}
    hide = {("A", "w"), ("A", "x"), ("B", "w"), ("B", "x"), ("C", "y"), ("C", "z"), ("D", "y"),
            ("D", "z"), ("B", "y")}  # fmt: skip
    hidden = [(c, m) in hide for c, m in zip(table["area_code"], table["measure"], strict=True)]
    naive = table[KEY].assign(published=table["count"].mask(hidden), hidden=hidden)
    leaked = audit_published(naive, table, POLICE_PUBLIC, geography=geo, partitions=parts)
    assert list(zip(leaked["area_code"], leaked["measure"], strict=True)) == [("B", "y")]
    protected = protect_counts(table, POLICE_PUBLIC, geography=geo, partitions=parts)
    assert audit_published(
        shown_from(protected), table, POLICE_PUBLIC, geography=geo, partitions=parts
    ).empty


def test_row_and_column_totals_together_do_not_reveal_a_cell() -> None:
    """A 2 x 2 table inside a ward (LSOA A, B x categories x, y) with margins on both sides:
    headline = x + y for each LSOA, ward = A + B for each measure. One small cell needs three more
    (the classic rectangle), and the result passes the algebraic audit."""
    rows = [
        ("lsoa", "A", "x", 2), ("lsoa", "A", "y", 30), ("lsoa", "A", "all", 32),
        ("lsoa", "B", "x", 9), ("lsoa", "B", "y", 40), ("lsoa", "B", "all", 49),
        ("ward", "W1", "x", 11), ("ward", "W1", "y", 70), ("ward", "W1", "all", 81),
    ]  # fmt: skip
    table = cells(rows)
    geo = GEO[GEO["lsoa_code"].isin(["A", "B"])]
    parts = {"all": ["x", "y"]}
    out = protect_counts(table, POLICE_PUBLIC, geography=geo, partitions=parts)
    hidden = {k for k, v in status_of(out).items() if v in ("primary", "secondary")}
    assert hidden == {("A", "x"), ("A", "y"), ("B", "x"), ("B", "y")}
    assert audit_published(
        shown_from(out), table, POLICE_PUBLIC, geography=geo, partitions=parts
    ).empty
    eqs = equations(out, geo, parts)
    per_eq = eqs.assign(h=out["status"].isin(["primary", "secondary"]).to_numpy()[eqs["cell"]])
    assert (per_eq.groupby("eq")["h"].sum() != 1).all()


def test_differencing_two_tables_each_safe_alone_is_caught_and_prevented() -> None:
    """Table 1 (measure 'all' by LSOA in ward W1) hides A (3) and B (10). Table 2 (LSOA B by
    category) hides B's small category and its complement but prints B's headline, 10. Together:
    A = 38 - 10 - 25 = 3. Protecting both tables as one set of cells stops it."""
    t1 = cells(
        [
            ("lsoa", "A", "all", 3),
            ("lsoa", "B", "all", 10),
            ("lsoa", "C", "all", 25),
            ("ward", "W1", "all", 38),
        ]
    )
    t2 = cells([("lsoa", "B", "all", 10), ("lsoa", "B", "x", 6), ("lsoa", "B", "y", 4)])
    parts = {"all": ["x", "y"]}
    alone1 = protect_counts(t1, POLICE_PUBLIC, geography=GEO, partitions=parts)
    alone2 = protect_counts(t2, POLICE_PUBLIC, geography=GEO, partitions=parts)
    exact = pd.concat([t1, t2]).drop_duplicates(KEY)
    for alone, table in ((alone1, t1), (alone2, t2)):  # each table alone is safe
        assert audit_published(
            shown_from(alone), table, POLICE_PUBLIC, geography=GEO, partitions=parts
        ).empty
    both = pd.concat([shown_from(alone1), shown_from(alone2)])
    leaked = audit_published(both, exact, POLICE_PUBLIC, geography=GEO, partitions=parts)
    assert ("A", "all") in set(zip(leaked["area_code"], leaked["measure"], strict=True))
    assert leaked.loc[leaked["area_code"] == "A", "reader_lower"].item() == 3

    joint = protect_counts(exact, POLICE_PUBLIC, geography=GEO, partitions=parts)
    published = pd.concat(
        [
            shown_from(joint.merge(t[KEY], on=KEY))  # each table prints its own rows
            for t in (t1, t2)
        ]
    )
    assert audit_published(published, exact, POLICE_PUBLIC, geography=GEO, partitions=parts).empty


def test_nhs_rounding_keeps_stars_safe_from_rounded_totals() -> None:
    """County 20 = A 6 + B 14: A is '*', B shows 15, the county 20. A = 20 - 15 +-5: not exact."""
    table = cells(
        [("lsoa", "A", "k", 6), ("lsoa", "B", "k", 14), ("county", "K", "k", 20)], source="hes"
    )
    geo = pd.DataFrame({"lsoa_code": ["A", "B"], "county_code": "K"})
    out = protect_counts(table, NHS, geography=geo)
    assert status_of(out)[("A", "k")] == "primary"
    assert audit_published(shown_from(out), table, NHS, geography=geo).empty


def test_rates_and_intervals_from_a_hidden_count_are_hidden_too() -> None:
    table = cells([("lsoa", "A", "m", 3), ("lsoa", "B", "m", 50)]).assign(
        population=[1500, 1500],
        rate_per_1000=[2.0, 33.3],
        ci_lower=[0.4, 24.7],
        ci_upper=[5.8, 43.9],
        vs_county=["similar", "higher"],
    )
    protected = protect_counts(table, POLICE_PUBLIC)
    out = apply_protection(table, protected)
    row = out[out["area_code"] == "A"].iloc[0]
    assert row["suppressed"] and pd.isna(row["count"])
    assert all(pd.isna(row[c]) for c in ("rate_per_1000", "ci_lower", "ci_upper", "vs_county"))
    assert out.loc[out["area_code"] == "B", "rate_per_1000"].item() == pytest.approx(33.3)


def test_rounded_nhs_counts_get_rates_from_the_rounded_count() -> None:
    table = cells([("county", "K", "k", 13)], source="hes").assign(
        population=[100_000], rate_per_1000=[0.13], ci_lower=[0.07], ci_upper=[0.22]
    )
    out = apply_protection(table, protect_counts(table, NHS))
    assert out["count"].item() == 15
    assert out["rate_per_1000"].item() == pytest.approx(0.15)


def test_secondary_suppression_holds_on_a_random_county() -> None:
    """A random three-level county: after protection no equation has one hidden cell and the
    reader's audit of what is printed finds nothing."""
    rng = np.random.default_rng(5)
    lsoas = [f"L{i:03d}" for i in range(120)]
    geo = pd.DataFrame(
        {
            "lsoa_code": lsoas,
            "ward_code": [f"W{i // 6:02d}" for i in range(120)],
            "district_code": [f"D{i // 40}" for i in range(120)],
        }
    )
    rows = []
    for code in lsoas:
        x, y = int(rng.poisson(2)), int(rng.poisson(12))
        rows += [("lsoa", code, "x", x), ("lsoa", code, "y", y), ("lsoa", code, "all", x + y)]
    lsoa = cells(rows).merge(geo, left_on="area_code", right_on="lsoa_code")
    upper = [
        lsoa.groupby([f"{lv}_code", "measure"], as_index=False)["count"]
        .sum()
        .rename(columns={f"{lv}_code": "area_code"})
        .assign(area_level=lv)
        for lv in ("ward", "district")
    ]
    table = pd.concat([lsoa[KEY + ["count"]], *upper], ignore_index=True)
    table[["source", "period"]] = ["police", "2023/24"]
    parts = {"all": ["x", "y"]}
    out = protect_counts(table, POLICE_PUBLIC, geography=geo, partitions=parts)
    assert (out["status"] == "primary").sum() > 50
    assert audit_published(
        shown_from(out), table, POLICE_PUBLIC, geography=geo, partitions=parts
    ).empty


def test_large_systems_give_the_same_answer_as_the_exact_small_system_method(monkeypatch) -> None:
    """The sparse projection used for big components agrees with the SVD on random systems."""
    import transforms.disclosure as disclosure

    rng = np.random.default_rng(11)
    for _ in range(5):
        n_eq, n_cells = 30, 45
        eqs = pd.DataFrame(
            [
                (e, c, 1 if j == 0 else -1)
                for e in range(n_eq)
                for j, c in enumerate(rng.choice(n_cells, size=rng.integers(2, 5), replace=False))
            ],
            columns=["eq", "cell", "coef"],
        )
        unknown = rng.random(n_cells) < 0.6
        exact = disclosure._determined_by_algebra(eqs, unknown)
        monkeypatch.setattr(disclosure, "DENSE_LIMIT", 0)
        sparse = disclosure._determined_by_algebra(eqs, unknown)
        monkeypatch.setattr(disclosure, "DENSE_LIMIT", 400)
        assert (exact == sparse).all()
        assert exact.any() and (unknown & ~exact).any()


def test_protecting_one_period_at_a_time_gives_the_cells_of_protecting_all_at_once() -> None:
    """Three periods of a random county, police (suppressed at LSOA) and hospital counts (suppressed
    and rounded at every level), with ward, district and county totals and the headline as the
    sum of its categories: the per-period protection hides exactly the same cells."""
    from transforms.disclosure import protect_counts_by_period

    table, rules, geo = three_periods_of_a_random_county()
    parts = {"all": ["x", "y"]}
    at_once = protect_counts(table, rules, geography=geo, partitions=parts)
    by_period = protect_counts_by_period(table, rules, geography=geo, partitions=parts)
    assert set(at_once["status"]) == {"shown", "rounded", "primary", "secondary"}
    pd.testing.assert_frame_equal(by_period, at_once)


def test_auditing_only_what_changed_gives_the_cells_of_auditing_everything(monkeypatch) -> None:
    """After its first audit, secondary suppression audits only the components of unknown cells
    that hold a changed cell; auditing every equation every round hides the same cells."""
    import transforms.disclosure as disclosure

    table, rules, geo = three_periods_of_a_random_county()
    # and a ward whose first audit finds a leak: the bridge of two rectangles (test above)
    table = pd.concat([table, cells(bridge_rows("W9", "total"))], ignore_index=True)
    geo = pd.concat([geo, pd.DataFrame({"lsoa_code": list("ABCD"), "ward_code": "W9"})])
    parts = {"all": ["x", "y"], "total": list("wxyz")}
    audits = []
    changed_part = disclosure._changed_part

    def count_changed_part(eqs, unknown, changed):
        part = changed_part(eqs, unknown, changed)
        audits.append((part["eq"].nunique(), eqs["eq"].nunique()))
        return part

    monkeypatch.setattr(disclosure, "_changed_part", count_changed_part)
    incremental = protect_counts(table, rules, geography=geo, partitions=parts)
    monkeypatch.setattr(disclosure, "_changed_part", lambda eqs, unknown, changed: eqs)
    everything = protect_counts(table, rules, geography=geo, partitions=parts)
    assert audits and all(part < whole for part, whole in audits)  # later audits were smaller
    pd.testing.assert_frame_equal(incremental, everything)


def three_periods_of_a_random_county() -> tuple[pd.DataFrame, AudienceRules, pd.DataFrame]:
    """Count cells of 90 LSOAs in 18 wards, 3 districts and a county over three periods, police
    and hospital counts, with the headline `all` = x + y; the rules; the geography."""
    rng = np.random.default_rng(23)
    lsoas = [f"L{i:03d}" for i in range(90)]
    geo = pd.DataFrame(
        {
            "lsoa_code": lsoas,
            "ward_code": [f"W{i // 5:02d}" for i in range(90)],
            "district_code": [f"D{i // 30}" for i in range(90)],
            "county_code": "K",
        }
    )
    rules = AudienceRules(
        "public",
        "Public",
        "PUBLIC",
        "*",
        {"police": SourceRule((1, 4), None, frozenset({"lsoa"})), "hes": SourceRule((1, 7), 5)},
    )
    frames = []
    for period in ("2021/22", "2022/23", "2023/24"):
        for source, mean in (("police", 3), ("hes", 1)):
            x, y = rng.poisson(mean, 90), rng.poisson(4 * mean, 90)
            lsoa = pd.DataFrame(
                {
                    "area_code": lsoas * 3,
                    "measure": ["x"] * 90 + ["y"] * 90 + ["all"] * 90,
                    "count": np.concatenate([x, y, x + y]),
                }  # fmt: skip
            ).merge(geo, left_on="area_code", right_on="lsoa_code")
            levels = [lsoa.assign(area_level="lsoa")]
            for level in ("ward", "district", "county"):
                levels.append(
                    lsoa.groupby([f"{level}_code", "measure"], as_index=False)["count"]
                    .sum()
                    .rename(columns={f"{level}_code": "area_code"})
                    .assign(area_level=level)
                )
            frames.append(pd.concat(levels).assign(source=source, period=period))
    table = pd.concat(frames, ignore_index=True)[KEY + ["count"]]
    table = table.sample(frac=1, random_state=1).reset_index(drop=True)  # periods interleaved
    return table, rules, geo
