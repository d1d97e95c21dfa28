-- The model registry (app/mlops): registered models, their versions with
-- content-addressed artifacts and lineage, aliases with an append-only
-- history, each model's deployment (canary share, shadow) and the audit log
-- of deployment decisions with their statistics.

CREATE TABLE mlops_models (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,            -- fraud-detector, trading-policy, rl-policy
    description TEXT NOT NULL DEFAULT '',
    created_ms  INTEGER NOT NULL
);

CREATE TABLE mlops_versions (
    model      TEXT NOT NULL REFERENCES mlops_models(name),
    version    INTEGER NOT NULL,
    sha256     TEXT NOT NULL,             -- the artifact, under artifacts/sha256/
    size       INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    source     TEXT NOT NULL DEFAULT '',  -- rl, marl, synth, cli
    run_ref    TEXT NOT NULL DEFAULT '',  -- the training run or synthesis job it came from
    data_hash  TEXT NOT NULL DEFAULT '',  -- sha256 of the data (or environment) it was trained on
    seed       INTEGER NOT NULL DEFAULT 0,
    params     TEXT NOT NULL DEFAULT '{}', -- JSON object of strings
    metrics    TEXT NOT NULL DEFAULT '{}', -- JSON object of numbers
    tags       TEXT NOT NULL DEFAULT '{}', -- JSON object of strings
    PRIMARY KEY (model, version)
);

-- A run or job registers at most one version of a model.
CREATE UNIQUE INDEX mlops_versions_run ON mlops_versions(model, source, run_ref) WHERE run_ref != '';

CREATE TABLE mlops_aliases (
    model    TEXT NOT NULL,
    alias    TEXT NOT NULL,
    version  INTEGER NOT NULL,
    moved_ms INTEGER NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES mlops_versions(model, version)
);

-- Every alias move, in order. version NULL: the alias was removed;
-- previous NULL: it was new.
CREATE TABLE mlops_alias_history (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    model    TEXT NOT NULL,
    alias    TEXT NOT NULL,
    version  INTEGER,
    previous INTEGER,
    at_ms    INTEGER NOT NULL,
    actor    TEXT NOT NULL,               -- user, cli, auto
    reason   TEXT NOT NULL DEFAULT '',
    rollback INTEGER NOT NULL DEFAULT 0   -- 1: the move undid an earlier one
);
CREATE INDEX mlops_alias_history_at ON mlops_alias_history(model, alias, at_ms, id);

CREATE TRIGGER mlops_alias_history_no_update BEFORE UPDATE ON mlops_alias_history
BEGIN SELECT RAISE(ABORT, 'the alias history is append-only'); END;
CREATE TRIGGER mlops_alias_history_no_delete BEFORE DELETE ON mlops_alias_history
BEGIN SELECT RAISE(ABORT, 'the alias history is append-only'); END;

CREATE TABLE mlops_deployments (
    model        TEXT PRIMARY KEY REFERENCES mlops_models(name),
    canary_share REAL NOT NULL DEFAULT 0,
    shadow       INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL DEFAULT 'idle', -- idle, canary, rolled_back
    updated_ms   INTEGER NOT NULL
);

-- Decisions (promotions, rollbacks, holds) with their statistics.
CREATE TABLE mlops_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    model    TEXT NOT NULL,
    at_ms    INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    actor    TEXT NOT NULL,
    decision TEXT NOT NULL,               -- a sentence
    stats    TEXT NOT NULL DEFAULT '{}'   -- JSON
);
CREATE INDEX mlops_events_model ON mlops_events(model, id);

CREATE TRIGGER mlops_events_no_update BEFORE UPDATE ON mlops_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER mlops_events_no_delete BEFORE DELETE ON mlops_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Runs and jobs whose models must not register themselves.
CREATE TABLE mlops_optout (
    source  TEXT NOT NULL,
    run_ref TEXT NOT NULL,
    PRIMARY KEY (source, run_ref)
);
