"""The local definition file and the Home Office offence-code reference it relies on."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from transforms.definition import (
    POLICE_UK_CRIME_TYPES,
    DefinitionError,
    load_definition,
    normalise_code,
    parse_definition,
)

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "config" / "definitions" / "norfolk-2024.yaml"
REFERENCE = ROOT / "config" / "reference" / "ho_offence_codes.csv"


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(DEFINITION.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "definition.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_shipped_definition_loads_with_the_norfolk_scope():
    definition = load_definition(DEFINITION)
    assert definition.id == "norfolk-2024"
    assert "Norfolk County Community Safety Partnership" in definition.source["organisation"]
    assert "county lines" in definition.source["scope"]
    cats = definition.categories
    assert cats["homicide"].codes == ("1", "4/1", "4/2", "4/10")
    assert cats["robbery"].codes == ("34A", "34B")
    assert set(cats["possession_of_weapons"].codes) >= {"10A", "10C", "10D", "81", "90"}
    assert cats["arson_criminal_damage_endangering_life"].codes[0] == "56A"
    assert {"29A", "31A"} <= set(cats["aggravated_burglary"].codes)
    assert cats["aggravated_vehicle_taking"].codes == ("37/2",)
    assert 0 < definition.unknown_code_max_share <= 0.05
    assert len(definition.hash) == 64


def test_not_serious_violence_codes_stay_out():
    mapping = load_definition(DEFINITION).code_to_category()
    # arson not endangering life, criminal damage, shoplifting, burglary, drug trafficking,
    # public fear alarm or distress: outside the Norfolk scope
    for code in ("56B", "58A", "46", "28E", "92A", "9A", "9B"):
        assert code not in mapping
    assert mapping["105A"] == "violence_without_injury"


def test_every_definition_code_is_in_the_reference(reference):
    definition = load_definition(DEFINITION)
    known = set(reference["ho_code"])
    missing = {code for code in definition.code_to_category() if code not in known}
    assert not missing, f"codes in the definition but not in {REFERENCE.name}: {sorted(missing)}"


def test_reference_csv_shape(reference):
    assert list(reference.columns) == [
        "ho_code",
        "offence_description",
        "offence_group",
        "offence_subgroup",
        "police_uk_crime_type",
    ]
    assert reference["ho_code"].is_unique
    assert (reference["ho_code"] == reference["ho_code"].map(normalise_code)).all()
    assert set(reference["police_uk_crime_type"]) <= set(POLICE_UK_CRIME_TYPES)
    assert (reference != "").all().all()
    # comprehensive enough for a real extract: every HO offence group is represented
    groups = set(reference["offence_group"])
    for group in (
        "Violence against the person",
        "Sexual offences",
        "Robbery",
        "Theft offences",
        "Criminal damage and arson",
        "Drug offences",
        "Possession of weapons offences",
        "Public order offences",
        "Miscellaneous crimes against society",
    ):
        assert group in groups
    by_code = reference.set_index("ho_code")
    assert by_code.loc["8N", "offence_subgroup"] == "Violence with injury"
    assert by_code.loc["34B", "police_uk_crime_type"] == "Robbery"
    assert by_code.loc["46", "police_uk_crime_type"] == "Shoplifting"
    assert by_code.loc["44", "police_uk_crime_type"] == "Bicycle theft"


def test_police_uk_proxy(raw):
    proxy = load_definition(DEFINITION).police_uk_proxy
    assert proxy.category_of_crime_type() == {
        "Violence and sexual offences": "violence_and_sexual_offences",
        "Robbery": "robbery",
        "Possession of weapons": "possession_of_weapons",
    }
    assert proxy.separate["public_order_proxy"].crime_types == ("Public order",)
    assert "proxy" in proxy.separate["public_order_proxy"].label
    assert "endangering life" in proxy.excluded["Criminal damage and arson"]


def test_hash_follows_content_not_formatting(tmp_path, raw):
    same = load_definition(_write(tmp_path, raw))
    assert same.hash == load_definition(DEFINITION).hash
    changed = copy.deepcopy(raw)
    changed["categories"]["robbery"]["codes"] = ["34A"]
    assert parse_definition(changed).hash != same.hash


def test_codes_are_normalised_like_the_extract_reader():
    assert normalise_code(" 008/01 ") == "8/1"
    assert normalise_code("034a") == "34A"
    assert normalise_code("4/10") == "4/10"
    assert normalise_code(105) == "105"


@pytest.mark.parametrize(
    ("edit", "key", "message"),
    [
        (
            lambda r: r["categories"]["robbery"]["codes"].append("8N"),
            "categories.robbery.codes",
            "also in",
        ),
        (
            lambda r: r["categories"]["robbery"]["codes"].append("034A"),
            "categories.robbery.codes",
            "twice",
        ),
        (
            lambda r: r["flags"].update(gang={"column": "gang_flag", "true_values": ["Y"]}),
            "flags.gang",
            "unknown flag",
        ),
        (lambda r: r["flags"]["knife"].update(colour="red"), "flags.knife.colour", "not a key"),
        (
            lambda r: r["flags"]["knife"].update(true_values=[True]),
            "flags.knife.true_values",
            "quote it",
        ),
        (
            lambda r: r["flags"]["knife"].update(blank="maybe"),
            "flags.knife.blank",
            "false or unknown",
        ),
        (
            lambda r: r["flags"]["public_place"].update(flag="knife"),
            "flags.public_place",
            "exactly one",
        ),
        (
            lambda r: (
                r["flags"]["domestic_abuse"].clear()
                or r["flags"]["domestic_abuse"].update(flag="weapons")
            ),
            "flags.domestic_abuse.flag",
            "'weapons' is not a defined flag",
        ),
        (
            lambda r: (
                r["flags"]["drugs"].clear()
                or r["flags"]["drugs"].update({"any_of": [{"flag": "county_lines"}]})
            ),
            "flags.",
            "refers to itself through",
        ),
        (
            lambda r: r["flags"]["knife"].update(column="knive_flag"),
            "flags.knife.column",
            "did you mean 'knife_flag'",
        ),
        (
            lambda r: r["categories"]["robbery"].update(codes=["43A", "34B"]),
            "categories.robbery.codes",
            "'43A' is not in the offence-code reference",
        ),
        (
            lambda r: r.update(unknown_code_max_shar=0.1),
            "unknown_code_max_shar",
            "did you mean 'unknown_code_max_share'",
        ),
        (
            lambda r: r["flags"]["night_time_economy"]["any_of"][1]["all_of"][1].update(
                hour_between=["25:00", "06:00"]
            ),
            "hour_between",
            "two times",
        ),
        (
            lambda r: r["police_uk_proxy"]["headline"]["robbery"].update(crime_types=["Mugging"]),
            "police_uk_proxy.headline.robbery.crime_types",
            "not a data.police.uk crime type",
        ),
        (
            lambda r: r["police_uk_proxy"]["separate"]["public_order_proxy"].update(
                crime_types=["Robbery"]
            ),
            "police_uk_proxy.separate.public_order_proxy.crime_types",
            "also in",
        ),
        (
            lambda r: r["measures"]["knife_enabled"].update(denominator="households"),
            "measures.knife_enabled.denominator",
            "one of",
        ),
        (lambda r: r.update(unknown_code_max_share=5), "unknown_code_max_share", "between 0 and 1"),
        (lambda r: r.pop("categories"), "categories", "required key missing"),
        (
            lambda r: r["private_location_types"].append("Car Park"),
            "private_location_types",
            "also listed",
        ),
    ],
)
def test_bad_definitions_name_the_file_and_key(tmp_path, raw, edit, key, message):
    broken = copy.deepcopy(raw)
    edit(broken)
    path = _write(tmp_path, broken)
    with pytest.raises(DefinitionError, match=message) as info:
        load_definition(path)
    assert info.value.file == str(path)
    assert key in info.value.key
    assert str(path) in str(info.value)


def test_unquoted_yaml_yes_no_is_caught(tmp_path):
    text = DEFINITION.read_text(encoding="utf-8").replace(
        '["N", "NO", "FALSE", "0"]', "[N, NO, FALSE, '0']", 1
    )
    path = tmp_path / "unquoted.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError, match="quote it"):
        load_definition(path)
