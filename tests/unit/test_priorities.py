"""The four priorities' tables: which measure the map pack shows for each."""

from __future__ import annotations

import pandas as pd

from outputs.pack import headline_rows
from transforms.priorities import PRIORITIES


def table(*measures: str) -> pd.DataFrame:
    return pd.DataFrame({"measure": list(measures), "count": range(len(measures))})


def test_the_pack_shows_each_prioritys_headline_measure_not_a_mix_of_sources():
    mixed = table("ae_alcohol_related_assaults", "alcohol_related", "drugs_or_alcohol_related",
                  "drug_offences")  # fmt: skip
    assert headline_rows(mixed, "priority_drugs_alcohol")["measure"].tolist() == [
        "drugs_or_alcohol_related"
    ]
    under = table("ae_assaults_victims_under_25", "victims_under_25", "victims_under_25")
    assert headline_rows(under, "priority_under_25s")["count"].tolist() == [1, 2]
    # a run whose police source cannot tell the flag: the first measure the table has
    nhs_only = table("hes_domestic_abuse_admissions", "hes_domestic_abuse_admissions")
    assert len(headline_rows(nhs_only, "priority_domestic_abuse")) == 2
    assert headline_rows(table(), "priority_places").empty


def test_every_priority_headline_is_a_definition_measure():
    import yaml

    from tests.pipelines.conftest import REPO

    definition = yaml.safe_load(
        (REPO / "config" / "definitions" / "norfolk-2024.yaml").read_text(encoding="utf-8")
    )
    for priority in PRIORITIES.values():
        assert priority.sv_measures[0] in definition["measures"]
