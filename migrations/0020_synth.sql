-- Synthetic data jobs loaded into the database by `metastation generate --db`.
-- A job is identified by what it generates; chunks_done counts the chunks of
-- ChunkRows rows known to be committed, so a killed job resumes after them.
CREATE TABLE synth_jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    seed        INTEGER NOT NULL,
    rows        INTEGER NOT NULL,
    fraud_rate  REAL    NOT NULL,
    days        INTEGER NOT NULL,
    chunks_done INTEGER NOT NULL DEFAULT 0,
    complete    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    UNIQUE (kind, seed, rows, fraud_rate, days)
);

-- Card transactions of a job. id is the row number within the job (from 1),
-- time is Unix seconds UTC, amount is in cents.
CREATE TABLE synth_transactions (
    job_id      INTEGER NOT NULL REFERENCES synth_jobs (id) ON DELETE CASCADE,
    id          INTEGER NOT NULL,
    time        INTEGER NOT NULL,
    customer_id INTEGER NOT NULL,
    account_id  INTEGER NOT NULL,
    card_id     INTEGER NOT NULL,
    merchant_id INTEGER NOT NULL,
    device_id   INTEGER,
    category    TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    amount      INTEGER NOT NULL,
    city        TEXT    NOT NULL,
    lat         REAL    NOT NULL,
    lon         REAL    NOT NULL,
    is_fraud    INTEGER NOT NULL,
    fraud_type  TEXT    NOT NULL,
    PRIMARY KEY (job_id, id)
) WITHOUT ROWID;
