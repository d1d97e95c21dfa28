-- The foundation's own tables: a sample of the system's vital signs each
-- second, and the events the subsystems report (service starts, restarts,
-- failures), both written through the batching writer.

CREATE TABLE system_samples (
    ts_ms          INTEGER NOT NULL,
    goroutines     INTEGER NOT NULL,
    heap_bytes     INTEGER NOT NULL,
    bus_published  INTEGER NOT NULL,
    hub_clients    INTEGER NOT NULL,
    writer_commits INTEGER NOT NULL
);
CREATE INDEX system_samples_ts ON system_samples (ts_ms);

CREATE TABLE events (
    seq      INTEGER NOT NULL,
    ts_ms    INTEGER NOT NULL,
    topic    TEXT    NOT NULL,
    sender   TEXT    NOT NULL DEFAULT '',
    receiver TEXT    NOT NULL DEFAULT '',
    kind     TEXT    NOT NULL DEFAULT '',
    payload  TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_ts ON events (ts_ms);
