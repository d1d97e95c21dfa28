-- Metric series of the analytics package: one row per series, and every
-- sampled point, written through the batching writer and deleted after the
-- retention (7 days by default).

CREATE TABLE metric_series (
    key    TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '',
    unit   TEXT NOT NULL DEFAULT ''
);

CREATE TABLE metric_points (
    key   TEXT    NOT NULL,
    ts_ms INTEGER NOT NULL,
    value REAL    NOT NULL
);
CREATE INDEX metric_points_key_ts ON metric_points (key, ts_ms);
CREATE INDEX metric_points_ts ON metric_points (ts_ms);
