-- Schemas by stage (DESIGN §3) and the tables whose shape never depends on an input file.
CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS build;  -- this run's marts, published to marts.* only when every blocking check passed
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS audit;

-- Every input row that could not be loaded, with where it was and why.
CREATE TABLE IF NOT EXISTS quarantine.rejects (
    source   VARCHAR NOT NULL,
    file     VARCHAR NOT NULL,
    line     BIGINT,
    "column" VARCHAR,
    value    VARCHAR,
    reason   VARCHAR NOT NULL,
    load_id  VARCHAR NOT NULL
);

-- One row per input file per load: what makes loaded + rejected == data lines auditable.
CREATE TABLE IF NOT EXISTS audit.loads (
    load_id       VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    file          VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    data_lines    BIGINT NOT NULL,
    rows_loaded   BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    loaded_at     TIMESTAMP NOT NULL
);

-- One row per pipeline run: definition, inputs and package versions, so a refresh can be repeated.
CREATE TABLE IF NOT EXISTS audit.runs (
    run_id          VARCHAR NOT NULL,
    finished_at     TIMESTAMP NOT NULL,
    settings_file   VARCHAR NOT NULL,
    definition_id   VARCHAR NOT NULL,
    definition_hash VARCHAR NOT NULL,
    input_hashes    VARCHAR NOT NULL,  -- JSON: {file: sha256}
    package_versions VARCHAR NOT NULL  -- JSON: {package: version}
);
