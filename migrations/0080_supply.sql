-- The supply-chain crisis room (issue 16): live rooms, the disruptions
-- injected into them with their survival and recovery against the
-- no-disruption twin, and the many-seed comparisons.
CREATE TABLE supply_rooms (
    id          INTEGER PRIMARY KEY,
    preset      TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    strategy    TEXT NOT NULL,          -- JSON Strategy
    periods     INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    kpis        TEXT,                   -- JSON KPIs at the end (or at reset)
    twin_kpis   TEXT
);

CREATE TABLE supply_disruptions (
    id              INTEGER PRIMARY KEY,
    room_id         INTEGER NOT NULL REFERENCES supply_rooms(id),
    kind            TEXT NOT NULL,
    scope           TEXT NOT NULL,
    start_period    INTEGER NOT NULL,
    end_period      INTEGER NOT NULL,   -- exclusive
    crisis          TEXT NOT NULL,      -- JSON Crisis
    origin          TEXT NOT NULL,      -- user, script, random
    created_at      TEXT NOT NULL,
    time_to_survive INTEGER,
    time_to_recover INTEGER,
    recovered       INTEGER,
    extra_cost      REAL
);
CREATE INDEX supply_disruptions_room ON supply_disruptions(room_id);

CREATE TABLE supply_comparisons (
    id         INTEGER PRIMARY KEY,
    scenario   TEXT NOT NULL,
    seeds      INTEGER NOT NULL,
    result     TEXT NOT NULL,           -- JSON Comparison
    created_at TEXT NOT NULL
);
