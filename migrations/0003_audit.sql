-- The audit log: every state-changing request (POST, PUT, PATCH, DELETE)
-- the server answered, written by app/web's audit middleware through the
-- batching writer and shown on /audit. who is the client address and, when
-- the browser has one, its voter id; the newest 100,000 rows are kept.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    ts      INTEGER NOT NULL, -- Unix milliseconds
    method  TEXT    NOT NULL,
    path    TEXT    NOT NULL,
    status  INTEGER NOT NULL,
    client  TEXT    NOT NULL,
    voter   TEXT    NOT NULL DEFAULT '',
    dur_ms  REAL    NOT NULL
);
CREATE INDEX audit_log_ts ON audit_log (ts);
