-- Schemas by stage (DESIGN §3) and the tables whose shape never depends on an input file.
CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS build;  -- this run's marts, published to marts.* only when every blocking check passed
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS audit;

-- Every input line that could not be loaded as a record, with where it was and why. A line that
-- is not one record has column '_row' and its whole raw text as value; a record whose required
-- value is blank or malformed has one row per such cell.
CREATE TABLE IF NOT EXISTS quarantine.rejects (
    source   VARCHAR NOT NULL,
    file     VARCHAR NOT NULL,
    line     BIGINT,
    "column" VARCHAR,
    value    VARCHAR,
    reason   VARCHAR NOT NULL,
    load_id  VARCHAR NOT NULL
);

-- Malformed optional values (an age, a time, a coordinate, a flag): the cell became NULL and the
-- record was kept.
CREATE TABLE IF NOT EXISTS quarantine.cell_issues (
    source   VARCHAR NOT NULL,
    file     VARCHAR NOT NULL,
    line     BIGINT NOT NULL,
    "column" VARCHAR NOT NULL,
    value    VARCHAR,
    reason   VARCHAR NOT NULL,
    load_id  VARCHAR NOT NULL
);

-- Records loaded again under the same key (crime reference, police.uk Crime ID): only the kept
-- version (kept_file, kept_line) counts.
CREATE TABLE IF NOT EXISTS quarantine.duplicates (
    source    VARCHAR NOT NULL,
    file      VARCHAR NOT NULL,
    line      BIGINT NOT NULL,
    "key"     VARCHAR NOT NULL,
    kept_file VARCHAR NOT NULL,
    kept_line BIGINT NOT NULL,
    load_id   VARCHAR NOT NULL
);

-- One row per input file per load. For text files, rows_loaded + rows_rejected + header_lines +
-- blank_lines == physical_lines, counted from the bytes by a pass no parser shares.
CREATE TABLE IF NOT EXISTS audit.loads (
    load_id        VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    file           VARCHAR NOT NULL,
    sha256         VARCHAR NOT NULL,
    data_lines     BIGINT NOT NULL,
    rows_loaded    BIGINT NOT NULL,
    rows_rejected  BIGINT NOT NULL,
    loaded_at      TIMESTAMP NOT NULL
);
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS encoding VARCHAR;
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS reader VARCHAR;  -- pyarrow | pyarrow+csv | csv | pyogrio
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS physical_lines BIGINT;  -- NULL: not a text file
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS header_lines BIGINT DEFAULT 0;
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS blank_lines BIGINT DEFAULT 0;
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS cell_issues BIGINT DEFAULT 0;
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS rows_duplicate BIGINT DEFAULT 0;
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS duplicate_of VARCHAR;  -- same bytes as that file: not loaded again
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS columns VARCHAR[];  -- canonical columns the file has
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS months DATE[];  -- months of the event dates it holds
ALTER TABLE audit.loads ADD COLUMN IF NOT EXISTS column_map_hash VARCHAR;  -- how its rows were typed

-- One row per pipeline run, failed and killed ones included (status running | success | failed |
-- interrupted, the step where it stopped): definition, settings, inputs and package versions, so a
-- refresh can be repeated and a failure traced.
CREATE TABLE IF NOT EXISTS audit.runs (
    run_id           VARCHAR NOT NULL,
    finished_at      TIMESTAMP,
    settings_file    VARCHAR,
    definition_id    VARCHAR,
    definition_hash  VARCHAR,
    input_hashes     VARCHAR,  -- JSON: {file: sha256}
    package_versions VARCHAR   -- JSON: {package: version}
);
ALTER TABLE audit.runs ALTER COLUMN finished_at DROP NOT NULL;
ALTER TABLE audit.runs ALTER COLUMN settings_file DROP NOT NULL;
ALTER TABLE audit.runs ALTER COLUMN definition_id DROP NOT NULL;
ALTER TABLE audit.runs ALTER COLUMN definition_hash DROP NOT NULL;
ALTER TABLE audit.runs ALTER COLUMN input_hashes DROP NOT NULL;
ALTER TABLE audit.runs ALTER COLUMN package_versions DROP NOT NULL;
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS started_at TIMESTAMP;
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS status VARCHAR DEFAULT 'success';
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS stopped_at VARCHAR;  -- the step that failed
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS error VARCHAR;
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS settings VARCHAR;  -- JSON of the settings used
ALTER TABLE audit.runs ADD COLUMN IF NOT EXISTS launched_by VARCHAR;  -- sna run | schedule NAME | sensor NAME | ui
