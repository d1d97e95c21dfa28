-- The trading tournament: rounds, their results, the audience's votes and
-- the commentary. Times are Unix milliseconds.
CREATE TABLE tournament_rounds (
    id          INTEGER PRIMARY KEY,
    season      INTEGER NOT NULL,
    seed        INTEGER NOT NULL,
    scenario    TEXT    NOT NULL,
    script      TEXT    NOT NULL,
    fee_bps     REAL    NOT NULL,
    score_by    TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('running', 'finished', 'abandoned')),
    started_ms  INTEGER NOT NULL,
    finished_ms INTEGER,
    winner      TEXT,
    crowd_pick  TEXT
);

-- One row per strategy and finished round. equity is the JSON array of the
-- strategy's equity once a simulated minute (the season's PSR and DSR use
-- its one-minute returns).
CREATE TABLE tournament_results (
    round        INTEGER NOT NULL REFERENCES tournament_rounds (id),
    strategy     TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    rank         INTEGER NOT NULL,
    pnl          REAL    NOT NULL,
    ret          REAL    NOT NULL,
    sharpe       REAL    NOT NULL,
    sortino      REAL    NOT NULL,
    max_drawdown REAL    NOT NULL,
    calmar       REAL    NOT NULL,
    turnover     REAL    NOT NULL,
    hit_rate     REAL    NOT NULL,
    fees         REAL    NOT NULL,
    score        REAL    NOT NULL,
    stopped      INTEGER NOT NULL,
    equity       TEXT    NOT NULL,
    PRIMARY KEY (round, strategy)
) WITHOUT ROWID;

-- The current vote of each browser (client) for a round: the last one counts.
CREATE TABLE tournament_votes (
    round    INTEGER NOT NULL,
    client   TEXT    NOT NULL,
    strategy TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL,
    PRIMARY KEY (round, client)
) WITHOUT ROWID;

-- Every vote ever accepted, in order: the tallies can be rebuilt from it.
CREATE TABLE tournament_vote_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    round    INTEGER NOT NULL,
    client   TEXT    NOT NULL,
    strategy TEXT    NOT NULL,
    at_ms    INTEGER NOT NULL
);

CREATE TABLE tournament_commentary (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    round    INTEGER NOT NULL,
    step     INTEGER NOT NULL,
    clock    TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    strategy TEXT    NOT NULL,
    text     TEXT    NOT NULL
);
CREATE INDEX tournament_commentary_round ON tournament_commentary (round, id);

-- Small settings: the key that signs voters' cookies.
CREATE TABLE tournament_meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
