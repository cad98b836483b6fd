"""Event inputs as published (police extract, data.police.uk): assets built from the registry."""

from pipelines.factory import build_input
from sources.registry import INPUTS

defs_by_input = {spec.key: build_input(spec) for spec in INPUTS if spec.group == "ingest"}
police_extract = defs_by_input["police_extract"][0]
police_uk = defs_by_input["police_uk"][0]
input_checks = [check for built in defs_by_input.values() for check in built[1:]]
