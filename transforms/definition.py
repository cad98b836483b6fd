"""The local serious-violence definition: versioned YAML read into a validated, hashed record.

The definition is data (DESIGN §1.3): which Home Office offence codes count, how the thematic
flags are read from a force extract, and how data.police.uk crime types stand in when only open
data exists. A bad definition fails loudly here, naming the file and the key, rather than quietly
mis-classifying incidents later.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sources._csv import load_spec, normalise_ho_code_text

POLICE_UK_CRIME_TYPES: tuple[str, ...] = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)

# Thematic flag columns of core.incidents (DESIGN §3); the definition says how each is read.
FLAG_NAMES: tuple[str, ...] = (
    "domestic_abuse",
    "hate",
    "knife",
    "firearm",
    "public_place",
    "alcohol",
    "drugs",
    "county_lines",
    "night_time_economy",
    "public_space_youth_violence",
    "dwelling",
    "drugs_or_alcohol",
)
# Incident columns a flag spec or a measure may refer to besides the flags themselves: victim and
# suspect under 25, from the extract's ages.
DERIVED_FLAGS: tuple[str, ...] = ("victim_under_25", "suspect_under_25")
DENOMINATORS: tuple[str, ...] = ("persons", "persons_under_25")
HEADLINE_MEASURE = "all_serious_violence"

_SPEC_KINDS = (
    "column",
    "location_types",
    "offence_codes",
    "flag",
    "hour_between",
    "any_of",
    "all_of",
)
_COLUMN_OPTIONS = ("true_values", "false_values", "blank", "other")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")
_REQUIRED = (
    "id",
    "version",
    "title",
    "source",
    "categories",
    "flags",
    "police_uk_proxy",
    "public_place_location_types",
    "unknown_code_max_share",
)
_OPTIONAL = ("private_location_types", "measures")
REFERENCE_CODES = (
    Path(__file__).resolve().parents[1] / "config" / "reference" / "ho_offence_codes.csv"
)


class DefinitionError(ValueError):
    """A definition file that cannot be used, with the file and the offending key."""

    def __init__(self, file: str | Path, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        super().__init__(f"{file}: {key}: {problem}")


@dataclass(frozen=True)
class Category:
    """One serious-violence category: a label and its Home Office offence codes."""

    label: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class ProxyCategory:
    """A data.police.uk proxy measure: the crime types it counts."""

    label: str
    crime_types: tuple[str, ...]


@dataclass(frozen=True)
class PoliceUkProxy:
    """How data.police.uk crime types stand in for the definition when only open data exists."""

    headline: dict[str, ProxyCategory]
    separate: dict[str, ProxyCategory]
    excluded: dict[str, str]  # crime type -> reason
    caveat: str

    def category_of_crime_type(self) -> dict[str, str]:
        """Crime type -> headline proxy category name (types outside the headline are absent)."""
        return {t: name for name, cat in self.headline.items() for t in cat.crime_types}


@dataclass(frozen=True)
class Measure:
    """A thematic measure: serious violence where `flag` is true, per 1,000 of `denominator`."""

    label: str
    flag: str
    denominator: str


@dataclass(frozen=True)
class Definition:
    """A loaded, validated definition. `hash` is the sha256 of the canonical JSON of the YAML."""

    id: str
    version: str
    title: str
    source: dict[str, Any]
    hash: str
    categories: dict[str, Category]
    flags: dict[str, dict[str, Any]]
    police_uk_proxy: PoliceUkProxy
    public_place_location_types: tuple[str, ...]
    unknown_code_max_share: float
    raw: dict[str, Any]
    private_location_types: tuple[str, ...] = ()
    measures: dict[str, Measure] = field(default_factory=dict)
    path: str = ""

    def code_to_category(self) -> dict[str, str]:
        """Normalised offence code -> category name."""
        return {code: name for name, cat in self.categories.items() for code in cat.codes}


def normalise_code(code: Any) -> str:
    """A Home Office code as the extract reader writes it: no spaces, upper case, no leading zeros
    (the one rule, `sources._csv.HO_CODE_ZEROS`, shared with the reader's SQL)."""
    return normalise_ho_code_text(code)


def reference_codes(path: str | Path = REFERENCE_CODES) -> frozenset[str]:
    """The normalised Home Office codes of the offence-code reference list."""
    codes = pd.read_csv(path, dtype=str, keep_default_na=False)["ho_code"]
    return frozenset(normalise_code(c) for c in codes if c.strip())


def canonical_hash(raw: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no whitespace) of the parsed YAML."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_definition(path: str | Path) -> Definition:
    """Read and validate a definition YAML; raise DefinitionError naming the file and key.

    Every offence code must be in the reference list (config/reference/ho_offence_codes.csv):
    a typo such as robbery "43A" for "34A" would otherwise drop robberies without a word.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except yaml.YAMLError as exc:
        raise DefinitionError(path, "<file>", f"not valid YAML: {exc}") from exc
    return parse_definition(raw, path, known_codes=reference_codes())


def parse_definition(
    raw: Any, path: str | Path = "<definition>", known_codes: frozenset[str] | None = None
) -> Definition:
    """Validate an already-parsed definition mapping (used by `load_definition` and tests).

    `known_codes`: the reference offence codes every category code must be one of (None: not
    checked, for tests of other rules).
    """
    if not isinstance(raw, dict):
        raise DefinitionError(path, "<file>", "must be a mapping of keys to values")
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        near = difflib.get_close_matches(unknown[0], [*_REQUIRED, *_OPTIONAL], n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise DefinitionError(path, unknown[0], f"not a key of a definition{hint}")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise DefinitionError(path, missing[0], f"required key missing (all missing: {missing})")
    ident = _text(raw, "id", path)
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", ident):
        raise DefinitionError(path, "id", f"{ident!r}: use letters, digits, '.', '_' or '-'")
    source = raw["source"]
    if not isinstance(source, (dict, str)):
        raise DefinitionError(
            path, "source", "must be a mapping (organisation, document, ...) or text"
        )

    categories = _categories(raw["categories"], path, known_codes)
    public = _text_list(raw["public_place_location_types"], "public_place_location_types", path)
    private = _text_list(raw.get("private_location_types", []), "private_location_types", path)
    both = set(public) & set(private)
    if both:
        raise DefinitionError(
            path, "private_location_types", f"also listed as public: {sorted(both)}"
        )
    flags = _flags(raw["flags"], path)
    measures = _measures(raw.get("measures") or {}, flags, categories, path)
    proxy = _proxy(raw["police_uk_proxy"], path)

    share = raw["unknown_code_max_share"]
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise DefinitionError(
            path, "unknown_code_max_share", f"{share!r} is not a share between 0 and 1"
        )

    return Definition(
        id=ident,
        version=str(raw["version"]),
        title=_text(raw, "title", path),
        source=source if isinstance(source, dict) else {"text": source},
        hash=canonical_hash(raw),
        categories=categories,
        flags=flags,
        police_uk_proxy=proxy,
        public_place_location_types=public,
        unknown_code_max_share=float(share),
        raw=raw,
        private_location_types=private,
        measures=measures,
        path=str(path),
    )


def _text(raw: Mapping[str, Any], key: str, path: str | Path) -> str:
    value = raw.get(key)
    if value is None or not str(value).strip():
        raise DefinitionError(path, key, "must be non-empty text")
    return str(value).strip()


def _text_list(value: Any, key: str, path: str | Path) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise DefinitionError(path, key, "must be a list of text values")
    for v in value:
        if isinstance(v, bool):
            raise DefinitionError(path, key, f'{v!r} was read as true/false: quote it ("Y", "NO")')
        if not isinstance(v, (str, int)):
            raise DefinitionError(path, key, f"{v!r} is not a text value")
    return tuple(str(v).strip() for v in value)


def _check_name(name: Any, key: str, path: str | Path) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise DefinitionError(path, key, f"{name!r}: names are snake_case (a-z, 0-9, _)")
    return name


def _categories(
    value: Any, path: str | Path, known_codes: frozenset[str] | None
) -> dict[str, Category]:
    if not isinstance(value, dict) or not value:
        raise DefinitionError(
            path, "categories", "must be a non-empty mapping name -> {label, codes}"
        )
    out: dict[str, Category] = {}
    owner: dict[str, str] = {}
    for name, spec in value.items():
        key = f"categories.{name}"
        _check_name(name, key, path)
        if name == HEADLINE_MEASURE:
            raise DefinitionError(path, key, f"{HEADLINE_MEASURE!r} is the headline measure's name")
        if not isinstance(spec, dict) or set(spec) - {"label", "codes"}:
            raise DefinitionError(path, key, "must be a mapping with only 'label' and 'codes'")
        codes = spec.get("codes")
        if not isinstance(codes, list) or not codes:
            raise DefinitionError(path, f"{key}.codes", "must be a non-empty list of offence codes")
        normalised = []
        for code in codes:
            if not isinstance(code, (str, int)) or isinstance(code, bool) or not str(code).strip():
                raise DefinitionError(path, f"{key}.codes", f"{code!r} is not an offence code")
            norm = normalise_code(code)
            if norm in owner:
                where = (
                    "twice in this category" if owner[norm] == name else f"also in {owner[norm]!r}"
                )
                raise DefinitionError(path, f"{key}.codes", f"code {norm!r} is {where}")
            if known_codes is not None and norm not in known_codes:
                swapped = [c for c in sorted(known_codes) if sorted(c) == sorted(norm)]
                near = list(
                    dict.fromkeys(
                        [*swapped, *difflib.get_close_matches(norm, sorted(known_codes), n=3)]
                    )
                )[:3]
                hint = f" (close: {', '.join(near)})" if near else ""
                raise DefinitionError(
                    path,
                    f"{key}.codes",
                    f"code {norm!r} is not in the offence-code reference"
                    f" config/reference/ho_offence_codes.csv{hint}: a typo here would drop those"
                    " offences without a word",
                )
            owner[norm] = name
            normalised.append(norm)
        label = spec.get("label") or name.replace("_", " ").capitalize()
        out[name] = Category(label=str(label), codes=tuple(normalised))
    return out


def _flags(value: Any, path: str | Path) -> dict[str, dict[str, Any]]:
    """Validate the flag specs. A flag may refer to any other flag, above or below it; a reference
    to a flag that is not defined, or a circle of references, is an error naming the flag."""
    if not isinstance(value, dict):
        raise DefinitionError(path, "flags", "must be a mapping flag name -> spec")
    columns = {c.name for c in load_spec("police_extract").columns}
    known = set(value) | set(DERIVED_FLAGS)
    for name, spec in value.items():
        key = f"flags.{name}"
        if name not in FLAG_NAMES:
            raise DefinitionError(path, key, f"unknown flag; core.incidents has {list(FLAG_NAMES)}")
        _check_spec(spec, key, known, path, columns)
    flag_order(value, path)
    return dict(value)


def flag_references(spec: dict[str, Any]) -> set[str]:
    """The flags a spec refers to, however deeply nested."""
    if "flag" in spec:
        return {spec["flag"]}
    return {
        ref for sub in spec.get("any_of", spec.get("all_of", [])) for ref in flag_references(sub)
    }


def flag_order(flags: Mapping[str, dict[str, Any]], path: str | Path = "<definition>") -> list[str]:
    """The flags in an order where each comes after the flags it refers to (for evaluation)."""
    done: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done or name not in flags:
            return
        if name in visiting:
            circle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise DefinitionError(path, f"flags.{name}", f"refers to itself through {circle}")
        visiting.append(name)
        for ref in sorted(flag_references(flags[name])):
            visit(ref)
        visiting.pop()
        done.append(name)

    for name in flags:
        visit(name)
    return done


def _check_spec(spec: Any, key: str, known: set[str], path: str | Path, columns: set[str]) -> None:
    """Validate one flag spec recursively; `known` are the flags it may refer to, `columns` the
    force extract's canonical columns (config/sources/police_extract.yaml)."""
    if not isinstance(spec, dict):
        raise DefinitionError(
            path, key, f"a flag spec is a mapping with one of {list(_SPEC_KINDS)}"
        )
    kinds = [k for k in _SPEC_KINDS if k in spec]
    if len(kinds) != 1:
        raise DefinitionError(path, key, f"needs exactly one of {list(_SPEC_KINDS)}, found {kinds}")
    kind = kinds[0]
    allowed = {kind, *(_COLUMN_OPTIONS if kind == "column" else ())}
    extra = set(spec) - allowed
    if extra:
        raise DefinitionError(
            path, f"{key}.{sorted(extra)[0]}", f"not a key of a {kind!r} flag spec"
        )
    arg = spec[kind]
    if kind == "column":
        if not isinstance(arg, str) or not arg.strip():
            raise DefinitionError(path, f"{key}.column", "must name a column of the extract")
        if arg not in columns:
            near = difflib.get_close_matches(arg, sorted(columns), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise DefinitionError(
                path,
                f"{key}.column",
                f"{arg!r} is not a column of the force extract column map{hint}",
            )
        if not spec.get("true_values"):
            raise DefinitionError(path, f"{key}.true_values", "a column flag needs true_values")
        for option in ("true_values", "false_values"):
            _text_list(spec.get(option, []), f"{key}.{option}", path)
        for option in ("blank", "other"):
            if option in spec and spec[option] not in (False, "false", "unknown"):
                raise DefinitionError(path, f"{key}.{option}", "must be false or unknown")
    elif kind == "location_types":
        if arg != "public_place":
            _text_list(arg, f"{key}.location_types", path)
    elif kind == "offence_codes":
        _text_list(arg, f"{key}.offence_codes", path)
    elif kind == "flag":
        if arg not in known:
            raise DefinitionError(
                path, f"{key}.flag", f"{arg!r} is not a defined flag (may use {sorted(known)})"
            )
    elif kind == "hour_between":
        if not isinstance(arg, list) or len(arg) != 2 or not all(_HHMM.match(str(t)) for t in arg):
            raise DefinitionError(path, f"{key}.hour_between", "must be two times [HH:MM, HH:MM]")
    else:  # any_of / all_of
        if not isinstance(arg, list) or not arg:
            raise DefinitionError(path, f"{key}.{kind}", "must be a non-empty list of flag specs")
        for i, sub in enumerate(arg):
            _check_spec(sub, f"{key}.{kind}[{i}]", known, path, columns)


def _measures(
    value: Any, flags: dict[str, Any], categories: dict[str, Category], path: str | Path
) -> dict[str, Measure]:
    if not isinstance(value, dict):
        raise DefinitionError(
            path, "measures", "must be a mapping name -> {label, flag, denominator}"
        )
    out: dict[str, Measure] = {}
    for name, spec in value.items():
        key = f"measures.{name}"
        _check_name(name, key, path)
        if name == HEADLINE_MEASURE or name in categories:
            raise DefinitionError(path, key, "clashes with the headline or a category name")
        if not isinstance(spec, dict) or set(spec) - {"label", "flag", "denominator"}:
            raise DefinitionError(path, key, "must be a mapping of label, flag and denominator")
        flag = spec.get("flag")
        if flag not in flags and flag not in DERIVED_FLAGS:
            raise DefinitionError(path, f"{key}.flag", f"{flag!r} is not a defined flag")
        denominator = spec.get("denominator", "persons")
        if denominator not in DENOMINATORS:
            raise DefinitionError(
                path, f"{key}.denominator", f"must be one of {list(DENOMINATORS)}"
            )
        out[name] = Measure(
            label=str(spec.get("label") or name), flag=flag, denominator=denominator
        )
    return out


def _proxy_group(
    value: Any, key: str, path: str | Path, seen: dict[str, str]
) -> dict[str, ProxyCategory]:
    if not isinstance(value, dict):
        raise DefinitionError(path, key, "must be a mapping name -> {label, crime_types}")
    out: dict[str, ProxyCategory] = {}
    for name, spec in value.items():
        k = f"{key}.{name}"
        _check_name(name, k, path)
        if name == HEADLINE_MEASURE:
            raise DefinitionError(path, k, f"{HEADLINE_MEASURE!r} is the headline measure's name")
        if not isinstance(spec, dict) or set(spec) - {"label", "crime_types"}:
            raise DefinitionError(path, k, "must be a mapping with only 'label' and 'crime_types'")
        types = _text_list(spec.get("crime_types"), f"{k}.crime_types", path)
        if not types:
            raise DefinitionError(path, f"{k}.crime_types", "must list at least one crime type")
        for t in types:
            if t not in POLICE_UK_CRIME_TYPES:
                raise DefinitionError(
                    path, f"{k}.crime_types", f"{t!r} is not a data.police.uk crime type"
                )
            if t in seen:
                raise DefinitionError(path, f"{k}.crime_types", f"{t!r} is also in {seen[t]!r}")
            seen[t] = name
        out[name] = ProxyCategory(label=str(spec.get("label") or name), crime_types=types)
    return out


def _proxy(value: Any, path: str | Path) -> PoliceUkProxy:
    key = "police_uk_proxy"
    if not isinstance(value, dict) or "headline" not in value:
        raise DefinitionError(
            path, key, "must be a mapping with 'headline' (and 'separate', 'excluded')"
        )
    extra = set(value) - {"headline", "separate", "excluded", "caveat"}
    if extra:
        raise DefinitionError(path, f"{key}.{sorted(extra)[0]}", "not a key of police_uk_proxy")
    seen: dict[str, str] = {}
    headline = _proxy_group(value["headline"], f"{key}.headline", path, seen)
    if not headline:
        raise DefinitionError(path, f"{key}.headline", "must define at least one proxy category")
    separate = _proxy_group(value.get("separate") or {}, f"{key}.separate", path, seen)
    clash = set(headline) & set(separate)
    if clash:
        raise DefinitionError(
            path, f"{key}.separate", f"names also used in the headline: {sorted(clash)}"
        )
    excluded: dict[str, str] = {}
    for i, item in enumerate(value.get("excluded") or []):
        k = f"{key}.excluded[{i}]"
        if not isinstance(item, dict) or not item.get("crime_type") or not item.get("reason"):
            raise DefinitionError(path, k, "each exclusion needs crime_type and reason")
        if item["crime_type"] not in POLICE_UK_CRIME_TYPES:
            raise DefinitionError(
                path, k, f"{item['crime_type']!r} is not a data.police.uk crime type"
            )
        if item["crime_type"] in seen:
            raise DefinitionError(
                path, k, f"{item['crime_type']!r} is also used by {seen[item['crime_type']]!r}"
            )
        excluded[item["crime_type"]] = " ".join(str(item["reason"]).split())
    caveat = " ".join(str(value.get("caveat") or "").split())
    return PoliceUkProxy(headline=headline, separate=separate, excluded=excluded, caveat=caveat)
